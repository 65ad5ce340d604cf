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

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests import mariadb_server as mdb

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


class _Report:
    """What the terminal summary says about MariaDB (module state: one session per process)."""

    server: str | None = None
    startup: float | None = None
    unavailable: str | None = None
    outcomes: dict[str, int] = {}
    # Node ids of the tests marked ``mariadb`` (a report's keywords also hold the names of its
    # parent directories, so a checkout in a folder named "mariadb" would match every test).
    marked: set[str] = set()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mariadb: needs a MariaDB server")
    _Report.outcomes = {}
    _Report.marked = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if MARIADB_FIXTURES.intersection(names) and item.get_closest_marker("mariadb") is None:
            item.add_marker(pytest.mark.mariadb)
        if item.get_closest_marker("mariadb") is not None:
            _Report.marked.add(item.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _Report.marked:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "error" if report.when == "setup" and report.failed else report.outcome
        _Report.outcomes[outcome] = _Report.outcomes.get(outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    outcomes = _Report.outcomes
    if not outcomes and _Report.server is None and _Report.unavailable is None:
        return
    counts = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "no test ran"
    if _Report.server is not None:
        where = _Report.server
        if _Report.startup is not None:
            where += f", started in {_Report.startup:.2f}s"
    else:
        where = f"unavailable: {_Report.unavailable}"
    terminalreporter.write_sep("-", "MariaDB")
    terminalreporter.write_line(f"MariaDB tests: {counts} ({where})")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Where MariaDB is required, a run in which no MariaDB test passed is a failure."""
    if os.environ.get(mdb.ENV_REQUIRE, "").strip() != "1":
        return
    if exitstatus == 0 and not _Report.outcomes.get("passed"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.ensure_newline()
            tr.write_line(f"{mdb.ENV_REQUIRE}=1 but no MariaDB test passed", red=True, bold=True)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[mdb.MariaDbServer]:
    try:
        server = mdb.open_server()
    except mdb.MariaDbUnavailable as exc:
        _Report.unavailable = str(exc).splitlines()[0]
        if mdb.in_ci():
            pytest.fail(f"MariaDB is required here (CI) but unavailable: {exc}", pytrace=False)
        pytest.skip(f"MariaDB unavailable: {exc}")
    _Report.server = f"MariaDB {server.version}, {server.describe()}"
    if server.local is not None:
        _Report.startup = server.local.startup_seconds
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
