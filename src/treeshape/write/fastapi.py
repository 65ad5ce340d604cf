"""FastAPI: a request body validated by a shape's input model, and 422s in FastAPI's format.

::

    from treeshape.write.fastapi import input_error, write_body

    @app.post("/trips", status_code=201)
    def create_trip(body: Annotated[Any, Depends(write_body(trip_in, "create"))]) -> ...:
        try:
            trip = trip_in.load(body, session=db)
        except ts.InputError as exc:
            raise input_error(exc) from None

The dependency's body parameter is annotated with ``shape.input_model(mode)``, so FastAPI
validates the body itself (a 422 with ``loc`` starting at ``"body"``) and ``/docs`` shows
``TripCreate`` as the request body. `input_error` turns what only `load` can find (a reference
to a missing row, a child left out under ``on_missing="error"``) into the same 422.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import Body
from fastapi.exceptions import RequestValidationError

from ..errors import InputError
from ..shape import Shape
from .limits import DEFAULT_LIMITS, Limits, limit_errors
from .rules import Mode

__all__ = ["INPUT_ERROR_RESPONSE", "input_error", "write_body"]

INPUT_ERROR_RESPONSE: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid body: every problem, each with its JSON path (loc)."}
}


def input_error(error: InputError) -> RequestValidationError:
    """The 422 FastAPI answers for an invalid body, for an `InputError` raised by `load`."""
    return RequestValidationError(
        [
            {"loc": ("body", *e["loc"]), "msg": e["msg"], "type": e["type"], "input": None}
            for e in error.errors
        ]
    )


def write_body(shape: Shape, mode: Mode, *, limits: Limits | None = None) -> Callable[..., Any]:
    """A dependency returning the request body as ``shape.input_model(mode)``, or a 422.

    FastAPI validates the body against the model (``maxItems`` per collection included); the
    dependency then checks the body's total size against ``limits`` before any statement.
    """
    bounds = limits or DEFAULT_LIMITS
    model = shape.input_model(mode, limits=bounds)

    def dependency(body: Any) -> Any:
        errors = limit_errors(body.model_dump(), bounds)
        if errors:
            raise input_error(InputError(errors))
        return body

    parameter = inspect.Parameter(
        "body", inspect.Parameter.KEYWORD_ONLY, default=Body(...), annotation=model
    )
    dependency.__signature__ = inspect.Signature([parameter])  # type: ignore[attr-defined]
    return dependency
