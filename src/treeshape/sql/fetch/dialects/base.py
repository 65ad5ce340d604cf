"""The interface a database implements for the JSON strategy, and helpers every dialect uses.

A dialect is one module in this package with one `JsonDialect` subclass, listed in
`treeshape.sql.fetch.dialects.JSON_DIALECTS` under the SQLAlchemy dialect name. It says how
the database builds a JSON object and array, aggregates one parent's rows into an array, and
turns a column into exactly the JSON value the dumper writes (Pydantic's JSON mode). Anything
it cannot produce exactly raises `Unsupported`: that shape then uses the Core strategy (or
`fetch(strategy="json")` raises `FetchError` with the reason), so a dialect is never wrong,
only slower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Enum, Text, case, cast, func, literal_column, null, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import TypeDecorator, TypeEngine

from ....compat import enum_lookup
from ....inspection import FieldInfo, reads_as_impl
from ....tree import RelationNode, ShapeNode
from ...clauses import where_clauses
from ...secondary import correlated_from
from ..relations import collection_order_in

if TYPE_CHECKING:
    from ..json import JsonBuilder

__all__ = [
    "FLOAT_MARKER",
    "JsonDialect",
    "Unsupported",
    "enum_case",
    "float_marker",
    "json_key",
    "null_safe",
    "ordered_rows",
    "plain_type",
    "row_keys",
]


class Unsupported(Exception):
    """A column whose exact JSON form this dialect cannot produce in SQL (the reason)."""


FLOAT_MARKER = "treeshape:float"
"""The key of a `float_marker` object: a float whose exact text only Python writes."""


def float_marker(json_object: Any, payload: Any) -> Any:
    """``{"treeshape:float": [m, q]}`` for the float ``m * 2**q``: `restore` (in
    `treeshape.sql.fetch.json`) replaces it by orjson's text of that float after the statement.
    A dialect emits it for values its SQL cannot print as ``dump_json`` does."""
    return json_object(json_key(FLOAT_MARKER), payload)


def json_key(name: str) -> Any:
    """A JSON object key as a SQL string literal (field names are identifiers: no quoting)."""
    return literal_column("'" + name.replace("'", "''") + "'")


def null_safe(expr: Any, converted: Any) -> Any:
    """``converted``, or NULL where ``expr`` is NULL (functions like printf would not keep it)."""
    return case((expr.is_(None), null()), else_=converted)


def enum_case(expr: Any, sa_type: Enum, f: FieldInfo) -> Any:
    """Stored enum names to the enum's values (what the dump gives), with a CASE."""
    lookup = enum_lookup(sa_type)
    if not isinstance(lookup, dict):
        raise Unsupported(f"{f.model.__name__}.{f.name}: enum mapping unknown")
    whens = []
    for stored, member in lookup.items():
        if stored is None:
            continue
        value = member.value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Unsupported(f"{f.model.__name__}.{f.name}: enum value {value!r} is not JSON")
        whens.append((cast(expr, Text) == stored, value))
    return case(*whens, else_=null())


def plain_type(f: FieldInfo) -> TypeEngine[Any]:
    """The column's type as SQL sees it; `Unsupported` where Python converts its values.

    A `TypeDecorator` that converts no result (SQLModel's ``AutoString``, one that only picks
    a type per dialect or checks what is written) reads back as its ``impl`` does.
    """
    sa_type = f.sa_type
    while isinstance(sa_type, TypeDecorator) and reads_as_impl(sa_type):
        sa_type = sa_type.impl_instance
    if sa_type is None or isinstance(sa_type, TypeDecorator):
        raise Unsupported(f"{f.model.__name__}.{f.name}: type {sa_type!r} converts in Python")
    return sa_type


class JsonDialect:
    """How one database builds a document's JSON in SQL: the interface a dialect implements.

    One instance serves one SQLAlchemy `Dialect`; `treeshape.sql.fetch.json.JsonBuilder` walks
    the tree and calls these methods with SQL expressions, and the result is a single
    expression whose value is one root's JSON text. Every method either returns an expression
    that gives exactly what ``dump_json`` writes for that value, or raises `Unsupported`.
    """

    name: ClassVar[str] = ""
    """The SQLAlchemy dialect name (``dialect.name``)."""
    max_keys: ClassVar[int] = 50
    """Most keys one JSON object may have (function argument limits); a larger node is
    `Unsupported`."""
    preferred: ClassVar[bool] = True
    """Whether ``strategy="auto"`` uses the JSON strategy here (from measurement); `prefers`
    may refine it per shape."""
    rewrite: ClassVar[bool] = False
    """Whether the database's JSON text is parsed and written again by orjson to give
    ``dump_json``'s bytes (a server that prints JSON its own way: spaces, number forms)."""

    @classmethod
    def prefers(cls, node: ShapeNode) -> bool:
        """Whether ``strategy="auto"`` runs ``node``'s shape as one JSON statement here (else
        the Core strategy): where `preferred`, for a shape with at most one collection on any
        path; collections of collections go through Core.

        The JSON statement's cost grows with every value it writes (on SQLite each float's
        exactness test, on PostgreSQL and MariaDB the server's text functions), the Core
        strategy's mostly with its statements, so Core wins where rows multiply. Measured on
        the busiest route with its trips' stop_times (`python -m benchmarks.fetch_limits`),
        Core against the JSON statement: SQLite 0.82x in instructions (Cairns and NYC),
        PostgreSQL 0.87x (Cairns) and 0.65x (NYC) in wall-clock time, MariaDB 0.79x (Cairns);
        one collection deep (a stop with its trips, a 38-row trip), the JSON statement is
        cheaper on every database.
        """
        return cls.preferred and node.collection_depth < 2

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.reencode = False
        """Set by `value` for a column whose exact text only Python writes (stored JSON): every
        row of the document is then parsed and encoded again with orjson."""
        self.marks = False
        """Set by `value` where it may emit a `float_marker`: rows are then searched for one."""
        self.marker = '{"' + FLOAT_MARKER + '":'
        """How a `float_marker` starts in the database's text: what rows are searched for."""

    def object(self, pairs: list[Any]) -> Any:
        """A JSON object from alternating key literals (`json_key`) and value expressions."""
        raise NotImplementedError

    def value(self, f: FieldInfo, expr: Any) -> Any:
        """Column ``f`` (as ``expr``) converted to its JSON value, or `Unsupported`."""
        raise NotImplementedError

    def collection(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        """The JSON array of ``parent``'s rows of collection ``rel``, in the collection's order
        (`collection_order_in`), filtered and windowed by its options (`ordered_rows`); each
        item is ``builder.item(rel, entity)``; an empty collection is ``[]``, never NULL."""
        raise NotImplementedError

    def array(self, items: list[Any]) -> Any:
        """A JSON array of the given value expressions (composite keys)."""
        raise NotImplementedError

    def scalar(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        """The JSON object of ``parent``'s one related row of ``rel``, or NULL."""
        child: Any = aliased(rel.child.model)
        from_, where = correlated_from(parent, child, rel)
        doc = builder.document(rel.child, child)
        return self.nested(select(doc).select_from(from_).where(where).limit(1).scalar_subquery())

    def joined_document(self, doc: Any) -> Any:
        """A joined many-to-one target's document as the derived table joined for it selects
        it (`treeshape.sql.fetch.json.JsonBuilder.join_lookups`)."""
        return doc

    def nested(self, subquery: Any) -> Any:
        """A subquery's JSON value as it may stand inside another object (SQLite re-wraps it)."""
        return subquery

    def root(self, doc: Any) -> Any:
        """The root document as the column the statement selects (its JSON text)."""
        return doc

    def fallback(self) -> JsonDialect:
        """The dialect whose document runs instead where a root's text is NULL, which `root`
        gives where the session cannot give the exact text this one writes (PostgreSQL
        printing fewer float digits); a root's text is never NULL here."""
        return self

    def statement(self, stmt: Select[Any]) -> Select[Any]:
        """The statement that selects the root documents, as this database must run it (a
        server setting the statement needs, for that statement only)."""
        return stmt


def ordered_rows(rel: RelationNode, parent: Any, *, numbered: bool = False) -> tuple[Any, Any]:
    """A correlated derived table of one parent's (filtered, ordered, cut) target rows, and an
    alias of the target over it: ``LIMIT``/``OFFSET`` here are per parent by construction.

    ``numbered`` adds the rows' order as a column ``_treeshape_rn``, for an aggregate that
    orders its items: the order may name columns of a secondary, which the table does not
    carry.
    """
    child: Any = aliased(rel.child.model)
    from_, where = correlated_from(parent, child, rel)
    keys = row_keys(rel.child) + [name for name, _ in rel.options.order_by]
    columns = [getattr(child, key) for key in dict.fromkeys(keys)]
    order = collection_order_in(rel, child, from_)
    if numbered:
        columns.append(func.row_number().over(order_by=order).label("_treeshape_rn"))
    stmt = (
        select(*columns)
        .select_from(from_)
        .where(where, *where_clauses(rel.options, child))
        .order_by(*order)
        .correlate(sa_inspect(parent).selectable)
    )
    if rel.options.limit is not None:
        stmt = stmt.limit(rel.options.limit)
    if rel.options.offset:
        stmt = stmt.offset(rel.options.offset)
    inner = stmt.subquery()
    # By name too: a column property (``length(title)``) is a labeled column of the subquery,
    # which plain adaptation would miss and render on the unaliased table.
    return inner, aliased(rel.child.model, inner, adapt_on_names=True)


def row_keys(node: ShapeNode) -> list[str]:
    """Attribute keys a derived table of ``node``'s rows must carry: fields, join keys, order."""
    info = node.info
    if any(f.kind in ("hybrid", "computed") for f in node.fields):
        # Their SQL may read any column of the row.
        keys = list(info.columns) + [f.name for f in node.fields if f.kind == "expression"]
    else:
        keys = [f.name for f in node.fields]
    keys += list(info.primary_key)
    if info.discriminator is not None:
        # The ORM filters the alias over the derived table by it: absent, the filter would
        # name the unaliased table (a cartesian product).
        keys.append(info.discriminator)
    for rel in node.relations:
        keys += sorted(rel.info.local_column_keys, key=info.position)
    return list(dict.fromkeys(keys))
