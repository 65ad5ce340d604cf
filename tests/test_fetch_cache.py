"""`fetch_json`'s statement: compiled once per criteria structure, executed as Core.

The document expression stands behind a constant cache key
(`treeshape.sql.fetch.json.DocumentExpression`), so a
call with new criteria values reuses the compiled statement; the output must still follow the
values. A Session runs the statement on its connection after an autoflush; a user's
``do_orm_execute`` hook keeps the ORM path.
"""

from __future__ import annotations

import operator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, bindparam, event, select
from sqlalchemy.orm import Session, sessionmaker

import treeshape as ts
from tests.factories import NetworkSpec, build_network
from tests.models import Journey, Line, Place
from tests.test_fetch import STRATEGIES, reference
from tests.test_fetch import db as db
from treeshape.sql.fetch.json import json_plans

SHAPE = ts.shape(Line, "journeys.calls.place", "operator")


@pytest.fixture
def network(db: Engine) -> Engine:
    with Session(db) as session:
        build_network(session, NetworkSpec(lines=5, seed=3))
    return db


class CacheHits:
    """Whether each statement the engine executes while active was a compiled-cache hit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hits: list[bool] = []

    def _record(self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, *a: Any) -> None:
        self.hits.append(context.cache_hit == context.dialect.CACHE_HIT)

    def __enter__(self) -> list[bool]:
        event.listen(self.engine, "after_cursor_execute", self._record)
        return self.hits

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "after_cursor_execute", self._record)


def test_new_values_reuse_the_compiled_statement(network: Engine) -> None:
    keys = (1, 2, 3, 4, 5, 6)
    exact = {k: reference(network, SHAPE, Line.line_id == k) for k in keys}
    at_least = {k: reference(network, SHAPE, Line.line_id >= k, limit=2) for k in keys}
    for strategy in STRATEGIES:
        with Session(network) as session:
            for key in keys:
                with CacheHits(network) as hits:
                    got = SHAPE.fetch_json(session, Line.line_id == key, strategy=strategy)
                    assert orjson.loads(got) == exact[key]
                    docs = SHAPE.fetch(session, Line.line_id >= key, limit=2, strategy=strategy)
                    assert docs == at_least[key]
                # once warm (Core's deepest level takes two calls), every statement is a hit
                assert hits and (key < 3 or all(hits)), (strategy, key, hits)


def test_other_criteria_structures_and_orders(network: Engine) -> None:
    with Session(network) as session:
        for criteria, order in (
            ((Line.line_id < 3,), ()),
            ((Line.line_id.in_([2, 4]), Line.name != "x"), (Line.name.desc(),)),
            ((), (Line.kind,)),
            ((Line.line_id == -1,), ()),
        ):
            expected = reference(network, SHAPE, *criteria, order_by=order)
            for strategy in STRATEGIES:
                raw = SHAPE.fetch_json(session, *criteria, order_by=order, strategy=strategy)
                assert orjson.loads(raw) == expected
    assert SHAPE.fetch_json(Session(network), Line.line_id == -1) == b"[]"


def test_shapes_sharing_a_root_do_not_share_statements(network: Engine) -> None:
    brief = ts.shape(Line, fields=["line_id"])
    with Session(network) as session:
        for shape in (SHAPE, brief, ts.shape(Line, "journeys"), SHAPE, brief):
            got = orjson.loads(shape.fetch_json(session, Line.line_id == 2))
            assert got == reference(network, shape, Line.line_id == 2)


def test_pending_objects_are_flushed_first(network: Engine) -> None:
    shape = ts.shape(Place, fields=["place_id", "name"])
    for strategy in STRATEGIES:
        with Session(network) as session:
            session.add(Place(place_id=99, name=f"new {strategy}"))
            got = shape.fetch(session, Place.place_id == 99, strategy=strategy)
            assert got == [{"place_id": 99, "name": f"new {strategy}"}]
            with session.no_autoflush:
                session.add(Place(place_id=98, name="later"))
                assert shape.fetch(session, Place.place_id == 98, strategy=strategy) == []


def test_a_users_orm_hook_still_sees_the_statement(network: Engine) -> None:
    factory = sessionmaker(network)
    seen: list[Any] = []
    event.listen(factory, "do_orm_execute", lambda state: seen.append(state.statement))
    with factory() as session:
        for strategy in STRATEGIES:
            seen.clear()
            ts.shape(Journey, "calls").fetch_json(session, strategy=strategy)
            assert len(seen) == (1 if strategy == "json" else 2)


def test_each_call_binds_its_own_values_into_the_shared_statement(network: Engine) -> None:
    """The statement built once per criteria structure (`CallStatements`) takes every value of
    the call: IN lists of other lengths (and empty), a bind with a callable, values inside a
    subquery, an order by attribute."""
    subquery = select(Journey.line_id).where(Journey.journey_id <= 3)
    calls: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = [
        ((Line.line_id.in_([2, 4]),), ()),
        ((Line.line_id.in_([1, 3, 5]),), ()),
        ((Line.line_id.in_([]),), ()),
        ((Line.line_id.in_([5]),), (Line.name,)),
        ((Line.line_id.in_([1, 2, 3]),), (Line.name,)),
        ((Line.line_id == bindparam("k", callable_=lambda: 3),), ()),
        ((Line.line_id == bindparam("k", callable_=lambda: 4),), ()),
        ((Line.line_id.in_(subquery), Line.line_id > 0), ()),
        ((Line.line_id.not_in(subquery), Line.line_id > 2), ()),
    ]
    for strategy in STRATEGIES:
        with Session(network) as session:
            for _ in range(2):
                for criteria, order in calls:
                    expected = reference(network, SHAPE, *criteria, order_by=order)
                    raw = SHAPE.fetch_json(session, *criteria, order_by=order, strategy=strategy)
                    assert orjson.loads(raw) == expected, (strategy, criteria)


def test_a_value_shared_between_criteria_is_bound_per_call(network: Engine) -> None:
    """One bound value in two criteria is never keyed as two: such calls build their own
    statement, and the next call with distinct values gets its own values."""
    for strategy in STRATEGIES:
        with Session(network) as session:
            for low, high in ((2, 2), (3, 3), (1, 4), (4, 4)):
                shared = bindparam("v", low)
                if low == high:
                    criteria: tuple[Any, ...] = (Line.line_id >= shared, Line.line_id <= shared)
                else:
                    criteria = (Line.line_id >= low, Line.line_id <= high)
                got = SHAPE.fetch(session, *criteria, strategy=strategy)
                assert got == reference(network, SHAPE, *criteria), (strategy, low, high)
                assert [d["line_id"] for d in got] == list(range(low, high + 1))


def test_one_statement_per_criteria_structure(network: Engine) -> None:
    """Calls of one structure share one statement object; a window builds its own."""
    doc = json_plans(SHAPE.__treeshape_node__).get(network.dialect)
    with Session(network) as session:
        seen = []
        for key in (1, 2, 3):
            SHAPE.fetch_json(session, Line.line_id == key, strategy="json")
            SHAPE.fetch_json(session, Line.line_id >= key + 10, limit=1, strategy="json")
            seen.append(dict(doc.calls.statements))
    # The first call of the structure keeps its statement (the windowed calls keep none): no
    # call after it adds a statement or replaces one.
    assert seen[0] and len(seen[0]) == len(seen[1]) == len(seen[2])
    for structure, (stmt, *_) in seen[0].items():
        assert seen[1][structure][0] is stmt and seen[2][structure][0] is stmt


def test_column_comparisons_are_keyed_by_operator_and_column(network: Engine) -> None:
    """A column compared with a value is keyed without SQLAlchemy's cache key: each operator,
    column and negation is a structure of its own, and each call binds its own value."""
    comparisons: list[Any] = [
        *(op(column, value) for column in _COLUMNS for op in _OPERATORS for value in (2, 4)),
        ~(Line.line_id == 3),
        Line.line_id == bindparam("k", 2),
    ]
    for strategy in STRATEGIES:
        with Session(network) as session:
            for _ in range(2):
                for criterion in comparisons:
                    got = SHAPE.fetch(session, criterion, strategy=strategy)
                    assert got == reference(network, SHAPE, criterion), (strategy, criterion)


_COLUMNS = (Line.line_id, Line.operator_id)
_OPERATORS = (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)
