"""The write tests' tables on SQLite, then PostgreSQL, with the rows bodies refer to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from tests.databases import BOTH, Db, database

from .models import Base, Customer, Product, Tag


def seed(db: Db) -> None:
    """Empty tables, then the rows a body may refer to: customers 1-2, products A-C, tags 1-3."""
    db.clean()
    with Session(db.engine) as session:
        session.add_all([Customer(customer_id=i, name=f"c{i}") for i in (1, 2)])
        session.add_all([Product(sku=s, title=f"p{s}") for s in "ABC"])
        session.add_all([Tag(tag_id=i, label=f"t{i}") for i in (1, 2, 3)])
        session.commit()


@pytest.fixture(scope="module", params=BOTH)
def wdb(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        yield db


@pytest.fixture
def db(wdb: Db) -> Db:
    seed(wdb)
    return wdb
