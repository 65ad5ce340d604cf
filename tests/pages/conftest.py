"""Both example apps, four ways (test clients and real HTTP), on the sample feed, on SQLite and
PostgreSQL: the web tests' fixtures, with the response headers the Link convention needs."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from examples.transit import fastapi_app, flask_app

from tests.web.conftest import (  # noqa: F401  (fixtures used by name)
    TIMEOUT,
    _serve_fastapi,
    _serve_flask,
    database,
    postgresql_sample_db,
    sample_db,
    sqlite_sample_db,
)

with warnings.catch_warnings():  # starlette's note about httpx2; irrelevant here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    statements: int


@dataclass
class Client:
    """One app reached one way; ``get`` counts the statements the request issued."""

    name: str
    _get: Callable[[str], tuple[int, dict[str, str], bytes]]
    engine: sa.Engine
    statements: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        sa.event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def get(self, url: str) -> Reply:
        self.statements.clear()
        status, headers, body = self._get(url)
        return Reply(status, {k.lower(): v for k, v in headers.items()}, body, len(self.statements))

    def __repr__(self) -> str:
        return self.name


def _clients(db: str) -> Iterator[dict[str, Client]]:
    flask = flask_app.create_app(db)
    fast = fastapi_app.create_app(db)
    flask_engine: sa.Engine = flask.extensions["transit_engine"]
    fast_engine: sa.Engine = fast.state.engine
    flask_client = flask.test_client()
    test_client = TestClient(fast)

    def flask_get(url: str) -> tuple[int, dict[str, str], bytes]:
        response = flask_client.get(url)
        return response.status_code, dict(response.headers), response.data

    def via(client: Any) -> Callable[[str], tuple[int, dict[str, str], bytes]]:
        def get(url: str) -> tuple[int, dict[str, str], bytes]:
            response = client.get(url)
            return response.status_code, dict(response.headers), response.content

        return get

    flask_server = _serve_flask(flask)
    fast_server = _serve_fastapi(fast)
    flask_http = httpx.Client(base_url=next(flask_server), timeout=TIMEOUT)
    fast_http = httpx.Client(base_url=next(fast_server), timeout=TIMEOUT)
    yield {
        "flask": Client("flask", flask_get, flask_engine),
        "fastapi": Client("fastapi", via(test_client), fast_engine),
        "flask-http": Client("flask-http", via(flask_http), flask_engine),
        "fastapi-http": Client("fastapi-http", via(fast_http), fast_engine),
    }
    flask_http.close()
    fast_http.close()
    test_client.close()
    for server in (flask_server, fast_server):
        next(server, None)
    flask_engine.dispose()
    fast_engine.dispose()


@pytest.fixture(scope="module")
def clients(sample_db: str) -> Iterator[dict[str, Client]]:  # noqa: F811  (the fixture)
    """Both apps, four ways, on the sample feed of the session's ``database`` parameter."""
    yield from _clients(sample_db)


@pytest.fixture(params=["flask", "fastapi", "flask-http", "fastapi-http"])
def client(request: pytest.FixtureRequest, clients: dict[str, Client]) -> Client:
    """Each app, each way, on the sample feed, on each database."""
    return clients[request.param]
