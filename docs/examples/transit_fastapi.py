"""Tutorial step 4: the same three endpoints with FastAPI.

Run from the repository root: ``PYTHONPATH=. python docs/examples/transit_fastapi.py``.
"""

import os
from collections.abc import Iterator
from typing import Annotated

from examples.transit.models import Route, Stop, StopTime, Trip
from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from transit_shapes import route_detail, stop_detail, trip_stop_times

import treeshape as ts
from treeshape.fastapi import QUERY_ERROR_RESPONSE, ShapeResponse, narrowed
from treeshape.web import EndpointShape

# [start setup]
engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))
app = FastAPI(title="Transit")

ROUTE = EndpointShape(route_detail)
STOP = EndpointShape(stop_detail)
TRIP_STOP_TIMES = EndpointShape(trip_stop_times)


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


Db = Annotated[Session, Depends(get_session)]
# [end setup]


# [start route]
@app.get(
    "/routes/{route_id}",
    response_model=route_detail.pydantic_model,  # the OpenAPI document shows the nesting
    responses=QUERY_ERROR_RESPONSE,
)
def get_route(
    route_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(ROUTE))]
) -> ShapeResponse:
    stmt = select(Route).where(Route.route_id == route_id).options(*shape.loader_options())
    route = db.scalars(stmt).one_or_none()
    if route is None:
        raise HTTPException(404, f"No route {route_id!r}")
    return ShapeResponse(shape, route)  # serialized once, by treeshape


# [end route]


# [start others]
@app.get(
    "/stops/{stop_id}", response_model=stop_detail.pydantic_model, responses=QUERY_ERROR_RESPONSE
)
def get_stop(
    stop_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(STOP))]
) -> ShapeResponse:
    stmt = select(Stop).where(Stop.stop_id == stop_id).options(*shape.loader_options())
    stop = db.scalars(stmt).one_or_none()
    if stop is None:
        raise HTTPException(404, f"No stop {stop_id!r}")
    return ShapeResponse(shape, stop)


@app.get(
    "/trips/{trip_id}/stop_times",
    response_model=trip_stop_times.pydantic_list_model,
    responses=QUERY_ERROR_RESPONSE,
)
def get_trip_stop_times(
    trip_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(TRIP_STOP_TIMES))]
) -> ShapeResponse:
    stmt = (
        select(StopTime)
        .where(StopTime.trip_id == trip_id)
        .order_by(StopTime.stop_sequence)
        .options(*shape.loader_options())
    )
    stop_times = db.scalars(stmt).all()
    if not stop_times and db.get(Trip, trip_id) is None:  # no calls, or no trip?
        raise HTTPException(404, f"No trip {trip_id!r}")
    return ShapeResponse(shape, stop_times, many=True)


# [end others]


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, port=8000)
