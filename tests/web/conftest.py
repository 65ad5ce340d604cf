"""Fixtures for the web tests: imported feeds, both apps, and four ways to call them, on
SQLite and on PostgreSQL.

Every feed is imported once per session into a SQLite file and into a PostgreSQL template
database, of which the apps get a copy (they only read). The session-scoped ``database``
parameter (``sqlite``, ``postgresql``) runs every test using ``sample_db``, ``sample_apis``,
``api``, ``cairns_db`` or ``cairns_apis`` once per database; ``sqlite_sample_apis`` and
``postgresql_sample_apis`` (and their ``_cairns_`` counterparts) give a test both at once, to
compare them. Each app is reached through its framework's test client and over real HTTP on
127.0.0.1 (waitress for Flask, uvicorn for FastAPI, each in a thread on a free port), so the
same assertions run against all four ways, on both databases.
"""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
import uvicorn
import waitress  # type: ignore[import-untyped]
from examples.transit import fastapi_app, flask_app
from examples.transit.importer import import_feed

from tests.pgserver import PgServer

with warnings.catch_warnings():  # starlette's note about httpx2; irrelevant here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "transit" / "data"
SAMPLE_FEED = DATA / "sample_gtfs.zip"
CAIRNS_FEED = DATA / "cairns_gtfs.zip"
TIMEOUT = 20.0  # seconds: for server start-up and for every HTTP request


def read_csv(feed: Path, name: str) -> list[dict[str, str]]:
    """A feed file's rows as its CSV says, read independently of the importer."""
    with zipfile.ZipFile(feed) as zf:
        text = zf.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str
    statements: int

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Api:
    """One app reached one way; ``get`` also counts the SQL statements the request issued."""

    name: str
    framework: str
    _get: Callable[[str], tuple[int, bytes, str]]
    engine: sa.Engine
    statements: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        sa.event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def get(self, url: str) -> Answer:
        self.statements.clear()
        status, body, content_type = self._get(url)
        return Answer(status, body, content_type, len(self.statements))

    def __repr__(self) -> str:
        return self.name


#: The databases every app fixture runs on: a SQLite file and a PostgreSQL database (skipped,
#: with the reason, where PostgreSQL cannot be started; an error under CI).
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _imported(feed: Path, url: str) -> None:
    report = import_feed(feed, url, progress=False)
    assert report.ok, report.problems


def _sqlite(feed: Path, directory: Path) -> str:
    url = f"sqlite:///{directory / 'transit.sqlite'}"
    _imported(feed, url)
    return url


def feed_template(pg_server: PgServer, feed: Path) -> str:
    """A PostgreSQL template database with ``feed`` imported, built once per session: each
    user clones it (``pg_server.create_database(template=...)``, ~15 ms) instead of importing
    the feed again."""
    return pg_server.template(f"transit:{feed.name}", lambda url: _imported(feed, url))


def _postgresql(pg_server: PgServer, feed: Path) -> Iterator[str]:
    """A copy of the feed's template database, dropped afterwards (connections closed)."""
    db = pg_server.create_database(template=feed_template(pg_server, feed))
    try:
        yield db.url
    finally:
        pg_server.drop_database(db.name)


@pytest.fixture(scope="session", params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: every fixture below follows this one parameter, so a test
    using several of them runs once per database, never on a mix."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def sqlite_sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _sqlite(SAMPLE_FEED, tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def postgresql_sample_db(pg_server: PgServer) -> Iterator[str]:
    yield from _postgresql(pg_server, SAMPLE_FEED)


@pytest.fixture(scope="session")
def sqlite_cairns_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _sqlite(CAIRNS_FEED, tmp_path_factory.mktemp("cairns"))


@pytest.fixture(scope="session")
def postgresql_cairns_db(pg_server: PgServer) -> Iterator[str]:
    yield from _postgresql(pg_server, CAIRNS_FEED)


@pytest.fixture(scope="session")
def sample_db(request: pytest.FixtureRequest, database: str) -> str:
    """The sample feed's database URL, on each database in turn."""
    url: str = request.getfixturevalue(f"{database}_sample_db")
    return url


@pytest.fixture(scope="session")
def cairns_db(request: pytest.FixtureRequest, database: str) -> str:
    """The Cairns feed's database URL, on each database in turn."""
    url: str = request.getfixturevalue(f"{database}_cairns_db")
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {TIMEOUT} s")
        time.sleep(0.02)


def _http_get(base: str) -> tuple[httpx.Client, Callable[[str], tuple[int, bytes, str]]]:
    client = httpx.Client(base_url=base, timeout=TIMEOUT)

    def get(url: str) -> tuple[int, bytes, str]:
        response = client.get(url)
        return response.status_code, response.content, response.headers.get("content-type", "")

    return client, get


def _serve_flask(app: Any) -> Iterator[str]:
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=2)
    closing = threading.Event()

    def run() -> None:
        # waitress has no stop call: closing its socket from this thread makes the loop's
        # select() fail with EBADF, which is the expected end here and only here.
        try:
            server.run()
        except (OSError, ValueError):
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    closing.set()
    server.close()
    thread.join(TIMEOUT)


def _serve_fastapi(app: Any) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait(lambda: server.started, "uvicorn")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "uvicorn did not stop"


def _apis(db: str) -> Iterator[dict[str, Api]]:
    """The four ways to call the two apps on ``db``, servers stopped afterwards."""
    flask = flask_app.create_app(db)
    fast = fastapi_app.create_app(db)
    flask_engine: sa.Engine = flask.extensions["transit_engine"]
    fast_engine: sa.Engine = fast.state.engine

    flask_client = flask.test_client()

    def flask_get(url: str) -> tuple[int, bytes, str]:
        response = flask_client.get(url)
        return response.status_code, response.data, response.content_type or ""

    test_client = TestClient(fast)

    def fast_get(url: str) -> tuple[int, bytes, str]:
        response = test_client.get(url)
        return response.status_code, response.content, response.headers.get("content-type", "")

    flask_server = _serve_flask(flask)
    fast_server = _serve_fastapi(fast)
    flask_http, flask_http_get = _http_get(next(flask_server))
    fast_http, fast_http_get = _http_get(next(fast_server))
    apis = {
        "flask": Api("flask", "flask", flask_get, flask_engine),
        "fastapi": Api("fastapi", "fastapi", fast_get, fast_engine),
        "flask-http": Api("flask-http", "flask", flask_http_get, flask_engine),
        "fastapi-http": Api("fastapi-http", "fastapi", fast_http_get, fast_engine),
    }
    yield apis
    flask_http.close()
    fast_http.close()
    test_client.close()
    for server in (flask_server, fast_server):
        next(server, None)
    flask_engine.dispose()
    fast_engine.dispose()


@pytest.fixture(scope="session")
def sqlite_sample_apis(sqlite_sample_db: str) -> Iterator[dict[str, Api]]:
    yield from _apis(sqlite_sample_db)


@pytest.fixture(scope="session")
def postgresql_sample_apis(postgresql_sample_db: str) -> Iterator[dict[str, Api]]:
    yield from _apis(postgresql_sample_db)


@pytest.fixture(scope="session")
def sample_apis(request: pytest.FixtureRequest, database: str) -> dict[str, Api]:
    """Both apps, each way, on the sample feed, on each database in turn."""
    apis: dict[str, Api] = request.getfixturevalue(f"{database}_sample_apis")
    return apis


@pytest.fixture(scope="session")
def sqlite_cairns_apis(sqlite_cairns_db: str) -> Iterator[dict[str, Api]]:
    yield from _apis(sqlite_cairns_db)


@pytest.fixture(scope="session")
def postgresql_cairns_apis(postgresql_cairns_db: str) -> Iterator[dict[str, Api]]:
    yield from _apis(postgresql_cairns_db)


@pytest.fixture(scope="session")
def cairns_apis(request: pytest.FixtureRequest, database: str) -> dict[str, Api]:
    """Both apps, each way, on the Cairns feed, on each database in turn."""
    apis: dict[str, Api] = request.getfixturevalue(f"{database}_cairns_apis")
    return apis


@pytest.fixture(params=["flask", "fastapi", "flask-http", "fastapi-http"])
def api(request: pytest.FixtureRequest, sample_apis: dict[str, Api]) -> Api:
    """Each app, each way, on the shipped sample feed, on each database."""
    return sample_apis[request.param]
