"""How-to: computed fields with declared reads. ``TRANSIT_DB`` names the demo feed."""

import os

from examples.transit import shapes
from examples.transit.models import Route, Trip
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session

import treeshape as ts

engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))
statements: list[str] = []
event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

# [start load]
trip_span = shapes.trip_span  # trip_brief + first_departure, last_arrival
statements.clear()
with Session(engine) as session:
    stmt = select(Trip).where(Trip.trip_id == "AB1").options(*trip_span.loader_options())
    trip = session.scalars(stmt).one()
    assert len(statements) == 2  # the trip, then its stop_times: what the fields read
    document = trip_span.dump(trip)
    assert "stop_times" not in document  # loaded for the functions, not output
    assert document["first_departure"] == "08:00:00"
    assert document["last_arrival"] == "08:10:00"
    # Every backend computes it the same way; fetch() runs the sql= expressions instead.
    assert trip_span.pydantic_model.model_validate(trip).model_dump(mode="json") == document
    assert trip_span.marshmallow_schema().dump(trip) == document
    assert trip_span.fetch(session, Trip.trip_id == "AB1") == [document]
# [end load]

# [start not-loaded]
with Session(engine) as session:
    trip = session.scalars(select(Trip).where(Trip.trip_id == "AB1")).one()  # no plan
    statements.clear()
    try:
        trip_span.dump(trip)
    except ts.NotLoadedError as error:
        assert error.path == "stop_times"  # refused, never lazy-loaded
    else:
        raise AssertionError("the stop_times are not loaded")
    assert statements == []
# [end not-loaded]

# [start compose]
# A shape with computed fields composes like any other: each trip of the route gets its span.
route_spans = ts.shape(Route, {"trips": trip_span}, fields=["route_id"], name="RouteSpans")
statements.clear()
with Session(engine) as session:
    stmt = select(Route).where(Route.route_id == "AB").options(*route_spans.loader_options())
    route = route_spans.dump(session.scalars(stmt).one())
    assert len(statements) == 3  # the route, its trips, their stop_times
assert [t["first_departure"] for t in route["trips"]] == ["08:00:00", "12:05:00"]

# Narrowing names a computed field like any field; narrowed away, its reads are not loaded.
ids_only = route_spans.narrow("trips", fields={"Trip": ["trip_id"]})
statements.clear()
with Session(engine) as session:
    stmt = select(Route).where(Route.route_id == "AB").options(*ids_only.loader_options())
    assert ids_only.dump(session.scalars(stmt).one()) == {
        "route_id": "AB",
        "trips": [{"trip_id": "AB1"}, {"trip_id": "AB2"}],
    }
    assert len(statements) == 2
# [end compose]

# [start python-only]
# Without sql=, dump() and the generated classes compute it; fetch() refuses, naming it.
headsign_length = ts.computed(lambda trip: len(trip.trip_headsign or ""), type=int)
lengths = ts.shape(Trip, fields=["trip_id"], computed={"headsign_length": headsign_length})
with Session(engine) as session:
    try:
        lengths.fetch(session)
    except ts.FetchError as error:
        assert "headsign_length" in str(error) and "sql=" in str(error)
    else:
        raise AssertionError("fetch() cannot compute a field without sql=")
# [end python-only]
