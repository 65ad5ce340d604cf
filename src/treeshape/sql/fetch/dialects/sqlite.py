"""SQLite's JSON strategy: ``json_object`` / ``json_group_array`` over ordered derived tables."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BINARY,
    JSON,
    VARBINARY,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Time,
    Uuid,
    case,
    cast,
    func,
    null,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType, TypeEngine

from ....compat import decimal_scale
from ....inspection import FieldInfo
from ....tree import RelationNode
from .base import (
    JsonDialect,
    Unsupported,
    enum_case,
    float_marker,
    null_safe,
    ordered_rows,
    plain_type,
)

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
    its JSON prints REAL with 15 digits: each is rewritten here into what the dump gives
    (`_sqlite_real`). Floats need SQLite's math functions (3.35+, built with them): without
    them a float column is `Unsupported`.
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
            # Stored JSON text keeps its own number and escape forms: re-encoded in Python.
            self.reencode = True
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
                return self._decimal(expr, decimal_scale(sa_type), where)
            return self._real(expr, where)
        if isinstance(sa_type, LargeBinary | BINARY | VARBINARY):
            # Bytes as lowercase hex, the one convention (`treeshape.values`).
            return null_safe(expr, func.lower(func.hex(expr)))
        if isinstance(sa_type, Integer | String):
            return expr
        if isinstance(sa_type, NullType):
            # An untyped expression: the ORM hands back SQLite's own value, JSON-native
            # except for REAL, which SQLite's JSON would print with 15 digits only.
            real = self._real(expr, where)
            return case((func.typeof(expr) == "real", real), else_=expr)
        raise Unsupported(f"{where}: {sa_type!r} has no exact JSON form in SQLite")

    def _real(self, expr: Any, where: str) -> Any:
        if not _sqlite_probe_value("math", _MATH_PROBE, 13.0):
            raise Unsupported(f"{where}: floats need SQLite's math functions")
        self.marks = True
        return _sqlite_real(expr)

    def _decimal(self, expr: Any, scale: int, where: str) -> Any:
        """A Numeric (stored as REAL or INTEGER) as the string the ORM gives:
        ``str(Decimal("%.<scale>f" % x))``.

        ``printf`` rounds a 16-digit approximation half away from zero (``2.675`` -> ``2.68``),
        the ORM the exact double half to even (``2.67``); they agree where ``x`` is the double
        nearest to a decimal of that scale with at most 15 digits, which is checked exactly as
        in `_sqlite_real`, and, for scales above 6, at least 1e-6 (``str(Decimal)`` writes
        smaller values with an exponent). Every other value is a `float_marker` that
        `restore` formats in Python.
        """
        if not _sqlite_probe_value("math", _MATH_PROBE, 13.0):
            raise Unsupported(f"{where}: a Numeric needs SQLite's math functions")
        self.marks = True
        a = func.abs(expr)
        unit = 10**scale
        exact = (a * unit < 1e15) & (func.round(a * unit) / unit == a)
        if scale > 6:
            exact = exact & (a >= 1e-6)
        return case(
            (expr.is_(None), null()),
            (exact, func.printf(f"%.{scale}f", expr)),
            # log2(0) is an error: zero's marker is written as it is.
            (expr == 0, float_marker(func.json_object, func.json_array(0, 0))),
            else_=_bits_marker(expr),
        )

    def _check_format(self, sa_type: TypeEngine[Any], expected: str, where: str) -> None:
        impl = sa_type.dialect_impl(self.dialect)
        if getattr(impl, "_storage_format", expected) != expected or getattr(impl, "_reg", None):
            raise Unsupported(f"{where}: a custom SQLite storage format")


def _sqlite_real(expr: Any) -> Any:
    """A REAL as the JSON number ``orjson.dumps`` writes for it (the shortest round-trip text).

    SQLite's JSON prints a REAL with ``%!.15g``, which is orjson's text exactly where the value
    has a decimal form of at most 15 significant digits and lies in [1e-4, 1e15) (fixed
    notation in both). Whether it has one is checked exactly in IEEE arithmetic, no printf:
    ``N = round(|x| * 10**k)`` for the 15-digit scale ``k``, and ``N / 10**k = |x|`` holds only
    if ``x`` is the double nearest to the decimal ``N * 10**-k`` (``10**k`` is exact for the
    ``k`` of that range and division is correctly rounded). Every other finite value (16 or 17
    digits, other magnitudes) becomes a `float_marker` of its exact binary form, which
    `restore` turns into orjson's text in Python; infinities are null, as in ``dump_json``.
    """
    a = func.abs(expr)
    scale = func.power(10, 14 - func.floor(func.log10(a)))
    exact = (a >= 1e-4) & (a < 1e15) & (func.round(a * scale) / scale == a)
    # A negative zero (from an expression: stored REALs lose the sign) prints as 0.0.
    zero = case((func.atan2(expr, -1.0) < 0, func.json("-0.0")), else_=expr)
    return case(
        (expr.is_(None), null()),
        (exact, expr),
        (expr == 0, zero),
        (a > _DOUBLE_MAX, null()),
        else_=_bits_marker(expr),
    )


def _bits_marker(expr: Any) -> Any:
    """A `float_marker` of a finite, non-zero REAL's exact value ``m * 2**q``."""
    # m is an integer below 2**55 (one bit of slack for log2's rounding).
    q = func.max(func.floor(func.log2(func.abs(expr))) - 53, -1074)
    m = cast(expr / func.power(2, q), Integer)
    return float_marker(func.json_object, func.json_array(m, q))


_DOUBLE_MAX = 1.7976931348623157e308


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
_MATH_PROBE = "SELECT log10(100.0) + log2(8.0) + power(2, 3) + floor(atan2(0.0, -1.0) * 0)"


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
