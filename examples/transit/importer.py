"""Import a GTFS feed (a zip of CSV files) into the transit example's tables.

`import_feed` is meant for real, imperfect feeds: it keeps going past bad rows and tells you
about each one (file, line, reason) in the returned `ImportReport`, instead of refusing a
4 MB feed over one typo. It is idempotent: rows are upserted on their primary key, so importing
the same feed twice leaves the same rows (pass `replace=True` to also drop rows an older
version of the feed had and the new one has not).

Files are loaded in foreign-key order (agency, stops with parents before children, calendar,
routes, trips, stop_times) and every foreign key is checked against the feed itself, so the
load works with enforced constraints (PostgreSQL, MariaDB) as well as without (SQLite's default).

A duplicate key is never merged silently: ids equal in Python are reported here, and ids that
differ in Python but that the database may compare equal (`BULLFROG` and `bullfrog` under a
case-insensitive collation, MySQL's and MariaDB's default) are checked against the table before
they are written: where the database would merge them, the later row is reported and skipped.
"""

from __future__ import annotations

import shutil
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    delete,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.sql.dml import Insert

from .feed import Feed, FeedError, MalformedRow, Record
from .models import Agency, Base, Calendar, Route, Stop, StopTime, Trip
from .rows import RowConverter, feed_columns

__all__ = [
    "DEFAULT_AGENCY_ID",
    "FeedError",
    "ImportReport",
    "Problem",
    "engine_for",
    "import_feed",
]

#: The id given to a feed's only agency when agency.txt leaves `agency_id` out (GTFS allows
#: that for single-agency feeds, and routes may then omit it too).
DEFAULT_AGENCY_ID = "default"


def _loose(key: Any) -> Any:
    """A key as a lenient collation sees it (case, accents and trailing spaces ignored).

    Keys equal here but different in Python are the only ones a database can merge, so only
    they cost a look-up before they are written."""
    if isinstance(key, tuple):
        return tuple(_loose(part) for part in key)
    if not isinstance(key, str):
        return key
    decomposed = unicodedata.normalize("NFKD", key.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).rstrip(" ")


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# The files the example models, in load (foreign-key) order.
AGENCY, STOPS, CALENDAR, ROUTES, TRIPS, STOP_TIMES = (
    _table(m) for m in (Agency, Stop, Calendar, Route, Trip, StopTime)
)
LOAD_ORDER: list[tuple[str, Table]] = [
    ("agency.txt", AGENCY),
    ("stops.txt", STOPS),
    ("calendar.txt", CALENDAR),
    ("routes.txt", ROUTES),
    ("trips.txt", TRIPS),
    ("stop_times.txt", STOP_TIMES),
]


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the feed. `skipped`: the row was not loaded; otherwise it was loaded
    with the offending value set to NULL. `line` is None for a problem with a whole file."""

    file: str
    line: int | None
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}" + ("" if self.skipped else " (loaded with NULL)")


@dataclass
class ImportReport:
    """What `import_feed` did: rows loaded per table, and every problem met on the way."""

    source: str
    database: str
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def skipped_rows(self) -> int:
        return sum(1 for p in self.problems if p.skipped and p.line is not None)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Batcher:
    """Buffers rows for one table and writes them with one upsert executemany per batch."""

    def __init__(self, conn: Connection, table: Table, batch_size: int) -> None:
        self.conn = conn
        self.table = table
        self.batch_size = batch_size
        self.statement = _upsert_statement(table, conn.dialect.name)
        self.buffer: list[dict[str, Any]] = []
        self.written = 0

    def add(self, row: dict[str, Any]) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.statement is None:
            _generic_upsert(self.conn, self.table, self.buffer)
        else:
            self.conn.execute(self.statement, self.buffer)
        self.written += len(self.buffer)
        self.buffer = []


def _upsert_statement(table: Table, dialect: str) -> Insert | None:
    """INSERT ... ON CONFLICT (pk) DO UPDATE for the dialects that have it, else None."""
    updated = [c.name for c in feed_columns(table) if not c.primary_key]
    key = list(table.primary_key.columns)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        lite = sqlite.insert(table)
        return lite.on_conflict_do_update(
            index_elements=key, set_={name: lite.excluded[name] for name in updated}
        )
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(
            index_elements=key, set_={name: pg.excluded[name] for name in updated}
        )
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        my_stmt = mysql_insert(table)
        return my_stmt.on_duplicate_key_update({n: my_stmt.inserted[n] for n in updated})
    return None


def _generic_upsert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Upsert for dialects without an upsert statement: update the rows whose key exists,
    insert the others (two statements per batch, both executemany)."""
    pk = list(table.primary_key.columns)
    keys = [tuple(row[c.name] for c in pk) for row in rows]
    existing = {tuple(row) for row in conn.execute(select(*pk).where(tuple_(*pk).in_(keys)))}
    new = [row for row, key in zip(rows, keys, strict=True) if key not in existing]
    old = [row for row, key in zip(rows, keys, strict=True) if key in existing]
    if new:
        conn.execute(insert(table), new)
    if old:
        where = [c == bindparam(f"pk_{c.name}") for c in pk]
        values: dict[str, Any] = {
            c.name: bindparam(c.name) for c in feed_columns(table) if not c.primary_key
        }
        params = [{**row, **{f"pk_{c.name}": row[c.name] for c in pk}} for row in old]
        conn.execute(update(table).where(*where).values(values), params)


class _Progress:
    """A tqdm bar per file, measured in bytes of the file (known before reading it)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def bar(self, name: str, total: int) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

        # A terminal that reports no size (0x0) makes tqdm draw nothing: shutil falls back to 80x24.
        columns, lines = shutil.get_terminal_size()
        bar = tqdm(
            total=total,
            desc=f"{name:<14}",
            unit="B",
            unit_scale=True,
            ncols=min(columns, 100),
            nrows=lines,
        )

        def update(done: int) -> None:
            bar.update(min(done, total) - bar.n)
            if done >= total:
                bar.close()

        return update


class _Import:
    """One run of `import_feed`: the feed, the connection, the keys seen so far, the report."""

    def __init__(
        self, feed: Feed, conn: Connection, report: ImportReport, batch_size: int, progress: bool
    ) -> None:
        self.feed = feed
        self.conn = conn
        self.report = report
        self.batch_size = batch_size
        self.progress = _Progress(progress)
        # Primary keys loaded so far, per table, with the line that defined them: the
        # foreign-key checks and duplicate detection of the files that follow.
        self.keys: dict[str, dict[Any, int]] = {table.name: {} for _, table in LOAD_ORDER}
        # The same keys grouped by `_loose`: a group of two or more may be one key in SQL.
        self.loose: dict[str, dict[Any, list[Any]]] = {table.name: {} for _, table in LOAD_ORDER}
        self.single_agency: str | None = None

    def problem(self, file: str, line: int | None, reason: str, skipped: bool = True) -> None:
        self.report.problems.append(Problem(file, line, reason, skipped))

    # -- reading and validating ------------------------------------------------------------

    def rows(
        self, name: str, table: Table, fill: Callable[[Record], None] | None = None
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """The valid, typed, de-duplicated rows of one file, with their line numbers.

        Invalid rows are reported and left out. `fill` may complete a record before it is
        validated (the default agency id)."""
        converter = RowConverter(table)
        on_bytes = self.progress.bar(name, self.feed.size(name))
        try:
            header, records = self.feed.read(name, on_bytes)
        except FeedError as exc:
            self.problem(name, None, f"{exc}; file skipped")
            if on_bytes is not None:
                on_bytes(self.feed.size(name))
            return
        known = {spec.name for spec in converter.fields}
        extra = [column for column in header if column not in known]
        if extra:
            self.report.ignored_columns[name] = extra
        missing = [c for c in converter.required if c not in header]
        if fill is not None and table is AGENCY:
            missing = [c for c in missing if c != "agency_id"]
        if missing:
            self.problem(name, None, f"no {', '.join(missing)} column (required); file skipped")
            if on_bytes is not None:
                on_bytes(self.feed.size(name))
            return
        pk = [c.name for c in table.primary_key.columns]
        seen = self.keys[table.name]
        try:
            for record in records:
                if isinstance(record, MalformedRow):
                    self.problem(name, record.line, record.reason)
                    continue
                if fill is not None:
                    fill(record)
                row, problems = converter.convert(record.values)
                if problems:
                    self.problem(name, record.line, "; ".join(problems))
                    continue
                key = row[pk[0]] if len(pk) == 1 else tuple(row[c] for c in pk)
                if key in seen:
                    self.problem(
                        name,
                        record.line,
                        f"duplicate {', '.join(pk)} {key!r} (first at line {seen[key]})",
                    )
                    continue
                seen[key] = record.line
                self.loose[table.name].setdefault(_loose(key), []).append(key)
                yield record.line, row
        except FeedError as exc:
            self.problem(name, None, f"{exc}; rest of the file skipped")

    def write(self, name: str, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        batcher = _Batcher(self.conn, table, self.batch_size)
        pk = list(table.primary_key.columns)
        groups = self.loose[table.name]
        for row in rows:
            key = row[pk[0].name] if len(pk) == 1 else tuple(row[c.name] for c in pk)
            group = groups.get(_loose(key), ())
            if len(group) > 1:
                # Write what precedes, then ask the table whether it already has this key.
                batcher.flush()
                if self.merged(name, table, key):
                    group.remove(key)
                    continue
            batcher.add(row)
        batcher.flush()
        self.report.rows[table.name] = batcher.written

    def merged(self, name: str, table: Table, key: Any) -> bool:
        """True (and reported) if the table holds a different key that SQL finds equal to `key`,
        so that writing the row would overwrite that row instead of adding one."""
        pk = list(table.primary_key.columns)
        parts = key if isinstance(key, tuple) else (key,)
        found = self.conn.execute(
            select(*pk).where(*(c == v for c, v in zip(pk, parts, strict=True)))
        ).all()
        others = [r[0] if len(pk) == 1 else tuple(r) for r in found]
        others = [other for other in others if other != key]
        if not others:
            return False
        seen = self.keys[table.name]
        line = seen.pop(key)
        other = others[0]
        where = f"line {seen[other]}" if other in seen else "already in the database"
        names = ", ".join(c.name for c in pk)
        self.problem(
            name,
            line,
            f"duplicate {names} {key!r}: the database compares it equal to {other!r} ({where}), "
            "so it would merge the two rows (declare the column with a binary collation)",
        )
        return True

    def references(
        self, name: str, line: int, row: dict[str, Any], checks: list[tuple[str, str, str]]
    ) -> bool:
        """True if every (column, table, file) foreign key of the row names a loaded row."""
        for column, target, target_file in checks:
            if row[column] is not None and row[column] not in self.keys[target]:
                self.problem(name, line, f"{column} {row[column]!r} is not in {target_file}")
                return False
        return True

    # -- the files, in foreign-key order ---------------------------------------------------

    def agency(self) -> None:
        if "agency.txt" not in self.feed:
            return self.missing("agency.txt")
        try:
            _, peek = self.feed.read("agency.txt")
            single = sum(isinstance(record, Record) for record in peek) == 1
        except FeedError:  # reported by self.rows below
            single = False

        def fill(record: Record) -> None:
            if single and not record.values.get("agency_id"):
                record.values["agency_id"] = DEFAULT_AGENCY_ID

        self.write("agency.txt", AGENCY, (row for _, row in self.rows("agency.txt", AGENCY, fill)))
        if single:
            # Routes may then leave agency_id out: they belong to this agency.
            self.single_agency = next(iter(self.keys["agency"]), None)

    def stops(self) -> None:
        """Stops reference their parent station: load parents first, and report (and set
        NULL) a parent that is not in the feed, is the stop itself or closes a cycle."""
        if "stops.txt" not in self.feed:
            return self.missing("stops.txt")
        rows = {row["stop_id"]: (line, row) for line, row in self.rows("stops.txt", STOPS)}
        for stop_id, (line, row) in rows.items():
            parent = row["parent_station"]
            if parent is not None and (parent not in rows or parent == stop_id):
                why = "the stop itself" if parent == stop_id else "not in stops.txt"
                self.problem("stops.txt", line, f"parent_station {parent!r} is {why}", False)
                row["parent_station"] = None
        ordered: list[dict[str, Any]] = []
        placed: set[str] = set()
        pending = list(rows.values())
        while pending:
            waiting = []
            for line, row in pending:
                if row["parent_station"] is None or row["parent_station"] in placed:
                    ordered.append(row)
                    placed.add(row["stop_id"])
                else:
                    waiting.append((line, row))
            if len(waiting) == len(pending):  # only cycles left: break one, go on
                line, row = waiting[0]
                self.problem(
                    "stops.txt",
                    line,
                    f"parent_station {row['parent_station']!r} closes a cycle",
                    False,
                )
                row["parent_station"] = None
            pending = waiting
        self.write("stops.txt", STOPS, ordered)

    def calendar(self) -> None:
        # Optional: a feed may define its services in calendar_dates.txt alone.
        if "calendar.txt" in self.feed:
            self.write(
                "calendar.txt", CALENDAR, (row for _, row in self.rows("calendar.txt", CALENDAR))
            )

    def routes(self) -> None:
        if "routes.txt" not in self.feed:
            return self.missing("routes.txt")

        def fill(record: Record) -> None:
            if not record.values.get("agency_id") and self.single_agency is not None:
                record.values["agency_id"] = self.single_agency

        def valid() -> Iterator[dict[str, Any]]:
            several = len(self.keys["agency"]) > 1
            for line, row in self.rows("routes.txt", ROUTES, fill):
                if row["agency_id"] is None and several:
                    self.problem("routes.txt", line, "agency_id is required: several agencies")
                elif self.references(
                    "routes.txt", line, row, [("agency_id", "agency", "agency.txt")]
                ):
                    yield row

        self.write("routes.txt", ROUTES, valid())

    def trips(self) -> None:
        if "trips.txt" not in self.feed:
            return self.missing("trips.txt")
        checks = [("route_id", "routes", "routes.txt")]
        self.write(
            "trips.txt",
            TRIPS,
            (
                row
                for line, row in self.rows("trips.txt", TRIPS)
                if self.references("trips.txt", line, row, checks)
            ),
        )

    def stop_times(self) -> None:
        if "stop_times.txt" not in self.feed:
            return self.missing("stop_times.txt")
        checks = [("trip_id", "trips", "trips.txt"), ("stop_id", "stops", "stops.txt")]
        self.write(
            "stop_times.txt",
            STOP_TIMES,
            (
                row
                for line, row in self.rows("stop_times.txt", STOP_TIMES)
                if self.references("stop_times.txt", line, row, checks)
            ),
        )

    def missing(self, name: str) -> None:
        self.problem(name, None, "required file is missing")

    def run(self) -> None:
        self.agency()
        self.stops()
        self.calendar()
        self.routes()
        self.trips()
        self.stop_times()


def engine_for(url: URL | str) -> Engine:
    """An engine for a database URL; ValueError with a readable message if it cannot be made
    (malformed URL, unknown database kind, driver not installed)."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = str(url)
    try:
        return create_engine(make_url(url))
    except NoSuchModuleError:
        raise ValueError(f"unknown database kind in {shown!r}") from None
    except ImportError as exc:
        raise ValueError(f"the database driver for {shown!r} is not installed: {exc}") from None
    except (ArgumentError, ValueError) as exc:
        raise ValueError(f"invalid database URL {shown!r}: {exc}") from None


def import_feed(
    source: str | Path,
    engine_or_url: Engine | URL | str,
    *,
    progress: bool = True,
    batch_size: int = 5000,
    replace: bool = False,
) -> ImportReport:
    """Import the GTFS feed at `source` (a zip, or a directory of .txt files).

    Creates the tables if missing and loads everything in one transaction: either the whole
    feed is in (bad rows aside, see the report) or nothing changed. `replace=True` empties the
    tables first. Raises `FeedError` if `source` is not a GTFS feed at all, `ValueError` for a
    malformed database URL; SQLAlchemy's own errors (e.g. the server is down) pass through.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, not {batch_size}")
    started = time.perf_counter()
    owned = not isinstance(engine_or_url, Engine)
    engine = engine_or_url if isinstance(engine_or_url, Engine) else engine_for(engine_or_url)
    try:
        with Feed(source) as feed:
            if not any(name in feed for name, _ in LOAD_ORDER):
                wanted = ", ".join(name for name, _ in LOAD_ORDER)
                raise FeedError(f"{source}: not a GTFS feed (none of {wanted} in it)")
            report = ImportReport(
                source=str(source),
                database=engine.url.render_as_string(hide_password=True),
                rows={table.name: 0 for _, table in LOAD_ORDER},
                ignored_files=[n for n in feed.files if n not in dict(LOAD_ORDER)],
            )
            with engine.begin() as conn:
                Base.metadata.create_all(conn)
                if replace:
                    for _, table in reversed(LOAD_ORDER):
                        conn.execute(delete(table))
                _Import(feed, conn, report, batch_size, progress).run()
    finally:
        if owned:
            engine.dispose()
    report.seconds = time.perf_counter() - started
    return report
