"""Load test of the transit example under production servers, on loopback.

The FastAPI app runs under uvicorn with several worker processes, the Flask app under waitress
(threads), on SQLite and on PostgreSQL (a private cluster from ``tests/pgserver.py``).
Concurrent clients (threads, one httpx client each) send a fixed list of requests mixing every
endpoint with and without ``include``/``fields[...]`` narrowings (and a few bad ones: 400s are
answers too). Each body must equal the one a single-threaded run got for the same URL, byte
for byte, and no request may fail. A warm-up (``--warmup`` requests, not counted) first fills
the narrowing caches, so the percentiles are those of a warm server, p99 included. Each
concurrency level of ``--clients`` is one run; it never runs longer than ``--timeout``
seconds::

    python -m benchmarks.load                       # sample feed, SQLite, 16/32/64 clients
    python -m benchmarks.load --databases sqlite,postgresql --restart
    python -m benchmarks.load --feed cairns --requests 2000 --clients 64

``--restart`` adds the database-restart scenario on PostgreSQL: clients keep sending while
the server is stopped for ``--down`` seconds and started again; every answer must be a 200,
a 4xx or the apps' JSON 503, never another 5xx nor a dropped connection, and the apps must
answer 200 again without a restart (the time to the first 200 is reported).

Not a timed test: numbers depend on the machine. Exit status 1 if any request failed, any
body differed, or the restart scenario saw a failure.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # tests.pgserver, when run as a script
    sys.path.insert(0, str(REPO))
FEEDS = {
    "sample": REPO / "examples" / "transit" / "data" / "sample_gtfs.zip",
    "cairns": REPO / "examples" / "transit" / "data" / "cairns_gtfs.zip",
}
DB_ENV = "TREESHAPE_LOAD_DB"


def fastapi_factory() -> Any:
    """For ``uvicorn --factory``: the FastAPI app on ``$TREESHAPE_LOAD_DB``."""
    from examples.transit.fastapi_app import create_app

    return create_app(os.environ[DB_ENV])


def flask_factory() -> Any:
    """For ``waitress-serve --call``: the Flask app on ``$TREESHAPE_LOAD_DB``."""
    from examples.transit.flask_app import create_app

    return create_app(os.environ[DB_ENV])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(kind: str, db_url: str, workers: int, threads: int, log: Path) -> Iterator[str]:
    """Start one server in its own process group (its output to ``log``); yield its base URL;
    stop it. Waitress logs a warning whenever requests queue, which is the point here."""
    port = free_port()
    if kind == "fastapi":
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "benchmarks.load:fastapi_factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
    else:
        command = [
            sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}",
            f"--threads={threads}", "--call", "benchmarks.load:flask_factory",
        ]  # fmt: skip
    env = {**os.environ, DB_ENV: db_url, "PYTHONPATH": str(REPO)}
    output = log.open("wb")
    process = subprocess.Popen(
        command, cwd=REPO, env=env, start_new_session=True, stdout=output, stderr=output
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{kind} server exited with {process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{base}/routes?limit=1", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{kind} server did not start within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        output.close()


def import_db(feed: Path, url: str) -> str:
    from examples.transit.importer import import_feed

    report = import_feed(feed, url, progress=False)
    if not report.ok:
        raise SystemExit(f"import failed: {report.problems[:3]}")
    return url


@contextmanager
def database(kind: str, feed: Path, directory: str) -> Iterator[tuple[str, Any]]:
    """``(url, cluster)``: the feed in a SQLite file (cluster ``None``) or in a database of a
    private PostgreSQL cluster, stopped afterwards."""
    if kind == "sqlite":
        yield import_db(feed, f"sqlite:///{directory}/transit.sqlite"), None
        return
    from tests import pgserver

    cluster = pgserver.start_local_cluster()
    pg = pgserver.PgServer(cluster.url(), cluster)
    try:
        yield import_db(feed, pg.create_database().url), cluster
    finally:
        pg.close()


def pg_ctl(cluster: Any, *args: str) -> None:
    """``pg_ctl ARGS -D datadir`` on the private cluster (as its owner)."""
    subprocess.run(
        [*cluster.prefix, str(cluster.bindir / "pg_ctl"), *args, "-D", str(cluster.datadir)],
        cwd=cluster.root,
        capture_output=True,
        timeout=60,
        check=True,
    )


def urls(db_url: str, count: int, seed: int) -> list[str]:
    """A fixed, seeded mix of requests over every endpoint and many narrowings."""
    import sqlalchemy as sa
    from examples.transit.models import Route, Stop, Trip

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        routes = list(conn.scalars(sa.select(Route.route_id).limit(20)))
        stops = list(conn.scalars(sa.select(Stop.stop_id).limit(20)))
        trips = list(conn.scalars(sa.select(Trip.trip_id).limit(20)))
    engine.dispose()
    rng = random.Random(seed)
    narrowings = {
        "route": ["", "include=", "include=agency", "include=trips", "include=trips.stop_times",
                  "fields[Route]=route_id,route_short_name", "include=trips&fields[Trip]=trip_id",
                  "fields[Stop]=stop_id,stop_name&fields[StopTime]=stop_sequence,stop_id",
                  "include=trips.nope"],
        "stop": ["", "include=", "include=trips", "include=trips.route",
                 "fields[Trip]=trip_id&fields[Route]=route_id", "fields[Stop]=stop_name"],
        "stop_times": ["", "include=", "fields[Stop]=stop_id", "fields[StopTime]=stop_sequence"],
        "routes": ["limit=10", "limit=5&include=", "fields[Agency]=agency_name",
                   "limit=3&offset=2"],
        "stops": ["limit=10", "limit=20&include=parent", "fields[Stop]=stop_id,stop_lat,stop_lon"],
    }  # fmt: skip
    result = []
    for _ in range(count):
        kind = rng.choice(list(narrowings))
        query = rng.choice(narrowings[kind])
        if kind == "route":
            path = f"/routes/{rng.choice(routes)}"
        elif kind == "stop":
            path = f"/stops/{rng.choice(stops)}"
        elif kind == "stop_times":
            path = f"/trips/{rng.choice(trips)}/stop_times"
        else:
            path = f"/{kind}"
        result.append(f"{path}?{query}" if query else path)
    return result


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0


def reference(base: str, distinct: list[str]) -> dict[str, tuple[int, bytes]]:
    with httpx.Client(base_url=base, timeout=30) as client:
        answers = {}
        for url in distinct:
            response = client.get(url)
            answers[url] = (response.status_code, response.content)
        return answers


def load(base: str, todo: list[str], expected: dict[str, tuple[int, bytes]], clients: int) -> Run:
    run = Run()
    lock = threading.Lock()
    chunks = [todo[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients)

    def client_loop(chunk: list[str]) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            barrier.wait(timeout=30)
            for url in chunk:
                started = time.perf_counter()
                try:
                    response = client.get(url)
                except httpx.HTTPError as exc:
                    with lock:
                        run.errors.append(f"{url}: {exc!r}")
                    continue
                elapsed = time.perf_counter() - started
                answer = (response.status_code, response.content)
                with lock:
                    run.latencies.append(elapsed)
                    if response.status_code >= 500:
                        run.errors.append(f"{url}: {response.status_code}")
                    if answer != expected[url]:
                        run.mismatches.append(url)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, chunks))
    run.seconds = time.perf_counter() - started
    return run


@dataclass
class Restart:
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    recovered_after: float | None = None
    """Seconds from the server's start to the first 200 answered after it."""


def restart(base: str, todo: list[str], clients: int, cluster: Any, down: float) -> Restart:
    """Clients send without pause while PostgreSQL is stopped for ``down`` seconds, then
    started again; every answer is counted by status."""
    result = Restart()
    lock = threading.Lock()
    stop = threading.Event()
    started_at: list[float] = []

    def client_loop(index: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            position = index
            while not stop.is_set():
                url = todo[position % len(todo)]
                position += clients
                try:
                    response = client.get(url)
                except httpx.HTTPError as exc:
                    with lock:
                        result.errors.append(f"{url}: {exc!r}")
                    continue
                now = time.perf_counter()
                with lock:
                    status = response.status_code
                    result.statuses[status] = result.statuses.get(status, 0) + 1
                    json = response.headers.get("content-type", "").startswith("application/json")
                    if status >= 500 and (status != 503 or not json):
                        result.errors.append(f"{url}: {status} {response.text[:80]!r}")
                    if status == 200 and started_at and result.recovered_after is None:
                        result.recovered_after = now - started_at[0]

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client_loop, i) for i in range(clients)]
        time.sleep(1.0)
        pg_ctl(cluster, "stop", "-m", "fast", "-w")
        time.sleep(down)
        pg_ctl(cluster, "start", "-w", "-l", str(cluster.logfile))
        started_at.append(time.perf_counter())
        time.sleep(3.0)
        stop.set()
        for future in futures:
            future.result()
    return result


def report_restart(name: str, result: Restart, down: float) -> None:
    counts = ", ".join(f"{n} x {status}" for status, n in sorted(result.statuses.items()))
    recovered = f"{result.recovered_after:.2f} s" if result.recovered_after is not None else "never"
    print(
        f"{name:<44} restart ({down:.0f} s down): {counts}; failures {len(result.errors)}; "
        f"first 200 {recovered} after the server was back"
    )
    for line in result.errors[:5]:
        print(f"    {line}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def report(name: str, run: Run, total: int) -> None:
    lat = [x * 1000 for x in run.latencies] or [0.0]
    print(
        f"{name:<44} {total / run.seconds:>6.0f} req/s  "
        f"p50 {percentile(lat, 50):6.1f}  p90 {percentile(lat, 90):6.1f}  "
        f"p99 {percentile(lat, 99):6.1f}  max {max(lat):6.1f} ms  "
        f"mean {statistics.fmean(lat):6.1f} ms  errors {len(run.errors)}  "
        f"body mismatches {len(run.mismatches)}"
    )
    for line in (run.errors + run.mismatches)[:5]:
        print(f"    {line}")


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",")]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"not a list of positive integers: {text!r}")
    return levels


def _databases(text: str) -> list[str]:
    names = text.split(",")
    if not names or any(name not in ("sqlite", "postgresql") for name in names):
        raise argparse.ArgumentTypeError(
            f"databases are sqlite and postgresql, comma-separated, got {text!r}"
        )
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feed", choices=sorted(FEEDS), default="sample")
    parser.add_argument("--databases", type=_databases, default=["sqlite"], metavar="A,B")
    parser.add_argument("--requests", type=int, default=4000, help="per app and level")
    parser.add_argument("--warmup", type=int, default=1000, help="requests before measuring")
    parser.add_argument("--clients", type=_levels, default=[16, 32, 64], metavar="N,N")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--restart", action="store_true", help="PostgreSQL restart scenario")
    parser.add_argument("--down", type=float, default=2.0, help="seconds PostgreSQL is down")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800, help="stop after this (seconds)")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--timeout")))
    signal.alarm(int(args.timeout))

    import platform

    failed = False
    print(
        f"feed {args.feed}: {args.requests} requests per app and level after {args.warmup} "
        f"warm-up requests, clients {args.clients}, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs ({platform.machine()})"
    )
    for db_kind in args.databases:
        with (
            tempfile.TemporaryDirectory() as directory,
            database(db_kind, FEEDS[args.feed], directory) as (db_url, cluster),
        ):
            todo = urls(db_url, args.requests, args.seed)
            warm = urls(db_url, args.warmup, args.seed + 1)
            distinct = sorted(set(todo) | set(warm))
            print(f"{db_kind}: {len(distinct)} distinct URLs")
            bodies: dict[str, dict[str, tuple[int, bytes]]] = {}
            for kind, label in (
                ("fastapi", f"FastAPI, uvicorn --workers {args.workers}"),
                ("flask", f"Flask, waitress --threads {args.threads}"),
            ):
                log = Path(directory) / f"{kind}.log"
                with server(kind, db_url, args.workers, args.threads, log) as base:
                    expected = reference(base, distinct)
                    bodies[kind] = expected
                    load(base, warm, expected, max(args.clients))  # not counted
                    for clients in args.clients:
                        run = load(base, todo, expected, clients)
                        report(f"{db_kind}, {label}, {clients} clients", run, len(todo))
                        failed |= bool(run.errors or run.mismatches)
                    if args.restart and cluster is not None:
                        result = restart(base, todo, max(args.clients), cluster, args.down)
                        report_restart(f"{db_kind}, {label}", result, args.down)
                        failed |= bool(result.errors) or result.recovered_after is None
            same = sum(
                bodies["fastapi"][u][1] == bodies["flask"][u][1]
                for u in distinct
                if bodies["fastapi"][u][0] == 200
            )
            ok = sum(1 for u in distinct if bodies["fastapi"][u][0] == 200)
            print(f"{db_kind}: 200 bodies identical across the two apps: {same}/{ok}")
            failed |= same != ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
