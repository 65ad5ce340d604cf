"""Pytest plugin: PostgreSQL fixtures for the suite (enable with ``pytest_plugins``).

Fixtures:

``pg_server`` (session)
    The ``PgServer``: ``$TREESHAPE_TEST_PG`` or a private PostgreSQL 15 cluster started on first
    use and stopped at the end of the session. Unavailable: the test is *skipped* with the
    reason, except under ``CI=true`` (or ``TREESHAPE_REQUIRE_PG=1``), where it *errors*: CI must
    prove that the PostgreSQL tests ran.
``pg_database`` (function)
    A fresh, empty UTF-8 database (``.name``, ``.url``, ``.async_url``), dropped afterwards.
``pg_url`` / ``pg_async_url`` (function)
    Its SQLAlchemy URL for psycopg 3 / asyncpg, as strings.
``pg_engine`` (function)
    A sync ``Engine`` (psycopg) on that database, disposed afterwards.
``pg_async_engine`` (function)
    An ``AsyncEngine`` (asyncpg) on it, with ``NullPool`` so that it does not matter which event
    loop the test runs its coroutines in (``asyncio.run`` in a sync test works).
``db_url`` (function, parametrized ``sqlite`` / ``postgresql``)
    The same test on both databases: a SQLite file URL or ``pg_url``.

Every test using one of them gets the ``postgres`` marker, so ``-m "not postgres"`` leaves
them out, and the terminal summary says how many ran against which server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from tests import pgserver
from tests.server_report import ServerReport

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

PG_FIXTURES = frozenset(
    {"pg_server", "pg_database", "pg_url", "pg_async_url", "pg_engine", "pg_async_engine"}
)


REPORT = ServerReport(
    label="PostgreSQL", marker="postgres", fixtures=PG_FIXTURES, require_env="TREESHAPE_REQUIRE_PG"
)


def pytest_configure(config: pytest.Config) -> None:
    REPORT.configure(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    REPORT.mark(items)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    REPORT.record(report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    REPORT.summary(terminalreporter)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    REPORT.require(session, exitstatus)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    try:
        server = pgserver.open_server()
    except pgserver.PgUnavailable as exc:
        REPORT.unavailable = str(exc).splitlines()[0]
        if pgserver.in_ci():
            pytest.fail(f"PostgreSQL is required here (CI) but unavailable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    REPORT.started(
        f"PostgreSQL {server.version}, {server.describe()}",
        server.cluster.startup_seconds if server.cluster is not None else None,
    )
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_database(pg_server: pgserver.PgServer) -> Iterator[pgserver.PgDatabase]:
    db = pg_server.create_database()
    try:
        yield db
    finally:
        pg_server.drop_database(db.name)


@pytest.fixture
def pg_url(pg_database: pgserver.PgDatabase) -> str:
    return pg_database.url


@pytest.fixture
def pg_async_url(pg_database: pgserver.PgDatabase) -> str:
    return pg_database.async_url


@pytest.fixture
def pg_engine(pg_database: pgserver.PgDatabase) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_database.url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg_async_engine(pg_database: pgserver.PgDatabase) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine

    # NullPool: pooled asyncpg connections belong to the loop that opened them, and each test
    # may run its own loop; nothing is left to dispose (asynchronously) at teardown.
    return create_async_engine(pg_database.async_url, poolclass=sa.pool.NullPool)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A sync SQLAlchemy URL, once for SQLite (a file) and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+pysqlite:///{tmp_path / 'test.sqlite'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def async_url(url: str) -> str:
    """The asyncio counterpart of a ``db_url``: aiosqlite for SQLite, asyncpg for PostgreSQL."""
    parsed = sa.make_url(url)
    driver = "sqlite+aiosqlite" if parsed.get_backend_name() == "sqlite" else pgserver.ASYNC_DRIVER
    return parsed.set(drivername=driver).render_as_string(hide_password=False)
