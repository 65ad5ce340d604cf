"""Python values to JSON-ready values, by Pydantic's JSON-mode conventions.

Every backend agrees on one convention, Pydantic's ``model_dump(mode="json")``: ``Decimal`` as a
string, date/time/datetime as ISO 8601 (UTC as ``Z``), UUID as a string, enums by value, and
bytes as lowercase hex (Pydantic's ``ser_json_bytes="hex"``: its default, UTF-8, fails on the
binary data a ``LargeBinary`` column holds, and hex is what every database can write in SQL). The
converters are chosen once per field from its Python type, so the per-value work on the hot
path is one call (or none, for JSON-native types).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable
from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["Converter", "converter_for", "to_json_value"]

Converter = Callable[[Any], Any]

_ZERO = dt.timedelta(0)


def _datetime_to_json(value: dt.datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        return value.isoformat()
    if offset == _ZERO:
        return value.replace(tzinfo=None).isoformat() + "Z"
    if offset.seconds % 60 or offset.microseconds:
        # Offsets with seconds are rare and Pydantic truncates them; let it decide.
        result: str = to_jsonable_python(value)
        return result
    return value.isoformat()


def _time_to_json(value: dt.time) -> str:
    offset = value.utcoffset()
    if offset is None:
        return value.isoformat()
    if offset == _ZERO:
        return value.replace(tzinfo=None).isoformat() + "Z"
    result: str = to_jsonable_python(value)
    return result


def _date_to_json(value: dt.date) -> str:
    # A datetime column read as a date would still be a datetime: keep its full form.
    if isinstance(value, dt.datetime):
        return _datetime_to_json(value)
    return value.isoformat()


def _enum_to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return to_json_value(value.value)
    return value


def _decimal_to_json(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        # SQLite may hand back a float for a Numeric read without conversion.
        return str(decimal.Decimal(repr(value)))
    return value


def _uuid_to_json(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _bytes_to_json(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


_NATIVE: tuple[type, ...] = (str, int, float, bool, type(None))


def to_json_value(value: Any) -> Any:
    """Convert any single value (the slow, general path; used for untyped fields)."""
    if isinstance(value, _NATIVE):
        return value
    converter = converter_for(type(value))
    if converter is None:
        return value
    if converter is _any_to_json:
        # No converter of our own (timedelta, ...): Pydantic's JSON mode decides.
        return to_jsonable_python(value, bytes_mode="hex")
    return converter(value)


def _any_to_json(value: Any) -> Any:
    if isinstance(value, _NATIVE):
        return value
    if isinstance(value, dict | list):
        return to_jsonable_python(value, bytes_mode="hex")
    return to_json_value(value)


def converter_for(python_type: Any) -> Converter | None:
    """The converter for values of ``python_type``; ``None`` where the value is JSON-ready.

    ``python_type`` is what binding found for a field: a class, or ``Any`` when unknown.
    """
    if not isinstance(python_type, type):
        return _any_to_json
    if issubclass(python_type, bool | int | float | str) and not issubclass(python_type, enum.Enum):
        return None
    if issubclass(python_type, enum.Enum):
        return _enum_to_json
    if issubclass(python_type, dt.datetime):
        return _datetime_to_json
    if issubclass(python_type, dt.date):
        return _date_to_json
    if issubclass(python_type, dt.time):
        return _time_to_json
    if issubclass(python_type, decimal.Decimal):
        return _decimal_to_json
    if issubclass(python_type, uuid.UUID):
        return _uuid_to_json
    if issubclass(python_type, bytes | bytearray | memoryview):
        return _bytes_to_json
    return _any_to_json
