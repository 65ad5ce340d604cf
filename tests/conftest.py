"""Shared fixtures: an engine per test on the test models, and a statement counter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from tests.models import Base
from tests.statements import StatementCounter

pytest_plugins = ["tests.pg_fixtures", "tests.mariadb_fixtures"]


def memory_engine() -> Engine:
    """An in-memory SQLite engine with the test models' tables."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    Base.metadata.create_all(engine)
    return engine


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = memory_engine()
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def statements(engine: Engine) -> Iterator[StatementCounter]:
    with StatementCounter(engine) as counter:
        yield counter
