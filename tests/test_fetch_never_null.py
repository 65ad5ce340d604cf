"""Primary keys in PostgreSQL's JSON statement: their text goes into the document without a
``coalesce`` to ``null`` (a node less to parse and plan per value), and only where the value
cannot be NULL: a key of the class's own rows, never a foreign key read for a target's id, nor
a column of a class mapped to an outer join, nor a column only the model declares NOT NULL
(the table may allow NULL: `Drifted`).

The reference is ``dump_json`` of the same rows loaded through the ORM, on SQLite and
PostgreSQL, with the JSON and the Core strategy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, ForeignKey, Integer, String, Table, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    column_property,
    mapped_column,
    relationship,
)

import treeshape as ts
from tests.databases import BOTH, Db, database
from tests.statements import StatementCounter
from treeshape.inspection import model_info
from treeshape.sql.fetch.json import json_plans


class Base(DeclarativeBase):
    pass


class Owner(Base):
    __tablename__ = "nn_owner"
    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))  # NOT NULL
    nick: Mapped[str | None] = mapped_column(String(40))
    pets: Mapped[list[Pet]] = relationship(back_populates="owner", order_by="Pet.pet_id")


class Pet(Base):
    __tablename__ = "nn_pet"
    pet_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL for a stray: its id as a many-to-one reads this column, not the owner's NOT NULL key.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("nn_owner.owner_id"))
    legs: Mapped[int] = mapped_column(Integer)  # NOT NULL
    owner: Mapped[Owner | None] = relationship(back_populates="pets")


class Drifted(Base):
    """``name`` is NOT NULL in the model (``Mapped[str]``) and nullable in the table the test
    creates (`drifted_table`): the document must still say ``null``, as ``dump_json`` does."""

    __tablename__ = "nn_drifted"
    drifted_key: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


drifted_table = Table(
    "nn_drifted",
    sa.MetaData(),
    Column("drifted_key", String(20), primary_key=True),
    Column("name", String(40), nullable=True),
)

person = Table(
    "nn_person",
    Base.metadata,
    Column("person_id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
)
badge = Table(
    "nn_badge",
    Base.metadata,
    Column("person_id", ForeignKey("nn_person.person_id"), primary_key=True),
    Column("code", String(40), nullable=False),
)


class BadgedPerson(Base):
    """Mapped to an outer join: ``code`` is NOT NULL in its table, NULL for a person without a
    badge."""

    __table__ = person.outerjoin(badge)
    person_id = column_property(person.c.person_id, badge.c.person_id)


class BadgeHolder(Base):
    """Mapped to an inner join: every column is its table's."""

    __table__ = person.join(badge)
    person_id = column_property(person.c.person_id, badge.c.person_id)


OWNERS = ts.shape(Owner, "pets")
PETS = ts.shape(Pet, "owner(ids)")
BADGED = ts.shape(BadgedPerson)
DRIFTED = ts.shape(Drifted)

HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module", params=BOTH)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        yield db


def assert_same_bytes(db: Db, shape: ts.Shape) -> None:
    model = shape.model
    order = [getattr(model, c.key) for c in sa.inspect(model).primary_key]
    with Session(db.engine) as session:
        stmt = select(model).options(*shape.loader_options()).order_by(*order)
        expected = shape.dump_json(session.scalars(stmt).all(), many=True)
    with Session(db.engine) as session:
        with StatementCounter(db.engine) as counter:
            assert shape.fetch_json(session, strategy="json") == expected
        assert counter.count == 1
        assert shape.fetch_json(session, strategy="core") == expected


def test_never_null_is_a_column_of_the_class_s_own_rows() -> None:
    def facts(model: type) -> dict[str, bool]:
        return {f.name: f.never_null for f in model_info(model).columns.values()}

    # NOT NULL in the model is not trusted (the table may say otherwise), a primary key is.
    assert facts(Owner) == {"owner_id": True, "name": False, "nick": False}
    assert facts(Pet) == {"pet_id": True, "owner_id": False, "legs": False}
    assert facts(Drifted) == {"drifted_key": True, "name": False}
    # Any column of an outer join's row may be NULL (the badge's, here): none is trusted.
    assert facts(BadgedPerson) == {"person_id": False, "name": False, "code": False}
    assert facts(BadgeHolder) == {"person_id": True, "name": False, "code": False}


def test_postgresql_writes_never_null_values_without_coalesce() -> None:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    owners = str(
        json_plans(OWNERS.__treeshape_node__).get(dialect).statement.compile(dialect=dialect)
    )
    assert "CAST(nn_owner.owner_id AS TEXT)," in owners
    assert "coalesce(to_json(nn_owner.name), 'null')" in owners
    assert "coalesce(to_json(nn_owner.nick), 'null')" in owners
    assert "CAST(nn_pet_1.pet_id AS TEXT)," in owners
    assert "coalesce(CAST(nn_pet_1.legs AS TEXT), 'null')" in owners
    drifted = json_plans(DRIFTED.__treeshape_node__).get(dialect).statement.compile(dialect=dialect)
    assert "to_json(nn_drifted.drifted_key)," in str(drifted)
    pets = str(json_plans(PETS.__treeshape_node__).get(dialect).statement.compile(dialect=dialect))
    # The owner's id is the pet's nullable foreign key, though the owner's key is NOT NULL.
    assert "coalesce(CAST(nn_pet.owner_id AS TEXT), 'null')" in pets
    badged = json_plans(BADGED.__treeshape_node__).get(dialect).statement.compile(dialect=dialect)
    assert "coalesce(to_json(nn_badge.code), 'null')" in str(badged)


@HYPOTHESIS
@given(
    owners=st.lists(st.tuples(st.text(max_size=5), st.none() | st.text(max_size=5)), max_size=4),
    pets=st.lists(st.tuples(st.none() | st.integers(0, 5), st.integers(0, 8)), max_size=8),
)
def test_documents_match_dump_json(
    db: Db, owners: list[tuple[str, str | None]], pets: list[tuple[int | None, int]]
) -> None:
    exclude = "\x00"
    db.clean()
    with Session(db.engine) as session:
        for i, (name, nick) in enumerate(owners, 1):
            session.add(
                Owner(
                    owner_id=i,
                    name=name.replace(exclude, ""),
                    nick=None if nick is None else nick.replace(exclude, ""),
                )
            )
        session.flush()
        for i, (owner, legs) in enumerate(pets, 1):
            owner_id = owner if owner is not None and 0 < owner <= len(owners) else None
            session.add(Pet(pet_id=i, owner_id=owner_id, legs=legs))
        session.commit()
    assert_same_bytes(db, OWNERS)
    assert_same_bytes(db, PETS)


def test_a_class_mapped_to_an_outer_join_gives_null_for_the_missing_row(db: Db) -> None:
    db.clean()
    with db.engine.begin() as conn:
        conn.execute(
            person.insert(), [{"person_id": 1, "name": "a"}, {"person_id": 2, "name": "b"}]
        )
        conn.execute(badge.insert(), [{"person_id": 2, "code": "x"}])
    with Session(db.engine) as session:
        documents = BADGED.fetch(session, strategy="json")
    assert [d["code"] for d in documents] == [None, "x"]
    assert_same_bytes(db, BADGED)


def test_a_null_the_model_says_cannot_be_is_still_null(db: Db) -> None:
    """A table whose DDL allows NULL where the model declares NOT NULL (a model written after
    the database, ``Mapped[str]`` on a nullable column): ``null``, as ``dump_json`` gives."""
    db.clean()
    with db.engine.begin() as conn:
        Drifted.__table__.drop(conn)
        drifted_table.create(conn)
        conn.execute(drifted_table.insert(), [{"drifted_key": "a", "name": None}])
    try:
        with Session(db.engine) as session:
            assert DRIFTED.fetch(session, strategy="json") == [{"drifted_key": "a", "name": None}]
        assert_same_bytes(db, DRIFTED)
    finally:
        with db.engine.begin() as conn:
            drifted_table.drop(conn)
            Drifted.__table__.create(conn)
