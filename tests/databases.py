"""A module's tables on in-memory SQLite, then on throwaway PostgreSQL and MariaDB databases.

Most contracts must hold on both databases, so many modules parametrize a module-scoped
fixture over ``BOTH`` and open their tables with `database`. Module scope, because hypothesis
runs many examples in one test call and cannot use function-scoped fixtures; each example then
starts from empty tables (`Db.clean`), which costs about a millisecond where a fresh PostgreSQL
database per example would cost ~20 ms.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

__all__ = ["ALL", "BOTH", "MARIADB", "Db", "database"]

BOTH = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""The ``params`` of a fixture that opens its tables with `database`: SQLite and PostgreSQL."""

MARIADB = pytest.param("mariadb", marks=pytest.mark.mariadb)
"""The ``param`` that opens the tables on the session's MariaDB server."""

ALL = [*BOTH, MARIADB]
"""Every supported database: SQLite, PostgreSQL and MariaDB."""


@dataclass(frozen=True)
class Db:
    """A database with some metadata's tables: its kind (``sqlite``, ``postgresql``,
    ``mariadb``) and engine."""

    kind: str
    engine: sa.Engine
    metadata: sa.MetaData

    def clean(self) -> None:
        """Empty every table (children first, so constraints hold)."""
        with self.engine.begin() as conn:
            if self.kind == "mariadb":
                # InnoDB checks a self-referencing key row by row, whatever the delete order.
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
            for table in reversed(self.metadata.sorted_tables):
                conn.execute(table.delete())
            if self.kind == "mariadb":
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")


@contextmanager
def database(request: pytest.FixtureRequest, metadata: sa.MetaData) -> Iterator[Db]:
    """``metadata``'s tables on the database ``request.param`` names (one of ``ALL``)."""
    if request.param == "sqlite":
        # One connection for every thread: an in-memory database exists per connection.
        engine = sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        try:
            metadata.create_all(engine)
            yield Db("sqlite", engine, metadata)
        finally:
            engine.dispose()
        return
    if request.param not in ("postgresql", "mariadb"):
        raise ValueError(f"unknown database {request.param!r}: sqlite, postgresql or mariadb")
    server = request.getfixturevalue(
        "pg_server" if request.param == "postgresql" else "mariadb_server"
    )
    with server.database() as server_db:
        engine = sa.create_engine(server_db.url)
        try:
            metadata.create_all(engine)
            yield Db(request.param, engine, metadata)
        finally:
            engine.dispose()
