"""Flask: a request body validated by a shape's marshmallow input schema, and 422s.

::

    from treeshape.write.flask import body_from_request, init_app, request_body

    init_app(app)  # InputError -> a JSON 422 naming every problem and its path

    @app.post("/trips")
    def create_trip():
        trip = trip_in.load(body_from_request(trip_in, "create"), session=db)
        ...

The error body is the app's error object (flask-smorest's ``code``, ``status``, ``message``)
with ``errors``: a list of ``{"loc": [...], "msg": ..., "type": ...}``, the same paths
FastAPI reports. `request_body` is the OpenAPI ``requestBody`` for apispec's
``MarshmallowPlugin``, which documents ``TripCreate`` and its nested schemas as components.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify, request

from ..errors import InputError
from ..shape import Shape
from .input_schema import marshmallow_errors
from .limits import DEFAULT_LIMITS, Limits, limit_errors
from .rules import Mode

__all__ = ["body_from_request", "init_app", "input_error_response", "request_body"]


def body_from_request(shape: Shape, mode: Mode, *, limits: Limits | None = None) -> Any:
    """The current request's JSON body loaded by ``shape.input_schema(mode)``; `InputError` if
    it is not JSON, exceeds ``limits`` or does not fit the schema."""
    bounds = limits or DEFAULT_LIMITS
    data = request.get_json(silent=True)
    if data is None:
        raise InputError(
            [{"loc": (), "msg": "The body must be a JSON document.", "type": "json_invalid"}]
        )
    errors = limit_errors(data, bounds)
    if errors:
        raise InputError(errors)
    try:
        return shape.input_schema(mode, limits=bounds)().load(data)
    except ma.ValidationError as exc:
        raise InputError(marshmallow_errors(exc.messages)) from None


def input_error_response(error: InputError) -> tuple[Response, int]:
    """A 422 naming every problem of the body and its JSON path."""
    body = {
        "code": 422,
        "status": "Unprocessable Entity",
        "message": "Invalid request body.",
        "errors": [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors
        ],
    }
    return jsonify(body), 422


def init_app(app: Flask) -> None:
    """Register the JSON 422 handler for `InputError` on ``app``."""
    app.register_error_handler(InputError, input_error_response)


def request_body(shape: Shape, mode: Mode, *, limits: Limits | None = None) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a ``mode`` body, for apispec's ``MarshmallowPlugin``."""
    schema = shape.input_schema(mode, limits=limits or DEFAULT_LIMITS)
    return {"required": True, "content": {"application/json": {"schema": schema}}}
