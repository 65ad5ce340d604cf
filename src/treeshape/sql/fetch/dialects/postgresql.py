"""PostgreSQL's JSON strategy: documents written as text (``concat`` / ``string_agg``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    BINARY,
    JSON,
    VARBINARY,
    Boolean,
    Date,
    DateTime,
    Double,
    Enum,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    Time,
    Uuid,
    case,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

from ....inspection import FieldInfo
from ....tree import RelationNode
from ...clauses import where_clauses
from ...secondary import correlated_from
from ..relations import collection_order_in
from .base import (
    FLOAT_MARKER,
    JsonDialect,
    Unsupported,
    enum_case,
    ordered_rows,
    plain_type,
)

if TYPE_CHECKING:
    from ..json import JsonBuilder

__all__ = ["JsonText", "PostgresJson", "RowSelect"]


class JsonText(TypeDecorator[str]):
    """SQL text that already is JSON (a document, an array, a number's text): `object` puts it
    in as it is, where any other value goes through ``to_json``."""

    impl = Text
    cache_ok = True


class NeverNull(TypeDecorator[str]):
    """A value that is never NULL (`FieldInfo.never_null`: a primary key read from its own
    row): its JSON text needs no ``coalesce`` to ``null``, a node less to parse and plan per
    value."""

    impl = Text
    cache_ok = True


class NeverNullJsonText(JsonText):
    """`JsonText` that is never NULL (`NeverNull`)."""

    cache_ok = True


class JsonItems(TypeDecorator[str]):
    """A collection's items as JSON text without the brackets (``string_agg``'s value), NULL
    for none: `object` writes the brackets into its key literals around it, so the array is
    never copied again to add them (a route's trips are megabytes of text)."""

    impl = Text
    cache_ok = True


class RowSelect(ColumnElement[str]):
    """``(SELECT <expression>)``: an expression of a row's columns as a sub-select of that row
    (`PostgresJson.joined_document`).

    Not a SQLAlchemy ``Select``: one without a FROM of its own would hide the row's FROM from
    the subqueries inside the expression (a target's own collections), which then would not
    correlate to it."""

    __visit_name__ = "treeshape_row_select"
    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]

    def __init__(self, element: Any) -> None:
        self.element = element
        self.type = element.type

    @property
    def _from_objects(self) -> list[Any]:
        # The row's FROM, as for the expression itself: a statement selecting it reads the row.
        found: list[Any] = self.element._from_objects
        return found


@compiles(RowSelect)
def _compile_row_select(element: RowSelect, compiler: Any, **kw: Any) -> str:
    text: str = compiler.process(element.element, **kw)
    return "(SELECT " + text + ")"


def _is_json_text(expr: Any) -> bool:
    return isinstance(getattr(expr, "type", None), JsonText)


def _is_items(expr: Any) -> bool:
    return isinstance(getattr(expr, "type", None), JsonItems)


def _literal(text: str) -> Any:
    return literal_column("'" + text.replace("'", "''") + "'")


def _json_text(expr: Any) -> Any:
    return type_coerce(expr, JsonText())


def _concat(parts: list[Any]) -> Any:
    """``concat(...)`` of any number of text parts (PostgreSQL takes 100 arguments at most)."""
    while len(parts) > 100:
        parts = [func.concat(*parts[i : i + 100]) for i in range(0, len(parts), 100)]
    return func.concat(*parts)


def _as_text(value: Any, *, in_concat: bool = False) -> Any:
    """A value's JSON text, ``null`` for NULL (a collection's items: ``[...]``).

    ``in_concat``: an argument of ``concat``, which prints a ``json`` value as its text, so
    ``to_json``'s value needs no cast (a node less to parse and plan per value)."""
    if _is_items(value):
        return _concat([_literal("["), value, _literal("]")])
    if _is_json_text(value):
        text = value
    else:
        text = func.to_json(value) if in_concat else cast(func.to_json(value), Text)
    if isinstance(value.type, NeverNull | NeverNullJsonText):
        return text
    return func.coalesce(text, literal_column("'null'"))


class PostgresJson(JsonDialect):
    """PostgreSQL: each object and array written as text with ``concat`` / ``string_agg``.

    PostgreSQL's JSON builders print ``" : "`` and ``", "`` (``json_build_object``,
    ``json_agg``), which ``dump_json`` does not; the text is assembled here instead, each value
    through ``to_json`` (PostgreSQL escapes strings as orjson does, and gives ISO dates,
    true/false and hyphenated UUIDs). Fractional seconds keep six digits as Python prints them,
    numerics are strings, and doubles get orjson's layout around PostgreSQL's shortest digits
    (`_double_text`).
    """

    name = "postgresql"
    max_keys = 400

    def __init__(self, dialect: Dialect, *, shortest: bool = True) -> None:
        super().__init__(dialect)
        self.shortest = shortest
        """Whether doubles are written from PostgreSQL's shortest digits (`_double_text`), the
        session's ``extra_float_digits`` checked once per root (`root`); else each double is a
        `float_marker` (`fallback`)."""
        self.doubles = False
        """Set by `value` where a double is written from its digits: `root` checks them."""

    def fallback(self) -> PostgresJson:
        # A session printing fewer digits than the shortest: every double written by Python.
        return PostgresJson(self.dialect, shortest=False)

    def object(self, pairs: list[Any]) -> Any:
        parts: list[Any] = []
        text = ""  # literal text not yet in ``parts``
        for i in range(0, len(pairs), 2):
            name = pairs[i].name[1:-1].replace("''", "'")  # a json_key literal: 'name'
            text += ("{" if i == 0 else ",") + orjson.dumps(name).decode() + ":"
            value = pairs[i + 1]
            if _is_items(value):
                # concat skips NULL: no items give "[]".
                parts += [_literal(text + "["), value]
                text = "]"
            else:
                parts += [_literal(text), _as_text(value, in_concat=True)]
                text = ""
        parts.append(_literal(text + "}" if pairs else "{}"))
        return _json_text(_concat(parts))

    def nested(self, subquery: Any) -> Any:
        return _json_text(subquery)

    def joined_document(self, doc: Any) -> Any:
        # PostgreSQL pulls the derived table up into the join and wraps a column that is not a
        # plain one in a placeholder for the outer join, which planning then copies and walks
        # at each step: a sub-select of the row there is one small node, its expression
        # planned once on its own (a tenth of a small document's planning, measured by
        # benchmarks.pg_server_instructions).
        return RowSelect(doc)

    def root(self, doc: Any) -> Any:
        if not self.doubles:
            return doc
        # NULL where the session prints fewer digits: `fallback`'s document runs instead. One
        # check per root, not one per double (each is nodes to parse and plan, and a call).
        return case((_prints_shortest(), doc))

    def array(self, items: list[Any]) -> Any:
        parts: list[Any] = [literal_column("'['")]
        for i, item in enumerate(items):
            if i:
                parts.append(literal_column("','"))
            parts.append(_as_text(item, in_concat=True))
        parts.append(literal_column("']'"))
        return _json_text(_concat(parts))

    def collection(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        if rel.options.windowed:
            inner, rows = ordered_rows(rel, parent, numbered=True)
            doc = builder.item(rel, rows)
            stmt = select(self._agg(rel, doc, [inner.c._treeshape_rn])).select_from(inner)
            return type_coerce(stmt.scalar_subquery(), JsonItems())
        child: Any = aliased(rel.child.model)
        from_, where = correlated_from(parent, child, rel)
        order = _distinct(collection_order_in(rel, child, from_))
        if not rel.options.ids:
            # Each row's many-to-one targets by one hash join, not one subquery per row.
            from_ = builder.join_lookups(rel.child, child, from_)
        doc = builder.item(rel, child)
        stmt = select(self._agg(rel, doc, order)).select_from(from_)
        stmt = stmt.where(where, *where_clauses(rel.options, child))
        return type_coerce(stmt.scalar_subquery(), JsonItems())

    @staticmethod
    def _agg(rel: RelationNode, doc: Any, order: list[Any]) -> Any:
        # A document is a concat, never NULL: no coalesce (nodes to parse and plan); a key is.
        text = _as_text(doc) if rel.render == "ids" else doc
        # string_agg(doc, ',' ORDER BY ...): the ORDER BY follows the last argument.
        return func.string_agg(text, aggregate_order_by(literal_column("','"), *order))

    def value(self, f: FieldInfo, expr: Any) -> Any:
        found = self._value(f, expr)
        if not (f.never_null and getattr(expr, "property", None) is f.prop):
            return found  # NULL possible, or not the field's own column (a foreign key's)
        if isinstance(plain_type(f), Enum | JSON):
            return found  # a stored value outside the enum, a JSON null: kept as they were
        return type_coerce(found, NeverNullJsonText() if _is_json_text(found) else NeverNull())

    def _value(self, f: FieldInfo, expr: Any) -> Any:
        sa_type = plain_type(f)
        where = f"{f.model.__name__}.{f.name}"
        if isinstance(sa_type, Enum) and sa_type.enum_class is not None:
            return enum_case(expr, sa_type, f)
        if isinstance(sa_type, JSON):
            # Stored JSON keeps its own spacing (json) or PostgreSQL's (jsonb): re-encoded.
            self.reencode = True
            return expr
        if isinstance(sa_type, Boolean | Integer) and f.kind == "column":
            # int4out and booltext give the JSON text (digits, true/false) without to_json's
            # type lookup per value; an expression keeps to_json, whatever type it really has.
            return _json_text(cast(expr, Text))
        if isinstance(sa_type, Boolean | Integer | Date):
            return expr
        if isinstance(sa_type, Uuid):
            if not (sa_type.as_uuid and sa_type.native_uuid):
                raise Unsupported(f"{where}: a non-native Uuid")
            return expr
        if isinstance(sa_type, DateTime | Time):
            if sa_type.timezone:
                raise Unsupported(f"{where}: time zone offsets convert in Python")
            pattern = "HH24:MI:SS.US" if isinstance(sa_type, Time) else 'YYYY-MM-DD"T"HH24:MI:SS.US'
            return func.replace(func.to_char(expr, pattern), ".000000", "")
        if isinstance(sa_type, Numeric | Float):
            if not sa_type.asdecimal:
                self.marks = True
                if not isinstance(sa_type, Double):
                    expr = cast(expr, DOUBLE_PRECISION)
                if not self.shortest:
                    return _json_text(_marker(_hex(func.float8send(expr))))
                self.doubles = True
                return _json_text(_double_text(expr))
            if sa_type.scale is None or sa_type.scale > 6:
                # str(Decimal) turns values below 1e-6 into exponent notation; text does not.
                raise Unsupported(f"{where}: Numeric without a scale of at most 6")
            return cast(expr, Text)
        if isinstance(sa_type, LargeBinary | BINARY | VARBINARY):
            # Bytes as lowercase hex, the one convention (`treeshape.values`).
            return func.encode(expr, literal_column("'hex'"))
        if isinstance(sa_type, String):
            return expr
        raise Unsupported(f"{where}: {sa_type!r} has no exact JSON form in PostgreSQL")


def _distinct(order: list[Any]) -> list[Any]:
    """``order`` without the terms that repeat an earlier one (a relationship ordered by a
    column of the key, then the key): a term more to parse and plan, and nothing to sort."""
    kept: list[Any] = []
    for term in order:
        element = term.__clause_element__() if hasattr(term, "__clause_element__") else term
        if not any(element.compare(k) for k in kept):
            kept.append(element)
    return kept


def _marker(payload: Any) -> Any:
    """`float_marker` as text: ``{"treeshape:float":"<payload>"}``."""
    prefix = orjson.dumps({FLOAT_MARKER: ""}).decode()[:-2]  # up to the value's opening quote
    # || and not concat: NULL stays NULL.
    return _literal(prefix).op("||")(payload).op("||")(_literal('"}'))


def _hex(data: Any) -> Any:
    return func.encode(data, _literal("hex"))


def _prints_shortest() -> Any:
    """Whether the session prints a double's shortest digits (``extra_float_digits`` above 0,
    the default): what `_double_text` needs."""
    digits = func.current_setting(literal_column("'extra_float_digits'")).cast(Integer)
    return digits > literal_column("0")


def _double_text(x: Any) -> Any:
    """A double as the JSON number text ``orjson.dumps`` writes, or NULL, in a session that
    prints the shortest digits (`_prints_shortest`, checked once per root by `PostgresJson.root`).

    PostgreSQL then prints the shortest digits that read back as the same double
    (``float8out``), in fixed notation for [1e-4, 1e15), where orjson writes the same text,
    with ``.0`` added to whole numbers. What the text is made of tells which case a value is:
    without its digits and minus sign, a fraction is ``"."``, a whole number ``""``; everything
    else (``1e-05``, ``1e+15``, where orjson's layout differs and, from 2**53 up, PostgreSQL
    leaves out a decimal exactly halfway between two doubles that orjson writes; ``NaN``,
    ``Infinity``) becomes a `float_marker` of that text, which Python reads back as the same
    double (the shortest digits are exact) and writes (NaN and infinities as null, as in
    ``dump_json``).

    The expression stays small: its size is parsing and planning time on every call (a
    simple CASE on one ``translate`` is a third of the range tests it replaces, and the text
    as the marker's payload two calls fewer than the double's bytes in hex).
    """
    text = cast(x, Text)
    return case(
        {_literal("."): text, _literal(""): text.op("||")(_literal(".0"))},
        value=func.translate(text, _DIGITS, _literal("")),
        else_=_marker(text),
    )


_DIGITS: Any = literal_column("'0123456789-'")
