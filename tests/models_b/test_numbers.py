"""Class 6: numbers at the edges (huge and tiny floats, NaN and infinities, the 64-bit integer
limits, Numeric with many digits) are equal in every backend and ``fetch`` stays within its
statement bound, on SQLite and PostgreSQL."""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts
from tests.databases import BOTH, Db
from tests.models_b.helpers import agree, open_db
from tests.statements import StatementCounter


class Base(DeclarativeBase):
    pass


class Station(Base):
    """A scientific data server's station: its readings as doubles, counters as BIGINT."""

    __tablename__ = "mb_station"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(30))
    readings: Mapped[list[Reading]] = relationship(order_by="Reading.id")


class Reading(Base):
    __tablename__ = "mb_reading"
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("mb_station.id"))
    value: Mapped[float | None] = mapped_column(sa.Double)
    counter: Mapped[int | None] = mapped_column(sa.BigInteger)
    amount: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(38, 6))
    price: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(10, 2))
    ratio: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(20, 10))


FIELDS = {
    "Station": ["id", "name"],
    "Reading": ["id", "station_id", "value", "counter", "amount", "price"],
}
shape = ts.shape(Station, "readings", fields={"Reading": FIELDS["Reading"]})
EDGE_FLOATS = [
    1e100,
    1.7976931348623157e308,
    -1e300,
    5e-324,
    1e-100,
    2.2250738585072014e-308,
    0.1,
    1e15,
    1e16,
    123456789012345678.0,
    -0.0,
    0.0,
    1e-5,
    1e-4,
]
EDGE_INTS = [2**63 - 1, -(2**63), 2**53 + 1, -(2**53) - 1, 0]
EDGE_DECIMALS = ["12345678901234567890123456789012.123456", "-0.000001", "0.000000", "1E+6"]


@pytest.fixture(scope="module", params=BOTH)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with open_db(request, Base.metadata) as db:
        yield db


def _store(db: Db, rows: list[tuple[float | None, int | None, decimal.Decimal | None]]) -> None:
    db.clean()
    with Session(db.engine) as session:
        station = Station(id=2**63 - 1, name="edge")
        station.readings = [
            Reading(id=i, value=v, counter=c, amount=a, price=_fits(a, 8), ratio=_fits(a, 10))
            for i, (v, c, a) in enumerate(rows, 1)
        ]
        session.add(station)
        session.commit()


def _fits(value: decimal.Decimal | None, digits: int) -> decimal.Decimal | None:
    """``value`` where a Numeric with ``digits`` integer digits holds it (PostgreSQL refuses
    more), else None."""
    return value if value is None or abs(value) < 10**digits - 1 else None


def _fetch_statements(db: Db, strategy: str) -> int:
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        shape.fetch_json(session, strategy=strategy)
        shape.fetch(session, strategy=strategy)
        return counter.count


def test_edge_values_agree_within_the_statement_bound(db: Db) -> None:
    rows = [
        (f, EDGE_INTS[i % len(EDGE_INTS)], decimal.Decimal(EDGE_DECIMALS[i % len(EDGE_DECIMALS)]))
        for i, f in enumerate(EDGE_FLOATS)
    ]
    _store(db, rows)
    [doc] = agree(db, shape, {"readings": {}}, FIELDS)
    assert doc["id"] == 2**63 - 1
    assert [r["value"] for r in doc["readings"]] == EDGE_FLOATS
    assert {r["counter"] for r in doc["readings"]} == set(EDGE_INTS)
    # At most one statement per relationship plus one, for fetch and fetch_json alike.
    assert _fetch_statements(db, "json") == 2 * 1
    assert _fetch_statements(db, "core") == 2 * 2


def test_more_digits_than_the_scale(db: Db) -> None:
    """SQLite stores a Numeric as a double and the ORM rounds it half to even at the scale
    (``2.675`` is 2.67499...: ``2.67``), where SQLite's ``printf`` would round a 16-digit
    approximation half away from zero (``2.68``): ``fetch`` gives the ORM's string."""
    values = ["2.675", "0.125", "-0.125", "1.005", "1234567.345", "0.004"]
    _store(db, [(None, None, decimal.Decimal(v)) for v in values])
    [doc] = agree(db, shape, {"readings": {}}, FIELDS)
    prices = [r["price"] for r in doc["readings"]]
    if db.kind == "sqlite":
        assert prices == ["2.67", "0.12", "-0.12", "1.00", "1234567.34", "0.00"]
    else:  # numeric rounds half away from zero when it stores the value
        assert prices == ["2.68", "0.13", "-0.13", "1.01", "1234567.35", "0.00"]


def test_small_values_at_a_large_scale(db: Db) -> None:
    """``str(Decimal)`` writes values below 1e-6 with an exponent (``1E-10``): SQLite's JSON
    strategy leaves them to Python; PostgreSQL's refuses such a scale (Core serves it)."""
    wide = ts.shape(Reading, fields=["id", "ratio"])
    _store(db, [(None, None, decimal.Decimal(v)) for v in ["1E-10", "0", "0.5", "12.0000000001"]])
    expected = [
        {"id": 1, "ratio": "1E-10"},
        {"id": 2, "ratio": "0E-10"},
        {"id": 3, "ratio": "0.5000000000"},
        {"id": 4, "ratio": "12.0000000001"},
    ]
    strategies = ["core", "json"] if db.kind == "sqlite" else ["core"]
    with Session(db.engine) as session:
        objs = session.scalars(sa.select(Reading).order_by(Reading.id)).all()
        assert wide.dump(objs, many=True) == expected
        for strategy in strategies:
            assert wide.fetch(session, strategy=strategy) == expected
            assert wide.fetch_json(session, strategy=strategy) == wide.dump_json(objs, many=True)
        if db.kind == "postgresql":
            with pytest.raises(ts.FetchError, match=r"Reading\.ratio: Numeric without a scale"):
                wide.fetch(session, strategy="json")
            assert wide.fetch(session) == expected  # the default falls back to Core


def test_nan_and_infinities(db: Db) -> None:
    """PostgreSQL keeps NaN and infinities (SQLite stores NaN as NULL): ``null`` in JSON, the
    float in ``dump`` (as Pydantic's ``model_dump(mode="json")``), never an error."""
    _store(db, [(math.inf, None, None), (-math.inf, None, None), (math.nan, None, None)])
    with Session(db.engine) as session:
        objs = session.scalars(sa.select(Station).options(*shape.loader_options())).all()
        dumped = shape.dump_json(objs, many=True)
        assert dumped == shape.fetch_json(session, strategy="json")
        assert dumped == shape.fetch_json(session, strategy="core")
        values = [r["value"] for r in orjson.loads(dumped)[0]["readings"]]
        assert values == [None, None, None]
        for out in (
            shape.dump(objs, many=True),
            shape.marshmallow_schema(many=True).dump(objs),
            [shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs],
            shape.fetch(session, strategy="core"),
        ):
            got = [r["value"] for r in out[0]["readings"]]
            # Same bytes once written as JSON: orjson writes NaN and infinities as null.
            assert orjson.dumps(got) == b"[null,null,null]", got
            if db.kind == "postgresql":
                assert got[:2] == [math.inf, -math.inf] and math.isnan(got[2])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.floats(allow_nan=False, allow_infinity=False),
            st.none() | st.integers(-(2**63), 2**63 - 1),
            st.none()
            | st.decimals(min_value=-(10**31), max_value=10**31, places=6, allow_nan=False),
        ),
        max_size=5,
    )
)
def test_any_finite_numbers(
    db: Db, rows: list[tuple[float | None, int | None, decimal.Decimal | None]]
) -> None:
    _store(db, rows)
    agree(db, shape, {"readings": {}}, FIELDS)
    assert _fetch_statements(db, "json") == 2
