"""One engine per database for the core tests, shared by a module's hypothesis examples.

The core contract (every backend agrees, loading costs the planned number of statements) must
hold on PostgreSQL and MariaDB as on SQLite, so the property and type tests take ``core_db``,
parametrized over all three. Hypothesis runs many examples inside one test call and cannot use
function-scoped fixtures, so the database lives for the module and each example starts from
empty tables (`CoreDb.clean`): a ``DELETE`` per table in reverse foreign-key order, which on a
local PostgreSQL costs about a millisecond, against ~20 ms for a fresh database per example.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from tests.databases import ALL, Db, database
from tests.factories import NetworkSpec, build_network
from tests.models import Base

CoreDb = Db
"""A database with the test models' tables (`tests.databases.Db`)."""


@pytest.fixture(scope="module", params=ALL)
def core_db(request: pytest.FixtureRequest) -> Iterator[CoreDb]:
    """The test models' tables on in-memory SQLite, then on throwaway PostgreSQL and MariaDB
    databases."""
    with database(request, Base.metadata) as db:
        yield db


@pytest.fixture
def network(session: Session) -> Session:
    """One line's network in ``session``, expunged: loads start from an empty identity map."""
    build_network(session, NetworkSpec(lines=1))
    session.expunge_all()
    return session
