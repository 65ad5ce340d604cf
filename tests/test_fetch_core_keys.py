"""The Core strategy binds each level to the keys the level above fetched (issue 15.2, 16).

Each statement below the root is one flat SELECT whose parents' keys (a many-to-one: its
foreign-key values) are bound parameters, never a nested ``IN (SELECT ... IN (SELECT ...))``
chain: MariaDB without fresh statistics planned that chain as a scan per row (53 s on a Cairns
route). Past `bound_limit` keys a level falls back to the key subquery, with the same document
and the same number of statements. Composite keys (a call is keyed by its journey and
sequence) are bound as row values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts
from tests.databases import ALL, Db, database
from tests.statements import StatementCounter
from treeshape.sql.fetch import core

Key = sa.String(16).with_variant(
    mysql.VARCHAR(16, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)


class Base(DeclarativeBase):
    pass


class Line(Base):
    __tablename__ = "ck_line"

    line_id: Mapped[str] = mapped_column(Key, primary_key=True)
    journeys: Mapped[list[Journey]] = relationship(order_by="Journey.journey_id")


class Journey(Base):
    __tablename__ = "ck_journey"

    journey_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    line_id: Mapped[str] = mapped_column(sa.ForeignKey("ck_line.line_id"), index=True)
    calls: Mapped[list[Call]] = relationship(order_by="Call.sequence")


class Call(Base):
    __tablename__ = "ck_call"

    journey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ck_journey.journey_id"), primary_key=True
    )
    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    place_id: Mapped[str | None] = mapped_column(sa.ForeignKey("ck_place.place_id"), index=True)
    place: Mapped[Place | None] = relationship()
    notes: Mapped[list[Note]] = relationship(order_by="Note.note_id")


class Note(Base):
    """A child of a composite-keyed parent: its level binds (journey_id, sequence) pairs."""

    __tablename__ = "ck_note"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["journey_id", "sequence"], ["ck_call.journey_id", "ck_call.sequence"]
        ),
    )

    note_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    journey_id: Mapped[int]
    sequence: Mapped[int]
    text: Mapped[str] = mapped_column(sa.String(40))


class Place(Base):
    __tablename__ = "ck_place"

    place_id: Mapped[str] = mapped_column(Key, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    parent_id: Mapped[str | None] = mapped_column(sa.ForeignKey("ck_place.place_id"))
    parent: Mapped[Place | None] = relationship(remote_side=[place_id])


SHAPE = ts.shape(Line, "journeys.calls.place.parent", "journeys.calls.notes")


@pytest.fixture(scope="module", params=ALL)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        with db.engine.begin() as conn:
            conn.execute(
                sa.insert(Place),
                [{"place_id": "P0", "name": "hub", "parent_id": None}]
                + [{"place_id": f"p{i}", "name": f"n{i}", "parent_id": "P0"} for i in range(5)],
            )
            conn.execute(sa.insert(Line), [{"line_id": f"L{i}"} for i in range(3)])
            conn.execute(
                sa.insert(Journey),
                [{"journey_id": j, "line_id": f"L{j % 3}"} for j in range(7)],
            )
            calls = [
                {"journey_id": j, "sequence": s, "place_id": None if s == 2 else f"p{(j + s) % 5}"}
                for j in range(7)
                for s in range(4)
            ]
            conn.execute(sa.insert(Call), calls)
            notes = [
                {"note_id": n, "journey_id": n % 7, "sequence": n % 4, "text": f"t{n}"}
                for n in range(9)
            ]
            conn.execute(sa.insert(Note), notes)
        yield db


def _orm_bytes(db: Db, *criteria: Any) -> bytes:
    with Session(db.engine) as session:
        stmt = sa.select(Line).options(*SHAPE.loader_options()).where(*criteria)
        return SHAPE.dump_json(session.scalars(stmt.order_by(Line.line_id)).all(), many=True)


def _core(db: Db, *criteria: Any, limit: int | None = None) -> tuple[bytes, list[str]]:
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        got = SHAPE.fetch_json(session, *criteria, strategy="core", limit=limit)
    return got, counter.statements


@pytest.mark.parametrize("criteria", [(), (Line.line_id.in_(["L1", "L2"]),)], ids=["all", "some"])
def test_levels_bind_the_fetched_keys(db: Db, criteria: tuple[Any, ...]) -> None:
    got, statements = _core(db, *criteria)
    assert got == _orm_bytes(db, *criteria)
    assert len(statements) == 1 + SHAPE.node.count_relations() == 6
    # Below the root each statement is one flat SELECT: no key subquery at any depth.
    for sql in statements[1:]:
        assert sql.upper().count("SELECT") == 1, sql


def test_limit_binds_the_limited_roots(db: Db) -> None:
    got, statements = _core(db, limit=2)
    expected = orjson.loads(_orm_bytes(db))[:2]
    assert orjson.loads(got) == expected
    assert len(statements) == 6
    assert all(sql.upper().count("SELECT") == 1 for sql in statements[1:])


@pytest.mark.parametrize("limit", [0, 1, 5])
def test_past_the_bound_limit_the_subquery_gives_the_same(
    db: Db, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``bound_limit`` forced down, levels fall back to key subqueries: same bytes, same
    statement count (limit 5 mixes both: the few lines bind, the many calls do not)."""
    expected, bound = _core(db)
    monkeypatch.setattr(core, "bound_limit", lambda name: limit)
    got, statements = _core(db)
    assert got == expected
    assert len(statements) == len(bound)
    assert any(sql.upper().count("SELECT") > 1 for sql in statements[1:])


def test_no_roots_still_one_statement_per_relationship(db: Db) -> None:
    got, statements = _core(db, Line.line_id == "none")
    assert got == b"[]"
    assert len(statements) == 6


def test_plain_collections_read_their_own_rows(db: Db) -> None:
    """A one-to-many joined only by the parent's key selects its rows by their foreign key
    (no join back to the parents); one parent key binds as ``= ?``. The lookups (place,
    parent) and the composite-keyed notes keep their forms."""
    one = Line.line_id == "L1"
    got, statements = _core(db, one)
    assert got == _orm_bytes(db, one)
    journeys, calls, place, parent, notes = (sql.upper() for sql in statements[1:])
    for sql in (journeys, calls, notes):
        assert "JOIN" not in sql, sql
    assert "CK_JOURNEY_1.LINE_ID = " in journeys, journeys
    assert "CK_CALL_1.JOURNEY_ID IN " in calls, calls
    assert "CK_PLACE" in place and "CK_PLACE" in parent
