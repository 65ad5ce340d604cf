"""Concepts: relationship options, counted. ``TRANSIT_DB`` names the demo feed."""

import os

import orjson
from examples.transit.models import Route, Stop, StopTime, Trip
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session

import treeshape as ts

engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))
statements: list[str] = []
event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

# [start forms]
# A stop's first three departures (by departure time), each with its trip: two spellings.
first_departures = ts.shape(
    Stop,
    {"stop_times": ts.include("trip", order_by="departure_time", limit=3)},
    fields={StopTime: ["trip_id", "departure_time"], Trip: ["trip_id", "trip_headsign"]},
)
assert first_departures == ts.shape(
    Stop,
    "stop_times(order_by=departure_time,limit=3).trip",
    fields={StopTime: ["trip_id", "departure_time"], Trip: ["trip_id", "trip_headsign"]},
)
# [end forms]

# [start load]
statements.clear()
with Session(engine) as session:
    stmt = select(Stop).where(Stop.stop_id == "BEATTY_AIRPORT")
    stop = session.scalars(stmt.options(*first_departures.loader_options())).one()
    document = first_departures.dump(stop)
    assert len(statements) == 1 + 2  # the stop, then one per relationship: the limit is in SQL
    times = [call["departure_time"] for call in document["stop_times"]]
    assert len(times) == 3 and times == sorted(times)  # of the stop's 7 calls, the first 3

    # fetch() applies the same options in SQL and gives the same document.
    assert first_departures.fetch(session, Stop.stop_id == "BEATTY_AIRPORT") == [document]
# [end load]

# [start count]
# Each route with its number of trips (counted in SQL), without the trips themselves.
route_item = ts.shape(
    Route, {"trips": ts.include(count=True, embed=False)}, fields=["route_id", "route_short_name"]
)
statements.clear()
with Session(engine) as session:
    stmt = select(Route).order_by(Route.route_id).options(*route_item.loader_options())
    items = route_item.dump(session.scalars(stmt).all(), many=True)
    assert len(statements) == 1  # the count is a column of the routes' statement
assert items[0] == {"route_id": "AAMV", "route_short_name": "50", "trips_count": 4}
# [end count]

# [start where-ids]
# Only the trips in direction 0, listed by id, and how many there are.
outbound = ts.shape(
    Route,
    {"trips": ts.include(where={"direction_id": 0}, ids=True, count="outbound_trips")},
    fields=["route_id"],
)
with Session(engine) as session:
    stmt = select(Route).where(Route.route_id == "AB").options(*outbound.loader_options())
    assert outbound.dump(session.scalars(stmt).one()) == {
        "route_id": "AB",
        "trips": ["AB1"],
        "outbound_trips": 1,
    }
    as_json = outbound.fetch_json(session, Route.route_id == "AB")
    assert orjson.loads(as_json) == [{"route_id": "AB", "trips": ["AB1"], "outbound_trips": 1}]
# [end where-ids]
