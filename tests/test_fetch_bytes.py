"""`fetch_json` gives the bytes of ``dump_json(objs, many=True)``, on SQLite and PostgreSQL.

DESIGN.md: the same bytes from both, whatever the data: compact separators, the shortest float
text that reads back as the same double (orjson's layout), and orjson's escaping of strings.
The reference is always ``dump_json`` of the same rows loaded with ``loader_options()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts
from tests.databases import BOTH, Db, database
from tests.statements import StatementCounter
from treeshape.sql.fetch.dialects.base import FLOAT_MARKER
from treeshape.sql.fetch.json import json_plans


class Base(DeclarativeBase):
    pass


class Holder(Base):
    __tablename__ = "bytes_holder"
    holder_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    items: Mapped[list[Item]] = relationship(back_populates="holder", order_by="Item.item_id")


class Item(Base):
    __tablename__ = "bytes_item"
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("bytes_holder.holder_id"))
    x: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(200))
    holder: Mapped[Holder] = relationship(back_populates="items")


class Stored(Base):
    """A JSON column next to a float: stored JSON is re-encoded, and never read as a marker."""

    __tablename__ = "bytes_stored"
    stored_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    x: Mapped[float | None] = mapped_column(Float)
    data: Mapped[Any] = mapped_column(JSON)


TREE = ts.shape(Holder, "items.holder")
"""Objects in arrays in objects, and a many-to-one inside a collection."""

AWKWARD = [
    0.0,
    -0.0,
    1.0,
    100.0,
    -16.746248,
    145.7781,
    0.1 + 0.2,
    1e-4,
    9.99e-5,
    1e-5,
    1e-7,
    1e15,
    1e15 + 0.5,
    9007199254740993.0,
    2.0**53,
    1.5e16,
    1e16,
    22334758857200688.0,  # PostgreSQL prints 17 digits, orjson 16 (a tie at the bound)
    9.999999999999999e99,
    1e100,
    1.0000000000000002e100,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    5e-324,
    2.2250738585072014e-308,
    2.225073858507201e-308,
    math.inf,
    -math.inf,
    math.nan,
]
floats = st.one_of(
    st.sampled_from(AWKWARD),
    st.floats(),
    st.floats(min_value=-1e3, max_value=1e3).map(lambda v: round(v, 6)),
    # Around SQLite's eight-decimal test (`_eight_decimals`): up to 1e7, eight decimals or more.
    st.floats(min_value=-2e7, max_value=2e7).map(lambda v: round(v, 8)),
    st.floats(min_value=-1e-3, max_value=1e-3).map(lambda v: round(v, 9)),
    st.integers(-300, 300).map(lambda e: 10.0**e),
)
HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module", params=BOTH)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        yield db


def texts(db: Db) -> st.SearchStrategy[str]:
    """Any text the database stores: PostgreSQL text cannot hold NUL."""
    exclude = "\x00" if db.kind == "postgresql" else ""
    return st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=exclude))


def reference(db: Db, shape: ts.Shape) -> bytes:
    model = shape.model
    order = [getattr(model, c.key) for c in sa.inspect(model).primary_key]
    with Session(db.engine) as session:
        stmt = select(model).options(*shape.loader_options()).order_by(*order)
        return shape.dump_json(session.scalars(stmt).all(), many=True)


def assert_same_bytes(db: Db, shape: ts.Shape, statements: int) -> None:
    expected = reference(db, shape)
    with Session(db.engine) as session:
        with StatementCounter(db.engine) as counter:
            assert shape.fetch_json(session, strategy="json") == expected
        assert counter.count == statements
        assert shape.fetch_json(session, strategy="core") == expected
        assert shape.fetch_json(session) == expected


def fill(db: Db, rows: list[tuple[float, str, list[tuple[float, str]]]]) -> None:
    db.clean()
    with Session(db.engine) as session:
        item_id = 0
        for holder_id, (value, name, items) in enumerate(rows, 1):
            holder = Holder(holder_id=holder_id, name=name, value=value)
            for x, label in items:
                item_id += 1
                holder.items.append(Item(item_id=item_id, x=x, label=label[:200]))
            session.add(holder)
        session.commit()


@HYPOTHESIS
@given(data=st.data())
def test_random_floats_and_strings_give_dump_json_bytes(db: Db, data: st.DataObject) -> None:
    text = texts(db)
    item = st.tuples(floats, text)
    rows = data.draw(st.lists(st.tuples(floats, text, st.lists(item, max_size=4)), max_size=4))
    fill(db, rows)
    assert_same_bytes(db, TREE, statements=1)


@pytest.mark.parametrize("value", AWKWARD, ids=repr)
def test_awkward_float_in_one_statement(db: Db, value: float) -> None:
    """Every float, above 1e100 too, in the one JSON statement: no retry through Core."""
    fill(db, [(value, "n", [(value, "l"), (-value, "m")])])
    assert_same_bytes(db, TREE, statements=1)


def decade_values() -> list[float]:
    """Around every decade bound of SQLite's 15-digit test (`_fifteen_digits`), 1e-5 to 1e16:
    the power of ten and its neighbours, and values of 15, 16 and 17 digits in the decade."""
    values = []
    for e in range(-5, 17):
        power = float(f"1e{e}")
        values += [power, math.nextafter(power, 0), math.nextafter(power, math.inf)]
        values += [
            float(f"{digits}e{e}")
            for digits in (
                "1.23456789012345",
                "9.99999999999999",
                "1.234567890123456",
                "1.2345678901234567",
            )
        ]
    return values


def test_floats_at_every_decade_bound(db: Db) -> None:
    """Each decade's test at its edges, both signs: one statement, the dump's bytes."""
    values = decade_values()
    fill(db, [(v, "n", [(v, "l"), (-v, "m")]) for v in values])
    assert_same_bytes(db, TREE, statements=1)


def eight_decimal_values() -> list[float]:
    """Around the bounds of SQLite's eight-decimal test (`_eight_decimals`), 1e-4 and 1e7:
    the bounds and their neighbours, and values of eight, nine and more decimals near them."""
    values = []
    for bound in (1e-4, 1e7):
        values += [bound, math.nextafter(bound, 0), math.nextafter(bound, math.inf)]
    values += [
        0.00010001,
        0.000100001,
        0.00012345678,
        0.0001234567,
        0.99999999,
        1.12345678,
        1.123456789,
        12345.6789,
        9999999.12345678,
        9999999.99999999,
        9999999.5,
        9999999.999999998,
        10000000.00000001,
        12345678.12345678,
    ]
    return values


def test_floats_at_the_eight_decimal_bounds(db: Db) -> None:
    """SQLite's first float test at its edges, both signs: one statement, the dump's bytes."""
    values = eight_decimal_values()
    fill(db, [(v, "n", [(v, "l"), (-v, "m")]) for v in values])
    assert_same_bytes(db, TREE, statements=1)


def test_every_control_and_non_ascii_character(db: Db) -> None:
    start = 1 if db.kind == "postgresql" else 0
    every = "".join(chr(c) for c in range(start, 0x250)) + "\u2028\u2029\ufeff\U0001f600"
    fill(db, [(1.5, every, [(2.5, every[i : i + 20]) for i in range(0, 200, 20)])])
    assert_same_bytes(db, TREE, statements=1)


def test_stored_json_is_reencoded_and_never_read_as_a_marker(db: Db) -> None:
    db.clean()
    looks_like_a_marker = {FLOAT_MARKER: [1, 2], "é": [1.0e2, "\u00e9", 1e-7]}
    with Session(db.engine) as session:
        session.add(Stored(stored_id=1, x=1e-7, data=looks_like_a_marker))
        session.add(Stored(stored_id=2, x=0.5, data={"a": 1}))
        session.commit()
    shape = ts.shape(Stored)
    assert_same_bytes(db, shape, statements=1)
    with Session(db.engine) as session:
        assert shape.fetch(session)[0]["data"] == looks_like_a_marker


def test_postgresql_session_printing_fewer_float_digits(pg_engine: sa.Engine) -> None:
    """``extra_float_digits = 0`` prints 15 digits: those values are written by Python."""
    Base.metadata.create_all(pg_engine)
    db = Db("postgresql", pg_engine, Base.metadata)
    fill(db, [(0.1 + 0.2, "n", [(1 / 3, "l"), (145.7781, "m")])])
    expected = reference(db, TREE)
    with Session(db.engine) as session:
        session.execute(sa.text("SET LOCAL extra_float_digits = 0"))
        assert session.scalar(sa.text("SELECT (1/3.0)::float8::text")) == "0.333333333333333"
        with StatementCounter(db.engine) as counter:
            assert TREE.fetch_json(session, strategy="json") == expected
        # The statement finds the setting (its root comes back NULL); the one with every
        # double written by Python runs instead.
        assert counter.count == 2
        with StatementCounter(db.engine) as counter:
            assert TREE.fetch(session, strategy="json") == orjson.loads(expected)
        assert counter.count == 2


def test_postgresql_reads_extra_float_digits_once_per_root(pg_engine: sa.Engine) -> None:
    """One check of the session's float digits in the statement, not one per double (each is
    nodes to parse and plan on every call); a session printing the shortest digits runs one
    statement."""
    Base.metadata.create_all(pg_engine)
    db = Db("postgresql", pg_engine, Base.metadata)
    fill(db, [(0.5, "n", [(1 / 3, "l"), (2.0, "m")])])
    doc = json_plans(TREE.__treeshape_node__).get(pg_engine.dialect)
    sql = str(doc.statement.compile(pg_engine))
    assert sql.count("translate(") == 3  # Holder.value, Item.x, the item's holder's value
    assert sql.count("current_setting('extra_float_digits')") == 1
    fallback = json_plans(TREE.__treeshape_node__).get(pg_engine.dialect, fallback=True)
    fallback_sql = str(fallback.statement.compile(pg_engine))
    assert fallback_sql.count("float8send") == 3
    assert "current_setting" not in fallback_sql
    assert_same_bytes(db, TREE, statements=1)


@pytest.mark.parametrize("digits", [-15, -10, 0, 2, 3])
def test_postgresql_session_printing_other_float_digits(pg_engine: sa.Engine, digits: int) -> None:
    """Fewer digits print whole numbers in exponent form (``1e+05`` with -10): never given a
    ``.0``; more digits (2, 3) still print the shortest."""
    Base.metadata.create_all(pg_engine)
    db = Db("postgresql", pg_engine, Base.metadata)
    fill(db, [(100000.0, "n", [(123456.0, "l"), (0.1 + 0.2, "m"), (12345.0, "o")])])
    expected = reference(db, TREE)
    with Session(db.engine) as session:
        session.execute(sa.text(f"SET LOCAL extra_float_digits = {digits}"))
        with StatementCounter(db.engine) as counter:
            assert TREE.fetch_json(session, strategy="json") == expected
        assert counter.count == (1 if digits > 0 else 2)
