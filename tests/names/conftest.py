"""The test models' tables on SQLite, then PostgreSQL, for the output-name tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import BOTH, Db, database
from tests.models import Base


@pytest.fixture(scope="module", params=BOTH)
def names_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    """The test models' tables on in-memory SQLite, then on a throwaway PostgreSQL database."""
    with database(request, Base.metadata) as db:
        yield db
