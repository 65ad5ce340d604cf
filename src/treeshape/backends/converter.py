"""marshmallow fields for shape fields: marshmallow-sqlalchemy's converter, JSON-mode output.

`ShapeConverter` is marshmallow-sqlalchemy's `ModelConverter` with the field classes that dump
by treeshape's JSON conventions (Pydantic's JSON mode), so load validation (required,
allow_none, lengths, enum choices) is exactly what a hand-written ``SQLAlchemySchema`` has and
dump output equals the other backends'. It is the one place the column-type-to-field mapping
lives (`TYPE_MAPPING`); there is no process-wide switch to replace it, since a mapping that
dumps differently from the other backends would break their equality.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import uuid
from typing import Any

import sqlalchemy as sa
from marshmallow import fields
from marshmallow_sqlalchemy import ModelConverter

from ..inspection import FieldInfo, reads_as_impl
from ..values import (
    _bytes_to_json,
    _datetime_to_json,
    _decimal_to_json,
    _time_to_json,
    to_json_value,
)

__all__ = [
    "TYPE_MAPPING",
    "JsonBytes",
    "JsonDateTime",
    "JsonDecimal",
    "JsonTime",
    "JsonValue",
    "ShapeConverter",
]


class JsonDateTime(fields.DateTime):
    """A DateTime that dumps like Pydantic's JSON mode (UTC as ``Z``)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else _datetime_to_json(value)


class JsonTime(fields.Time):
    """A Time that dumps like Pydantic's JSON mode."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else _time_to_json(value)


class JsonDecimal(fields.Decimal):
    """A Decimal that dumps as a string, unquantized, like Pydantic's JSON mode."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else _decimal_to_json(value)


class JsonBytes(fields.Raw):
    """Bytes (``LargeBinary`` and other binary columns), dumped as lowercase hex like the other
    backends; marshmallow has no binary field of its own."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else _bytes_to_json(value)


class JsonValue(fields.Raw):
    """Any value (JSON columns, untyped expressions), converted by the JSON conventions."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return to_json_value(value) if value is not None else None


def _enum_by_value(converter: ModelConverter, data_type: sa.Enum) -> Any:
    if data_type.enum_class is None:
        return fields.String
    return functools.partial(fields.Enum, enum=data_type.enum_class, by_value=True)


TYPE_MAPPING: dict[type, type[fields.Field[Any]]] = {
    str: fields.String,
    bool: fields.Boolean,
    int: fields.Integer,
    float: fields.Float,
    decimal.Decimal: JsonDecimal,
    dt.datetime: JsonDateTime,
    dt.date: fields.Date,
    dt.time: JsonTime,
    uuid.UUID: fields.UUID,
    bytes: JsonBytes,
}


class ShapeConverter(ModelConverter):
    """Columns to marshmallow fields, with JSON-mode field classes."""

    SQLA_TYPE_MAPPING = {
        **ModelConverter.SQLA_TYPE_MAPPING,
        sa.Enum: _enum_by_value,
        sa.JSON: JsonValue,
        sa.PickleType: JsonValue,
        # BLOB and PostgreSQL's BYTEA derive from LargeBinary.
        sa.LargeBinary: JsonBytes,
        sa.BINARY: JsonBytes,
        sa.VARBINARY: JsonBytes,
    }

    @property
    def type_mapping(self) -> dict[type, type[fields.Field[Any]]]:
        return TYPE_MAPPING

    def field_for_shape_field(self, info: FieldInfo) -> fields.Field[Any]:
        """The marshmallow field for one shape field."""
        if info.kind == "column" and info.prop is not None and not _converts(info.sa_type):
            field: fields.Field[Any] = self.property2field(info.prop)
            return field
        if info.kind == "column":
            # A TypeDecorator that converts what it reads (Interval on most databases, an
            # application's own): its values are not its impl's, so the field follows the
            # Python type, as the other backends do.
            return JsonValue(allow_none=info.nullable)
        # Expressions, hybrids and properties: read-only outputs typed by their Python type.
        field_class = _field_class_for_python_type(info.python_type)
        kwargs: dict[str, Any] = {"dump_only": True, "allow_none": info.nullable}
        if field_class is fields.Enum:
            kwargs.update(enum=info.python_type, by_value=True)
        if info.doc:
            kwargs["metadata"] = {"description": info.doc}
        result: fields.Field[Any] = field_class(**kwargs)
        return result


def _converts(sa_type: Any) -> bool:
    return isinstance(sa_type, sa.types.TypeDecorator) and not reads_as_impl(sa_type)


def _field_class_for_python_type(python_type: Any) -> Any:
    import enum

    if isinstance(python_type, type):
        if issubclass(python_type, enum.Enum):
            return fields.Enum
        for cls in python_type.__mro__:
            if cls in TYPE_MAPPING:
                return TYPE_MAPPING[cls]
    return JsonValue
