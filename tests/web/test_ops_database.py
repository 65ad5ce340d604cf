"""Production defaults of both example apps (issue #19.9): a statement timeout on SQLite and
PostgreSQL, a JSON 503 (with ``Retry-After``) while the database is away or too slow, and
recovery without a restart: the suite's own PostgreSQL is stopped and started again under the
running apps, and the first request after it is back gets a 200 (pre-ping)."""

from __future__ import annotations

import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from examples.transit import fastapi_app, flask_app, ops
from examples.transit.importer import import_feed

from tests import pgserver
from tests.web.conftest import SAMPLE_FEED, _serve_fastapi, _serve_flask, feed_template

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

Get = Callable[[str], tuple[int, dict[str, str], bytes]]
FAST = ops.Settings(statement_timeout=0.5, pool_timeout=2.0)


def _getters(db_url: str, settings: ops.Settings) -> dict[str, Get]:
    """Both apps on ``db_url`` through their test clients: ``get(url) -> (status, headers,
    body)``."""
    flask = flask_app.create_app(db_url, settings=settings).test_client()
    fast = TestClient(fastapi_app.create_app(db_url, settings=settings))

    def flask_get(url: str) -> tuple[int, dict[str, str], bytes]:
        response = flask.get(url)
        return response.status_code, dict(response.headers), response.data

    def fast_get(url: str) -> tuple[int, dict[str, str], bytes]:
        response = fast.get(url)
        return response.status_code, dict(response.headers), response.content

    return {"flask": flask_get, "fastapi": fast_get}


def assert_unavailable(app: str, answer: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = answer
    assert status == 503, body
    headers = {k.lower(): v for k, v in headers.items()}
    assert headers["content-type"].startswith("application/json")
    assert headers["retry-after"] == ops.RETRY_AFTER
    parsed = orjson.loads(body)
    text = parsed["message"] if app == "flask" else parsed["detail"]
    assert text == ops.UNAVAILABLE_MESSAGE


# ------------------------------------------------------------------------------------------
# Settings


def test_settings_from_env() -> None:
    settings = ops.Settings.from_env(
        {"TRANSIT_STATEMENT_TIMEOUT": "2.5", "TRANSIT_POOL_SIZE": "3", "TRANSIT_OTHER": "x"}
    )
    assert settings == ops.Settings(statement_timeout=2.5, pool_size=3)
    assert settings.connections == 3 + ops.Settings().max_overflow
    assert ops.Settings.from_env({}) == ops.Settings()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TRANSIT_POOL_SIZE": "many"}, "TRANSIT_POOL_SIZE must be an integer, got 'many'."),
        ({"TRANSIT_POOL_SIZE": "0"}, "Settings.pool_size must be a number >= 1, got 0."),
        (
            {"TRANSIT_STATEMENT_TIMEOUT": "soon"},
            "TRANSIT_STATEMENT_TIMEOUT must be a number of seconds, got 'soon'.",
        ),
        ({"TRANSIT_POOL_TIMEOUT": "nan"}, "Settings.pool_timeout must be a number >= 0.001"),
    ],
)
def test_settings_refuse_bad_values_naming_them(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.").replace("(", r"\(")):
        ops.Settings.from_env(environ)


def test_engine_options_per_database() -> None:
    settings = ops.Settings(statement_timeout=1.5)
    pg = ops.engine_options("postgresql+psycopg://u@h/db", settings)
    assert pg["pool_pre_ping"] is True
    assert pg["connect_args"]["options"] == "-c statement_timeout=1500"
    asyncpg = ops.engine_options("postgresql+asyncpg://u@h/db", settings)
    assert asyncpg["connect_args"]["server_settings"] == {"statement_timeout": "1500"}
    sqlite = ops.engine_options("sqlite:///x.sqlite", settings)
    assert sqlite["connect_args"] == {"timeout": 1.5}
    assert sqlite["pool_size"] == settings.pool_size
    assert "pool_size" not in ops.engine_options("sqlite://", settings)  # no pool to size


# ------------------------------------------------------------------------------------------
# SQLite


@pytest.fixture(scope="module")
def sqlite_copy(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('ops') / 'transit.sqlite'}"
    assert import_feed(SAMPLE_FEED, url, progress=False).ok
    return url


def test_sqlite_statement_timeout_interrupts_a_long_statement(sqlite_copy: str) -> None:
    engine = ops.engine(sqlite_copy, ops.Settings(statement_timeout=0.2))
    endless = sa.text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
        "SELECT count(*) FROM (SELECT i FROM n LIMIT 1000000000)"
    )
    started = time.monotonic()
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="interrupted"):
        conn.execute(endless)
    assert time.monotonic() - started < 10  # cut near 0.2 s, not after a billion rows
    with engine.connect() as conn:  # the next statement gets its own deadline
        assert conn.execute(sa.text("SELECT count(*) FROM routes")).scalar_one() > 0
    engine.dispose()


def test_sqlite_locked_database_is_a_503_then_a_200(sqlite_copy: str) -> None:
    getters = _getters(sqlite_copy, ops.Settings(statement_timeout=0.3))
    path = sa.make_url(sqlite_copy).database
    assert path is not None
    import sqlite3

    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # no reader gets in until it ends
    try:
        for app, get in getters.items():
            assert_unavailable(app, get("/routes/AB"))
            assert get("/routes/AB?include=nope")[0] == 400  # no database needed: no wait
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    for get in getters.values():
        assert get("/routes/AB")[0] == 200


# ------------------------------------------------------------------------------------------
# PostgreSQL: a locked table, then the server stopped and started again


@pytest.fixture
def pg_copy(pg_server: pgserver.PgServer) -> Iterator[str]:
    db = pg_server.create_database(template=feed_template(pg_server, SAMPLE_FEED))
    try:
        yield db.url
    finally:
        pg_server.drop_database(db.name)


def test_postgresql_statement_timeout_is_a_503_not_a_stall(pg_copy: str) -> None:
    getters = _getters(pg_copy, FAST)
    locker = sa.create_engine(pg_copy, poolclass=sa.pool.NullPool)
    with locker.connect() as conn:
        conn.execute(sa.text("LOCK TABLE routes IN ACCESS EXCLUSIVE MODE"))
        for app, get in getters.items():
            started = time.monotonic()
            assert_unavailable(app, get("/routes/AB"))
            assert time.monotonic() - started < 10  # cancelled at 0.5 s, not held by the lock
            assert get("/stops?fields[Stop]=nope")[0] == 400
        conn.rollback()
    for get in getters.values():
        assert get("/routes/AB")[0] == 200
    locker.dispose()


def _pg_ctl(cluster: pgserver.LocalCluster, *args: str) -> None:
    done = subprocess.run(
        [*cluster.prefix, str(cluster.bindir / "pg_ctl"), *args, "-D", str(cluster.datadir)],
        cwd=cluster.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[tuple[pgserver.LocalCluster, str]]:
    """A private cluster of this module's own (the suite's shared one must keep running),
    with the sample feed imported."""
    try:
        cluster = pgserver.start_local_cluster()
    except pgserver.PgUnavailable as exc:
        if pgserver.in_ci():
            pytest.fail(f"PostgreSQL is required here (CI) but unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    server = pgserver.PgServer(cluster.url(), cluster)
    try:
        db = server.create_database()
        assert import_feed(SAMPLE_FEED, db.url, progress=False).ok
        yield cluster, db.url
    finally:
        server.close()


def _http(app: Any) -> tuple[Iterator[str], str]:
    server = _serve_flask(app) if isinstance(app, flask_app.Flask) else _serve_fastapi(app)
    return server, next(server)


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_postgresql_restart_503_while_away_then_200_without_restart(
    own_cluster: tuple[pgserver.LocalCluster, str], driver: str
) -> None:
    cluster, url = own_cluster
    fast_url = url if driver == "psycopg" else url.replace("+psycopg", "+asyncpg")
    apps = {
        "flask": flask_app.create_app(url, settings=FAST),
        "fastapi": fastapi_app.create_app(fast_url, settings=FAST),
    }
    if driver == "asyncpg":
        del apps["flask"]  # WSGI: sync drivers only
    servers = {name: _http(app) for name, app in apps.items()}
    client = httpx.Client(timeout=30)

    def get(app: str, path: str) -> tuple[int, dict[str, str], bytes]:
        response = client.get(servers[app][1] + path)
        return response.status_code, dict(response.headers), response.content

    try:
        for app in apps:  # connections pooled: they die with the server below
            for _ in range(3):
                assert get(app, "/routes/AB")[0] == 200
        _pg_ctl(cluster, "stop", "-m", "fast", "-w")
        try:
            for app in apps:
                for path in ("/routes/AB", "/stops", "/trips/AB1/stop_times"):
                    assert_unavailable(app, get(app, path))
                assert get(app, "/routes/AB?include=nope")[0] == 400
        finally:
            _pg_ctl(cluster, "start", "-w", "-l", str(cluster.logfile))
        for app in apps:  # the first request after the restart already succeeds
            for path in ("/routes/AB", "/stops", "/trips/AB1/stop_times"):
                status, _, body = get(app, path)
                assert status == 200, (app, path, body[:300])
        # A restart while the apps are idle: nothing has seen a pooled connection die, so
        # only the pre-ping stands between the first request and a dead connection.
        _pg_ctl(cluster, "restart", "-m", "fast", "-w", "-l", str(cluster.logfile))
        for app in apps:
            status, _, body = get(app, "/routes/AB")
            assert status == 200, (app, body[:300])
    finally:
        client.close()
        for server, _ in servers.values():
            next(server, None)
        for app in apps.values():
            engine = app.extensions["transit_engine"] if app is apps.get("flask") else None
            if engine is not None:
                engine.dispose()
