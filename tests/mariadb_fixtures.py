"""Pytest plugin: MariaDB fixtures for the suite (enabled in ``tests/conftest.py``).

Fixtures:

``mariadb_server`` (session)
    The ``MariaDbServer``: ``$TREESHAPE_TEST_MARIADB`` or a private server started on first use
    and stopped at the end of the session. Unavailable: the test is *skipped* with the reason,
    except under ``CI=true`` (or ``TREESHAPE_REQUIRE_MARIADB=1``), where it *errors*.
``mariadb_database`` (function)
    A fresh, empty ``utf8mb4`` database (``.name``, ``.url``, ``.async_url``), dropped afterwards.
``mariadb_url`` / ``mariadb_async_url`` (function)
    Its SQLAlchemy URL for PyMySQL / aiomysql, as strings.
``mariadb_engine`` (function)
    A sync ``Engine`` (PyMySQL) on that database, disposed afterwards.

Every test using one of them gets the ``mariadb`` marker, so ``-m "not mariadb"`` leaves them
out, and the terminal summary says how many ran against which server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests import mariadb_server as mdb
from tests.server_report import ServerReport

__all__ = [
    "MARIADB_FIXTURES",
    "mariadb_database",
    "mariadb_engine",
    "mariadb_server",
    "mariadb_url",
]

MARIADB_FIXTURES = frozenset(
    {"mariadb_server", "mariadb_database", "mariadb_url", "mariadb_async_url", "mariadb_engine"}
)


REPORT = ServerReport(
    label="MariaDB", marker="mariadb", fixtures=MARIADB_FIXTURES, require_env=mdb.ENV_REQUIRE
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
def mariadb_server() -> Iterator[mdb.MariaDbServer]:
    try:
        server = mdb.open_server()
    except mdb.MariaDbUnavailable as exc:
        REPORT.unavailable = str(exc).splitlines()[0]
        if mdb.in_ci():
            pytest.fail(f"MariaDB is required here (CI) but unavailable: {exc}", pytrace=False)
        pytest.skip(f"MariaDB unavailable: {exc}")
    REPORT.started(
        f"MariaDB {server.version}, {server.describe()}",
        server.local.startup_seconds if server.local is not None else None,
    )
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def mariadb_database(mariadb_server: mdb.MariaDbServer) -> Iterator[mdb.MariaDbDatabase]:
    with mariadb_server.database() as db:
        yield db


@pytest.fixture
def mariadb_url(mariadb_database: mdb.MariaDbDatabase) -> str:
    return mariadb_database.url


@pytest.fixture
def mariadb_async_url(mariadb_database: mdb.MariaDbDatabase) -> str:
    return mariadb_database.async_url


@pytest.fixture
def mariadb_engine(mariadb_database: mdb.MariaDbDatabase) -> Iterator[sa.Engine]:
    engine = sa.create_engine(mariadb_database.url)
    try:
        yield engine
    finally:
        engine.dispose()
