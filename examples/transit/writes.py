"""Writing trips: ``POST /trips``, ``PUT /trips/{trip_id}``, ``PATCH /trips/{trip_id}``.

Declared once, served by both apps (`register_flask`, `register_fastapi`). One input shape,
`trip_in`, gives all three bodies: a trip with its timetable, each call naming its stop by key
(``"stop": "BEATTY_AIRPORT"``, which must exist). A PUT sends the trip and its whole timetable:
calls are matched by ``stop_sequence``, changed ones updated, new ones added, and the ones left
out deleted (``on_missing="delete"``). A PATCH is a JSON merge patch: absent keys stay, ``null``
clears, a ``stop_times`` given replaces the timetable by the rules of PUT. Each answers with the
trip as ``GET /trips/{trip_id}`` shows it (201 for a POST); an invalid body is a 422 naming
every problem and its JSON path, in each framework's format; an unknown trip a 404.
"""

from collections.abc import Callable
from typing import Annotated, Any

import treeshape as ts
from treeshape.write import Mode

from . import queries
from .endpoints import TRIP
from .models import StopTime, Trip

# [start shapes]
stop_time_in = ts.shape(
    StopTime,
    {"stop": ts.include(ids=True)},
    fields=[
        "stop_sequence",
        "arrival_time",
        "departure_time",
        "stop_headsign",
        "pickup_type",
        "drop_off_type",
        "shape_dist_traveled",
        "timepoint",
    ],
)

#: The body of a trip: its GTFS columns and its calls (``stop_times``), each at a stop.
trip_in = ts.shape(
    Trip,
    {"stop_times": ts.include(stop_time_in, on_missing="delete")},
    fields=[
        "trip_id",
        "route_id",
        "service_id",
        "trip_headsign",
        "trip_short_name",
        "direction_id",
        "block_id",
        "shape_id",
        "wheelchair_accessible",
        "bikes_allowed",
    ],
)
# [end shapes]

OPERATIONS: tuple[tuple[str, Mode, str], ...] = (
    ("post", "create", "Create a trip with its timetable"),
    ("put", "replace", "Replace a trip and its whole timetable"),
    ("patch", "patch", "Change a trip (JSON merge patch)"),
)


def write(db: Any, body: Any, trip_id: str | None, mode: Mode) -> Trip | None:
    """Load ``body`` (create, or replace/patch the trip ``trip_id``), commit, and read the trip
    back with the ``GET /trips/{trip_id}`` shape; ``None`` if there is no such trip."""
    instance = None
    if trip_id is not None:
        instance = db.get(Trip, trip_id)
        if instance is None:
            return None
    trip = trip_in.load(body, session=db, instance=instance, partial=mode == "patch")
    db.commit()
    return queries.trip(db, TRIP.shape, trip.trip_id)


def register_flask(app: Any, sessions: Callable[[], Any], openapi: dict[str, Any]) -> None:
    """Add the three endpoints to the Flask ``app`` and their operations to ``openapi``."""
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin
    from flask import request

    from treeshape.flask import json_response
    from treeshape.write.flask import body_from_request, init_app, request_body

    init_app(app)

    def handle(trip_id: str | None = None) -> Any:
        mode = {"POST": "create", "PUT": "replace", "PATCH": "patch"}[request.method]
        body = body_from_request(trip_in, mode)  # type: ignore[arg-type]
        with sessions() as db:
            trip = write(db, body, trip_id, mode)  # type: ignore[arg-type]
            if trip is None:
                message = f"No trip with trip_id {trip_id!r}."
                return app.json.response(
                    {"code": 404, "status": "Not Found", "message": message}
                ), 404
            return json_response(TRIP.shape, trip, status=201 if trip_id is None else 200)

    app.add_url_rule("/trips", "create_trip", handle, methods=["POST"])
    app.add_url_rule("/trips/<trip_id>", "write_trip", handle, methods=["PUT", "PATCH"])

    spec = APISpec(title="", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()])
    path_param = [{"in": "path", "name": "trip_id", "required": True, "schema": {"type": "string"}}]
    for method, mode, summary in OPERATIONS:
        status = "201" if mode == "create" else "200"
        responses = {
            status: {
                "description": "The trip as GET /trips/{trip_id} shows it",
                "content": {"application/json": {"schema": TRIP.shape.marshmallow_schema}},
            },
            "422": {"description": "Invalid body: every problem with its JSON path (loc)."},
        }
        operation: dict[str, Any] = {
            "summary": summary,
            "requestBody": request_body(trip_in, mode),
            "responses": responses,
        }
        if mode != "create":
            operation["parameters"] = path_param
            responses["404"] = {"description": "Not found"}
        spec.path(
            path="/trips" if mode == "create" else "/trips/{trip_id}",
            operations={method: operation},
        )
    written = spec.to_dict()
    for path, operations in written["paths"].items():
        openapi.setdefault("paths", {}).setdefault(path, {}).update(operations)
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in written["components"]["schemas"].items():
        schemas.setdefault(name, schema)


def register_fastapi(app: Any) -> None:
    """Add the three endpoints to the FastAPI ``app`` (its ``state.sessions`` opens sessions)."""
    from fastapi import Depends, HTTPException, Request
    from sqlalchemy.ext.asyncio import AsyncSession
    from starlette.concurrency import run_in_threadpool

    from treeshape.fastapi import ShapeResponse
    from treeshape.write.fastapi import INPUT_ERROR_RESPONSE, input_error, write_body

    async def run(request: Request, body: Any, trip_id: str | None, mode: Mode) -> Any:
        sessions = request.app.state.sessions
        try:
            db = sessions()
            try:
                if isinstance(db, AsyncSession):
                    trip = await db.run_sync(write, body, trip_id, mode)
                else:
                    trip = await run_in_threadpool(write, db, body, trip_id, mode)
            finally:
                if isinstance(db, AsyncSession):
                    await db.close()
                else:
                    await run_in_threadpool(db.close)
        except ts.InputError as exc:
            raise input_error(exc) from None
        if trip is None:
            raise HTTPException(404, f"No trip with trip_id {trip_id!r}.")
        return ShapeResponse(TRIP.shape, trip, status_code=201 if mode == "create" else 200)

    model = TRIP.shape.pydantic_model
    not_found: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}
    Create = Annotated[Any, Depends(write_body(trip_in, "create"))]
    Replace = Annotated[Any, Depends(write_body(trip_in, "replace"))]
    Patch = Annotated[Any, Depends(write_body(trip_in, "patch"))]

    @app.post(
        "/trips",
        status_code=201,
        response_model=model,
        responses=INPUT_ERROR_RESPONSE,
        summary=OPERATIONS[0][2],
    )
    async def create_trip(request: Request, body: Create) -> Any:
        return await run(request, body, None, "create")

    @app.put(
        "/trips/{trip_id}",
        response_model=model,
        responses={**INPUT_ERROR_RESPONSE, **not_found},
        summary=OPERATIONS[1][2],
    )
    async def replace_trip(request: Request, trip_id: str, body: Replace) -> Any:
        return await run(request, body, trip_id, "replace")

    @app.patch(
        "/trips/{trip_id}",
        response_model=model,
        responses={**INPUT_ERROR_RESPONSE, **not_found},
        summary=OPERATIONS[2][2],
    )
    async def patch_trip(request: Request, trip_id: str, body: Patch) -> Any:
        return await run(request, body, trip_id, "patch")


__all__ = ["OPERATIONS", "register_fastapi", "register_flask", "stop_time_in", "trip_in", "write"]
