"""Build, and cache, a SQLite database from a GTFS feed for the benchmarks.

Importing a feed takes seconds while a benchmark run wants a database at once, so each database
is built once into ``benchmarks/.cache/`` (gitignored) under a name that includes a digest of the
zip, and reused until the zip changes or ``rebuild=True`` is asked for.

The project's importer (``examples.transit.importer.import_feed``) is used when it is there; a
minimal loader below stands in for it otherwise, so that the benchmarks never depend on work in
progress elsewhere. Both produce the same rows for the tables the benchmarks read.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from examples.transit.models import Agency, Base, Calendar, Route, Stop, StopTime, Trip
from sqlalchemy import Boolean, Date, Engine, Float, Integer, create_engine, insert
from sqlalchemy.sql.schema import Table

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(__file__).resolve().parent / ".cache"

FEEDS: dict[str, Path] = {
    "cairns": ROOT / "examples" / "transit" / "data" / "cairns_gtfs.zip",
    "nyc": Path(__file__).resolve().parent / "data" / "nyc_subway_gtfs.zip",
}


def feed_path(name_or_path: str) -> Path:
    """Resolve a feed name (``cairns``, ``nyc``) or a path to a GTFS zip."""
    path = FEEDS.get(name_or_path, Path(name_or_path))
    if not path.is_file():
        raise FileNotFoundError(f"GTFS feed {name_or_path!r} not found at {path}")
    return path


def feed_engine(name_or_path: str, *, rebuild: bool = False, echo: bool = False) -> Engine:
    """An engine on a cached SQLite copy of the feed, building it first if needed."""
    db = feed_database(feed_path(name_or_path), rebuild=rebuild)
    return create_engine(f"sqlite:///{db}", echo=echo)


def feed_database(zip_path: Path, *, rebuild: bool = False) -> Path:
    """The path of the cached database for ``zip_path``, built if missing."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:12]
    loader_name, _ = _loader()
    db = CACHE_DIR / f"{zip_path.stem}-{digest}-{loader_name}.sqlite"
    if db.exists() and not rebuild:
        return db
    tmp = db.with_suffix(".building")
    build_database(zip_path, tmp)
    tmp.replace(db)
    return db


def build_database(zip_path: Path, db: Path) -> None:
    """Import ``zip_path`` into a new SQLite database at ``db``."""
    db.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{db}")
    try:
        _loader()[1](zip_path, engine)
    finally:
        engine.dispose()


def _loader() -> tuple[str, Callable[[Path, Engine], None]]:
    """The project's importer if it exists, else the minimal loader below."""
    try:
        from examples.transit.importer import import_feed
    except ImportError:
        return "minimal", load_minimal

    def load(zip_path: Path, engine: Engine) -> None:
        import_feed(zip_path, engine, progress=False)

    return "importer", load


# -- minimal loader ------------------------------------------------------------------------------

_FILES: list[tuple[str, type[Base]]] = [
    ("agency.txt", Agency),
    ("routes.txt", Route),
    ("calendar.txt", Calendar),
    ("stops.txt", Stop),
    ("trips.txt", Trip),
    ("stop_times.txt", StopTime),
]


def load_minimal(zip_path: Path, engine: Engine) -> None:
    """Load the tables the models map from a GTFS zip: columns by name, empty cells as NULL."""
    Base.metadata.create_all(engine)
    with zipfile.ZipFile(zip_path) as zf, engine.begin() as conn:
        names = set(zf.namelist())
        for filename, model in _FILES:
            if filename not in names:
                continue
            table: Table = model.__table__  # type: ignore[assignment]
            batch: list[dict[str, Any]] = []
            for row in _rows(zf, filename, table):
                batch.append(row)
                if len(batch) == 5000:
                    conn.execute(insert(table), batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)


def _rows(zf: zipfile.ZipFile, filename: str, table: Table) -> Iterator[dict[str, Any]]:
    converters = {c.name: _converter(c.type) for c in table.columns}
    with zf.open(filename) as raw:
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig"))
        for index, record in enumerate(reader):
            row: dict[str, Any] = {name: None for name in converters}
            for key, value in record.items():
                name = (key or "").strip()
                if name in converters and value is not None and value.strip() != "":
                    row[name] = converters[name](value.strip())
            if table.name == "agency" and row["agency_id"] is None:
                # agency_id is optional in GTFS when a feed has one agency.
                row["agency_id"] = row["agency_name"] or str(index)
            yield row


def _converter(sqltype: Any) -> Callable[[str], Any]:
    if isinstance(sqltype, Boolean):
        return lambda v: v == "1"
    if isinstance(sqltype, Integer):
        return lambda v: int(float(v))
    if isinstance(sqltype, Float):
        return float
    if isinstance(sqltype, Date):
        return lambda v: dt.date(int(v[:4]), int(v[4:6]), int(v[6:8]))
    return str
