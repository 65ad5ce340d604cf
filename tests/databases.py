"""A module's tables on in-memory SQLite, then on a throwaway PostgreSQL database.

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

BOTH = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""The ``params`` of a fixture that opens its tables with `database`."""


@dataclass(frozen=True)
class Db:
    """A database with some metadata's tables: its kind (``sqlite``/``postgresql``) and engine."""

    kind: str
    engine: sa.Engine
    metadata: sa.MetaData

    def clean(self) -> None:
        """Empty every table (children first, so constraints hold)."""
        with self.engine.begin() as conn:
            for table in reversed(self.metadata.sorted_tables):
                conn.execute(table.delete())


@contextmanager
def database(request: pytest.FixtureRequest, metadata: sa.MetaData) -> Iterator[Db]:
    """``metadata``'s tables on the database ``request.param`` names (one of ``BOTH``)."""
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
    with request.getfixturevalue("pg_server").database() as pg:
        engine = sa.create_engine(pg.url)
        try:
            metadata.create_all(engine)
            yield Db("postgresql", engine, metadata)
        finally:
            engine.dispose()
