"""The transit example on PostgreSQL and asyncio, as a user runs it: real processes, real HTTP.

``python -m examples.transit import sample_gtfs.zip --db URL`` into a SQLite file and into a
PostgreSQL database, then ``serve`` each app on each (Flask on the sync URL, FastAPI on the sync
and on the asyncio URL: aiosqlite, asyncpg), all at once on free ports of 127.0.0.1. Every
server must answer every request with the same status and the same body bytes as Flask on
SQLite: the same document whatever the database, the driver or the framework.

Every wait is bounded (start-up, each request, shutdown), and every process is ended by the
fixture that started it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.pg_fixtures import async_url

REPO = Path(__file__).resolve().parents[2]
SAMPLE_FEED = REPO / "examples" / "transit" / "data" / "sample_gtfs.zip"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 20.0
CLI_TIMEOUT = 120.0

pytestmark = pytest.mark.postgres

REQUESTS = [
    ("/routes", 200),
    ("/routes?limit=2&offset=1", 200),
    ("/routes?include=&fields[Route]=route_id", 200),
    ("/stops", 200),
    ("/stops?include=parent&fields[Stop]=stop_id,stop_name", 200),
    ("/routes/AB", 200),
    ("/routes/CITY?include=trips.stop_times&fields[StopTime]=stop_sequence,arrival_time", 200),
    ("/stops/BEATTY_AIRPORT", 200),
    ("/stops/STAGECOACH?include=trips.route", 200),
    ("/trips/AB1/stop_times", 200),
    ("/trips/CITY1", 200),
    ("/trips/STBA?include=stops,stop_times&fields[Trip]=trip_id,stops,stop_times_count", 200),
    ("/trips/CITY1/stop_times?fields[Stop]=stop_name", 200),
    ("/routes/NO_SUCH_ROUTE", 404),
    ("/trips/NO_SUCH_TRIP/stop_times", 404),
    ("/trips/NO_SUCH_TRIP", 404),
    ("/routes/AB?include=trips.nope", 400),
    ("/stops?fields[Stop]=stop_id,nope", 400),
]
"""(path, status): bodies of 200s must be equal byte for byte; errors are in each framework's
own format, so only their status is compared."""


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TRANSIT_DB", None)
    return env


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "examples.transit", *args],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base: str
    log: Path
    """The server's stdout and stderr (a file: a pipe nobody reads could fill and block it)."""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        """End the server (SIGINT, as Ctrl+C would; then SIGKILL); returns its output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.output()


def _start(name: str, app: str, db: str, logs: Path) -> Server:
    port = _free_port()
    command = ["serve", "--app", app, "--db", db, "--port", str(port)]
    log = logs / (name.replace("/", "-") + ".log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "examples.transit", *command],
            cwd=REPO,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(name, process, f"http://127.0.0.1:{port}", log)


def _wait_ready(server: Server, client: httpx.Client, deadline: float) -> None:
    while True:
        if server.process.poll() is not None:
            raise AssertionError(f"{server.name} exited early:\n{server.stop()}")
        try:
            if client.get(f"{server.base}/routes", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{server.name} did not answer within {START_TIMEOUT} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def databases(
    pg_server: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The sample feed imported by the command line into SQLite and into PostgreSQL."""
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('example-pg') / 'transit.sqlite'}"
    with pg_server.database() as db:  # type: ignore[attr-defined]
        urls = {"sqlite": sqlite_url, "postgresql": db.url}
        for url in urls.values():
            result = _cli("import", str(SAMPLE_FEED), "--db", url, "--no-progress")
            assert result.returncode == 0, result.stderr
            assert "No problems found." in result.stdout, result.stdout
            assert "Traceback" not in result.stderr
        yield urls


@pytest.fixture(scope="module")
def servers(
    databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """Flask and FastAPI (sync and asyncio) on both databases, started together."""
    plan = {
        "flask/sqlite": ("flask", databases["sqlite"]),
        "fastapi/sqlite": ("fastapi", databases["sqlite"]),
        "fastapi/aiosqlite": ("fastapi", async_url(databases["sqlite"])),
        "flask/postgresql": ("flask", databases["postgresql"]),
        "fastapi/postgresql": ("fastapi", databases["postgresql"]),
        "fastapi/asyncpg": ("fastapi", async_url(databases["postgresql"])),
    }
    logs = tmp_path_factory.mktemp("server-logs")
    started: dict[str, Server] = {}
    try:
        for name, (app, db) in plan.items():
            started[name] = _start(name, app, db, logs)
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client() as client:
            for server in started.values():
                _wait_ready(server, client, deadline)
        yield started
    finally:
        for server in started.values():
            server.stop()


def test_import_into_postgresql_twice_keeps_one_copy(databases: dict[str, str]) -> None:
    """Re-running the import (upserts on PostgreSQL) reports the same rows and no problem."""
    result = _cli("import", str(SAMPLE_FEED), "--db", databases["postgresql"], "--no-progress")
    assert result.returncode == 0, result.stderr
    for table, count in [("stops", 9), ("trips", 11), ("stop_times", 28)]:
        lines = result.stdout.splitlines()
        assert any(line.split() == [table, str(count)] for line in lines), result.stdout


def test_every_server_gives_the_same_bodies(servers: dict[str, Server]) -> None:
    reference = servers["flask/sqlite"]
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        for path, status in REQUESTS:
            expected = client.get(reference.base + path)
            assert expected.status_code == status, (path, expected.text)
            for name, server in servers.items():
                answer = client.get(server.base + path)
                assert answer.status_code == expected.status_code, (name, path, answer.text)
                if expected.status_code == 200:
                    assert answer.content == expected.content, (name, path)
                    assert answer.headers["content-type"].startswith("application/json")


def test_servers_name_the_database_and_driver(servers: dict[str, Server]) -> None:
    """Each banner shows the URL served (password hidden): asyncpg and aiosqlite where asked."""
    banners = {name: server.output() for name, server in servers.items()}
    assert "Serving postgresql+asyncpg://" in banners["fastapi/asyncpg"]
    assert "Serving sqlite+aiosqlite://" in banners["fastapi/aiosqlite"]
    assert "Serving postgresql+psycopg://" in banners["flask/postgresql"]
    for name, text in banners.items():
        assert "Traceback" not in text, (name, text)
