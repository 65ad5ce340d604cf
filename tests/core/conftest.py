"""One engine per database for the core tests, shared by a module's hypothesis examples.

The core contract (every backend agrees, loading costs the planned number of statements) must
hold on PostgreSQL as on SQLite, so the property and type tests take ``core_db``, parametrized
over both. Hypothesis runs many examples inside one test call and cannot use function-scoped
fixtures, so the database lives for the module and each example starts from empty tables
(`CoreDb.clean`): a ``DELETE`` per table in reverse foreign-key order, which on a local
PostgreSQL costs about a millisecond, against ~20 ms for a fresh database per example.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.conftest import memory_engine
from tests.models import Base


@dataclass(frozen=True)
class CoreDb:
    """A database with the test models' tables: its kind (``sqlite``/``postgresql``) and engine."""

    kind: str
    engine: Engine

    def clean(self) -> None:
        """Empty every table of the test models (children first, so constraints hold)."""
        with self.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def core_db(request: pytest.FixtureRequest) -> Iterator[CoreDb]:
    """The test models' tables on in-memory SQLite, then on a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        engine = memory_engine()
        try:
            yield CoreDb("sqlite", engine)
        finally:
            engine.dispose()
        return
    server = request.getfixturevalue("pg_server")
    with server.database() as db:
        engine = sa.create_engine(db.url)
        try:
            Base.metadata.create_all(engine)
            yield CoreDb("postgresql", engine)
        finally:
            engine.dispose()
