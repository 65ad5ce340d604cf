"""How-to: replace hand-written Pydantic read models. ``TRANSIT_DB`` names a feed."""

import os

from examples.transit.models import Stop, Trip
from pydantic import BaseModel, ConfigDict
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, selectinload

import treeshape as ts

engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))


# [start before]
class TripRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    trip_id: str
    route_id: str
    trip_headsign: str | None


class StopWithTripsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stop_id: str
    stop_name: str | None
    trips: list[TripRead]


# [end before]

# [start after]
stop_detail = ts.shape(
    Stop,
    "trips",
    fields={Stop: ["stop_id", "stop_name"], Trip: ["trip_id", "route_id", "trip_headsign"]},
)
StopWithTrips = stop_detail.pydantic_model  # a BaseModel subclass, from_attributes=True
# [end after]

# [start same]
with Session(engine) as session:
    stmt = select(Stop).where(Stop.stop_id == "BEATTY_AIRPORT").options(selectinload(Stop.trips))
    before = StopWithTripsRead.model_validate(session.scalars(stmt).one()).model_dump(mode="json")
with Session(engine) as session:
    stmt = select(Stop).where(Stop.stop_id == "BEATTY_AIRPORT")
    stop = session.scalars(stmt.options(*stop_detail.loader_options())).one()
    assert StopWithTrips.model_validate(stop).model_dump(mode="json") == before
    assert stop_detail.dump(stop) == before
    # The generated model's JSON Schema has the same properties as the hand-written one.
    properties = StopWithTrips.model_json_schema(mode="serialization")["properties"]
    assert list(properties) == list(StopWithTripsRead.model_json_schema()["properties"])
# [end same]
