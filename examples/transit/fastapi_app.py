"""The transit API with FastAPI: ``create_app("sqlite:///transit.sqlite")``.

Same endpoints and the same response bodies as `flask_app`: both serve the endpoints declared
once in `endpoints`. Each route's ``response_model`` is its declared shape's Pydantic model, so
``/docs`` (Swagger UI from packaged files, see `pages`) and ``/openapi.json`` show the real
nested structure (``RouteDetail`` -> ``TripTimetable`` -> ``StopTimeWithStop`` ->
``StopBrief``); the response itself is a `ShapeResponse`, serialized once by treeshape, not
validated again. ``/`` links the docs and the endpoints.

Given an asyncio URL (``sqlite+aiosqlite:///...``, ``postgresql+asyncpg://...``) the app runs
on an ``AsyncEngine`` with an ``AsyncSession`` per request: the same `queries` functions run
through ``run_sync`` on the event loop. On a sync URL each request's database work (open a
session, query, serialize, close) is one call in a worker thread, so a connection is held only
inside that call: a session closed after the response, in yet another thread, once made every
thread wait for a connection that only a waiting thread could give back (a stall until the
pool timeout at 64 concurrent clients). Those calls share a limiter as wide as the pool, so a
thread never waits for a connection at all; requests beyond it wait on the event loop.

Errors are JSON everywhere, in FastAPI's ``{"detail": ...}`` format: a 500 too (not Starlette's
text), and the database being away or too slow is a 503 (see `ops`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

import treeshape as ts
from treeshape.fastapi import (
    QUERY_ERROR_RESPONSE,
    PageResponse,
    ShapeResponse,
    init_app,
    list_responses,
    narrowed,
    paged,
)
from treeshape.web import PageQuery

from . import ops, pages, queries, writes
from .endpoints import ROUTE, ROUTE_LIST, STOP, STOP_LIST, TRIP, TRIP_STOP_TIMES

__all__ = ["create_app", "from_env"]

log = logging.getLogger(__name__)

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The database is unavailable or too slow"}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}, **UNAVAILABLE}

Query_ = Callable[..., Any]


class _Missing(Exception):
    """The looked-up row does not exist: a 404 naming ``what`` and the (cut) key."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"No {what} with {what}_id {ops.quoted(key)}.")


def _in_session(
    sessions: sessionmaker[Session],
    shape: ts.Shape,
    query: Query_,
    args: tuple[Any, ...],
    many: bool,
) -> ShapeResponse | None:
    """One request's database work in a worker thread, serializing included: its connection
    is back in the pool when this returns. ``None`` when the query found nothing."""
    with sessions() as db:
        found = query(db, shape, *args)
        return None if found is None else ShapeResponse(shape, found, many=many)


async def _answer(
    request: Request, shape: ts.Shape, query: Query_, *args: Any, many: bool = False
) -> ShapeResponse | None:
    """The response of ``query(session, shape, *args)``, without blocking the event loop on
    the database; ``None`` when it found nothing."""
    state = request.app.state
    if isinstance(state.sessions, async_sessionmaker):
        async with state.sessions() as db:
            found = await db.run_sync(query, shape, *args)
        return None if found is None else ShapeResponse(shape, found, many=many)
    response: ShapeResponse | None = await anyio.to_thread.run_sync(
        _in_session, state.sessions, shape, query, args, many, limiter=state.db_limiter
    )
    return response


def _page_in_session(sessions: sessionmaker[Session], query: PageQuery) -> PageResponse:
    """A list page's database work in a worker thread, as `_in_session`."""
    with sessions() as db:
        return PageResponse(queries.page(db, query))


async def _page(request: Request, query: PageQuery) -> PageResponse:
    """The response of a list page, without blocking the event loop on the database."""
    state = request.app.state
    if isinstance(state.sessions, async_sessionmaker):
        async with state.sessions() as db:
            return PageResponse(await db.run_sync(queries.page, query))
    response: PageResponse = await anyio.to_thread.run_sync(
        _page_in_session, state.sessions, query, limiter=state.db_limiter
    )
    return response


async def _found(
    request: Request, what: str, key: str, shape: ts.Shape, query: Query_, many: bool = False
) -> ShapeResponse:
    response = await _answer(request, shape, query, key, many=many)
    if response is None:
        raise _Missing(what, key)
    return response


def _install_error_handlers(app: FastAPI) -> None:
    async def missing(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    async def unavailable(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return JSONResponse(
            {"detail": ops.UNAVAILABLE_MESSAGE},
            status_code=503,
            headers={"Retry-After": ops.RETRY_AFTER},
        )

    async def server_error(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette still logs the exception (and re-raises it to the server) after this.
        return JSONResponse({"detail": "Internal server error."}, status_code=500)

    app.add_exception_handler(_Missing, missing)
    for error in ops.UNAVAILABLE:
        app.add_exception_handler(error, unavailable)
    app.add_exception_handler(Exception, server_error)


def create_app(db_url: str, *, settings: ops.Settings | None = None) -> FastAPI:
    """The FastAPI app serving the database at ``db_url`` (async on an asyncio driver's URL;
    ``settings``: `ops.Settings.from_env` unless given)."""
    settings = settings or ops.Settings.from_env()
    app = FastAPI(title=pages.TITLE, version="1.0.0", docs_url=None, redoc_url=None)
    init_app(app)  # every bad query parameter is a 400, ``limit`` included
    if make_url(db_url).get_dialect().is_async:
        async_engine = ops.async_engine(db_url, settings)
        app.state.engine = async_engine
        app.state.sessions = async_sessionmaker(async_engine)
    else:
        engine = ops.engine(db_url, settings)
        app.state.engine = engine
        app.state.sessions = sessionmaker(engine)
        app.state.db_limiter = anyio.CapacityLimiter(settings.connections)
    _install_error_handlers(app)
    index = pages.index_page(framework="FastAPI")

    @app.get("/", include_in_schema=False)
    async def get_index() -> HTMLResponse:
        return HTMLResponse(index)

    @app.get(pages.DOCS_PATH, include_in_schema=False)
    async def get_docs() -> HTMLResponse:
        static = pages.STATIC_PREFIX
        return get_swagger_ui_html(
            openapi_url=pages.OPENAPI_PATH,
            title=f"{pages.TITLE}: API docs",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon-32x32.png",
            swagger_ui_parameters=pages.SWAGGER_UI_PARAMETERS,
        )

    app.mount(pages.STATIC_PREFIX, StaticFiles(directory=pages.STATIC_DIR), name="docs-static")
    writes.register_fastapi(app)

    @app.get(
        "/routes",
        response_model=ROUTE_LIST.shape.pydantic_list_model,
        responses={**list_responses(ROUTE_LIST), **UNAVAILABLE},
        summary="Routes",
    )
    async def list_routes(
        request: Request, query: Annotated[PageQuery, Depends(paged(ROUTE_LIST))]
    ) -> PageResponse:
        return await _page(request, query)

    @app.get(
        "/stops",
        response_model=STOP_LIST.shape.pydantic_list_model,
        responses={**list_responses(STOP_LIST), **UNAVAILABLE},
        summary="Stops",
    )
    async def list_stops(
        request: Request, query: Annotated[PageQuery, Depends(paged(STOP_LIST))]
    ) -> PageResponse:
        return await _page(request, query)

    @app.get(
        "/routes/{route_id}",
        response_model=ROUTE.shape.pydantic_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A route with its trips' timetables",
    )
    async def get_route(
        route_id: str, request: Request, shape: Annotated[ts.Shape, Depends(narrowed(ROUTE))]
    ) -> ShapeResponse:
        return await _found(request, "route", route_id, shape, queries.route)

    @app.get(
        "/stops/{stop_id}",
        response_model=STOP.shape.pydantic_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A stop with the trips that call at it",
    )
    async def get_stop(
        stop_id: str, request: Request, shape: Annotated[ts.Shape, Depends(narrowed(STOP))]
    ) -> ShapeResponse:
        return await _found(request, "stop", stop_id, shape, queries.stop)

    @app.get(
        "/trips/{trip_id}",
        response_model=TRIP.shape.pydantic_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A trip with its route and its stops' ids",
    )
    async def get_trip(
        trip_id: str, request: Request, shape: Annotated[ts.Shape, Depends(narrowed(TRIP))]
    ) -> ShapeResponse:
        return await _found(request, "trip", trip_id, shape, queries.trip)

    @app.get(
        "/trips/{trip_id}/stop_times",
        response_model=TRIP_STOP_TIMES.shape.pydantic_list_model,
        responses={**QUERY_ERROR_RESPONSE, **NOT_FOUND},
        summary="A trip's stop_times with their stops",
    )
    async def get_trip_stop_times(
        trip_id: str,
        request: Request,
        shape: Annotated[ts.Shape, Depends(narrowed(TRIP_STOP_TIMES))],
    ) -> ShapeResponse:
        return await _found(request, "trip", trip_id, shape, queries.trip_stop_times, many=True)

    return app


def from_env() -> FastAPI:
    """The app on ``$TRANSIT_DB`` with `ops.Settings.from_env`: for a server's factory
    option (``uvicorn --factory``, ``waitress-serve --call``), one app per worker process."""
    from .cli import DB_ENV, DEFAULT_DB

    return create_app(os.environ.get(DB_ENV) or DEFAULT_DB)
