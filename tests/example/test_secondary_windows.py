"""Per-parent limits through a secondary on the transit example, against the Cairns feed's CSV.

``Stop.trips`` goes through the DISTINCT selectable ``stop_trips`` (each trip once), ``Trip.stops``
through ``stop_times`` in ``stop_sequence`` order (a loop's repeated stop once per call). A stop's
first 5 trips by ``trip_id`` and windows of each loop trip's calls are computed here from the
CSV alone; every backend gives exactly that on SQLite and PostgreSQL, with the statements the same
shapes cost without a window. Request-time ``page[...]``/``sort[...]`` on those relationships of
an `EndpointShape`, through a Flask app, give the same.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from examples.transit import shapes
from examples.transit.models import Stop, Trip
from flask import Flask
from sqlalchemy.orm import Session

import treeshape as ts
from tests.statements import StatementCounter
from treeshape import flask as ts_flask
from treeshape.web import EndpointShape

from .conftest import CAIRNS_FEED, cairns_calls, read_csv

# -- the expectation, from the CSV ---------------------------------------------------------------


def _trips_at(calls: dict[str, list[str]]) -> dict[str, list[str]]:
    """stop_id -> the trip_ids that call at it, sorted."""
    trips: dict[str, set[str]] = defaultdict(set)
    for trip, stops in calls.items():
        for stop in stops:
            trips[stop].add(trip)
    return {stop: sorted(ids) for stop, ids in trips.items()}


CALLS = cairns_calls()
TRIPS_AT = _trips_at(CALLS)
LOOPS = sorted(t for t, stops in CALLS.items() if len(set(stops)) < len(stops))
BY_TRIPS = sorted(TRIPS_AT, key=lambda s: (-len(TRIPS_AT[s]), s))
STOPS = [*BY_TRIPS[:3], *BY_TRIPS[-2:]]  # the busiest and the quietest
WINDOWS = [(0, 3), (2, 16), (14, 3), (18, 100), (0, 100)]
"""(offset, limit) windows of each loop trip's calls: the first three, and windows that do or
do not hold both calls at a repeated stop (positions 3 and 17 of the 21-call loops, 15 and 16 of
the 30-call ones)."""


def _has_repeat(trip: str, offset: int, limit: int) -> bool:
    calls = CALLS[trip][offset : offset + limit]
    return len(set(calls)) < len(calls)


def test_the_data_proves_something() -> None:
    assert len(LOOPS) == 39
    assert all(len(TRIPS_AT[s]) > 5 for s in STOPS)
    repeats = {w: sum(_has_repeat(t, *w) for t in LOOPS) for w in WINDOWS}
    assert repeats == {(0, 3): 0, (2, 16): 39, (14, 3): 4, (18, 100): 0, (0, 100): 39}


# -- every backend -------------------------------------------------------------------------------


def every_backend(
    engine: sa.Engine, shape: ts.Shape, model: Any, keys: list[str]
) -> tuple[dict[str, list[Any]], int]:
    """Each backend's documents for the roots ``keys`` (in key order), and the number of
    statements the loader plan ran."""
    key = sa.inspect(model).primary_key[0]
    with Session(engine) as session, StatementCounter(engine) as statements:
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


def _statements(engine: sa.Engine, shape: ts.Shape, model: Any, keys: list[str]) -> int:
    key = sa.inspect(model).primary_key[0]
    with Session(engine) as session, StatementCounter(engine) as statements:
        stmt = sa.select(model).where(key.in_(keys)).options(*shape.loader_options())
        session.scalars(stmt).all()
        return statements.count


# -- a stop's first trips, a trip's calls --------------------------------------------------------


def test_a_stops_first_five_trips(cairns: sa.Engine) -> None:
    shape = ts.shape(
        Stop,
        {"trips": ts.include(order_by="trip_id", limit=5, count=True)},
        fields={Stop: ["stop_id"], Trip: ["trip_id", "route_id"]},
    )
    documents, loaded = every_backend(cairns, shape, Stop, STOPS)
    assert loaded == 2 == _statements(cairns, ts.shape(Stop, "trips"), Stop, STOPS)
    for backend, docs in documents.items():
        assert [d["stop_id"] for d in docs] == sorted(STOPS), backend
        for doc in docs:
            expected = TRIPS_AT[doc["stop_id"]]
            assert [t["trip_id"] for t in doc["trips"]] == expected[:5], backend
            assert doc["trips_count"] == len(expected), backend
        assert docs == documents["dump"], backend


@pytest.mark.parametrize(("offset", "limit"), WINDOWS)
def test_windows_of_a_loop_trips_calls(cairns: sa.Engine, offset: int, limit: int) -> None:
    """Ids, and embedded stops (each repeat the same stop document again)."""
    window = ts.include(ids=True, offset=offset, limit=limit, count=True)
    ids = ts.shape(Trip, {"stops": window}, fields=["trip_id"])
    embedded = ts.shape(
        Trip, {"stops": ts.include(shapes.stop_brief, offset=offset, limit=limit)}, fields=[]
    )
    for shape in (ids, embedded):
        documents, loaded = every_backend(cairns, shape, Trip, LOOPS)
        assert loaded == 2
        for backend, docs in documents.items():
            assert len(docs) == len(LOOPS), backend
            for trip_id, doc in zip(LOOPS, docs, strict=True):
                stops = [s if isinstance(s, str) else s["stop_id"] for s in doc["stops"]]
                assert stops == CALLS[trip_id][offset : offset + limit], (backend, trip_id)
                if "stops_count" in doc:
                    assert doc["stops_count"] == len(CALLS[trip_id])
            assert docs == documents["dump"], backend


# -- request-time paging and sorting -------------------------------------------------------------

STOP_ENDPOINT = EndpointShape(
    ts.shape(Stop, "trips", fields={Stop: ["stop_id"], Trip: ["trip_id", "direction_id"]}),
    max_page={"trips": 20},
    sortable={"trips": ["trip_id", "direction_id"]},
)
TRIP_ENDPOINT = EndpointShape(
    ts.shape(Trip, {"stops": ts.include(ids=True)}, fields=["trip_id"]),
    max_page={"stops": 50},
)


def test_paging_a_secondary_relationship_of_an_endpoint(cairns: sa.Engine) -> None:
    """``page[trips]``/``sort[trips]`` and ``page[stops][offset]`` work as for one-to-many."""
    query = [("page[trips]", "3"), ("page[trips][offset]", "2"), ("sort[trips]", "-trip_id")]
    shape = STOP_ENDPOINT.from_query(query)
    documents, loaded = every_backend(cairns, shape, Stop, STOPS)
    assert loaded == 2
    for backend, docs in documents.items():
        for doc in docs:
            expected = sorted(TRIPS_AT[doc["stop_id"]], reverse=True)[2:5]
            assert [t["trip_id"] for t in doc["trips"]] == expected, backend
    shape = TRIP_ENDPOINT.from_query([("page[stops]", "4"), ("page[stops][offset]", "1")])
    documents, loaded = every_backend(cairns, shape, Trip, LOOPS)
    for backend, docs in documents.items():
        for trip_id, doc in zip(LOOPS, docs, strict=True):
            assert doc["stops"] == CALLS[trip_id][1:5], backend


def test_paging_through_flask(cairns: sa.Engine) -> None:
    app = Flask(__name__)
    ts_flask.init_app(app)

    @app.get("/stops/<stop_id>")
    def stop(stop_id: str) -> Any:
        shape = ts_flask.shape_from_request(STOP_ENDPOINT)
        with Session(cairns) as session:
            stmt = sa.select(Stop).where(Stop.stop_id == stop_id)
            return ts_flask.json_response(
                shape, session.scalars(stmt.options(*shape.loader_options())).one()
            )

    client = app.test_client()
    stop_id = STOPS[0]
    answer = client.get(f"/stops/{stop_id}?page[trips]=4&sort[trips]=direction_id,-trip_id")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    directions = {t["trip_id"]: t["direction_id"] for t in read_csv(CAIRNS_FEED, "trips.txt")}
    trips = sorted(TRIPS_AT[stop_id], reverse=True)
    trips.sort(key=lambda t: (directions[t] == "", int(directions[t] or 0)))  # NULLs last
    assert [t["trip_id"] for t in answer.json["trips"]] == trips[:4]  # type: ignore[index]
    too_many = client.get(f"/stops/{stop_id}?page[trips]=21")
    assert too_many.status_code == 400
    assert "at most 20" in too_many.get_data(as_text=True)
