"""The transit API with Flask: ``create_app("sqlite:///transit.sqlite")``.

Same endpoints and the same response bodies as `fastapi_app`: both serve the endpoints declared
once in `endpoints` (shapes, page and sort settings). Each view narrows its declared shape from
``?include=`` / ``?fields[Model]=`` (a 400 before any query if they do not fit), loads with the
narrowed shape's loader options and serializes with its dumper. The OpenAPI document, built by
apispec from the shapes' marshmallow schemas, is at ``/openapi.json``, Swagger UI on it at
``/docs`` (served from packaged files, see `pages`), and ``/`` links both and the endpoints.

Every error is JSON in flask-smorest's format (``code``, ``status``, ``message``), with
werkzeug's headers kept (a 405's ``Allow``); the database being away or too slow is a 503 (see
`ops`), never a 500. The engine has the production defaults of `ops.Settings`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, jsonify
from flask_swagger_ui import get_swaggerui_blueprint  # type: ignore[import-untyped]
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from treeshape.flask import (
    init_app,
    json_response,
    openapi_operation,
    page_from_request,
    page_response,
    shape_from_request,
)

from . import ops, pages, queries, writes
from .endpoints import ROUTE, ROUTE_LIST, STOP, STOP_LIST, TRIP, TRIP_STOP_TIMES

__all__ = ["create_app", "from_env"]

log = logging.getLogger(__name__)

_KEEP_HEADERS = frozenset({"content-type", "content-length"})


def _error(code: int, message: str, headers: dict[str, str] | None = None) -> tuple[Response, int]:
    """flask-smorest's error body: ``{"code", "status", "message"}``."""
    body = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"), "message": message}
    response = jsonify(body)
    response.headers.update(headers or {})
    return response, code


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    """werkzeug's errors (404, 405, 500...) as JSON, with their headers (``Allow``)."""
    headers = {
        name: value for name, value in exc.get_headers() if name.lower() not in _KEEP_HEADERS
    }
    if isinstance(exc, InternalServerError):  # never echo an exception's text to a client
        return _error(500, "Internal server error.", headers)
    return _error(exc.code or 500, exc.description or "", headers)


def _unavailable(exc: Exception) -> tuple[Response, int]:
    log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return _error(503, ops.UNAVAILABLE_MESSAGE, {"Retry-After": ops.RETRY_AFTER})


def _not_found(what: str, key: str) -> tuple[Response, int]:
    return _error(404, f"No {what} with {what}_id {ops.quoted(key)}.")


def _openapi() -> dict[str, Any]:
    """The OpenAPI document: apispec turns the shapes' marshmallow schemas into components."""
    spec = APISpec(
        title=pages.TITLE,
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
    )

    def path_param(name: str) -> list[dict[str, Any]]:
        return [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}]

    unavailable = {"503": {"description": "The database is unavailable or too slow"}}
    not_found = {"404": {"description": "Not found"}, **unavailable}
    operations = {
        "/routes": openapi_operation(ROUTE_LIST, summary="Routes", responses=unavailable),
        "/stops": openapi_operation(STOP_LIST, summary="Stops", responses=unavailable),
        "/routes/{route_id}": openapi_operation(
            ROUTE,
            summary="A route with its trips' timetables",
            parameters=path_param("route_id"),
            responses=not_found,
        ),
        "/stops/{stop_id}": openapi_operation(
            STOP,
            summary="A stop with the trips that call at it",
            parameters=path_param("stop_id"),
            responses=not_found,
        ),
        "/trips/{trip_id}": openapi_operation(
            TRIP,
            summary="A trip with its route and its stops' ids",
            parameters=path_param("trip_id"),
            responses=not_found,
        ),
        "/trips/{trip_id}/stop_times": openapi_operation(
            TRIP_STOP_TIMES,
            summary="A trip's stop_times with their stops",
            many=True,
            parameters=path_param("trip_id"),
            responses=not_found,
        ),
    }
    for path, operation in operations.items():
        spec.path(path=path, operations={"get": operation})
    return spec.to_dict()


def create_app(db_url: str, *, settings: ops.Settings | None = None) -> Flask:
    """The Flask app serving the database at ``db_url`` (``settings``: `ops.Settings.from_env`
    unless given)."""
    engine = ops.engine(db_url, settings or ops.Settings.from_env())
    sessions = sessionmaker(engine)
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep documents in field order
    app.extensions["transit_engine"] = engine
    init_app(app)
    app.register_error_handler(HTTPException, _http_error)
    for error in ops.UNAVAILABLE:
        app.register_error_handler(error, _unavailable)
    docs = get_swaggerui_blueprint(
        pages.DOCS_PATH,
        pages.OPENAPI_PATH,
        config={"app_name": f"{pages.TITLE}: API docs", **pages.SWAGGER_UI_PARAMETERS},
    )
    app.register_blueprint(docs)
    # The page at /docs itself, as in the FastAPI app (the blueprint's is /docs/).
    app.add_url_rule(pages.DOCS_PATH, "docs", app.view_functions[f"{docs.name}.show"])
    openapi = _openapi()
    index = pages.index_page(framework="Flask")
    writes.register_flask(app, sessions, openapi)

    def session() -> Session:
        return sessions()

    @app.get("/")
    def get_index() -> Response:
        return Response(index, mimetype="text/html")

    @app.get(pages.OPENAPI_PATH)
    def get_openapi() -> Response:
        return jsonify(openapi)

    @app.get("/routes")
    def list_routes() -> Response:
        query = page_from_request(ROUTE_LIST)
        with session() as db:
            return page_response(queries.page(db, query))

    @app.get("/stops")
    def list_stops() -> Response:
        query = page_from_request(STOP_LIST)
        with session() as db:
            return page_response(queries.page(db, query))

    @app.get("/routes/<route_id>")
    def get_route(route_id: str) -> Response | tuple[Response, int]:
        shape = shape_from_request(ROUTE)
        with session() as db:
            found = queries.route(db, shape, route_id)
            if found is None:
                return _not_found("route", route_id)
            return json_response(shape, found)

    @app.get("/stops/<stop_id>")
    def get_stop(stop_id: str) -> Response | tuple[Response, int]:
        shape = shape_from_request(STOP)
        with session() as db:
            found = queries.stop(db, shape, stop_id)
            if found is None:
                return _not_found("stop", stop_id)
            return json_response(shape, found)

    @app.get("/trips/<trip_id>")
    def get_trip(trip_id: str) -> Response | tuple[Response, int]:
        shape = shape_from_request(TRIP)
        with session() as db:
            found = queries.trip(db, shape, trip_id)
            if found is None:
                return _not_found("trip", trip_id)
            return json_response(shape, found)

    @app.get("/trips/<trip_id>/stop_times")
    def get_trip_stop_times(trip_id: str) -> Response | tuple[Response, int]:
        shape = shape_from_request(TRIP_STOP_TIMES)
        with session() as db:
            found = queries.trip_stop_times(db, shape, trip_id)
            if found is None:
                return _not_found("trip", trip_id)
            return json_response(shape, found, many=True)

    return app


def from_env() -> Flask:
    """The app on ``$TRANSIT_DB`` with `ops.Settings.from_env`: for a server's factory
    option (``uvicorn --factory``, ``waitress-serve --call``), one app per worker process."""
    from .cli import DB_ENV, DEFAULT_DB, sync_url

    return create_app(sync_url(os.environ.get(DB_ENV) or DEFAULT_DB))
