"""The transit example's computed fields over the shipped Cairns feed, on SQLite and PostgreSQL.

`shapes.trip_span` (a trip's first departure and last arrival, read from its stop_times) and
`shapes.stop_with_route_count` (the routes serving a stop, read from its trips) against values
computed from the feed's CSV alone: every ORM backend, ``fetch`` in both strategies and the
bytes of ``fetch_json`` (equal to ``dump_json``'s), at exactly one statement for the rows and
one per 500 of them for what the fields read.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from examples.transit import shapes
from examples.transit.models import Stop, Trip
from sqlalchemy import select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.agreement import STRATEGIES, serialized
from tests.example.conftest import cairns  # noqa: F401 - the feed on SQLite and PostgreSQL
from tests.statements import StatementCounter
from tests.web.conftest import CAIRNS_FEED, read_csv
from tests.web.expected import INTS, STOP_BRIEF, TRIP_BRIEF, padded_time


def _typed(row: dict[str, str], names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = row.get(name) or None
        if value is not None and name in INTS:
            out[name] = int(value)
        elif value is not None and name in ("stop_lat", "stop_lon"):
            out[name] = float(value)
        else:
            out[name] = value
    return out


def expected_spans() -> list[dict[str, Any]]:
    departures: dict[str, list[str]] = defaultdict(list)
    arrivals: dict[str, list[str]] = defaultdict(list)
    for st in read_csv(CAIRNS_FEED, "stop_times.txt"):
        if st.get("departure_time"):
            departures[st["trip_id"]].append(padded_time(st["departure_time"]))
        if st.get("arrival_time"):
            arrivals[st["trip_id"]].append(padded_time(st["arrival_time"]))
    trips = sorted(read_csv(CAIRNS_FEED, "trips.txt"), key=lambda t: t["trip_id"])
    return [
        {
            **_typed(trip, TRIP_BRIEF),
            "first_departure": min(departures[trip["trip_id"]], default=None),
            "last_arrival": max(arrivals[trip["trip_id"]], default=None),
        }
        for trip in trips
    ]


def expected_route_counts() -> list[dict[str, Any]]:
    route_of = {t["trip_id"]: t["route_id"] for t in read_csv(CAIRNS_FEED, "trips.txt")}
    routes: dict[str, set[str]] = defaultdict(set)
    for st in read_csv(CAIRNS_FEED, "stop_times.txt"):
        routes[st["stop_id"]].add(route_of[st["trip_id"]])
    stops = sorted(read_csv(CAIRNS_FEED, "stops.txt"), key=lambda s: s["stop_id"])
    return [
        {**_typed(stop, STOP_BRIEF), "route_count": len(routes[stop["stop_id"]])} for stop in stops
    ]


@pytest.mark.parametrize(
    ("shape", "model", "expected"),
    [
        (shapes.trip_span, Trip, expected_spans),
        (shapes.stop_with_route_count, Stop, expected_route_counts),
    ],
    ids=["trip_span", "stop_with_route_count"],
)
def test_transit_computed_fields(
    cairns: sa.Engine,  # noqa: F811
    shape: ts.Shape,
    model: Any,
    expected: Any,
) -> None:
    wanted = expected()
    key = sa.inspect(model).primary_key
    with Session(cairns) as session, StatementCounter(cairns) as counter:
        objs = session.scalars(select(model).options(*shape.loader_options()).order_by(*key)).all()
        # The rows, then what the fields read: one statement per 500 parents (selectin's batch).
        assert counter.count == 1 + -(-len(objs) // 500), counter.statements
        counter.reset()
        outputs = serialized(shape, objs)
        dumped = shape.dump_json(objs, many=True)
        assert counter.count == 0
    assert len(wanted) > 400  # 416 stops, 1,339 trips
    for backend, output in outputs.items():
        assert output == wanted, backend
    with Session(cairns) as session:
        for strategy in STRATEGIES:
            assert shape.fetch(session, strategy=strategy) == wanted, strategy
            assert shape.fetch_json(session, strategy=strategy) == dumped, strategy
    assert orjson.loads(dumped) == wanted


def test_request_fieldsets_name_computed_fields(cairns: sa.Engine) -> None:  # noqa: F811
    """``?fields[Trip]=`` names computed fields (did you mean, too), and a fieldset without
    them loads nothing for them."""
    from treeshape.web import EndpointShape, QueryError

    endpoint = EndpointShape(shapes.trip_span)
    assert endpoint.models["Trip"][-2:] == ("first_departure", "last_arrival")
    with_time = endpoint.from_query([("fields[Trip]", "trip_id,first_departure")])
    without = endpoint.from_query([("fields[Trip]", "trip_id,trip_headsign")])
    with pytest.raises(QueryError, match=r"Did you mean 'first_departure'\?"):
        endpoint.from_query([("fields[Trip]", "first_departur")])
    spans = {d["trip_id"]: d for d in expected_spans()}
    for shape, statements in ((with_time, 2), (without, 1)):
        with Session(cairns) as session, StatementCounter(cairns) as counter:
            stmt = select(Trip).where(Trip.trip_id == min(spans)).options(*shape.loader_options())
            doc = shape.dump(session.scalars(stmt).one())
            assert counter.count == statements
        assert doc == {k: spans[doc["trip_id"]][k] for k in shape.fields}
