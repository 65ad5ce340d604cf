"""The inheritance models' tables on SQLite, then on throwaway PostgreSQL and MariaDB databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agreement import without_jit
from tests.databases import ALL, BOTH, Db, database
from tests.mappings.inheritance_models import InheritanceBase


@pytest.fixture(scope="module", params=BOTH)
def world_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, InheritanceBase.metadata) as db:
        yield without_jit(db)


@pytest.fixture(scope="module", params=ALL)
def world_db_all(request: pytest.FixtureRequest) -> Iterator[Db]:
    """The same on MariaDB too, for what its JSON dialect builds differently (windows)."""
    with database(request, InheritanceBase.metadata) as db:
        yield without_jit(db)
