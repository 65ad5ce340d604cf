"""SQLite's JSON strategy: ``json_object`` / ``json_group_array`` over ordered derived tables."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    String,
    Time,
    Uuid,
    case,
    func,
    null,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType, TypeEngine

from ....inspection import FieldInfo
from ....tree import RelationNode
from .base import JsonDialect, Unsupported, enum_case, null_safe, ordered_rows, plain_type

if TYPE_CHECKING:
    from ..json import JsonBuilder

__all__ = ["SqliteJson", "sqlite_has_json"]

_SQLITE_DATETIME = (
    "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
)
_SQLITE_DATE = "%(year)04d-%(month)02d-%(day)02d"
_SQLITE_TIME = "%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"


class SqliteJson(JsonDialect):
    """SQLite: ``json_object`` / ``json_group_array`` over ordered derived tables.

    SQLite before 3.44 has no ORDER BY inside an aggregate; aggregating over an ordered derived
    table keeps its order. SQLite stores dates, times and UUIDs as text and booleans as 0/1, and
    its JSON prints REAL with 15 digits: each is rewritten here into what the dump gives.
    """

    name = "sqlite"
    max_keys = 60

    def __init__(self, dialect: Dialect) -> None:
        super().__init__(dialect)
        self.wrap = not _sqlite_keeps_subtype()

    def object(self, pairs: list[Any]) -> Any:
        return func.json_object(*pairs)

    def nested(self, subquery: Any) -> Any:
        return func.json(subquery) if self.wrap else subquery

    def array(self, items: list[Any]) -> Any:
        return func.json_array(*items)

    def collection(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        inner, rows = ordered_rows(rel, parent)
        doc = builder.item(rel, rows)
        return self.nested(select(func.json_group_array(doc)).select_from(inner).scalar_subquery())

    def value(self, f: FieldInfo, expr: Any) -> Any:
        sa_type = plain_type(f)
        where = f"{f.model.__name__}.{f.name}"
        if isinstance(sa_type, Enum) and sa_type.enum_class is not None:
            return enum_case(expr, sa_type, f)
        if isinstance(sa_type, JSON):
            return func.json(expr)
        if isinstance(sa_type, Boolean):
            return func.json(case((expr.is_(None), null()), (expr, "true"), else_="false"))
        if isinstance(sa_type, Uuid):
            if not sa_type.as_uuid:
                raise Unsupported(f"{where}: Uuid(as_uuid=False)")
            return null_safe(expr, _hyphenated(expr))
        if isinstance(sa_type, DateTime):
            self._check_format(sa_type, _SQLITE_DATETIME, where)
            return func.replace(func.replace(expr, " ", "T"), ".000000", "")
        if isinstance(sa_type, Date):
            self._check_format(sa_type, _SQLITE_DATE, where)
            return expr
        if isinstance(sa_type, Time):
            self._check_format(sa_type, _SQLITE_TIME, where)
            return func.replace(expr, ".000000", "")
        if isinstance(sa_type, Numeric | Float):
            if sa_type.asdecimal:
                scale = sa_type._effective_decimal_return_scale
                return null_safe(expr, func.printf(f"%.{scale}f", expr))
            return func.json(null_safe(expr, _sqlite_real(expr)))
        if isinstance(sa_type, Integer | String):
            return expr
        if isinstance(sa_type, NullType):
            # An untyped expression: the ORM hands back SQLite's own value, JSON-native
            # except for REAL, which SQLite's JSON would print with 15 digits only.
            real = func.json(_sqlite_real(expr))
            return case((func.typeof(expr) == "real", real), else_=expr)
        raise Unsupported(f"{where}: {sa_type!r} has no exact JSON form in SQLite")

    def _check_format(self, sa_type: TypeEngine[Any], expected: str, where: str) -> None:
        impl = sa_type.dialect_impl(self.dialect)
        if getattr(impl, "_storage_format", expected) != expected or getattr(impl, "_reg", None):
            raise Unsupported(f"{where}: a custom SQLite storage format")


_REAL_LIMIT = 1e100
_REAL_SENTINEL = "treeshape: a REAL beyond 1e100"


def _sqlite_real(expr: Any) -> Any:
    """A REAL as JSON number text that parses back to the same double.

    SQLite's JSON prints 15 significant digits; ``%!.17g`` is enough to round-trip, and
    SQLite 3.40's printf gets all 17 right below 1e100 (measured over random doubles) but not
    always above. There the text is invalid JSON on purpose: ``json()`` fails the statement and
    `run_json` answers through Core instead, so such values cost a retry, never a wrong digit.
    """
    return case((func.abs(expr) < _REAL_LIMIT, func.printf("%!.17g", expr)), else_=_REAL_SENTINEL)


def _hyphenated(expr: Any) -> Any:
    """SQLite's 32 hex digits of a Uuid as the hyphenated form ``str(UUID)`` gives."""
    parts = [
        func.substr(expr, start, length)
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    text: Any = parts[0]
    for part in parts[1:]:
        text = text.op("||")("-").op("||")(part)
    return func.lower(text)


_sqlite_probe: dict[str, bool] = {}


def _sqlite_probe_value(name: str, sql: str, expected: Any) -> bool:
    """Probe the linked SQLite library once, on a private in-memory connection (no statement
    reaches the caller's engine, so statement counts stay exact)."""
    if name not in _sqlite_probe:
        try:
            with sqlite3.connect(":memory:") as conn:
                _sqlite_probe[name] = conn.execute(sql).fetchone()[0] == expected
        except sqlite3.Error:
            _sqlite_probe[name] = False
    return _sqlite_probe[name]


def sqlite_has_json() -> bool:
    return _sqlite_probe_value("json", "SELECT json_array(1)", "[1]")


def _sqlite_keeps_subtype() -> bool:
    """Whether a scalar subquery's JSON value stays JSON (not text) in this SQLite."""
    return _sqlite_probe_value(
        "subtype", "SELECT json_object('a', (SELECT json_array(1)))", '{"a":[1]}'
    )
