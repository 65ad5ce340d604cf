"""One validation rule per column, shared by the Pydantic input models and marshmallow schemas.

Each writable column gets one annotation (type, strictness, constraints) from its SQL type. The
Pydantic model uses it as the field's type; the marshmallow field validates with a
``TypeAdapter`` of the same annotation. Two frameworks, one rule: a body is accepted or refused
the same way by both, by construction, and ``tests/write`` checks it on random bodies.

Strict where JSON has the type (``"1"`` is not an int, ``1.5`` is not an int, ``true`` is not
a number); text for what JSON has no type for (dates, times, UUIDs: ISO 8601 text, or the
Python value itself when a caller passes one), numbers or text for decimals.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, Strict
from pydantic_core import PydanticCustomError

from ..inspection import ColumnFacts, FieldInfo

__all__ = ["NUL_PATTERN", "key_annotation", "scalar_annotation", "scalar_is_flat"]

_TEXT_TYPES: tuple[type, ...] = (dt.datetime, dt.date, dt.time, uuid.UUID)


def _refuse_nul(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text: refused everywhere, so that a body means the same on
    # every database and never fails at flush.
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "Text cannot contain the NUL character (U+0000)")
    return value


NUL_PATTERN = "^[^\\x00]*$"
"""`_refuse_nul` as a constraint of Pydantic's own (a Rust regex, no Python call per string),
for the twins of `nul_pattern_dict`: it refuses the same strings, after the same checks
(type and length first)."""


class _NoNulSchema:
    """Says in the JSON Schema what `_refuse_nul` checks (a metadata object, so that it composes
    with any other ``json_schema_extra`` the field has)."""

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        json_schema = handler(schema)
        json_schema["pattern"] = "^[^\\u0000]*$"
        return json_schema


_NO_NUL = (AfterValidator(_refuse_nul), _NoNulSchema())


def _text_or(kind: type) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str | kind):
            return value
        raise PydanticCustomError(
            "string_type",
            "Input should be a valid string ({kind} as text)",
            {"kind": kind.__name__},
        )

    return BeforeValidator(check)


def scalar_annotation(info: FieldInfo, facts: ColumnFacts, *, nul: bool = True) -> Any:
    """The annotation a non-null value of this column must satisfy (with text's NUL check as
    the `NUL_PATTERN` constraint if not ``nul``)."""
    return _scalar(info, facts, nul=nul)[0]


def scalar_is_flat(info: FieldInfo, facts: ColumnFacts) -> bool:
    """Whether every value `scalar_annotation` accepts is no ``dict``, ``list`` or ``tuple``
    (what the body limits would count): not so for ``Any``, an unknown Python type, or a
    ``Decimal``, which Pydantic also takes as a tuple of digits."""
    return _scalar(info, facts, nul=False)[1]


def _scalar(info: FieldInfo, facts: ColumnFacts, *, nul: bool) -> tuple[Any, bool]:
    """`scalar_annotation` and `scalar_is_flat`, from one set of rules."""
    python_type = info.python_type
    if facts.enum_values is not None:
        return Literal[facts.enum_values], True
    if not isinstance(python_type, type):
        return Any, False
    if issubclass(python_type, enum.Enum):
        # A member's value is accepted as the member: a tuple value is taken as a tuple.
        flat = not any(isinstance(m.value, dict | list | tuple) for m in python_type)
        return python_type, flat
    if issubclass(python_type, bool):
        return Annotated[bool, Strict()], True
    if issubclass(python_type, int):
        return Annotated[int, Strict()], True
    if issubclass(python_type, float):
        return Annotated[float, Strict()], True
    if issubclass(python_type, str):
        if not nul:
            return Annotated[
                str, Strict(), Field(max_length=facts.length or None, pattern=NUL_PATTERN)
            ], True
        if facts.length:
            return Annotated[str, Strict(), Field(max_length=facts.length), *_NO_NUL], True
        return Annotated[str, Strict(), *_NO_NUL], True
    if issubclass(python_type, decimal.Decimal):
        constraints: dict[str, Any] = {}
        if facts.precision is not None:
            constraints["max_digits"] = facts.precision
            constraints["decimal_places"] = facts.scale or 0
        if constraints:
            return Annotated[decimal.Decimal, Field(**constraints)], False
        return decimal.Decimal, False
    for kind in _TEXT_TYPES:
        if issubclass(python_type, kind):
            # Text or the value itself only (`_text_or`), never a tuple of its parts.
            return Annotated[python_type, _text_or(kind)], True
    return python_type, False


def key_annotation(fields: tuple[FieldInfo, ...], *, nul: bool = True) -> Any:
    """The annotation of a row's key: its one column's, or a tuple of them (composite keys)."""
    from ..inspection import column_facts

    parts = [scalar_annotation(f, column_facts(f), nul=nul) for f in fields]
    if len(parts) == 1:
        return parts[0]
    return tuple[tuple(parts)]  # type: ignore[misc]
