"""How-to: output names (camelCase keys) on the transit models. ``TRANSIT_DB`` names the demo
feed; the write runs against a copy of it, so the other pages read it as it was."""

import os
import shutil
import tempfile
from pathlib import Path

import orjson
from examples.transit.models import Route, Stop, StopTime, Trip
from pydantic.alias_generators import to_camel
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import treeshape as ts
from treeshape.web import EndpointShape, QueryError

engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))

# [start shapes]
# A composed shape without a style of its own takes the composing shape's; names= wins over it.
stop_brief = ts.shape(Stop, fields=["stop_id", "stop_name"], names={"stop_name": "name"})
route_camel = ts.shape(
    Route,
    {"trips": {"stop_times": {"stop": stop_brief}}},
    fields={
        Route: ["route_id", "route_short_name"],
        Trip: ["trip_id", "direction_id"],
        StopTime: ["stop_sequence", "departure_time"],
    },
    key_style=to_camel,  # any callable str -> str; pydantic.alias_generators has the usual ones
    name="RouteCamel",
)
# [end shapes]

# [start dump]
with Session(engine) as session:
    stmt = select(Route).where(Route.route_id == "AB").options(*route_camel.loader_options())
    route = session.scalars(stmt).one()
    document = route_camel.dump(route)
    trip = document["trips"][0]
    assert list(document) == ["routeId", "routeShortName", "trips"]
    assert list(trip) == ["tripId", "directionId", "stopTimes"]
    assert list(trip["stopTimes"][0]) == ["stopSequence", "departureTime", "stop"]
    assert list(trip["stopTimes"][0]["stop"]) == ["stopId", "name"]
    # Every backend writes the same keys: marshmallow (data_key), Pydantic (aliases), fetch (SQL).
    assert route_camel.marshmallow_schema().dump(route) == document
    assert route_camel.pydantic_model.model_validate(route).model_dump(mode="json") == document
    assert route_camel.fetch(session, Route.route_id == "AB") == [document]
    assert orjson.loads(route_camel.fetch_json(session, Route.route_id == "AB")) == [document]
    assert "routeShortName" in route_camel.json_schema()["properties"]
# [end dump]

# [start requests]
ROUTE = EndpointShape(route_camel, sortable={"trips": ["direction_id", "trip_id"]})  # as modelled
narrowed = ROUTE.from_query([("fields[Stop]", "name"), ("sort[trips]", "-directionId,tripId")])
with Session(engine) as session:
    stmt = select(Route).where(Route.route_id == "AB").options(*narrowed.loader_options())
    trips = narrowed.dump(session.scalars(stmt).one())["trips"]
    directions = [t["directionId"] for t in trips]
    assert directions == sorted(directions, reverse=True)
    assert list(trips[0]["stopTimes"][0]["stop"]) == ["name"]
try:
    ROUTE.from_query([("sort[trips]", "direction_id")])  # the model's spelling
except QueryError as error:
    (problem,) = error.problems
    assert "Did you mean 'directionId'?" in problem.detail
else:
    raise AssertionError("sort[trips]=direction_id is a 400")
# [end requests]

# [start write]
source = os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite").removeprefix("sqlite:///")
copy = Path(tempfile.mkdtemp()) / "transit.sqlite"
shutil.copy(source, copy)
trip_camel = ts.shape(
    Trip,
    {
        "stop_times": ts.include(
            ts.shape(
                StopTime,
                fields=["stop_sequence", "arrival_time", "departure_time", "stop_id"],
                name="StopTimeCamel",  # input classes StopTimeCamelCreate, ...
            ),
            on_missing="delete",
        )
    },
    fields=["trip_id", "route_id", "service_id", "trip_headsign"],
    key_style=to_camel,
    name="TripCamel",
)
body = {
    "tripId": "AB10",
    "routeId": "AB",
    "serviceId": "FULLW",
    "tripHeadsign": "to Bullfrog",
    "stopTimes": [{"stopSequence": 1, "stopId": "BULLFROG", "arrivalTime": "09:00:00"}],
}
with Session(create_engine(f"sqlite:///{copy}")) as session:
    trip_camel.load(body, session=session)
    session.commit()
    wrong = {**body, "tripId": "AB11", "stopTimes": [{"stopSequence": 1, "stopId": "NOWHERE"}]}
    try:
        trip_camel.load(wrong, session=session)
    except ts.InputError as error:
        assert error.errors[0]["loc"] == ("stopTimes", 0, "stopId")  # the body's keys
    else:
        raise AssertionError("a stop that does not exist is an InputError")
assert list(trip_camel.input_model("create").model_json_schema()["properties"]) == [
    "tripId",
    "routeId",
    "serviceId",
    "tripHeadsign",
    "stopTimes",
]
# [end write]
