"""Fixtures for the web tests: imported feeds, both apps, and four ways to call them.

Every feed is imported once per session into a SQLite file. Each app is reached through its
framework's test client and over real HTTP on 127.0.0.1 (waitress for Flask, uvicorn for
FastAPI, each in a thread on a free port), so the same assertions run against all four.
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


def _import(feed: Path, path: Path) -> str:
    url = f"sqlite:///{path}"
    report = import_feed(feed, url, progress=False)
    assert report.ok, report.problems
    return url


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _import(SAMPLE_FEED, tmp_path_factory.mktemp("sample") / "transit.sqlite")


@pytest.fixture(scope="session")
def cairns_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _import(CAIRNS_FEED, tmp_path_factory.mktemp("cairns") / "transit.sqlite")


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
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
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
def sample_apis(sample_db: str) -> Iterator[dict[str, Api]]:
    yield from _apis(sample_db)


@pytest.fixture(scope="session")
def cairns_apis(cairns_db: str) -> Iterator[dict[str, Api]]:
    yield from _apis(cairns_db)


@pytest.fixture(params=["flask", "fastapi", "flask-http", "fastapi-http"])
def api(request: pytest.FixtureRequest, sample_apis: dict[str, Api]) -> Api:
    """Each app, each way, on the shipped sample feed."""
    return sample_apis[request.param]
