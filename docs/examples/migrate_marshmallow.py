"""How-to: replace hand-written nested marshmallow schemas. ``TRANSIT_DB`` names a feed."""

import os

from examples.transit.models import Route, Stop, StopTime, Trip
from marshmallow import Schema, fields
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, selectinload

import treeshape as ts

engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))


# [start before]
# Before: one schema per nesting level, per endpoint, kept in step with the models by hand.
class StopSchema(Schema):
    stop_id = fields.String()
    stop_name = fields.String(allow_none=True)


class StopTimeSchema(Schema):
    stop_sequence = fields.Integer()
    departure_time = fields.String(allow_none=True)
    stop = fields.Nested(StopSchema)


class TripSchema(Schema):
    trip_id = fields.String()
    trip_headsign = fields.String(allow_none=True)
    stop_times = fields.List(fields.Nested(StopTimeSchema))


class RouteSchema(Schema):
    route_id = fields.String()
    route_short_name = fields.String(allow_none=True)
    trips = fields.List(fields.Nested(TripSchema))


# ... and a loader chain that must mirror the schema, or every trip lazy-loads.
options = [selectinload(Route.trips).selectinload(Trip.stop_times).selectinload(StopTime.stop)]
# [end before]

# [start after]
# After: one spec; the schema, the loader options and a faster dumper follow from it.
route_detail = ts.shape(
    Route,
    "trips.stop_times.stop",
    fields={
        Route: ["route_id", "route_short_name"],
        Trip: ["trip_id", "trip_headsign"],
        StopTime: ["stop_sequence", "departure_time"],
        Stop: ["stop_id", "stop_name"],
    },
)
RouteDetailSchema = route_detail.marshmallow_schema  # a real marshmallow Schema subclass
# [end after]

# [start same]
with Session(engine) as session:
    route = session.scalars(select(Route).where(Route.route_id == "AB").options(*options)).one()
    before = RouteSchema().dump(route)
with Session(engine) as session:
    stmt = select(Route).where(Route.route_id == "AB").options(*route_detail.loader_options())
    route = session.scalars(stmt).one()
    assert RouteDetailSchema().dump(route) == before
    assert route_detail.dump(route) == before  # the compiled dumper: same document, faster
# [end same]
