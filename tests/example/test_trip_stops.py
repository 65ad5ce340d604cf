"""`Trip.stops`: the stops a trip calls at, through ``stop_times``, with every call's stop.

The Cairns feed has loops: 39 trips call at some stop twice (74 such (trip, stop) pairs). A
trip's ``stops`` is the ``stop_id`` of each of its stop_times in ``stop_sequence`` order,
repeats included, computed here from the feed's CSV alone; every backend must give exactly that,
on SQLite and on PostgreSQL: `Shape.dump` of objects loaded with the shape's loader options,
`Shape.dump_json`, the generated marshmallow schema and Pydantic model, and `fetch` /
`fetch_json` with each strategy. A membership test (``stop_id IN (SELECT ...)``), a DISTINCT or
SQLAlchemy's lazy, joined or subquery loader (they keep one object per identity) would drop the
repeats (`test_other_loaders_drop_the_repeats`); the secondary ``stop_times`` is not unique over
``(trip_id, stop_id)`` and the order is one of its columns, so `treeshape.sql.secondary` keeps the
join, and the loader plans use selectin loading, which keeps a row per call.

The ids form (the ``GET /trips/{trip_id}`` endpoint's), embedded stops, the relationship under
an aliased parent (a route's trips, where the secondary is aliased too) and a count of it are
each checked the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from examples.transit import shapes
from examples.transit.models import Route, Trip
from sqlalchemy.orm import Session, joinedload, selectinload, subqueryload

import treeshape as ts
from tests.statements import StatementCounter

from .conftest import CAIRNS_FEED, cairns_calls, read_csv

# -- the expectation, from the CSV ---------------------------------------------------------------


CALLS = cairns_calls()
ROUTE_OF = {t["trip_id"]: t["route_id"] for t in read_csv(CAIRNS_FEED, "trips.txt")}
LOOPS = sorted(t for t, stops in CALLS.items() if len(set(stops)) < len(stops))
LOOP_ROUTES = sorted({ROUTE_OF[t] for t in LOOPS})
PLAIN = sorted(t for t in CALLS if t not in set(LOOPS))[:5]  # trips without a repeat, too
STOPS = {s["stop_id"]: s for s in read_csv(CAIRNS_FEED, "stops.txt")}


def test_the_feed_has_loops() -> None:
    """Otherwise the tests below would prove nothing about repeats."""
    pairs = Counter((trip_id, stop) for trip_id, stops in CALLS.items() for stop in stops)
    assert sum(1 for n in pairs.values() if n > 1) == 74
    assert len(LOOPS) == 39
    assert LOOP_ROUTES == ["112-423", "120N-423"]


# -- the shapes ----------------------------------------------------------------------------------

STOP_IDS = ts.shape(Trip, {"stops": ts.include(ids=True, count=True)}, fields=["trip_id"])
EMBEDDED = ts.shape(Trip, {"stops": shapes.stop_brief}, fields=["trip_id"])
UNDER_ROUTES = ts.shape(
    Route,
    {"trips": {"stops": ts.include(ids=True)}},
    fields={Route: ["route_id"], Trip: ["trip_id"]},
)


def _stop_ids(trip: dict[str, Any]) -> list[str]:
    return [s if isinstance(s, str) else s["stop_id"] for s in trip["stops"]]


def _check_trip(trip: dict[str, Any]) -> None:
    assert _stop_ids(trip) == CALLS[trip["trip_id"]], trip["trip_id"]
    if "stop_times_count" in trip:
        assert trip["stop_times_count"] == len(CALLS[trip["trip_id"]])
    if "stops_count" in trip:
        assert trip["stops_count"] == len(CALLS[trip["trip_id"]])


def _check_route(route: dict[str, Any]) -> None:
    trips = sorted(t for t, r in ROUTE_OF.items() if r == route["route_id"])
    assert [trip["trip_id"] for trip in route["trips"]] == trips
    for trip in route["trips"]:
        _check_trip(trip)


@pytest.fixture
def statements(cairns: sa.Engine) -> Iterator[StatementCounter]:
    with StatementCounter(cairns) as counter:
        yield counter


# -- every backend -------------------------------------------------------------------------------

CASES = [
    # (shape, root model, root ids, check of one document, statements of the loader plan)
    ("endpoint", shapes.trip_detail, Trip, [*LOOPS, *PLAIN], _check_trip, 3),
    ("ids-and-count", STOP_IDS, Trip, [*LOOPS, *PLAIN], _check_trip, 2),
    ("embedded", EMBEDDED, Trip, [*LOOPS, *PLAIN], _check_trip, 2),
    ("under-routes", UNDER_ROUTES, Route, LOOP_ROUTES, _check_route, 3),
]


def _documents(
    session: Session, shape: ts.Shape, model: Any, keys: list[str], statements: StatementCounter
) -> tuple[dict[str, list[Any]], int]:
    """Each backend's documents for the roots ``keys`` (in key order), and the loader plan's
    statement count."""
    key = sa.inspect(model).primary_key[0]
    session.expunge_all()
    statements.reset()
    stmt = sa.select(model).where(key.in_(keys)).order_by(key)
    objs = session.scalars(stmt.options(*shape.loader_options())).all()
    loaded = statements.count
    documents = {
        "dump": shape.dump(objs, many=True),
        "dump_json": orjson.loads(shape.dump_json(objs, many=True)),
        "marshmallow": shape.marshmallow_schema(many=True).dump(objs),
        "pydantic": [
            shape.pydantic_model.model_validate(obj).model_dump(mode="json") for obj in objs
        ],
    }
    assert statements.count == loaded, "serializing issued a statement"
    for strategy in ("core", "json"):
        criteria = key.in_(keys)
        documents[f"fetch/{strategy}"] = shape.fetch(session, criteria, strategy=strategy)
        raw = shape.fetch_json(session, criteria, strategy=strategy)
        documents[f"fetch_json/{strategy}"] = orjson.loads(raw)
    return documents, loaded


@pytest.mark.parametrize(
    ("shape", "model", "keys", "check", "loads"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_every_backend_keeps_the_repeats(
    cairns: sa.Engine,
    statements: StatementCounter,
    shape: ts.Shape,
    model: Any,
    keys: list[str],
    check: Any,
    loads: int,
) -> None:
    with Session(cairns) as session:
        documents, loaded = _documents(session, shape, model, keys, statements)
    assert loaded == loads
    for backend, docs in documents.items():
        assert len(docs) == len(keys), backend
        assert [doc[sa.inspect(model).primary_key[0].key] for doc in docs] == sorted(keys)
        for doc in docs:
            check(doc)
        assert docs == documents["dump"], backend


def test_embedded_stops_are_the_stops(cairns: sa.Engine) -> None:
    """Embedded, a repeated stop is the same stop document twice, with the CSV's values."""
    trip_id = LOOPS[0]
    with Session(cairns) as session:
        (doc,) = EMBEDDED.fetch(session, Trip.trip_id == trip_id)
    assert len(doc["stops"]) > len({s["stop_id"] for s in doc["stops"]})
    for stop in doc["stops"]:
        row = STOPS[stop["stop_id"]]
        assert stop["stop_name"] == row["stop_name"]
        assert stop["stop_lat"] == float(row["stop_lat"])


def test_fetch_statements(cairns: sa.Engine, statements: StatementCounter) -> None:
    """``fetch``: one statement for the trips (their counts are a column of it) and one for
    their stops, however many (core), or one in all (json)."""
    with Session(cairns) as session:
        STOP_IDS.fetch(session, Trip.trip_id.in_(LOOPS), strategy="core")
        assert statements.count == 2
        statements.reset()
        STOP_IDS.fetch(session, Trip.trip_id.in_(LOOPS), strategy="json")
        assert statements.count == 1


def test_other_loaders_drop_the_repeats(cairns: sa.Engine) -> None:
    """Why the backends above are worth checking: SQLAlchemy's lazy, joined and subquery
    loaders list a loop's repeated stop once; only selectin loading (treeshape's) keeps it."""
    trip_id = LOOPS[0]
    expected = CALLS[trip_id]
    by_loader: dict[str, list[str]] = {}
    for name, option in [
        ("lazy", None),
        ("joined", joinedload(Trip.stops)),
        ("subquery", subqueryload(Trip.stops)),
        ("selectin", selectinload(Trip.stops)),
    ]:
        with Session(cairns) as session:
            stmt = sa.select(Trip).where(Trip.trip_id == trip_id)
            if option is not None:
                stmt = stmt.options(option)
            trip = session.scalars(stmt).unique().one()
            by_loader[name] = [stop.stop_id for stop in trip.stops]
    assert by_loader["selectin"] == expected
    for name in ("lazy", "joined", "subquery"):
        assert len(by_loader[name]) < len(expected), name
        assert set(by_loader[name]) == set(expected), name
