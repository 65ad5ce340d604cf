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
    literal_column,
    null,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.types import NullType, TypeEngine

from ....compat import decimal_scale
from ....inspection import FieldInfo
from ....tree import RelationNode
from ...secondary import correlated_from
from ..relations import joinable_lookup
from .base import (
    FLOAT_MARKER,
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

_JOINED_TABLES = 63
"""Targets joined to one collection's rows at most: SQLite joins 64 tables in one SELECT."""
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
        self.escaped = _sqlite_keeps_escapes()
        if self.escaped:
            self.marker = _ESCAPED_MARKER

    def object(self, pairs: list[Any]) -> Any:
        return func.json_object(*pairs)

    def nested(self, subquery: Any) -> Any:
        return func.json(subquery) if self.wrap else subquery

    def scalar(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        if not joinable_lookup(rel):
            return super().scalar(builder, rel, parent)
        # On the target's primary key the subquery finds at most one row: no LIMIT (SQLite's
        # compiler would bind it and an OFFSET 0 on every call).
        child: Any = aliased(rel.child.model)
        from_, where = correlated_from(parent, child, rel)
        doc = builder.document(rel.child, child)
        return self.nested(select(doc).select_from(from_).where(where).scalar_subquery())

    def array(self, items: list[Any]) -> Any:
        return func.json_array(*items)

    def root(self, doc: Any) -> Any:
        # As a BLOB the text reaches Python as bytes: no UTF-8 decoding into a str, and no
        # encoding back (3% of a Cairns route's fetch_json).
        return cast(doc, LargeBinary)

    def collection(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        _, rows = ordered_rows(rel, parent)
        from_ = rows
        if not rel.options.ids:
            # Each row's many-to-one targets by a join on their key, not a subquery per row;
            # joined here, above the ordered rows (aggregated in their order), where the
            # documents are built: through a derived table's column they would lose their
            # JSON subtype.
            from_ = builder.join_rows(rel.child, rows, rows, tables=_JOINED_TABLES)
        doc = builder.item(rel, rows)
        return self.nested(select(func.json_group_array(doc)).select_from(from_).scalar_subquery())

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
            true, false = _sql("'true'"), _sql("'false'")
            return func.json(case((expr.is_(None), null()), (expr, true), else_=false))
        if isinstance(sa_type, Uuid):
            if not sa_type.as_uuid:
                raise Unsupported(f"{where}: Uuid(as_uuid=False)")
            return null_safe(expr, _hyphenated(expr))
        if isinstance(sa_type, DateTime):
            self._check_format(sa_type, _SQLITE_DATETIME, where)
            return func.replace(func.replace(expr, _sql("' '"), _sql("'T'")), *_NO_MICROSECONDS)
        if isinstance(sa_type, Date):
            self._check_format(sa_type, _SQLITE_DATE, where)
            return expr
        if isinstance(sa_type, Time):
            self._check_format(sa_type, _SQLITE_TIME, where)
            return func.replace(expr, *_NO_MICROSECONDS)
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
        return _sqlite_real(expr, self.escaped)

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
        unit = _sql(str(10**scale))
        exact = (a * unit < _sql("1e15")) & (func.round(a * unit).op("/")(unit) == a)
        if scale > 6:
            # However SQLite reads "1e-6": its neighbours are no decimal of the scale, so they
            # fail the test above either way (a marker, which Python formats).
            exact = exact & (a >= _sql("1e-6"))
        return case(
            (expr.is_(None), null()),
            (exact, func.printf(_sql(f"'%.{scale}f'"), expr)),
            # log2(0) is an error: zero's marker is written as it is.
            (
                expr == _sql("0"),
                _marker(_sql("0"), _sql("0"), self.escaped),
            ),
            else_=_bits_marker(expr, self.escaped),
        )

    def _check_format(self, sa_type: TypeEngine[Any], expected: str, where: str) -> None:
        impl = sa_type.dialect_impl(self.dialect)
        if getattr(impl, "_storage_format", expected) != expected or getattr(impl, "_reg", None):
            raise Unsupported(f"{where}: a custom SQLite storage format")


def _sqlite_real(expr: Any, escaped: bool) -> Any:
    """A REAL as the JSON number ``orjson.dumps`` writes for it (the shortest round-trip text).

    SQLite's JSON prints a REAL with ``%!.15g``, which is orjson's text exactly where the value
    has a decimal form of at most 15 significant digits and lies in [1e-4, 1e15) (fixed
    notation in both). Whether it has one is checked exactly in IEEE arithmetic, no printf:
    first for at most eight decimals (`_eight_decimals`, most data's floats, in half the
    operations), then for any 15 digits (`_fifteen_digits`, which gives the value where it
    passes and NULL elsewhere); NULL is tested first, in one operation. Every other
    finite value (16 or 17 digits, other magnitudes) becomes a `float_marker` of its exact
    binary form, which `restore` turns into orjson's text in Python; infinities are null, as
    in ``dump_json``.
    """
    # A negative zero (from an expression: stored REALs lose the sign) prints as 0.0.
    zero = case((func.atan2(expr, _sql("-1.0")) < _sql("0"), func.json(_sql("'-0.0'"))), else_=expr)
    # Not coalesce(test, marker's CASE): the marker one level deeper would overflow SQLite's
    # parser stack one document level sooner (`_signed_test`).
    return case(
        (expr.is_(None), null()),
        (_eight_decimals(expr), expr),
        (_fifteen_digits(expr).is_not(None), expr),
        (expr == _sql("0"), zero),
        # Infinity minus infinity is NaN, which SQLite makes NULL (no literal to read).
        ((expr - expr).is_(None), null()),
        else_=_bits_marker(expr, escaped),
    )


def _eight_decimals(x: Any) -> Any:
    """Whether the REAL ``x`` is the double nearest to a decimal of at most eight decimals in
    [1e-4, 1e7) (both signs): at most 15 significant digits in fixed notation, which
    `_sqlite_real` gives as it is. Most data's floats (coordinates, amounts, measures), tested
    in half the operations of `_fifteen_digits`, whose decade search it skips; a float it
    refuses goes on to that test.

    ``N = x * 1e8`` rounded to an integer by adding and subtracting 1.5 * 2**52 (exact in
    any reading: an integer below 2**53), where the doubles are the integers: below 1e15 in
    magnitude, well inside the trick's 2**51, and exact without a CAST or a sign test. Then
    ``N / 1e8 = x`` is sound for any integer ``N`` (as in `_fifteen_digits`), and ``x * x``
    bounds ``|x|`` in one comparison pair, its literals a little inside 1e-8 and 1e14 (a
    reading or a rounding never lets a value past the bounds: it is refused at worst). NULL,
    zero, infinities fail the bounds.
    """
    magic = _sql("6755399441055744.0")
    n = Grouping(x * _sql("1e8") + magic - magic)
    return (x * x).between(_sql("1.0000001e-8"), _sql("0.9999999e14")) & (
        n.op("/")(_sql("1e8")) == x
    )


def _fifteen_digits(x: Any) -> Any:
    """The REAL ``x`` where it is the double nearest to a decimal of at most 15 significant
    digits in [1e-4, 1e15), else NULL: ``N = x * 10**k`` rounded to an integer, then
    ``N / 10**k = x``, with ``k`` the 15-digit scale of ``x``'s decade.

    ``N / 10**k = x`` holds only if ``x`` is the double nearest to the decimal
    ``N * 10**-k`` (``10**k``, 0 to 18, is exact in any reading of its literal; division is
    correctly rounded), and ``N`` has at most 15 digits wherever ``|x| < 10**(15 - k)``: the
    test is sound for any integer ``N``, and ``x * 10**k`` rounded half away from zero (a
    CAST of ``x * 10**k`` plus or minus one half, no function call) finds the decimal where
    there is one. The decade comes from comparisons of ``x`` itself (`_signed_test`; no
    function call: this test is most of the JSON statement's cost beyond SQLite's own, run
    for every float, and ``abs``/``log10``/``power`` cost four times as much). A bound below 1
    is a literal a little under the power of ten (`_DECADES`): however SQLite reads it, a
    value at most takes the next smaller ``k``, a stricter test (a marker, never a wrong
    text). Outside `_FIXED_LOW` and `_FIXED_HIGH` the value is NULL; constants are SQL
    literals, not bound parameters, so a call binds none of them.

    One CASE picks the side of 1 and the sign (values of most data first: 1 to 1e15, then
    -1e15 to -1, then the fractions), a CASE in it the decade, counting away from 1, and a
    CASE in that gives ``x`` where the decade's test passes: with `_sqlite_real`'s CASE around
    them four levels, as deep as before and no deeper (SQLite's parser has a fixed stack, which
    deeply nested CASEs inside a deep document's subqueries would overflow), and NULL (a zero,
    a NULL) fails four comparisons only.
    """
    return case(
        (x >= _sql(_DECADES[4]), _signed_test(x, 1, up=True)),
        (x <= _sql("-" + _DECADES[4]), _signed_test(x, -1, up=True)),
        (x > _sql("0.0"), _signed_test(x, 1, up=False)),
        (x < _sql("0.0"), _signed_test(x, -1, up=False)),
    )


def _signed_test(x: Any, sign: int, *, up: bool) -> Any:
    """`_fifteen_digits` for ``sign * x`` at least 1 (``up``) or in (0, 1): each decade's
    bound in turn, away from 1, and the first decade ``x`` is in gives its test."""

    def at_least(bound: str) -> Any:
        return x >= _sql(bound) if sign > 0 else x <= _sql("-" + bound)

    def below(bound: str) -> Any:
        return x < _sql(bound) if sign > 0 else x > _sql("-" + bound)

    def test(e: int) -> Any:
        scale = _sql(f"1e{14 - e}")
        half = _sql("0.5" if sign > 0 else "-0.5")
        return case((cast(x * scale + half, Integer).op("/")(scale) == x, x))

    def bound(e: int) -> str:
        return _DECADES[e + 4]

    if up:
        # From 1 up: each decade's upper bound is the next one's lower (`_DECADES`); the last,
        # 1e14 to 1e15, ends at `_FIXED_HIGH` (inclusive).
        return case(
            *((below(bound(e + 1)), test(e)) for e in range(14)),
            (x <= _sql(_FIXED_HIGH) if sign > 0 else x >= _sql("-" + _FIXED_HIGH), test(14)),
        )
    return case(*((at_least(bound(e)), test(e)) for e in range(-1, -5, -1)))


def _bits_marker(expr: Any, escaped: bool) -> Any:
    """A `float_marker` of a finite, non-zero REAL's exact value ``m * 2**q``."""
    # m is an integer below 2**55 (one bit of slack for log2's rounding).
    q = func.max(_floor(func.log2(func.abs(expr)), 1100) - _sql("53"), _sql("-1074"))
    m = cast(expr.op("/")(func.power(_sql("2"), q)), Integer)
    return _marker(m, q, escaped)


def _marker(m: Any, q: Any, escaped: bool) -> Any:
    """The `float_marker` ``{"treeshape:float":[m,q]}``, written with its key's last letter
    escaped (`_ESCAPED_MARKER`) where this SQLite keeps a JSON text's escapes.

    The escape is the marker's one backslash: a root's text holds one only for a string with
    a quote, a backslash or a control character, so most texts are cleared of markers by one
    search for a single character (memchr) instead of a search for the marker (2 ms of a
    Cairns route's 2.5 MB).
    """
    if not escaped:
        return float_marker(func.json_object, func.json_array(m, q))
    text = _sql(f"'{_ESCAPED_MARKER}['").op("||")(m).op("||")(_sql("','")).op("||")(q)
    return func.json(text.op("||")(_sql("']}'")))


_ESCAPED_MARKER = '{"' + FLOAT_MARKER[:-1] + f"\\u{ord(FLOAT_MARKER[-1]):04x}" + '":'
"""``{"treeshape:floa\\u0074":``: the same key to a JSON parser."""


def _floor(x: Any, bound: int) -> Any:
    """``floor(x)`` for ``x > -bound``, or one more where ``x`` is a hair below an integer.

    Not SQLite's ``floor``: SQLAlchemy's pysqlite dialect replaces it on every connection with
    Python's ``math.floor``, a call into Python per value. ``x + bound`` is positive, so the
    cast truncates it down; its rounding can only reach the integer above. One more makes the
    decimal test of `_sqlite_real` stricter (a marker, never a wrong text) and the exponent of
    `_bits_marker` one higher (its ``m`` then has 53 bits: still exact).
    """
    return cast(x + _sql(str(bound)), Integer) - _sql(str(bound))


def _sql(text: str) -> Any:
    """A constant as SQL text (a literal SQLite reads once per statement, not a parameter)."""
    return literal_column(text)


_FIXED_LOW = "0.00009999999999999995"
"""Halfway between 1e-4 and the largest 15-digit decimal below it (9.99999999999999e-5): no
double between them has 15 digits, so the test is the same for any double this text reads as
(SQLite's reading of a literal is its own; under valgrind it is not even the nearest double)."""
_FIXED_HIGH = "999999999999999.875"
"""The largest double below 1e15, exact in any reading: ``BETWEEN`` includes its bound."""
_DECADES = (
    _FIXED_LOW,
    "0.000999999999999",
    "0.00999999999999",
    "0.0999999999999",
    *(f"1e{e}" for e in range(15)),
)
"""The lower bound of each decade of `_fifteen_digits`, 1e-4 to 1e14 (the decade of ``i`` has
the 15-digit scale ``10 ** (18 - i)``): from 1 up the power of ten (a REAL literal SQLite reads
exactly: a digit times exact powers of ten), below 1, 1e-12 under it in relative terms, far
more than any reading of the literal is off, so that no value of a decade is ever taken for
one of the decade below (whose larger scale would test 16 digits)."""
_NO_MICROSECONDS = (_sql("'.000000'"), _sql("''"))


def _hyphenated(expr: Any) -> Any:
    """SQLite's 32 hex digits of a Uuid as the hyphenated form ``str(UUID)`` gives."""
    parts = [
        func.substr(expr, _sql(str(start)), _sql(str(length)))
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    text: Any = parts[0]
    for part in parts[1:]:
        text = text.op("||")(_sql("'-'")).op("||")(part)
    return func.lower(text)


_sqlite_probe: dict[str, bool] = {}
_MATH_PROBE = "SELECT log10(100.0) + log2(8.0) + power(2, 3) + atan2(0.0, -1.0) * 0"


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


def _sqlite_keeps_escapes() -> bool:
    """Whether this SQLite's ``json()`` keeps a string's escapes as written (`_marker`)."""
    marker = _ESCAPED_MARKER + "[1,2]}"
    return _sqlite_probe_value(
        "escapes", f"SELECT json_object('a', json('{marker}'))", '{"a":' + marker + "}"
    )


def _sqlite_keeps_subtype() -> bool:
    """Whether a scalar subquery's JSON value stays JSON (not text) in this SQLite."""
    return _sqlite_probe_value(
        "subtype", "SELECT json_object('a', (SELECT json_array(1)))", '{"a":[1]}'
    )
