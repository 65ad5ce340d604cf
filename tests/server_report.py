"""What the suite says about a database server it needs: which tests ran on it, and where.

`tests/pg_fixtures.py` and `tests/mariadb_fixtures.py` each keep one `ServerReport` and forward
their pytest hooks to it. A test needing the server is marked when collected, and the mark also
goes into the item's ``user_properties``, which pytest copies into every report: under
pytest-xdist the controller collects nothing and sees only the workers' reports, so the counts
and the "required, yet nothing passed" check must read the reports alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pytest

__all__ = ["ServerReport"]

_PROPERTY = "treeshape_database"


class ServerReport:
    """The outcomes of the tests marked ``marker`` and where their server ran."""

    def __init__(
        self, *, label: str, marker: str, fixtures: Iterable[str], require_env: str
    ) -> None:
        self.label = label
        self.marker = marker
        self.fixtures = frozenset(fixtures)
        self.require_env = require_env
        self.server: str | None = None
        self.unavailable: str | None = None
        self.outcomes: dict[str, int] = {}

    def configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", f"{self.marker}: needs a {self.label} server")
        self.outcomes = {}

    def mark(self, items: list[pytest.Item]) -> None:
        """Marks every test that uses one of the server's fixtures, and records the mark."""
        for item in items:
            names = getattr(item, "fixturenames", ())
            if self.fixtures.intersection(names) and item.get_closest_marker(self.marker) is None:
                item.add_marker(getattr(pytest.mark, self.marker))
            if item.get_closest_marker(self.marker) is not None:
                item.user_properties.append((_PROPERTY, self.marker))

    def record(self, report: pytest.TestReport) -> None:
        # Not report.keywords: they also hold the names of parent directories and parameters.
        if (_PROPERTY, self.marker) not in report.user_properties:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = "error" if report.when == "setup" and report.failed else report.outcome
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def started(self, description: str, startup_seconds: float | None) -> None:
        self.server = description
        if startup_seconds is not None:
            self.server += f", started in {startup_seconds:.2f}s"

    def summary(self, terminalreporter: Any) -> None:
        if not self.outcomes and self.server is None and self.unavailable is None:
            return
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())) or "no test ran"
        if self.server is not None:
            where = self.server
        elif self.unavailable is not None:
            where = f"unavailable: {self.unavailable}"
        else:
            where = "servers started by the pytest-xdist workers"
        terminalreporter.write_sep("-", self.label)
        terminalreporter.write_line(f"{self.label} tests: {counts} ({where})")

    def require(self, session: pytest.Session, exitstatus: int) -> None:
        """Where the server is required, a run in which none of its tests passed fails."""
        if os.environ.get(self.require_env, "").strip() != "1":
            return
        if hasattr(session.config, "workerinput"):
            return  # an xdist worker sees only its share; the controller decides
        if exitstatus == 0 and not self.outcomes.get("passed"):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            tr = session.config.pluginmanager.get_plugin("terminalreporter")
            if tr is not None:
                tr.ensure_newline()
                tr.write_line(
                    f"{self.require_env}=1 but no {self.label} test passed", red=True, bold=True
                )
