"""Exceptions raised by treeshape."""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "NotLoadedError",
    "SpecError",
    "TreeshapeError",
    "did_you_mean",
    "name_list",
    "safe_repr",
]


class TreeshapeError(Exception):
    """Base class of every error treeshape raises on purpose."""


class SpecError(TreeshapeError, ValueError):
    """An include spec, field selection or narrowing that cannot be bound to the models.

    Raised when the shape is defined (``shape()``, ``narrow()``), never later, with a message
    that names the model, the dotted path and the closest valid names.
    """


class NotLoadedError(TreeshapeError):
    """Serializing reached an attribute that the object has not loaded.

    treeshape never lazy-loads while serializing: an unplanned query per object is the bug
    this library exists to prevent. Load with ``shape.loader_options()`` (or use ``fetch``).
    Deliberately not an ``AttributeError``: Pydantic and marshmallow treat those as a missing
    attribute and would hide the problem.
    """

    def __init__(self, model_name: str, attribute: str, path: str | None = None) -> None:
        self.model_name = model_name
        self.attribute = attribute
        self.path = path
        where = f" at path {path!r}" if path else ""
        super().__init__(
            f"{model_name}.{attribute} is not loaded{where}; treeshape does not lazy-load while "
            f"serializing. Load the objects with select(...).options(*shape.loader_options()) "
            f"or use shape.fetch()."
        )


_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxstring = 80
_repr.maxother = 80


def safe_repr(value: Any) -> str:
    """``repr(value)`` for an error message about arbitrary input: cut short, and safe.

    A spec can be anything a caller passes (a 10,000-deep list, a list containing itself, a
    megabyte of text); a plain ``repr`` would raise ``RecursionError`` or echo all of it.
    """
    try:
        return _repr.repr(value)
    except Exception:  # a broken __repr__ (reprlib already guards instances)
        return f"<{type(value).__name__} object>"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A " Did you mean 'x'?" suffix, or "" when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f" Did you mean {close[0]!r}?"
    return " Did you mean " + ", ".join(repr(c) for c in close[:-1]) + f" or {close[-1]!r}?"


def name_list(names: Iterable[str]) -> str:
    """Names for an error message: "a, b, c" or "(none)"."""
    names = list(names)
    return ", ".join(names) if names else "(none)"


class InputError(TreeshapeError, ValueError):
    """A request body that cannot be written: every problem at once, each with its JSON path.

    ``errors`` is a list of ``{"loc": ("stop_times", 3, "stop_sequence"), "msg": "...",
    "type": "..."}``, in Pydantic's format, so that a web integration answers with them as
    they are (FastAPI prefixes ``"body"``).
    """

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = [
            {"loc": tuple(e["loc"]), "msg": str(e["msg"]), "type": str(e["type"])} for e in errors
        ]
        shown = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}"
            for e in self.errors[:10]
        )
        more = f" (and {len(self.errors) - 10} more)" if len(self.errors) > 10 else ""
        super().__init__(f"Invalid body: {shown}{more}")
