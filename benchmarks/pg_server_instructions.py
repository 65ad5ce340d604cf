"""PostgreSQL's own work per statement, in instructions: treeshape's JSON statement against the
hand ones of `benchmarks.fetch_limits`, parse, analysis, planning and execution apart.

```
python -m benchmarks.pg_server_instructions                    # Cairns: trip and route
python -m benchmarks.pg_server_instructions --feed nyc --workloads trip
```

``EXPLAIN ANALYZE``'s planning and execution times on a shared 2-core machine move by 20% or
more from run to run, and leave out parsing and parse analysis, which for a statement of a few
kilobytes are a third of its cost on a small document. This counts the server's instructions
instead, with callgrind: it loads the feed into a throwaway cluster (`tests.pgserver`) as
``fetch_limits`` does, checks each statement's document there (`server_statements`), stops
the cluster and runs each statement in ``postgres --single`` under valgrind, once and
``1 + --repeat`` times; the difference over ``--repeat`` is one warm execution (catalog caches
filled, as in a pooled connection), by phase: ``pg_parse_query`` (raw parsing),
``pg_analyze_and_rewrite_fixedparams`` (analysis), ``pg_plan_queries`` (planning) and
``PortalRun`` (execution). Needs valgrind and the server binaries' symbols (Debian's have
them); a route takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence

from benchmarks.feeds import feed_engine
from benchmarks.fetch_limits import postgres_copy, server_statements
from benchmarks.workloads import pick_workloads

__all__ = ["PHASES", "count_statement", "main", "table"]

PHASES = {
    "parse": "pg_parse_query",
    "analyze": "pg_analyze_and_rewrite_fixedparams",
    "plan": "pg_plan_queries",
    "execute": "PortalRun",
}
"""Each phase's function in the server (PostgreSQL 15), counted inclusively."""


def _profile(cluster: object, database: str, sql: str, repeat: int) -> dict[str, int]:
    """Inclusive instructions of each phase's function over ``repeat`` runs of ``sql`` in one
    single-user backend."""
    from tests.pgserver import LocalCluster

    assert isinstance(cluster, LocalCluster)
    workdir = tempfile.mkdtemp(prefix="pg-instructions-", dir=cluster.root)
    os.chmod(workdir, 0o777)  # the server's user writes the profile here
    statements = os.path.join(workdir, "statements.sql")
    with open(statements, "w") as f:
        f.write((sql.strip().rstrip(";") + ";\n\n") * repeat)  # -j: ";" and an empty line end one
    out = os.path.join(workdir, "callgrind.out")
    command = [
        *cluster.prefix,
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        str(cluster.bindir / "postgres"),
        "--single",
        "-j",
        "-D",
        str(cluster.datadir),
        database,
    ]
    with open(statements) as stdin:
        run = subprocess.run(command, stdin=stdin, capture_output=True, text=True, check=False)
    if run.returncode != 0 or "ERROR:" in run.stdout:
        raise RuntimeError(f"postgres --single failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts = {}
    for phase, function in PHASES.items():
        found = re.search(rf"^\s*([\d,]+) .*:{function} ", annotated, re.M)
        if found is None:
            raise RuntimeError(f"no {function} in the profile: are the server's symbols there?")
        counts[phase] = int(found.group(1).replace(",", ""))
    return counts


def count_statement(cluster: object, database: str, sql: str, repeat: int) -> dict[str, float]:
    """Instructions of one warm execution of ``sql``, by phase."""
    once = _profile(cluster, database, sql, 1)
    more = _profile(cluster, database, sql, 1 + repeat)
    return {phase: (more[phase] - once[phase]) / repeat for phase in PHASES}


def table(title: str, counts: dict[str, dict[str, float]]) -> str:
    """A markdown table of thousands of instructions by phase, the total over the fastest hand
    statement's."""
    totals = {name: sum(c.values()) for name, c in counts.items()}
    hand = min(v for k, v in totals.items() if "(hand)" in k)
    lines = [
        f"**{title}, server instructions per statement (thousands)**",
        "",
        "| statement | " + " | ".join(PHASES) + " | total | vs fastest hand |",
        "| --- |" + " ---: |" * (len(PHASES) + 2),
    ]
    for name, c in counts.items():
        cells = " | ".join(f"{c[p] / 1e3:,.0f}" for p in PHASES)
        total = f"{totals[name] / 1e3:,.0f} | {totals[name] / hand:.2f}x"
        lines.append(f"| {name} | {cells} | {total} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    from tests import pgserver

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", default="cairns")
    parser.add_argument("--workloads", default="trip,route", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    sqlite = feed_engine(args.feed)
    workloads = pick_workloads(sqlite)
    cluster = pgserver.start_local_cluster()
    try:
        server = pgserver.PgServer(cluster.url(), cluster)
        engine, _ = postgres_copy(sqlite, server)
        database = engine.url.database
        assert database is not None
        statements = {
            name: server_statements(engine, name, workloads[name].key)
            for name in args.workloads.split(",")
        }
        engine.dispose()
        server.admin.dispose()
        stopped = cluster._pg("pg_ctl", "stop", "-D", str(cluster.datadir), "-m", "fast", "-w")
        if stopped.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {stopped.stderr}")
        for name, by_case in statements.items():
            counts = {
                case: count_statement(cluster, database, sql, args.repeat)
                for case, sql in by_case.items()
            }
            title = f"{args.feed}, PostgreSQL, {workloads[name].description}"
            print(table(title, counts), end="\n\n", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
