"""The transit API with FastAPI: ``create_app("sqlite:///transit.sqlite")``.

Same endpoints and the same response bodies as `flask_app`. Each route's ``response_model`` is
its declared shape's Pydantic model, so ``/docs`` and ``/openapi.json`` show the real nested
structure (``RouteDetail`` -> ``TripTimetable`` -> ``StopTimeWithStop`` -> ``StopBrief``); the
response itself is a `ShapeResponse`, serialized once by treeshape, not validated again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

import treeshape as ts
from treeshape.fastapi import QUERY_ERROR_RESPONSE, ShapeResponse, narrowed
from treeshape.web import EndpointShape

from . import queries, shapes

ROUTES = EndpointShape(shapes.route_list_item)
STOPS = EndpointShape(shapes.stop_list_item)
ROUTE = EndpointShape(shapes.route_detail)
STOP = EndpointShape(shapes.stop_detail)
TRIP_STOP_TIMES = EndpointShape(shapes.trip_stop_times)

Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=queries.MAX_OFFSET)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}


def _session(request: Request) -> Iterator[Session]:
    """One session per request, closed after the response is built."""
    with request.app.state.sessions() as db:
        yield db


Db = Annotated[Session, Depends(_session)]


def _many(shape: ts.Shape) -> Any:
    """``list[Model]`` for a list endpoint's ``response_model``."""
    return list[shape.pydantic_model]  # type: ignore[name-defined]


def create_app(db_url: str) -> FastAPI:
    """The FastAPI app serving the database at ``db_url``."""
    engine = create_engine(db_url)
    sessions = sessionmaker(engine)
    app = FastAPI(title="treeshape transit example", version="1.0.0")
    app.state.engine = engine
    app.state.sessions = sessions

    @app.get(
        "/routes",
        response_model=_many(shapes.route_list_item),
        responses=QUERY_ERROR_RESPONSE,
        summary="Routes",
    )
    def list_routes(
        db: Db,
        shape: Annotated[ts.Shape, Depends(narrowed(ROUTES))],
        limit: Limit = queries.DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> ShapeResponse:
        return ShapeResponse(shape, queries.route_page(db, shape, limit, offset), many=True)

    @app.get(
        "/stops",
        response_model=_many(shapes.stop_list_item),
        responses=QUERY_ERROR_RESPONSE,
        summary="Stops",
    )
    def list_stops(
        db: Db,
        shape: Annotated[ts.Shape, Depends(narrowed(STOPS))],
        limit: Limit = queries.DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> ShapeResponse:
        return ShapeResponse(shape, queries.stop_page(db, shape, limit, offset), many=True)

    @app.get(
        "/routes/{route_id}",
        response_model=shapes.route_detail.pydantic_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A route with its trips' timetables",
    )
    def get_route(
        route_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(ROUTE))]
    ) -> ShapeResponse:
        found = queries.route(db, shape, route_id)
        if found is None:
            raise HTTPException(404, f"No route with route_id {route_id!r}.")
        return ShapeResponse(shape, found)

    @app.get(
        "/stops/{stop_id}",
        response_model=shapes.stop_detail.pydantic_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A stop with the trips that call at it",
    )
    def get_stop(
        stop_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(STOP))]
    ) -> ShapeResponse:
        found = queries.stop(db, shape, stop_id)
        if found is None:
            raise HTTPException(404, f"No stop with stop_id {stop_id!r}.")
        return ShapeResponse(shape, found)

    @app.get(
        "/trips/{trip_id}/stop_times",
        response_model=_many(shapes.trip_stop_times),
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A trip's stop_times with their stops",
    )
    def get_trip_stop_times(
        trip_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(TRIP_STOP_TIMES))]
    ) -> ShapeResponse:
        found = queries.trip_stop_times(db, shape, trip_id)
        if found is None:
            raise HTTPException(404, f"No trip with trip_id {trip_id!r}.")
        return ShapeResponse(shape, found, many=True)

    return app
