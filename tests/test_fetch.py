"""`Shape.fetch` / `fetch_json`: equal to ``dump(many=True)`` of ORM-loaded rows, both strategies.

Every comparison loads the reference through the ORM with ``loader_options()`` in a fresh
session, ordered as DESIGN.md says `fetch` orders: roots by primary key (or ``order_by=``, the
primary key breaking ties). The same tests run on SQLite and, where the fixtures can start one,
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, String, TypeDecorator, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import treeshape as ts
from tests.conftest import memory_engine
from tests.factories import NetworkSpec, build_network, make_gadget
from tests.models import (
    GADGET_COLUMNS,
    Base,
    Call,
    Gadget,
    Journey,
    Line,
    LineKind,
    Operator,
    Place,
)
from tests.statements import StatementCounter
from tests.strategies import Spec, networks, specs
from treeshape.inspection import model_info
from treeshape.sql.fetch import FetchError, choose
from treeshape.sql.fetch.dialects.sqlite import SqliteJson

STRATEGIES = ("core", "json")
HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine with the test models' tables, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        engine = memory_engine()
    else:
        engine = request.getfixturevalue("pg_engine")
        Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def clear(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def pk_order(model: type) -> list[Any]:
    return [getattr(model, key) for key in model_info(model).primary_key]


def reference(
    engine: Engine,
    shape: ts.Shape,
    *criteria: Any,
    order_by: tuple[Any, ...] = (),
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """``dump(many=True)`` of the rows loaded with ``loader_options()``, in fetch's order."""
    stmt = select(shape.model).options(*shape.loader_options()).where(*criteria)
    stmt = stmt.order_by(*order_by, *pk_order(shape.model))
    if limit is not None:
        stmt = stmt.limit(limit)
    with Session(engine) as session:
        result: list[dict[str, Any]] = shape.dump(session.scalars(stmt).all(), many=True)
        return result


def assert_fetch_equal(engine: Engine, shape: ts.Shape, *criteria: Any, **kwargs: Any) -> None:
    """Both strategies, `fetch` and `fetch_json`, against the ORM dump."""
    expected = reference(engine, shape, *criteria, **kwargs)
    order = kwargs.pop("order_by", ())
    with Session(engine) as session:
        for strategy in STRATEGIES:
            got = shape.fetch(session, *criteria, order_by=order, strategy=strategy, **kwargs)
            assert got == expected, strategy
            raw = shape.fetch_json(session, *criteria, order_by=order, strategy=strategy, **kwargs)
            assert orjson.loads(raw) == expected, strategy


# -- random shapes over random networks --------------------------------------------------------


@HYPOTHESIS  # trees 3 deep: a 4th level makes PostgreSQL plan big documents for seconds
@given(spec=specs(max_depth=3), network=networks, limit=st.none() | st.integers(0, 4))
def test_random_shapes_equal_dump(
    db: Engine, spec: Spec, network: NetworkSpec, limit: int | None
) -> None:
    shape = ts.shape(spec.root, spec.tree, fields=spec.fields)
    clear(db)
    with Session(db) as session:
        build_network(session, network)
    assert_fetch_equal(db, shape, limit=limit)


def test_self_reference_depth_two(db: Engine) -> None:
    with Session(db) as session:
        build_network(session, NetworkSpec(places=12, seed=1))
    for spec in ("children.children", "parent.parent", "parent.children", "journeys.calls.place"):
        assert_fetch_equal(db, ts.shape(Place, spec))


def test_empty_collections_and_null_many_to_one(db: Engine) -> None:
    with Session(db) as session:
        build_network(session, NetworkSpec(operators=1, lines=4, journeys_per_line=0))
    shape = ts.shape(Line, "journeys.calls", "operator.lines")
    assert_fetch_equal(db, shape)
    docs = shape.fetch(Session(db))
    assert any(doc["operator"] is None for doc in docs)
    assert all(doc["journeys"] == [] for doc in docs)


def test_criteria_order_by_and_limit(db: Engine) -> None:
    with Session(db) as session:
        build_network(session, NetworkSpec(lines=6, seed=2))
    shape = ts.shape(Line, "journeys.calls.place", "operator")
    assert_fetch_equal(db, shape, Line.line_id > 2)
    assert_fetch_equal(db, shape, order_by=(Line.kind.desc(),), limit=3)
    assert_fetch_equal(db, shape, Line.line_id != 4, order_by=(Line.name.desc(),), limit=2)
    assert_fetch_equal(db, shape, limit=0)
    assert ts.shape(Line).fetch(Session(db), Line.line_id == -1) == []
    assert ts.shape(Line).fetch_json(Session(db), Line.line_id == -1) == b"[]"


def test_connection_instead_of_session(db: Engine) -> None:
    with Session(db) as session:
        build_network(session)
    shape = ts.shape(Journey, "calls.place")
    expected = reference(db, shape)
    with db.connect() as conn:
        for strategy in STRATEGIES:
            assert shape.fetch(conn, strategy=strategy) == expected


# -- every column type -------------------------------------------------------------------------

GADGET_SHAPE = ts.shape(Gadget, fields=[*GADGET_COLUMNS, "double_count"])
UNTYPED_SHAPE = ts.shape(Gadget, fields=["gadget_id", "label_length"])
"""``label_length`` is ``func.length(label)``: an expression SQLAlchemy gives no type."""


def test_untyped_expression(db: Engine) -> None:
    """SQLite passes untyped values through (REALs printed exactly); PostgreSQL, which could
    hand back any type, answers through Core under ``auto``."""
    with Session(db) as session:
        session.add_all([make_gadget(1, nulls=True), make_gadget(2, nulls=False)])
        session.commit()
    expected = reference(db, UNTYPED_SHAPE)
    assert UNTYPED_SHAPE.fetch(Session(db)) == expected
    assert UNTYPED_SHAPE.fetch(Session(db), strategy="core") == expected
    if db.dialect.name == "sqlite":
        assert UNTYPED_SHAPE.fetch(Session(db), strategy="json") == expected
    else:
        with pytest.raises(FetchError, match="label_length"):
            UNTYPED_SHAPE.fetch(Session(db), strategy="json")


def test_every_gadget_column(db: Engine) -> None:
    with Session(db) as session:
        session.add_all([make_gadget(1, nulls=True), make_gadget(2, nulls=False)])
        session.commit()
    assert_fetch_equal(db, GADGET_SHAPE)
    (doc, _) = GADGET_SHAPE.fetch(Session(db), strategy="json")
    assert doc == GADGET_SHAPE.fetch(Session(db), strategy="core")[0]
    assert doc["price"] == "1234.500"
    assert doc["at"] == "2024-03-01T12:30:45.000120"
    assert doc["uid"] == str(uuid.UUID(int=1))
    assert doc["kind"] == "tram"
    assert doc["flag"] is True
    assert doc["data"] == {"a": [1, 2.5, None, "x"], "b": {"c": True}}
    assert doc["double_count"] == 6


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)
# At most the columns' String(200): PostgreSQL and MariaDB refuse longer values.
texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200
)


@HYPOTHESIS
@given(
    weight=st.floats(allow_nan=False, allow_infinity=False),
    price=st.decimals(-(10**8), 10**8, places=3, allow_nan=False, allow_infinity=False),
    at=st.datetimes(dt.datetime(1000, 1, 1), dt.datetime(9999, 1, 1)),
    clock=st.times(),
    day=st.dates(dt.date(1000, 1, 1)),
    label=texts,
    kind=st.sampled_from(LineKind),
    data=json_values,
    uid=st.uuids(),
)
def test_gadget_values(db: Engine, **values: Any) -> None:
    clear(db)
    with Session(db) as session:
        gadget = make_gadget(1, nulls=True)
        for name, value in values.items():
            setattr(gadget, name, value)
        session.add(gadget)
        session.commit()
    assert_fetch_equal(db, GADGET_SHAPE)


@pytest.mark.parametrize("weight", [1.7976931348623025e308, -1e250, 5e-324, 0.1 + 0.2])
def test_extreme_floats(db: Engine, weight: float) -> None:
    """Floats SQL cannot print as orjson does (above 1e100 too) cost no retry through Core."""
    with Session(db) as session:
        gadget = make_gadget(1, nulls=True)
        gadget.weight = weight
        session.add(gadget)
        session.commit()
    assert_fetch_equal(db, GADGET_SHAPE)
    with StatementCounter(db) as counter:
        assert GADGET_SHAPE.fetch(Session(db), strategy="json")[0]["weight"] == weight
    assert counter.count == 1


def test_python_property_is_refused() -> None:
    shape = ts.shape(Gadget, fields=["gadget_id", "summary"])
    with Session(memory_engine()) as session, pytest.raises(FetchError, match="summary"):
        shape.fetch(session)


def test_bad_arguments() -> None:
    with Session(memory_engine()) as session:
        with pytest.raises(FetchError, match="strategy"):
            ts.shape(Line).fetch(session, strategy="xml")  # type: ignore[arg-type]
        with pytest.raises(FetchError, match="limit"):
            ts.shape(Line).fetch(session, limit="3")  # type: ignore[arg-type]


# -- fallback to Core --------------------------------------------------------------------------


class OtherBase(DeclarativeBase):
    pass


class Shouting(TypeDecorator[str]):
    """Converts in Python on the way out: no SQL can know that."""

    impl = String(20)
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.upper()


class Blob(OtherBase):
    """A column whose value only Python code produces."""

    __tablename__ = "blob"
    blob_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Shouting)


def test_unsupported_column_falls_back_to_core() -> None:
    engine = memory_engine()
    OtherBase.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Blob(blob_id=1, name="b", payload="quiet"))
        session.commit()
        shape = ts.shape(Blob)
        expected = shape.dump(session.scalars(select(Blob)).all(), many=True)
        with StatementCounter(engine) as counter:
            assert shape.fetch(session) == expected
        assert counter.count == 1
        with pytest.raises(FetchError, match=r"Blob\.payload"):
            shape.fetch(session, strategy="json")


def test_dialect_not_preferring_json_uses_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SqliteJson, "preferred", False)
    engine = memory_engine()
    with Session(engine) as session:
        build_network(session)
        shape = ts.shape(Line, "journeys")
        expected = reference(engine, shape)
        with StatementCounter(engine) as counter:
            assert shape.fetch(session) == expected
        assert counter.count == 2


def test_auto_runs_collections_of_collections_as_core(db: Engine) -> None:
    """``strategy="auto"``: one JSON statement while there is at most one collection on any
    path, the Core strategy (a statement per relationship) for collections of collections,
    where it is the cheaper of the two (`JsonDialect.prefers`); the same document either
    way. (MariaDB: tests/test_mariadb_fetch.py.)"""
    engine = db
    with Session(engine) as session:
        build_network(session)
        cases = [
            (ts.shape(Line, "journeys"), 1, "json"),
            (ts.shape(Line, "journeys.line", "operator"), 1, "json"),
            (ts.shape(Line, "journeys.calls"), 3, "core"),
            (ts.shape(Line, "journeys.calls.place"), 4, "core"),
        ]
        for shape, statements, strategy in cases:
            assert choose(shape.node, engine.dialect, "auto") == strategy
            expected = reference(engine, shape)
            with StatementCounter(engine) as counter:
                assert shape.fetch(session) == expected
            assert counter.count == statements, shape
            assert orjson.loads(shape.fetch_json(session)) == expected


# -- statement counts --------------------------------------------------------------------------

COUNTED = ts.shape(Line, "journeys.calls.place.parent", "journeys.line", "operator")


def bulk_network(engine: Engine, lines: int) -> None:
    """``lines`` lines, one journey each with two calls, fast (Core inserts)."""
    with engine.begin() as conn:
        conn.execute(insert(Operator), [{"operator_id": 1, "name": "o"}])
        conn.execute(
            insert(Place),
            [
                {"place_id": 1, "name": "p1", "parent_id": None},
                {"place_id": 2, "name": "p2", "parent_id": 1},
            ],
        )
        conn.execute(
            insert(Line),
            [
                {
                    "line_id": i,
                    "operator_id": 1 if i % 2 else None,
                    "name": f"L{i}",
                    "kind": LineKind.BUS,
                    "fare": decimal.Decimal("1.50"),
                }
                for i in range(1, lines + 1)
            ],
        )
        conn.execute(
            insert(Journey),
            [
                {"journey_id": i, "line_id": i, "service_date": dt.date(2024, 1, 1)}
                for i in range(1, lines + 1)
            ],
        )
        conn.execute(
            insert(Call),
            [
                {"journey_id": i, "sequence": s, "place_id": s}
                for i in range(1, lines + 1)
                for s in (1, 2)
            ],
        )


@pytest.mark.parametrize("lines", [10, 10_000])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_statement_counts(lines: int, strategy: str) -> None:
    engine = memory_engine()
    bulk_network(engine, lines)
    expected = 1 if strategy == "json" else 1 + COUNTED.node.count_relations()
    assert COUNTED.node.count_relations() == 6
    with Session(engine) as session, StatementCounter(engine) as counter:
        docs = COUNTED.fetch(session, strategy=strategy)  # type: ignore[arg-type]
        assert counter.count == expected
        counter.reset()
        COUNTED.fetch_json(session, strategy=strategy)  # type: ignore[arg-type]
        assert counter.count == expected
    assert len(docs) == lines
    assert docs[0]["journeys"][0]["calls"][1]["place"]["parent"]["place_id"] == 1
    if lines == 10:
        assert docs == reference(engine, COUNTED)
