"""Fixtures for the transit example's tests: the shipped feeds, hand-made feeds, databases."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from examples.transit.importer import import_feed

from tests.pgserver import PgServer

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "transit" / "data"
SAMPLE_FEED = DATA / "sample_gtfs.zip"
CAIRNS_FEED = DATA / "cairns_gtfs.zip"

MakeZip = Callable[..., Path]


def read_csv(feed: Path, name: str) -> list[dict[str, str]]:
    """A feed file's rows as the CSV says, read independently of the importer."""
    with zipfile.ZipFile(feed) as zf:
        text = zf.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def make_zip(tmp_path: Path) -> MakeZip:
    """make_zip(name, {"stops.txt": "text", ...}, folder="") -> path of a new zip in tmp_path.

    Texts are written byte for byte (str encoded as UTF-8, bytes as they are), so a test can
    put BOMs, CRLFs and broken encodings in them."""

    def make(name: str, files: dict[str, str | bytes], folder: str = "") -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            for file_name, text in files.items():
                data = text.encode() if isinstance(text, str) else text
                zf.writestr(folder + file_name, data)
        return path

    return make


def sqlite_engine(path: Path, enforce_foreign_keys: bool = True) -> sa.Engine:
    """A SQLite engine that, unlike SQLite's default, enforces foreign keys: a load in the
    wrong order or a dangling reference then fails the test instead of passing silently."""
    engine = sa.create_engine(f"sqlite:///{path}")
    if enforce_foreign_keys:

        @sa.event.listens_for(engine, "connect")
        def _fk_on(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sqlite_engine(tmp_path / "transit.sqlite")
    yield engine
    engine.dispose()


def cairns_calls() -> dict[str, list[str]]:
    """The Cairns feed's trip_id -> the stop_id of each of its calls, in stop_sequence order
    (a loop's repeated stop twice), from the CSV."""
    rows: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in read_csv(CAIRNS_FEED, "stop_times.txt"):
        rows[row["trip_id"]].append((int(row["stop_sequence"]), row["stop_id"]))
    return {trip_id: [stop for _, stop in sorted(calls)] for trip_id, calls in rows.items()}


def _import_cairns(url: str) -> None:
    assert import_feed(CAIRNS_FEED, url, progress=False).ok


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def cairns(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    """The Cairns feed on SQLite, then on PostgreSQL (a copy of the feed's template database,
    the one the web tests use, dropped afterwards)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('cairns') / 'transit.sqlite'}"
        _import_cairns(url)
        engine = sa.create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    pg_server: PgServer = request.getfixturevalue("pg_server")
    template = pg_server.template(f"transit:{CAIRNS_FEED.name}", _import_cairns)
    db = pg_server.create_database(template=template)
    engine = sa.create_engine(db.url)
    try:
        yield engine
    finally:
        engine.dispose()
        pg_server.drop_database(db.name)
