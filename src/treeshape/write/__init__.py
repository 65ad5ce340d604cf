"""Writing: nested create, replace and patch bodies from the same shapes that read.

``shape.input_model(mode)`` and ``shape.input_schema(mode)`` are the Pydantic model and the
marshmallow schema of a body (``"create"``, ``"replace"``, ``"patch"``); ``shape.load(body,
session=..., instance=..., partial=...)`` turns a body into ORM objects, all or nothing. See
the how-to "Writing nested bodies".
"""

from .input_model import InputModel, input_model
from .input_schema import InputSchema, input_schema, marshmallow_errors
from .limits import DEFAULT_LIMITS, Limits
from .load import load, validate
from .rules import MODES, Mode

__all__ = [
    "DEFAULT_LIMITS",
    "MODES",
    "InputModel",
    "InputSchema",
    "Limits",
    "Mode",
    "input_model",
    "input_schema",
    "load",
    "marshmallow_errors",
    "validate",
]
