"""SQLite's plans of the JSON strategy's statement: their shape, never their timings.

A many-to-one inside a collection (a journey's calls' place) is the target's table LEFT JOINed
on its primary key to the collection's ordered rows, in the SELECT that aggregates them, so
SQLite looks each target up in the same loop (``SEARCH ... LEFT-JOIN``) instead of running a
correlated subquery per row; a many-to-one of the target is joined the same way. Deep shapes
still fit in SQLite's parser stack, and every document is ``dump_json``'s bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from examples.transit import models as transit
from sqlalchemy.orm import Session

import treeshape as ts
from tests.conftest import memory_engine
from tests.factories import NetworkSpec, build_network, build_transit_route
from tests.models import Call, Journey, Line, Place
from treeshape.inspection import model_info
from treeshape.sql.fetch.dialects import sqlite as sqlite_dialect
from treeshape.sql.fetch.json import json_plans


@pytest.fixture
def db() -> Iterator[sa.Engine]:
    engine = memory_engine()
    with Session(engine) as session:
        build_network(session, NetworkSpec(lines=3, journeys_per_line=4, places=10, seed=3))
    yield engine
    engine.dispose()


def plan(engine: sa.Engine, shape: ts.Shape) -> list[str]:
    """The ``EXPLAIN QUERY PLAN`` lines of the shape's JSON statement (every root)."""
    doc = json_plans(shape.__treeshape_node__).get(engine.dialect)
    sql = str(doc.statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        return [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql)]


def assert_dump_bytes(engine: sa.Engine, shape: ts.Shape) -> None:
    """``fetch_json`` (the JSON strategy) gives ``dump_json``'s bytes of the ORM's rows."""
    keys = [getattr(shape.model, k) for k in model_info(shape.model).primary_key]
    with Session(engine) as session:
        stmt = sa.select(shape.model).options(*shape.loader_options()).order_by(*keys)
        expected = shape.dump_json(session.scalars(stmt).all(), many=True)
    with Session(engine) as session:
        assert shape.fetch_json(session, strategy="json") == expected


def subqueries(lines: list[str]) -> int:
    return sum(line.startswith("CORRELATED SCALAR SUBQUERY") for line in lines)


PLACE_BY_KEY = "SEARCH place_1 USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN"


def test_many_to_one_in_a_collection_is_a_join(db: sa.Engine) -> None:
    shape = ts.shape(Journey, "calls.place")
    lines = plan(db, shape)
    assert subqueries(lines) == 1, lines  # the calls; none per call for its place
    assert PLACE_BY_KEY in lines, lines
    assert_dump_bytes(db, shape)


def test_the_targets_own_many_to_one_is_joined_too(db: sa.Engine) -> None:
    shape = ts.shape(Journey, "calls.place.parent.parent")
    lines = plan(db, shape)
    assert subqueries(lines) == 1, lines
    assert PLACE_BY_KEY in lines, lines
    assert "SEARCH place_2 USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN" in lines, lines
    assert "SEARCH place_3 USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN" in lines, lines
    with Session(db) as session:
        # Most places have no parent: the joins find no row, the documents are null.
        docs = shape.fetch(session, strategy="json")
    parents = [call["place"]["parent"] for doc in docs for call in doc["calls"]]
    assert None in parents
    assert any(p is not None and p["parent"] is None for p in parents)
    assert_dump_bytes(db, shape)


def test_null_and_dangling_foreign_keys_give_null(db: sa.Engine) -> None:
    """A call whose place_id names no place (SQLite checks no foreign key here): the LEFT JOIN
    finds no row and the place is null, as the ORM loads it."""
    with db.begin() as conn:
        conn.execute(sa.update(Call).where(Call.sequence == 1).values(place_id=999))
    shape = ts.shape(Journey, "calls.place.parent")
    assert_dump_bytes(db, shape)
    with Session(db) as session:
        docs = shape.fetch(session, strategy="json")
    places = [call["place"] for doc in docs for call in doc["calls"]]
    assert None in places
    assert any(p is not None for p in places)


def test_a_windowed_collection_joins_after_its_window(db: sa.Engine) -> None:
    shape = ts.shape(Journey, {"calls(limit=2, order_by=-sequence)": {"place": {}}})
    lines = plan(db, shape)
    assert subqueries(lines) == 1, lines
    assert PLACE_BY_KEY in lines, lines
    assert_dump_bytes(db, shape)


def test_a_joined_targets_collections_and_counts(db: sa.Engine) -> None:
    """The joined place's own collection and count are subqueries correlated to its joined
    row."""
    shape = ts.shape(
        Line,
        "journeys.calls.place.children",
        {"journeys.calls.place.calls": ts.include(count=True)},
    )
    lines = plan(db, shape)
    assert PLACE_BY_KEY in lines, lines
    assert_dump_bytes(db, shape)


def test_ids_of_a_many_to_one_join_nothing(db: sa.Engine) -> None:
    shape = ts.shape(Journey, {"calls": {"place": ts.include(ids=True)}})
    lines = plan(db, shape)
    assert not any("place" in line for line in lines), lines
    assert_dump_bytes(db, shape)


def test_transit_trip_stops_by_their_text_key() -> None:
    """The example's ``trips.stop_times.stop`` (a text primary key): one index search per
    stop_time, in the loop over the trip's ordered stop_times."""
    engine = sa.create_engine("sqlite://", poolclass=sa.StaticPool)
    transit.Base.metadata.create_all(engine)
    with Session(engine) as session:
        build_transit_route(session, stops=4, trips=3, calls=5)
    shape = ts.shape(transit.Route, "trips.stop_times.stop")
    lines = plan(engine, shape)
    assert subqueries(lines) == 2, lines  # the trips, each trip's stop_times
    assert any(
        line.startswith("SEARCH stops_1 USING INDEX sqlite_autoindex_stops_1 (stop_id=?)")
        and line.endswith("LEFT-JOIN")
        for line in lines
    ), lines
    assert_dump_bytes(engine, shape)
    engine.dispose()


@pytest.mark.parametrize(
    ("model", "spec"),
    [
        (Place, "parent.parent.parent.parent.parent"),
        (Place, "children.children.children.children"),
        (Journey, "calls.place.calls.place"),
        (Journey, "calls.place.parent.parent"),
        (Place, "children.parent.children.parent"),
        (Line, "journeys.calls.place.parent"),
    ],
)
def test_deep_shapes_stay_within_the_parser_stack(db: sa.Engine, model: type, spec: str) -> None:
    """Joined lookups nest their documents in a CASE, not a subquery: no deeper in SQLite's
    parser (a fixed stack, which a deep document's nesting overflows), so the deepest shapes
    the statement could build before still run (floats at every level: their test is the
    deepest expression in a document)."""
    assert_dump_bytes(db, ts.shape(model, spec))


def test_past_the_join_limit_lookups_keep_their_subquery(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite joins at most 64 tables in one SELECT: past the budget (one table here), a
    lookup is a subquery again, with the same bytes."""
    monkeypatch.setattr(sqlite_dialect, "_JOINED_TABLES", 1)
    shape = ts.shape(Journey, "calls.place.parent", name="JourneyOneJoin")
    lines = plan(db, shape)
    assert PLACE_BY_KEY in lines, lines
    assert subqueries(lines) == 2, lines  # the calls, and each place's parent
    assert_dump_bytes(db, shape)
