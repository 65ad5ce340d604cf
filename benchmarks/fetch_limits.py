"""`fetch_json` against the fastest hand-written SQL, on SQLite and PostgreSQL (issue 15).

```
python -m benchmarks.fetch_limits                      # Cairns, SQLite, PostgreSQL, MariaDB
python -m benchmarks.fetch_limits --feed nyc --repeat 9
python -m benchmarks.fetch_limits --database sqlite    # or postgresql, mariadb, both (no MariaDB)
python -m benchmarks.fetch_limits --instructions --feed nyc   # SQLite, instructions per call
```

The baselines are what a user who measured would write, on a bare connection (no Session):

- **core stitch**: one SELECT per table of only the needed columns, stitched into dicts in
  Python and encoded with orjson (`benchmarks.handwritten_sql.CORE`);
- **sqlite json**: one SQLite statement of ``json_object`` / ``json_group_array`` with the stop
  joined into the stop_times' derived table (`benchmarks.handwritten_sql`);
- **pg json (joined)**: one PostgreSQL statement of ``row_to_json`` / ``json_agg`` with the stop
  joined inside the stop_times subquery (`PG_JOINED`);
- **pg hasura**: the shape of statement Hasura generates: ``LEFT JOIN LATERAL`` per level and
  ``row_to_json`` (`PG_HASURA`);
- **mariadb json**: one MariaDB statement of ``JSON_OBJECT`` / ``JSON_ARRAYAGG(... ORDER BY)``
  with the stop joined inside the stop_times subquery (`MARIADB_JSON`).

On PostgreSQL a second table gives the server's side alone: the median planning and execution
time from ``EXPLAIN (ANALYZE, TIMING OFF)`` of treeshape's JSON statement and the hand statements,
interleaved (`server_times`), without the client, the socket or Python.

Every case's document is checked to parse to the same value as ``fetch_json``'s before it is
timed (the hand statements are not byte-identical: SQLite's prints 15-digit floats, PostgreSQL's
``json_agg`` writes ``", "``). Runs are interleaved (A, B, C, ... ``--repeat`` times) with the
garbage collector paused, and the table gives medians and each median over the fastest hand
case's. PostgreSQL is the test suite's throwaway cluster (`tests.pgserver`) and MariaDB its
private server (`tests.mariadb_server`), each loaded from the feed's SQLite copy and analyzed.

``--instructions`` counts instructions per call instead of timing (SQLite only: the database runs
in the process), with callgrind (`benchmarks.instructions.cases_per_workload`): on a shared machine
wall-clock ratios move by 20% from run to run, instruction counts do not.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from examples.transit.models import Base, Route, Stop, StopTime, Trip
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

import treeshape as ts
from benchmarks.feeds import feed_engine
from benchmarks.handwritten_sql import CORE, json_statement
from benchmarks.instructions import cases_per_workload, measure_cases
from benchmarks.workloads import pick_workloads
from treeshape.sql.fetch.json import json_plans

__all__ = [
    "MARIADB_JSON",
    "PG_HASURA",
    "PG_JOINED",
    "NoDocument",
    "main",
    "mariadb_copy",
    "postgres_copy",
    "server_statements",
    "server_table",
    "server_times",
]

SHAPES = {
    "route": ts.shape(Route, "trips.stop_times.stop"),
    "stop": ts.shape(Stop, "trips"),
    "trip": ts.shape(Trip, "stop_times.stop"),
}
WORKLOADS = ("route", "stop", "trip")


def _cols(table: Any, alias: str) -> str:
    return ", ".join(f"{alias}.{c.name}" for c in table.columns)


_ST, _S, _T, _R = (m.__table__ for m in (StopTime, Stop, Trip, Route))

_PG_STOP_TIMES = f"""(SELECT coalesce(json_agg(x ORDER BY x.stop_sequence), '[]')
   FROM (SELECT {_cols(_ST, "st")}, row_to_json(s) AS stop
         FROM stop_times st JOIN stops s ON s.stop_id = st.stop_id
         WHERE st.trip_id = t.trip_id) x)"""

PG_JOINED = {
    "route": f"""SELECT row_to_json(r)::text FROM (
  SELECT {_cols(_R, "rr")}, (SELECT coalesce(json_agg(tt ORDER BY tt.trip_id), '[]') FROM (
      SELECT {_cols(_T, "t")}, {_PG_STOP_TIMES} AS stop_times
      FROM trips t WHERE t.route_id = rr.route_id) tt) AS trips
  FROM routes rr WHERE rr.route_id = :key) r""",
    "trip": f"""SELECT row_to_json(r)::text FROM (
  SELECT {_cols(_T, "t")}, {_PG_STOP_TIMES} AS stop_times
  FROM trips t WHERE t.trip_id = :key) r""",
}
"""Hand PostgreSQL statements: the stop joined inside the stop_times subquery, row_to_json."""

_HASURA_STOP_TIMES = f"""LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(x ORDER BY x.stop_sequence), '[]') AS stop_times
    FROM (SELECT {_cols(_ST, "st")}, sp.stop FROM stop_times st
          LEFT JOIN LATERAL (SELECT row_to_json(s) AS stop FROM stops s
                             WHERE s.stop_id = st.stop_id) sp ON true
          WHERE st.trip_id = t.trip_id) x) sts ON true"""

PG_HASURA = {
    "route": f"""SELECT row_to_json(r)::text FROM (
  SELECT {_cols(_R, "rr")}, tr.trips FROM routes rr
  LEFT JOIN LATERAL (
    SELECT coalesce(json_agg(tt ORDER BY tt.trip_id), '[]') AS trips
    FROM (SELECT {_cols(_T, "t")}, sts.stop_times FROM trips t {_HASURA_STOP_TIMES}
          WHERE t.route_id = rr.route_id) tt) tr ON true
  WHERE rr.route_id = :key) r""",
    "trip": f"""SELECT row_to_json(r)::text FROM (
  SELECT {_cols(_T, "t")}, sts.stop_times FROM trips t {_HASURA_STOP_TIMES}
  WHERE t.trip_id = :key) r""",
}
"""Hasura's shape of statement: a LEFT JOIN LATERAL per level, row_to_json."""


def _pairs(table: Any, alias: str) -> str:
    return ", ".join(f"'{c.name}', {alias}.{c.name}" for c in table.columns)


_MY_STOP_TIMES = f"""(SELECT JSON_ARRAYAGG(JSON_OBJECT({_pairs(_ST, "st")},
                            'stop', JSON_OBJECT({_pairs(_S, "s")})) ORDER BY st.stop_sequence)
   FROM stop_times st JOIN stops s ON s.stop_id = st.stop_id WHERE st.trip_id = t.trip_id)"""

MARIADB_JSON = {
    "route": f"""SET STATEMENT group_concat_max_len = 1073741824 FOR
SELECT JSON_OBJECT({_pairs(_R, "r")}, 'trips', (
    SELECT JSON_ARRAYAGG(JSON_OBJECT({_pairs(_T, "t")}, 'stop_times', {_MY_STOP_TIMES})
                         ORDER BY t.trip_id)
    FROM trips t WHERE t.route_id = r.route_id))
FROM routes r WHERE r.route_id = :key""",
    "trip": f"""SET STATEMENT group_concat_max_len = 1073741824 FOR
SELECT JSON_OBJECT({_pairs(_T, "t")}, 'stop_times', {_MY_STOP_TIMES})
FROM trips t WHERE t.trip_id = :key""",
}
"""Hand MariaDB statements: ``JSON_OBJECT`` and ``JSON_ARRAYAGG(... ORDER BY ...)``, the stop
joined inside the stop_times subquery, the aggregate's length limit raised for the statement."""

Case = tuple[str, Callable[[], bytes]]


def _cases(engine: Engine, workload: str, key: str) -> list[Case]:
    shape = SHAPES[workload]
    root = shape.model
    criterion = root.__mapper__.primary_key[0] == key

    def fetch_json(strategy: ts.sql.fetch.Strategy) -> Callable[[], bytes]:
        def run() -> bytes:
            with Session(engine) as session:
                return shape.fetch_json(session, criterion, strategy=strategy)

        return run

    def fetch_json_connection() -> bytes:
        with engine.connect() as conn:
            return shape.fetch_json(conn, criterion)

    def core_stitch() -> bytes:
        with engine.connect() as conn:
            return orjson.dumps([CORE[workload](conn, key)])

    def statement(sql: str) -> Callable[[], bytes]:
        stmt = text(sql)

        def run() -> bytes:
            with engine.connect() as conn:
                doc = conn.execute(stmt, {"key": key}).scalar_one()
            if doc is None:
                # MariaDB's answer for a result larger than max_allowed_packet.
                raise NoDocument("the server gave NULL (a result past max_allowed_packet?)")
            return b"[" + doc.encode() + b"]"

        return run

    def sqlite_json() -> bytes:
        with engine.connect() as conn:
            doc = conn.execute(json_statement(conn, workload), {"key": key}).scalar_one()
            return b"[" + doc.encode() + b"]"

    cases: list[Case] = [
        ("treeshape fetch_json", fetch_json("auto")),
        ("treeshape fetch_json (connection)", fetch_json_connection),
        ("treeshape fetch_json core", fetch_json("core")),
        ("core stitch + orjson (hand)", core_stitch),
    ]
    if engine.dialect.name == "sqlite":
        cases.append(("sqlite json (hand)", sqlite_json))
    elif engine.dialect.name in ("mysql", "mariadb"):
        cases.append(("mariadb json (hand)", statement(MARIADB_JSON[workload])))
    else:
        cases.append(("pg json, stop joined (hand)", statement(PG_JOINED[workload])))
        cases.append(("pg hasura lateral (hand)", statement(PG_HASURA[workload])))
    return cases


class NoDocument(Exception):
    """A hand statement that gives no document here: the case is left out, and said so."""


def measure(cases: list[Case], repeat: int) -> dict[str, float]:
    """Median seconds per case, interleaved, each checked against the first case first; a
    hand statement that gives no document is left out with a note."""
    kept = []
    for name, run in cases:
        try:
            run()
        except NoDocument as error:
            print(f"note: {name} left out: {error}")
            continue
        kept.append((name, run))
    cases = kept
    check(cases)
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(repeat):
        for name, run in cases:
            gc.disable()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
            gc.enable()
    return {name: statistics.median(values) for name, values in times.items()}


def check(cases: list[Case]) -> None:
    """Every case gives the first case's document (parsed: the hand statements' floats and
    separators differ in text)."""
    expected = orjson.loads(cases[0][1]())
    for name, run in cases:
        if orjson.loads(run()) != expected:
            raise AssertionError(f"{name}: not the same document")


def table(title: str, values: dict[str, float], unit: str = "median ms") -> str:
    """A markdown table of ``values`` (seconds, or instructions with ``unit``), each over the
    fastest hand case's."""
    hand = min(v for k, v in values.items() if "(hand)" in k)
    scale, digits = (1e3, 2) if unit == "median ms" else (1e-6, 3)
    lines = [f"**{title}**", "", f"| case | {unit} | vs fastest hand |", "| --- | ---: | ---: |"]
    for name, value in values.items():
        lines.append(f"| {name} | {value * scale:.{digits}f} | {value / hand:.2f}x |")
    return "\n".join(lines)


def _json_statement_sql(engine: Engine, workload: str, key: str) -> str:
    """treeshape's JSON statement for the ``workload`` root ``key``, as ``fetch_json`` runs it,
    with the key inlined."""
    shape = SHAPES[workload]
    doc = json_plans(shape.__treeshape_node__).get(engine.dialect)
    criterion = shape.model.__mapper__.primary_key[0] == key
    stmt = doc.statement.where(criterion).order_by(*doc.key_order)
    return str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))


def server_statements(engine: Engine, workload: str, key: str) -> dict[str, str]:
    """treeshape's JSON statement and the hand PostgreSQL ones for the ``workload`` root
    ``key``, the key inlined; treeshape's checked to give ``fetch_json``'s bytes and the hand
    ones the same document."""
    hand = "'" + key.replace("'", "''") + "'"
    statements = {
        "treeshape json statement": _json_statement_sql(engine, workload, key),
        "pg json, stop joined (hand)": PG_JOINED[workload].replace(":key", hand),
        "pg hasura lateral (hand)": PG_HASURA[workload].replace(":key", hand),
    }
    with Session(engine) as session:
        expected = SHAPES[workload].fetch_json(
            session, SHAPES[workload].model.__mapper__.primary_key[0] == key
        )
    with engine.connect() as conn:
        for name, sql in statements.items():
            doc = conn.exec_driver_sql(sql).scalar_one().encode()
            if name.startswith("treeshape") and b"[" + doc + b"]" != expected:
                raise AssertionError(f"{name}: not fetch_json's bytes")
            if orjson.loads(doc) != orjson.loads(expected)[0]:
                raise AssertionError(f"{name}: not the same document")
    return statements


def server_times(
    engine: Engine, workload: str, key: str, repeat: int
) -> dict[str, tuple[float, float]]:
    """Median (planning, execution) ms per PostgreSQL statement from ``EXPLAIN (ANALYZE,
    TIMING OFF)``, interleaved (`server_statements`, checked first)."""
    statements = server_statements(engine, workload, key)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in statements}
    with engine.connect() as conn:
        for _ in range(repeat):
            for name, sql in statements.items():
                explain = "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY, FORMAT JSON) " + sql
                (result,) = conn.exec_driver_sql(explain).scalar_one()
                times[name].append((result["Planning Time"], result["Execution Time"]))
    return {
        name: (
            statistics.median(p for p, _ in values),
            statistics.median(e for _, e in values),
        )
        for name, values in times.items()
    }


def server_table(title: str, times: dict[str, tuple[float, float]]) -> str:
    totals = {name: p + e for name, (p, e) in times.items()}
    hand = min(v for k, v in totals.items() if "(hand)" in k)
    lines = [
        f"**{title}, server side (EXPLAIN ANALYZE)**",
        "",
        "| statement | planning ms | execution ms | vs fastest hand |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, (planning, execution) in times.items():
        lines.append(f"| {name} | {planning:.2f} | {execution:.2f} | {totals[name] / hand:.2f}x |")
    return "\n".join(lines)


CALLS = 3
"""Calls per case inside one counted ``functools.reduce`` (after two uncounted ones)."""


def count_instructions(feed: str, workloads: Sequence[str]) -> dict[str, dict[str, float]]:
    """Instructions per call of each SQLite case, per workload (a callgrind run of `_inner`)."""
    arguments = ["--feed", feed, "--workloads", ",".join(workloads)]
    return cases_per_workload("benchmarks.fetch_limits", arguments, CALLS)


def _inner(feed: str, workloads: Sequence[str], order_file: str) -> None:
    """Inside callgrind: each case checked, run twice, then `CALLS` times inside ``reduce``."""
    engine = feed_engine(feed)
    picked = pick_workloads(engine)
    cases = []
    for workload in workloads:
        found = _cases(engine, workload, picked[workload].key)
        check(found)
        cases.append((workload, found))
    measure_cases(cases, CALLS, order_file)


def postgres_copy(source: Engine, server: Any = None) -> tuple[Engine, Any]:
    """A database with ``source``'s transit tables on ``server`` (a `tests.pgserver.PgServer`),
    or on a throwaway cluster started here; returns the engine and the server to close (the
    one started here, else ``None``)."""
    from tests import pgserver

    started = None
    if server is None:
        server = started = pgserver.open_server()
    db = server.create_database()
    engine = create_engine(db.url)
    Base.metadata.create_all(engine)
    with source.connect() as src, engine.begin() as dst:
        for t in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(t.select())]
            for i in range(0, len(rows), 5000):
                dst.execute(t.insert(), rows[i : i + 5000])
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    return engine, started


def mariadb_copy(source: Engine, server: Any = None) -> tuple[Engine, Any]:
    """A database with ``source``'s transit tables on ``server`` (a
    `tests.mariadb_server.MariaDbServer`), or on a private server started here; returns the
    engine and the server to close (the one started here, else ``None``)."""
    from tests import mariadb_server

    started = None
    if server is None:
        server = started = mariadb_server.open_server()
    db = server.create_database()
    engine = create_engine(db.url)
    Base.metadata.create_all(engine)
    with source.connect() as src, engine.begin() as dst:
        for t in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(t.select())]
            for i in range(0, len(rows), 5000):
                dst.execute(t.insert(), rows[i : i + 5000])

    if not os.environ.get("NO_ANALYZE"):
        with engine.connect() as conn:
            for t in Base.metadata.sorted_tables:
                conn.exec_driver_sql(f"ANALYZE TABLE `{t.name}`").all()
    return engine, started


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", default="cairns")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--database", choices=["all", "both", "sqlite", "postgresql", "mariadb"], default="all"
    )
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="SQLite only: instructions per call (callgrind) instead of times",
    )
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workload_names = args.workloads.split(",")
    if args.inner:
        _inner(args.feed, workload_names, args.inner)
        return
    sqlite = feed_engine(args.feed)
    if args.instructions:
        descriptions = pick_workloads(sqlite)
        counts = count_instructions(args.feed, workload_names)
        for workload, values in counts.items():
            title = f"{args.feed}, SQLite, {descriptions[workload].description}"
            print(table(title, values, "M instructions"), end="\n\n")
        return
    workloads = pick_workloads(sqlite)
    engines: list[tuple[str, Engine]] = []
    servers: list[Any] = []
    if args.database in ("all", "both", "sqlite"):
        engines.append(("SQLite", sqlite))
    if args.database in ("all", "both", "postgresql"):
        pg, server = postgres_copy(sqlite)
        servers.append(server)
        engines.append(("PostgreSQL", pg))
    if args.database in ("all", "mariadb"):
        maria, server = mariadb_copy(sqlite)
        servers.append(server)
        engines.append(("MariaDB", maria))
    try:
        for label, engine in engines:
            for workload in workload_names:
                if workload not in PG_JOINED and label != "SQLite":
                    continue  # no hand statement for it on this database yet
                w = workloads[workload]
                medians = measure(_cases(engine, workload, w.key), args.repeat)
                title = f"{args.feed}, {label}, {w.description}"
                print(table(title, medians), end="\n\n")
                if engine.dialect.name == "postgresql":
                    times = server_times(engine, workload, w.key, args.repeat)
                    print(server_table(title, times), end="\n\n")
    finally:
        for server in servers:
            if server is not None:
                server.close()


if __name__ == "__main__":
    main()
