"""The transit API with FastAPI: ``create_app("sqlite:///transit.sqlite")``.

Same endpoints and the same response bodies as `flask_app`: both serve the endpoints declared
once in `endpoints`. Each route's ``response_model`` is its declared shape's Pydantic model, so
``/docs`` and ``/openapi.json`` show the real nested structure (``RouteDetail`` ->
``TripTimetable`` -> ``StopTimeWithStop`` -> ``StopBrief``); the response itself is a
`ShapeResponse`, serialized once by treeshape, not validated again.

Given an asyncio URL (``sqlite+aiosqlite:///...``, ``postgresql+asyncpg://...``) the app runs
on an ``AsyncEngine`` with an ``AsyncSession`` per request. The endpoints are ``async def`` in
both modes and call the same `queries` functions through `_query`: with an ``AsyncSession``
via ``run_sync`` (its statements go through the asyncio driver, awaited on the event loop; the
loader options load everything eagerly, so nothing can lazy-load later), with a ``Session`` in
the thread pool, where FastAPI would have run a plain ``def`` endpoint anyway. One set of
queries means both modes answer with the same bodies in the same number of statements.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

import treeshape as ts
from treeshape.fastapi import QUERY_ERROR_RESPONSE, ShapeResponse, init_app, narrowed

from . import queries
from .endpoints import ROUTE, ROUTES, STOP, STOPS, TRIP, TRIP_STOP_TIMES

Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=queries.MAX_OFFSET)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}


T = TypeVar("T")


async def _session(request: Request) -> AsyncIterator[Session | AsyncSession]:
    """One session per request (an AsyncSession on an async URL), closed after the response."""
    sessions = request.app.state.sessions
    if isinstance(sessions, async_sessionmaker):
        async with sessions() as db:
            yield db
        return
    sync_db: Session = sessions()
    try:
        yield sync_db
    finally:
        await run_in_threadpool(sync_db.close)


Db = Annotated[Session | AsyncSession, Depends(_session)]


async def _query(db: Session | AsyncSession, query: Callable[..., T], *args: Any) -> T:
    """``query(session, *args)``, without blocking the event loop on the database."""
    if isinstance(db, AsyncSession):
        return await db.run_sync(query, *args)
    return await run_in_threadpool(query, db, *args)


def _many(shape: ts.Shape) -> Any:
    """``list[Model]`` for a list endpoint's ``response_model``."""
    return list[shape.pydantic_model]  # type: ignore[name-defined]


def create_app(db_url: str) -> FastAPI:
    """The FastAPI app serving the database at ``db_url`` (async on an asyncio driver's URL)."""
    app = FastAPI(title="treeshape transit example", version="1.0.0")
    init_app(app)  # every bad query parameter is a 400, ``limit`` included
    if make_url(db_url).get_dialect().is_async:
        async_engine = create_async_engine(db_url)
        app.state.engine = async_engine
        app.state.sessions = async_sessionmaker(async_engine)
    else:
        engine = create_engine(db_url)
        app.state.engine = engine
        app.state.sessions = sessionmaker(engine)

    @app.get(
        "/routes",
        response_model=_many(ROUTES.shape),
        responses=QUERY_ERROR_RESPONSE,
        summary="Routes",
    )
    async def list_routes(
        db: Db,
        shape: Annotated[ts.Shape, Depends(narrowed(ROUTES))],
        limit: Limit = queries.DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> ShapeResponse:
        return ShapeResponse(
            shape, await _query(db, queries.route_page, shape, limit, offset), many=True
        )

    @app.get(
        "/stops",
        response_model=_many(STOPS.shape),
        responses=QUERY_ERROR_RESPONSE,
        summary="Stops",
    )
    async def list_stops(
        db: Db,
        shape: Annotated[ts.Shape, Depends(narrowed(STOPS))],
        limit: Limit = queries.DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> ShapeResponse:
        return ShapeResponse(
            shape, await _query(db, queries.stop_page, shape, limit, offset), many=True
        )

    @app.get(
        "/routes/{route_id}",
        response_model=ROUTE.shape.pydantic_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A route with its trips' timetables",
    )
    async def get_route(
        route_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(ROUTE))]
    ) -> ShapeResponse:
        found = await _query(db, queries.route, shape, route_id)
        if found is None:
            raise HTTPException(404, f"No route with route_id {route_id!r}.")
        return ShapeResponse(shape, found)

    @app.get(
        "/stops/{stop_id}",
        response_model=STOP.shape.pydantic_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A stop with the trips that call at it",
    )
    async def get_stop(
        stop_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(STOP))]
    ) -> ShapeResponse:
        found = await _query(db, queries.stop, shape, stop_id)
        if found is None:
            raise HTTPException(404, f"No stop with stop_id {stop_id!r}.")
        return ShapeResponse(shape, found)

    @app.get(
        "/trips/{trip_id}",
        response_model=TRIP.shape.pydantic_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A trip with its route and its stops' ids",
    )
    async def get_trip(
        trip_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(TRIP))]
    ) -> ShapeResponse:
        found = await _query(db, queries.trip, shape, trip_id)
        if found is None:
            raise HTTPException(404, f"No trip with trip_id {trip_id!r}.")
        return ShapeResponse(shape, found)

    @app.get(
        "/trips/{trip_id}/stop_times",
        response_model=_many(TRIP_STOP_TIMES.shape),
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A trip's stop_times with their stops",
    )
    async def get_trip_stop_times(
        trip_id: str, db: Db, shape: Annotated[ts.Shape, Depends(narrowed(TRIP_STOP_TIMES))]
    ) -> ShapeResponse:
        found = await _query(db, queries.trip_stop_times, shape, trip_id)
        if found is None:
            raise HTTPException(404, f"No trip with trip_id {trip_id!r}.")
        return ShapeResponse(shape, found, many=True)

    return app
