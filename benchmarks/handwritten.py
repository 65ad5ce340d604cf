"""What a competent user writes by hand for the three endpoints, without treeshape.

Every baseline produces the same document, with Pydantic's JSON-mode conventions (these models
only hold str, int, float and None, so there is nothing to convert) and the relationships'
orderings (trips by ``trip_id``, stop_times by ``stop_sequence``):

- nested marshmallow schemas (``SQLAlchemySchema`` with ``auto_field``, ``Nested``), the way a
  Flask / flask-smorest project writes them: one base schema per model, one detail schema per
  endpoint;
- nested Pydantic models with ``from_attributes=True``, the way SQLModel's and FastAPI's docs
  prescribe (``TripPublic``, ``TripPublicWithStopTimes``, ...);
- plain functions building dicts by attribute access: the fastest thing a user writes on ORM
  objects;
- lazy loading (no loader options) dumped with the marshmallow schemas: what an API does when
  nobody thought about loading, one query per relationship per object.

The SQL baselines, which build no ORM objects, are in :mod:`benchmarks.handwritten_sql`. The
timed cases of all of them are listed in :data:`CASES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from examples.transit.models import Route, Stop, StopTime, Trip
from marshmallow import fields
from marshmallow_sqlalchemy import SQLAlchemySchema, auto_field
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from benchmarks import handwritten_sql
from benchmarks.harness import REQUEST, SERIALIZE, BenchContext, Case

# -- marshmallow ---------------------------------------------------------------------------------


class StopSchema(SQLAlchemySchema):
    class Meta:
        model = Stop

    stop_id = auto_field()
    stop_code = auto_field()
    stop_name = auto_field()
    stop_desc = auto_field()
    stop_lat = auto_field()
    stop_lon = auto_field()
    zone_id = auto_field()
    stop_url = auto_field()
    location_type = auto_field()
    parent_station = auto_field()
    stop_timezone = auto_field()
    wheelchair_boarding = auto_field()
    platform_code = auto_field()


class StopTimeSchema(SQLAlchemySchema):
    class Meta:
        model = StopTime

    trip_id = auto_field()
    stop_sequence = auto_field()
    arrival_time = auto_field()
    departure_time = auto_field()
    stop_id = auto_field()
    stop_headsign = auto_field()
    pickup_type = auto_field()
    drop_off_type = auto_field()
    shape_dist_traveled = auto_field()
    timepoint = auto_field()
    stop = fields.Nested(StopSchema)


class TripSchema(SQLAlchemySchema):
    class Meta:
        model = Trip

    trip_id = auto_field()
    route_id = auto_field()
    service_id = auto_field()
    trip_headsign = auto_field()
    trip_short_name = auto_field()
    direction_id = auto_field()
    block_id = auto_field()
    shape_id = auto_field()
    wheelchair_accessible = auto_field()
    bikes_allowed = auto_field()


class TripWithStopTimesSchema(TripSchema):
    stop_times = fields.List(fields.Nested(StopTimeSchema))


class RouteSchema(SQLAlchemySchema):
    class Meta:
        model = Route

    route_id = auto_field()
    agency_id = auto_field()
    route_short_name = auto_field()
    route_long_name = auto_field()
    route_desc = auto_field()
    route_type = auto_field()
    route_url = auto_field()
    route_color = auto_field()
    route_text_color = auto_field()
    route_sort_order = auto_field()


class RouteDetailSchema(RouteSchema):
    trips = fields.List(fields.Nested(TripWithStopTimesSchema))


class StopWithTripsSchema(StopSchema):
    trips = fields.List(fields.Nested(TripSchema))


# Schema instances are reusable and cheap to keep; a Flask view would hold them at module level.
route_schema = RouteDetailSchema()
stop_schema = StopWithTripsSchema()
trip_schema = TripWithStopTimesSchema()

# -- Pydantic ------------------------------------------------------------------------------------


class StopPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stop_id: str
    stop_code: str | None
    stop_name: str | None
    stop_desc: str | None
    stop_lat: float | None
    stop_lon: float | None
    zone_id: str | None
    stop_url: str | None
    location_type: int | None
    parent_station: str | None
    stop_timezone: str | None
    wheelchair_boarding: int | None
    platform_code: str | None


class StopTimePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    trip_id: str
    stop_sequence: int
    arrival_time: str | None
    departure_time: str | None
    stop_id: str
    stop_headsign: str | None
    pickup_type: int | None
    drop_off_type: int | None
    shape_dist_traveled: float | None
    timepoint: int | None
    stop: StopPublic


class TripPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    trip_id: str
    route_id: str
    service_id: str
    trip_headsign: str | None
    trip_short_name: str | None
    direction_id: int | None
    block_id: str | None
    shape_id: str | None
    wheelchair_accessible: int | None
    bikes_allowed: int | None


class TripPublicWithStopTimes(TripPublic):
    stop_times: list[StopTimePublic]


class RoutePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    route_id: str
    agency_id: str | None
    route_short_name: str | None
    route_long_name: str | None
    route_desc: str | None
    route_type: int
    route_url: str | None
    route_color: str | None
    route_text_color: str | None
    route_sort_order: int | None


class RoutePublicWithTrips(RoutePublic):
    trips: list[TripPublicWithStopTimes]


class StopPublicWithTrips(StopPublic):
    trips: list[TripPublic]


# -- dicts by attribute access -------------------------------------------------------------------


def stop_dict(s: Stop) -> dict[str, Any]:
    return {
        "stop_id": s.stop_id,
        "stop_code": s.stop_code,
        "stop_name": s.stop_name,
        "stop_desc": s.stop_desc,
        "stop_lat": s.stop_lat,
        "stop_lon": s.stop_lon,
        "zone_id": s.zone_id,
        "stop_url": s.stop_url,
        "location_type": s.location_type,
        "parent_station": s.parent_station,
        "stop_timezone": s.stop_timezone,
        "wheelchair_boarding": s.wheelchair_boarding,
        "platform_code": s.platform_code,
    }


def stop_time_dict(st: StopTime) -> dict[str, Any]:
    return {
        "trip_id": st.trip_id,
        "stop_sequence": st.stop_sequence,
        "arrival_time": st.arrival_time,
        "departure_time": st.departure_time,
        "stop_id": st.stop_id,
        "stop_headsign": st.stop_headsign,
        "pickup_type": st.pickup_type,
        "drop_off_type": st.drop_off_type,
        "shape_dist_traveled": st.shape_dist_traveled,
        "timepoint": st.timepoint,
        "stop": stop_dict(st.stop),
    }


def trip_dict(t: Trip) -> dict[str, Any]:
    return {
        "trip_id": t.trip_id,
        "route_id": t.route_id,
        "service_id": t.service_id,
        "trip_headsign": t.trip_headsign,
        "trip_short_name": t.trip_short_name,
        "direction_id": t.direction_id,
        "block_id": t.block_id,
        "shape_id": t.shape_id,
        "wheelchair_accessible": t.wheelchair_accessible,
        "bikes_allowed": t.bikes_allowed,
    }


def trip_detail_dict(t: Trip) -> dict[str, Any]:
    d = trip_dict(t)
    d["stop_times"] = [stop_time_dict(st) for st in t.stop_times]
    return d


def route_detail_dict(r: Route) -> dict[str, Any]:
    return {
        "route_id": r.route_id,
        "agency_id": r.agency_id,
        "route_short_name": r.route_short_name,
        "route_long_name": r.route_long_name,
        "route_desc": r.route_desc,
        "route_type": r.route_type,
        "route_url": r.route_url,
        "route_color": r.route_color,
        "route_text_color": r.route_text_color,
        "route_sort_order": r.route_sort_order,
        "trips": [trip_detail_dict(t) for t in r.trips],
    }


def stop_detail_dict(s: Stop) -> dict[str, Any]:
    d = stop_dict(s)
    d["trips"] = [trip_dict(t) for t in s.trips]
    return d


# -- loading -------------------------------------------------------------------------------------

LOADER_OPTIONS: dict[str, tuple[LoaderOption, ...]] = {
    "route": (selectinload(Route.trips).selectinload(Trip.stop_times).selectinload(StopTime.stop),),
    "stop": (selectinload(Stop.trips),),
    "trip": (selectinload(Trip.stop_times).selectinload(StopTime.stop),),
}
"""The selectinload chain a competent user writes for each endpoint."""


def load(session: Session, ctx: BenchContext, *options: LoaderOption) -> Any:
    """The workload's root object, loaded with ``options``."""
    root = ctx.workload.root
    pk = root.__mapper__.primary_key[0]
    return session.scalars(select(root).where(pk == ctx.workload.key).options(*options)).one()


def preload(ctx: BenchContext) -> Any:
    """Setup of the serialize cases: the root, its tree loaded, detached from a closed session.

    Detaching makes any attribute the loader options did not load raise instead of querying, so
    a serialize case's timing can only be serialization.
    """
    with Session(ctx.engine) as session:
        return load(session, ctx, *LOADER_OPTIONS[ctx.workload.name])


# -- cases ---------------------------------------------------------------------------------------

DUMPERS: dict[str, tuple[Any, type[BaseModel], Callable[[Any], dict[str, Any]]]] = {
    "route": (route_schema, RoutePublicWithTrips, route_detail_dict),
    "stop": (stop_schema, StopPublicWithTrips, stop_detail_dict),
    "trip": (trip_schema, TripPublicWithStopTimes, trip_detail_dict),
}
"""Per workload: the marshmallow schema instance, the Pydantic model, the dict builder."""


def _orm_request(
    workload: str, eager: bool, to_json: Callable[[Any], bytes]
) -> Callable[[BenchContext], bytes]:
    """A request: open a session, load the root (with the selectinload chain if ``eager``, else
    lazily as the serializer walks the tree), serialize it and encode JSON, session still open.
    """
    options = LOADER_OPTIONS[workload] if eager else ()

    def run(ctx: BenchContext) -> bytes:
        with Session(ctx.engine) as session:
            return to_json(load(session, ctx, *options))

    return run


def _cases(workload: str) -> list[Case]:
    schema, model, builder = DUMPERS[workload]

    def marshmallow_json(obj: Any) -> bytes:
        return orjson.dumps(schema.dump(obj))

    def core(ctx: BenchContext) -> bytes:
        return orjson.dumps(handwritten_sql.core_document(ctx.engine, workload, ctx.workload.key))

    def sqlite_json(ctx: BenchContext) -> bytes:
        return handwritten_sql.json_document(ctx.engine, workload, ctx.workload.key)

    return [
        Case(workload, "marshmallow (hand)", SERIALIZE, schema.dump, preload),
        Case(
            workload,
            "pydantic (hand)",
            SERIALIZE,
            lambda obj: model.model_validate(obj).model_dump(mode="json"),
            preload,
        ),
        Case(workload, "dict (hand)", SERIALIZE, builder, preload),
        Case(
            workload,
            "marshmallow + selectinload (hand)",
            REQUEST,
            _orm_request(workload, True, marshmallow_json),
        ),
        Case(
            workload,
            "pydantic + selectinload (hand)",
            REQUEST,
            _orm_request(
                workload, True, lambda obj: model.model_validate(obj).model_dump_json().encode()
            ),
        ),
        Case(
            workload,
            "dict + selectinload (hand)",
            REQUEST,
            _orm_request(workload, True, lambda obj: orjson.dumps(builder(obj))),
        ),
        Case(workload, "core selects (hand)", REQUEST, core),
        Case(workload, "sqlite json (hand)", REQUEST, sqlite_json),
        Case(
            workload,
            "lazy + marshmallow (hand)",
            REQUEST,
            _orm_request(workload, False, marshmallow_json),
        ),
    ]


CASES: list[Case] = [case for workload in ("route", "stop", "trip") for case in _cases(workload)]
"""Every hand-written case of every workload, in table order."""
