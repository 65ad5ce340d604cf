"""`fetch` and `fetch_json`: a shape's document straight from the database, no ORM objects.

ORM object materialization is most of the cost of a request, so `fetch` never builds an object.
Two strategies produce the same output as ``shape.dump(objs, many=True)`` of the rows loaded
with ``loader_options()``:

``core``
    One SELECT of only the needed columns for the roots and one per relationship of the shape.
    Each relationship's statement is driven by a *subquery* of its parents' keys (never an IN
    list of fetched values), so the statement count is ``1 + relationships`` whatever the
    number of rows, with no batching. Rows are stitched into dicts in Python and converted
    with the same converters as the dumper, so every column type any dialect can load works.
``json``
    One statement whose correlated subqueries build the whole document in the database
    (SQLite ``json_object``/``json_group_array``, PostgreSQL ``json_build_object``/``json_agg``).
    Values are converted to Pydantic's JSON conventions in SQL (see `_SqliteJson` and
    `_PostgresJson`); a column whose exact JSON form cannot be produced in SQL makes the whole
    shape use ``core`` instead (or raises `FetchError` when ``strategy="json"`` was asked for).

`DEFAULT_STRATEGY` says which one ``strategy="auto"`` uses per dialect, from measurement
(``python -m benchmarks``); a dialect without JSON functions always uses ``core``.

Ordering follows DESIGN.md: roots in primary-key order unless ``order_by=`` is given (the
primary key then breaks ties), each collection in its relationship's ``order_by`` then the
target's primary key. A many-to-one target reached from several parents is one shared dict.

Not computable in SQL: Python ``@property`` fields (`FetchError` naming them) and hybrids without
a SQL expression. Hybrids *with* one are selected as that expression, which must agree with the
Python side. Column-property expressions are selected as they are mapped.

A many-to-many relationship selects its targets with a membership test, ``target IN (SELECT
... FROM <secondary> WHERE <secondary>.parent_col = parent.key)``, read under a DISTINCT
secondary's DISTINCT, wherever that gives the same rows as the join (`treeshape.secondary`):
SQLite does not push a parent's condition into a DISTINCT subquery, and would otherwise
materialize all of it per statement.

Per call, only the criteria, order and limit are new: the JSON document stands behind a constant
cache key (`_Document`), so SQLAlchemy's compiled cache serves every call whose criteria have
the same structure, and a Session's statements run on its connection as Core (`_execute`).

Relationship options (issue 7), without adding statements: ``order_by`` replaces a
collection's order (`options.collection_order`); ``where`` is one more condition of the
relationship's statement (Core) or correlated subquery (JSON); ``limit``/``offset`` per parent
are a ``row_number() OVER (PARTITION BY <parent key> ORDER BY ...)`` window in Core (in the rows
statement and in the key subquery that drives the levels below, so both see the same rows) and a
``LIMIT``/``OFFSET`` of the correlated subquery in JSON (which runs per parent anyway); through a
secondary, both number the rows of the parent's join or membership test, so a target listed
twice for a parent takes two places, as in the ORM's collection; counts are
a correlated ``count(*)`` column of the parents' statement (`counting.count_expression`); ids of a
many-to-one are the parent's foreign key columns (no statement), ids of a collection a level that
selects only the targets' keys.
"""

from __future__ import annotations

import itertools
import operator
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    Uuid,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    tuple_,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm import join as orm_join
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import JSON, NullType, TypeDecorator, TypeEngine

from .counting import count_expression
from .dumper import ids_locals
from .errors import TreeshapeError
from .inspection import FieldInfo
from .loading import _reorder as reorder_hook
from .options import collection_order, where_clauses, window_range
from .secondary import aliased_secondary, correlated_from, membership, relation_join
from .tree import RelationNode, ShapeNode, memoize
from .values import converter_for

Strategy = Literal["auto", "core", "json"]

DEFAULT_STRATEGY: dict[str, Literal["core", "json"]] = {
    "sqlite": "json",
    "postgresql": "json",
}
"""What ``strategy="auto"`` uses per dialect name; any dialect not listed uses ``core``.

Measured (median ``fetch_json`` ms, core / json, 2-core machine under load, SQLite 3.40,
PostgreSQL 15): test models with FK indexes, 5 lines x 100 journeys x 20 calls: one line's
``journeys.calls.place`` SQLite 27.8 / 14.9, PostgreSQL 26.6 / 28.6; all five lines SQLite
112.6 / 30.5, PostgreSQL 172.8 / 134.9; a place's ``journeys`` (secondary) SQLite 6.4 / 5.3,
PostgreSQL 7.1 / 1.4. Cairns busiest route ``trips.stop_times.stop`` on SQLite 71 / 48; after
the membership test and statement caching (``python -m benchmarks --feed cairns --repeat 10``,
load ~1.0): route 33.5 / 20.5, stop 750449 ``trips`` 5.7 / 2.7, one trip 3.1 / 1.2. The
JSON strategy relies on indexes on the foreign keys its correlated subqueries follow; Core's
key subqueries do not.
"""

Document = dict[str, Any]


class FetchError(TreeshapeError, ValueError):
    """A shape, or an argument of `fetch`, that cannot be fetched as asked.

    Raised at fetch time: a Python ``@property`` in the shape (SQL cannot compute it), a
    relationship option not implemented by `fetch`, or ``strategy="json"`` for a column whose
    JSON form the database cannot produce exactly.
    """


# -- entry points ------------------------------------------------------------------------------


def fetch(
    node: ShapeNode,
    session: Any,
    criteria: Sequence[Any],
    *,
    order_by: Any = None,
    limit: int | None = None,
    strategy: Strategy = "auto",
) -> list[Document]:
    """The JSON-ready documents of the roots matching ``criteria`` (see the module doc)."""
    request = _Request.make(node, session, criteria, order_by, limit)
    if _choose(node, request.dialect, strategy) == "json":
        return list(orjson.loads(_run_json(node, request)))
    return _run_core(node, request)


def fetch_json(
    node: ShapeNode,
    session: Any,
    criteria: Sequence[Any],
    *,
    order_by: Any = None,
    limit: int | None = None,
    strategy: Strategy = "auto",
) -> bytes:
    """`fetch` as JSON bytes (an array), straight from the database's text where it can."""
    request = _Request.make(node, session, criteria, order_by, limit)
    if _choose(node, request.dialect, strategy) == "json":
        return _run_json(node, request)
    return orjson.dumps(_run_core(node, request))


@dataclass(frozen=True)
class _Request:
    """One call's arguments, normalized."""

    session: Any
    dialect: Dialect
    criteria: tuple[Any, ...]
    order_by: tuple[Any, ...]
    limit: int | None

    @classmethod
    def make(
        cls, node: ShapeNode, session: Any, criteria: Sequence[Any], order_by: Any, limit: Any
    ) -> _Request:
        _check_fetchable(node)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise FetchError(f"fetch(limit=...) must be an int or None, got {limit!r}.")
        if order_by is None:
            orders: tuple[Any, ...] = ()
        elif isinstance(order_by, list | tuple):
            orders = tuple(order_by)
        else:
            orders = (order_by,)
        return cls(session, _dialect_of(session, node), tuple(criteria), orders, limit)

    def root_order(self, entity: Any, node: ShapeNode) -> list[Any]:
        """The user's order (primary key as tie-breaker), or the primary key."""
        return [*self.order_by, *(getattr(entity, key) for key in node.info.primary_key)]


def _dialect_of(session: Any, node: ShapeNode) -> Dialect:
    """The dialect a Session (for this model) or a Connection talks to."""
    get_bind = getattr(session, "get_bind", None)
    bind = get_bind(mapper=node.info.mapper) if get_bind is not None else session
    dialect: Dialect = bind.dialect
    return dialect


@memoize
def _unfetchable(node: ShapeNode) -> tuple[str, ...]:
    """Dotted names of everything in the tree that SQL cannot compute or fetch cannot honour."""
    found: list[str] = []
    for path, sub in node.walk():
        prefix = f"{path}." if path else ""
        for f in sub.fields:
            if f.kind == "property" or (f.kind == "hybrid" and _hybrid_expression(f) is None):
                found.append(f"{prefix}{f.name} ({sub.info.name}.{f.name}, a {f.kind})")
    return tuple(found)


def _check_fetchable(node: ShapeNode) -> None:
    found = _unfetchable(node)
    if found:
        raise FetchError(
            f"This shape of {node.info.name} cannot be fetched in SQL: {', '.join(found)}. "
            f"Python properties and hybrids without a SQL expression are computed from ORM "
            f"objects only: load with loader_options() and dump() instead, or narrow them out."
        )


def _hybrid_expression(f: FieldInfo) -> Any:
    try:
        expr = getattr(f.model, f.name)
    except Exception:  # the hybrid's class-level expression fails: not computable in SQL
        return None
    return expr if isinstance(expr, ColumnElement) or hasattr(expr, "__clause_element__") else None


def _choose(node: ShapeNode, dialect: Dialect, strategy: Strategy) -> Literal["core", "json"]:
    if strategy == "core":
        return "core"
    if strategy not in ("auto", "json"):
        raise FetchError(f"fetch(strategy=...) must be 'auto', 'core' or 'json', got {strategy!r}.")
    if strategy == "auto" and DEFAULT_STRATEGY.get(dialect.name, "core") == "core":
        return "core"
    plan = _json_plans(node).get(dialect)
    if isinstance(plan, str):
        if strategy == "json":
            raise FetchError(f"fetch(strategy='json') is not possible here: {plan}")
        return "core"
    return "json"


# -- shared helpers ----------------------------------------------------------------------------


def _field_expression(entity: Any, f: FieldInfo) -> Any:
    """The SQL expression of a field on ``entity`` (a mapped class or an alias of one)."""
    return getattr(entity, f.name)


def _collection_order(rel: RelationNode, entity: Any, from_: Any = None) -> list[Any]:
    """A collection's ORDER BY on ``entity``: its options' or relationship's order, then key.

    ``from_`` is the FROM the rows are selected from: the relationship's secondary is aliased
    there, and an ``order_by`` on a secondary column must name that alias.
    """
    secondary = None
    if from_ is not None and rel.info.secondary and not rel.options.order_by:
        secondary = aliased_secondary(rel, from_)
    return collection_order(rel, entity, secondary)


def _in(columns: Sequence[Any], subquery: Select[Any]) -> Any:
    """``columns IN (subquery)``, as a row value for composite keys."""
    if len(columns) == 1:
        return columns[0].in_(subquery)
    return tuple_(*columns).in_(subquery)


def _relation_join(parent: Any, child: Any, rel: RelationNode) -> Any:
    """The Core join of ``parent`` to ``child`` through ``rel``, aliases and secondary included;
    through a secondary, a join on a membership test where that is equivalent (`membership`)."""
    condition = membership(parent, child, rel)
    if condition is not None:
        return orm_join(parent, child, condition)
    return relation_join(parent, child, rel)


def _local_columns(rel: RelationNode) -> list[str]:
    """Parent attribute keys a many-to-one lookup matches on (the foreign key)."""
    info = rel.info.prop.parent
    return [info.get_property_by_column(local).key for local, _ in rel.info.prop.local_remote_pairs]


def _remote_columns(rel: RelationNode) -> list[str]:
    """Target attribute keys a many-to-one lookup matches on (usually the primary key)."""
    mapper = rel.child.info.mapper
    return [
        mapper.get_property_by_column(remote).key for _, remote in rel.info.prop.local_remote_pairs
    ]


def _is_lookup(rel: RelationNode) -> bool:
    """A plain many-to-one: fetch each distinct target once and look it up by foreign key."""
    return rel.info.direction == "many_to_one" and not rel.info.secondary and not rel.many


# -- Core strategy -----------------------------------------------------------------------------


@dataclass(eq=False)
class _CoreLevel:
    """The statements and row handling of one node of the tree (one statement per level).

    ``rows_entity`` is the alias the level's rows are selected from; ``keys_entity`` and
    ``keys_parent`` are other aliases, for the key subquery that drives the levels below, so
    that no alias appears twice in one statement.
    """

    node: ShapeNode
    rel: RelationNode | None
    mode: Literal["root", "grouped", "lookup"]
    rows_entity: Any
    rows_parent: Any
    keys_entity: Any
    keys_parent: Any
    columns: list[Any] = field(default_factory=list)
    fields: list[tuple[str, int, Any]] = field(default_factory=list)
    placeholders: list[tuple[str, str, Any]] = field(default_factory=list)
    """(key, kind, data) after the fields: kind "many"/"one" (stitched later), "value" (a
    column index: counts), "ids" (a getter of a many-to-one's foreign key, and converters)."""
    key_value: Callable[[Any], Any] | None = None
    """For a level rendered as ids: the row's converted key, else ``None``."""
    key: Callable[[Any], Any] = operator.itemgetter(0)
    parent_key: Callable[[Any], Any] = operator.itemgetter(0)
    locals: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    remote: Callable[[Any], Any] = operator.itemgetter(0)
    children: list[_CoreLevel] = field(default_factory=list)

    def add(self, expression: Any) -> int:
        self.columns.append(expression.label(f"c{len(self.columns)}"))
        return len(self.columns) - 1

    def getter(self, expressions: Sequence[Any]) -> Callable[[Any], Any]:
        return operator.itemgetter(*[self.add(e) for e in expressions])

    def keys_statement(self, parent_keys: Select[Any] | None, request: _Request) -> Select[Any]:
        """The primary keys of this level's rows, as a subquery for the levels below."""
        info = self.node.info
        if self.rel is None:
            stmt = select(*[getattr(self.keys_entity, k) for k in info.primary_key])
            stmt = stmt.where(*request.criteria)
            if request.limit is not None:
                order = request.root_order(self.keys_entity, self.node)
                stmt = stmt.order_by(*order).limit(request.limit)
            return stmt.correlate(None)
        assert parent_keys is not None
        parent_pk = [getattr(self.keys_parent, k) for k in _pk_keys(self.keys_parent)]
        keys = [getattr(self.keys_entity, k).label(f"k{i}") for i, k in enumerate(info.primary_key)]
        joined = _relation_join(self.keys_parent, self.keys_entity, self.rel)
        stmt = select(*keys).select_from(joined)
        stmt = stmt.where(
            _in(parent_pk, parent_keys), *where_clauses(self.rel.options, self.keys_entity)
        )
        if self.rel.options.windowed:
            numbered = _numbered(stmt, self.rel, self.keys_parent, self.keys_entity, joined)
            inner = numbered.subquery()
            stmt = select(*[inner.c[f"k{i}"] for i in range(len(keys))]).where(
                *window_range(self.rel.options, inner.c.rn)
            )
        return stmt.correlate(None)

    def rows_statement(self, parent_keys: Select[Any] | None, request: _Request) -> Select[Any]:
        """This level's rows: output fields plus the keys that stitching needs."""
        stmt = select(*self.columns)
        if self.mode == "root":
            stmt = stmt.where(*request.criteria)
            stmt = stmt.order_by(*request.root_order(self.rows_entity, self.node))
            return stmt.limit(request.limit) if request.limit is not None else stmt
        assert parent_keys is not None and self.rel is not None
        if self.mode == "lookup":
            own_keys = self.keys_statement(parent_keys, request)
            pk = [getattr(self.rows_entity, k) for k in self.node.info.primary_key]
            return stmt.where(_in(pk, own_keys))
        parent_pk = [getattr(self.rows_parent, k) for k in _pk_keys(self.rows_parent)]
        joined = _relation_join(self.rows_parent, self.rows_entity, self.rel)
        stmt = stmt.select_from(joined)
        stmt = stmt.where(
            _in(parent_pk, parent_keys), *where_clauses(self.rel.options, self.rows_entity)
        )
        if self.rel.options.windowed:
            numbered = _numbered(stmt, self.rel, self.rows_parent, self.rows_entity, joined)
            inner = numbered.subquery()
            columns = [inner.c[column.name] for column in self.columns]
            window = window_range(self.rel.options, inner.c.rn)
            return select(*columns).where(*window).order_by(inner.c.rn)
        return stmt.order_by(*_collection_order(self.rel, self.rows_entity, joined))


def _numbered(
    stmt: Select[Any], rel: RelationNode, parent: Any, entity: Any, from_: Any
) -> Select[Any]:
    """``stmt`` (selecting from ``from_``) with each row's number among its parent's rows, in
    the collection's order.

    Through a secondary the rows are the join's (a target listed twice for a parent is two
    rows, as the ORM loads it), or the membership test's where that is the same rows.
    """
    partition = [getattr(parent, k) for k in _pk_keys(parent)]
    order = _collection_order(rel, entity, from_)
    number = func.row_number().over(partition_by=partition, order_by=order)
    return stmt.add_columns(number.label("rn"))


def _pk_keys(entity: Any) -> tuple[str, ...]:
    mapper = sa_inspect(entity).mapper
    return tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)


def _build_level(
    node: ShapeNode, rel: RelationNode | None, parent_model: type | None
) -> _CoreLevel:
    model = node.model
    if rel is None:
        level = _CoreLevel(node, None, "root", model, None, model, None)
    else:
        assert parent_model is not None
        mode: Literal["grouped", "lookup"] = "lookup" if _is_lookup(rel) else "grouped"
        level = _CoreLevel(
            node,
            rel,
            mode,
            aliased(model),
            aliased(parent_model),
            aliased(model),
            aliased(parent_model),
        )
    entity = level.rows_entity
    if level.mode == "grouped":
        level.parent_key = level.getter(
            [getattr(level.rows_parent, k) for k in _pk_keys(level.rows_parent)]
        )
    for f in node.fields:
        level.fields.append(
            (f.name, level.add(_field_expression(entity, f)), converter_for(f.python_type))
        )
    level.key = level.getter([getattr(entity, k) for k in node.info.primary_key])
    if rel is not None and rel.options.ids:
        level.key_value = _key_value(node.fields, level.key)
    if level.mode == "lookup" and rel is not None:
        level.remote = level.getter([getattr(entity, k) for k in _remote_columns(rel)])
    for child in node.relations:
        options = child.options
        if options.embed and options.ids and not child.many:
            columns = [getattr(entity, k) for k in ids_locals(child)]
            getter = level.getter(columns)
            level.placeholders.append((child.name, "ids", _key_value(child.child.fields, getter)))
        elif options.embed:
            level.placeholders.append((child.name, "many" if child.many else "one", None))
            if _is_lookup(child):
                level.locals[child.name] = level.getter(
                    [getattr(entity, k) for k in _local_columns(child)]
                )
            level.children.append(_build_level(child.child, child, model))
        if options.count is not None:
            index = level.add(count_expression(child, entity))
            level.placeholders.append((options.count, "value", index))
    return level


def _key_value(fields: Sequence[FieldInfo], getter: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A row's converted key (a list for a composite key; ``None`` if any part is NULL)."""
    converters = [converter_for(f.python_type) for f in fields]

    def convert(value: Any, c: Any) -> Any:
        return value if c is None or value is None else c(value)

    if len(fields) == 1:
        only = converters[0]
        return lambda row: convert(getter(row), only)

    def composite(row: Any) -> Any:
        values = getter(row)
        if None in values:
            return None
        return [convert(v, c) for v, c in zip(values, converters, strict=True)]

    return composite


@memoize
def _core_plan(node: ShapeNode) -> _CoreLevel:
    """The Core plan of a tree: one `_CoreLevel` per node, built once per distinct tree."""
    return _build_level(node, None, None)


def _make_converter(level: _CoreLevel) -> Callable[[Any], Document]:
    fields = level.fields
    placeholders = level.placeholders

    def make(row: Any) -> Document:
        out: Document = {}
        for name, index, convert in fields:
            value = row[index]
            out[name] = value if convert is None or value is None else convert(value)
        for name, kind, data in placeholders:
            if kind == "many":
                out[name] = []
            elif kind == "one":
                out[name] = None
            elif kind == "value":
                out[name] = row[data]
            else:
                out[name] = data(row)
        return out

    return make


def _run_core(node: ShapeNode, request: _Request) -> list[Document]:
    plan = _core_plan(node)
    rows = _execute(node, request, plan.rows_statement(None, request)).all()
    make = _make_converter(plan)
    records = [(make(row), row) for row in rows]
    by_key = {plan.key(row): doc for doc, row in records}
    _run_children(plan, plan.keys_statement(None, request), records, by_key, request)
    return [doc for doc, _ in records]


def _run_children(
    level: _CoreLevel,
    keys: Select[Any],
    records: list[tuple[Document, Any]],
    by_key: dict[Any, Document],
    request: _Request,
) -> None:
    for child in level.children:
        assert child.rel is not None
        rows = _execute(child.node, request, child.rows_statement(keys, request)).all()
        make = _make_converter(child)
        child_records: list[tuple[Document, Any]] = []
        child_by_key: dict[Any, Document] = {}
        name = child.rel.name
        if child.mode == "lookup":
            by_remote: dict[Any, Document] = {}
            for row in rows:
                doc = make(row)
                child_records.append((doc, row))
                child_by_key[child.key(row)] = doc
                by_remote[child.remote(row)] = doc
            local = level.locals[name]
            for doc, row in records:
                doc[name] = by_remote.get(local(row))
        else:
            many = child.rel.many
            for row in rows:
                key = child.key(row)
                found = child_by_key.get(key)
                if found is None:
                    doc = child_by_key[key] = make(row)
                    child_records.append((doc, row))
                else:
                    doc = found
                parent = by_key[child.parent_key(row)]
                if child.key_value is not None:
                    parent[name].append(child.key_value(row))
                elif many:
                    parent[name].append(doc)
                elif parent[name] is None:
                    parent[name] = doc
        if child.children:
            _run_children(
                child, child.keys_statement(keys, request), child_records, child_by_key, request
            )


# -- JSON-in-SQL strategy ----------------------------------------------------------------------


class _Unsupported(Exception):
    """A column whose exact JSON form this dialect cannot produce in SQL (the reason)."""


def _key(name: str) -> Any:
    """A JSON object key as a SQL string literal (field names are identifiers: no quoting)."""
    return literal_column("'" + name.replace("'", "''") + "'")


def _null_safe(expr: Any, converted: Any) -> Any:
    """``converted``, or NULL where ``expr`` is NULL (functions like printf would not keep it)."""
    return case((expr.is_(None), null()), else_=converted)


def _enum_case(expr: Any, sa_type: Enum, f: FieldInfo) -> Any:
    """Stored enum names to the enum's values (what the dump gives), with a CASE."""
    lookup = getattr(sa_type, "_object_lookup", None)
    if not isinstance(lookup, dict):
        raise _Unsupported(f"{f.model.__name__}.{f.name}: enum mapping unknown")
    whens = []
    for stored, member in lookup.items():
        if stored is None:
            continue
        value = member.value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _Unsupported(f"{f.model.__name__}.{f.name}: enum value {value!r} is not JSON")
        whens.append((cast(expr, Text) == stored, value))
    return case(*whens, else_=null())


def _plain_type(f: FieldInfo) -> TypeEngine[Any]:
    sa_type = f.sa_type
    if sa_type is None or isinstance(sa_type, TypeDecorator):
        raise _Unsupported(f"{f.model.__name__}.{f.name}: type {sa_type!r} converts in Python")
    return sa_type


class _JsonDialect:
    """How one dialect builds JSON objects and arrays and converts values in SQL."""

    name = ""
    max_keys = 50

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def object(self, pairs: list[Any]) -> Any:
        raise NotImplementedError

    def value(self, f: FieldInfo, expr: Any) -> Any:
        raise NotImplementedError

    def collection(self, builder: _JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        raise NotImplementedError

    def array(self, items: list[Any]) -> Any:
        raise NotImplementedError

    def scalar(self, builder: _JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        child: Any = aliased(rel.child.model)
        from_, where = correlated_from(parent, child, rel)
        doc = builder.document(rel.child, child)
        return self.nested(select(doc).select_from(from_).where(where).limit(1).scalar_subquery())

    def nested(self, subquery: Any) -> Any:
        return subquery

    def root(self, doc: Any) -> Any:
        return doc


def _ordered_rows(rel: RelationNode, parent: Any, *, numbered: bool = False) -> tuple[Any, Any]:
    """A correlated derived table of one parent's (filtered, ordered, cut) target rows, and an
    alias of the target over it: ``LIMIT``/``OFFSET`` here are per parent by construction.

    ``numbered`` adds the rows' order as a column ``_treeshape_rn``, for an aggregate that
    orders its items: the order may name columns of a secondary, which the table does not
    carry.
    """
    child: Any = aliased(rel.child.model)
    from_, where = correlated_from(parent, child, rel)
    keys = _needed_keys(rel.child) + [name for name, _ in rel.options.order_by]
    columns = [getattr(child, key) for key in dict.fromkeys(keys)]
    order = _collection_order(rel, child, from_)
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
    return inner, aliased(rel.child.model, inner)


_SQLITE_DATETIME = (
    "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
)
_SQLITE_DATE = "%(year)04d-%(month)02d-%(day)02d"
_SQLITE_TIME = "%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"


class _SqliteJson(_JsonDialect):
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

    def collection(self, builder: _JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        inner, rows = _ordered_rows(rel, parent)
        doc = builder.item(rel, rows)
        return self.nested(select(func.json_group_array(doc)).select_from(inner).scalar_subquery())

    def value(self, f: FieldInfo, expr: Any) -> Any:
        sa_type = _plain_type(f)
        where = f"{f.model.__name__}.{f.name}"
        if isinstance(sa_type, Enum) and sa_type.enum_class is not None:
            return _enum_case(expr, sa_type, f)
        if isinstance(sa_type, JSON):
            return func.json(expr)
        if isinstance(sa_type, Boolean):
            return func.json(case((expr.is_(None), null()), (expr, "true"), else_="false"))
        if isinstance(sa_type, Uuid):
            if not sa_type.as_uuid:
                raise _Unsupported(f"{where}: Uuid(as_uuid=False)")
            return _null_safe(expr, _hyphenated(expr))
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
                return _null_safe(expr, func.printf(f"%.{scale}f", expr))
            return func.json(_null_safe(expr, _sqlite_real(expr)))
        if isinstance(sa_type, Integer | String):
            return expr
        if isinstance(sa_type, NullType):
            # An untyped expression: the ORM hands back SQLite's own value, JSON-native
            # except for REAL, which SQLite's JSON would print with 15 digits only.
            real = func.json(_sqlite_real(expr))
            return case((func.typeof(expr) == "real", real), else_=expr)
        raise _Unsupported(f"{where}: {sa_type!r} has no exact JSON form in SQLite")

    def _check_format(self, sa_type: TypeEngine[Any], expected: str, where: str) -> None:
        impl = sa_type.dialect_impl(self.dialect)
        if getattr(impl, "_storage_format", expected) != expected or getattr(impl, "_reg", None):
            raise _Unsupported(f"{where}: a custom SQLite storage format")


_REAL_LIMIT = 1e100
_REAL_SENTINEL = "treeshape: a REAL beyond 1e100"


def _sqlite_real(expr: Any) -> Any:
    """A REAL as JSON number text that parses back to the same double.

    SQLite's JSON prints 15 significant digits; ``%!.17g`` is enough to round-trip, and
    SQLite 3.40's printf gets all 17 right below 1e100 (measured over random doubles) but not
    always above. There the text is invalid JSON on purpose: ``json()`` fails the statement and
    `_run_json` answers through Core instead, so such values cost a retry, never a wrong digit.
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


class _PostgresJson(_JsonDialect):
    """PostgreSQL: ``json_build_object`` / ``json_agg(... ORDER BY ...)``.

    PostgreSQL's JSON already gives ISO dates, true/false, hyphenated UUIDs and shortest-repr
    doubles; it trims trailing zeros of fractional seconds (Python prints six digits) and prints
    numerics as numbers, which are rewritten here.
    """

    name = "postgresql"
    max_keys = 50  # json_build_object takes at most 100 arguments

    def object(self, pairs: list[Any]) -> Any:
        return func.json_build_object(*pairs)

    def root(self, doc: Any) -> Any:
        return cast(doc, Text)

    def array(self, items: list[Any]) -> Any:
        return func.json_build_array(*items)

    def collection(self, builder: _JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        empty: Any = literal_column("'[]'::json")
        if rel.options.windowed:
            inner, rows = _ordered_rows(rel, parent, numbered=True)
            doc = builder.item(rel, rows)
            agg = func.json_agg(aggregate_order_by(doc, inner.c._treeshape_rn))
            return select(func.coalesce(agg, empty)).select_from(inner).scalar_subquery()
        child: Any = aliased(rel.child.model)
        from_, where = correlated_from(parent, child, rel)
        doc = builder.item(rel, child)
        agg = func.json_agg(aggregate_order_by(doc, *_collection_order(rel, child, from_)))
        stmt = select(func.coalesce(agg, empty)).select_from(from_)
        return stmt.where(where, *where_clauses(rel.options, child)).scalar_subquery()

    def value(self, f: FieldInfo, expr: Any) -> Any:
        sa_type = _plain_type(f)
        where = f"{f.model.__name__}.{f.name}"
        if isinstance(sa_type, Enum) and sa_type.enum_class is not None:
            return _enum_case(expr, sa_type, f)
        if isinstance(sa_type, JSON | Boolean | Integer | Date):
            return expr
        if isinstance(sa_type, Uuid):
            if not (sa_type.as_uuid and sa_type.native_uuid):
                raise _Unsupported(f"{where}: a non-native Uuid")
            return expr
        if isinstance(sa_type, DateTime | Time):
            if sa_type.timezone:
                raise _Unsupported(f"{where}: time zone offsets convert in Python")
            pattern = "HH24:MI:SS.US" if isinstance(sa_type, Time) else 'YYYY-MM-DD"T"HH24:MI:SS.US'
            return func.replace(func.to_char(expr, pattern), ".000000", "")
        if isinstance(sa_type, Numeric | Float):
            if not sa_type.asdecimal:
                double = cast(expr, DOUBLE_PRECISION)
                # JSON has no NaN or infinities: dump_json writes null (Pydantic's JSON mode),
                # PostgreSQL's JSON would write the strings "NaN" and "Infinity".
                special: list[Any] = [
                    literal_column(f"'{v}'::float8") for v in ("NaN", "Infinity", "-Infinity")
                ]
                return case((double.in_(special), null()), else_=double)
            if sa_type.scale is None or sa_type.scale > 6:
                # str(Decimal) turns values below 1e-6 into exponent notation; text does not.
                raise _Unsupported(f"{where}: Numeric without a scale of at most 6")
            return cast(expr, Text)
        if isinstance(sa_type, String):
            return expr
        raise _Unsupported(f"{where}: {sa_type!r} has no exact JSON form in PostgreSQL")


_JSON_DIALECTS: dict[str, type[_JsonDialect]] = {"sqlite": _SqliteJson, "postgresql": _PostgresJson}


def _needed_keys(node: ShapeNode) -> list[str]:
    """Attribute keys a derived table of ``node``'s rows must carry: fields, join keys, order."""
    info = node.info
    if any(f.kind == "hybrid" for f in node.fields):
        keys = list(info.columns) + [f.name for f in node.fields if f.kind == "expression"]
    else:
        keys = [f.name for f in node.fields]
    keys += list(info.primary_key)
    for rel in node.relations:
        for column in rel.info.prop.local_columns:
            keys.append(info.mapper.get_property_by_column(column).key)
    return list(dict.fromkeys(keys))


class _JsonBuilder:
    """Builds the document expression of a tree for one dialect."""

    def __init__(self, ops: _JsonDialect) -> None:
        self.ops = ops

    def document(self, node: ShapeNode, entity: Any) -> Any:
        if len(node.fields) + sum(len(r.outputs) for r in node.relations) > self.ops.max_keys:
            raise _Unsupported(
                f"{node.info.name}: more keys than one {self.ops.name} JSON object takes"
            )
        pairs: list[Any] = []
        for f in node.fields:
            pairs += [_key(f.name), self.ops.value(f, _field_expression(entity, f))]
        for rel in node.relations:
            options = rel.options
            if options.embed and options.ids and not rel.many:
                columns = [getattr(entity, k) for k in ids_locals(rel)]
                pairs += [_key(rel.name), self.key(rel.child.fields, columns)]
            elif options.embed:
                expr = (
                    self.ops.collection(self, rel, entity)
                    if rel.many
                    else self.ops.scalar(self, rel, entity)
                )
                pairs += [_key(rel.name), expr]
            if options.count is not None:
                pairs += [_key(options.count), count_expression(rel, entity)]
        return self.ops.object(pairs)

    def item(self, rel: RelationNode, entity: Any) -> Any:
        """One element of a collection: the target's document, or its key for ids."""
        if rel.options.ids:
            fields = rel.child.fields
            return self.key(fields, [getattr(entity, f.name) for f in fields])
        return self.document(rel.child, entity)

    def key(self, fields: Sequence[FieldInfo], columns: list[Any]) -> Any:
        """A key as JSON: its value, or an array of values (NULL if a part is NULL)."""
        values = [self.ops.value(f, c) for f, c in zip(fields, columns, strict=True)]
        if len(values) == 1:
            return values[0]
        nulls = [c.is_(None) for c in columns]
        from sqlalchemy import or_

        return case((or_(*nulls), null()), else_=self.ops.array(values))


class _JsonPlans:
    """A tree's JSON document expression per dialect name, or why it has none."""

    def __init__(self, node: ShapeNode) -> None:
        self.node = node
        self.plans: dict[str, Any] = {}
        self.lock = threading.Lock()

    def get(self, dialect: Dialect) -> Any:
        """The root document expression for ``dialect``, or a string saying why not."""
        try:
            return self.plans[dialect.name]
        except KeyError:
            pass
        with self.lock:
            if dialect.name not in self.plans:
                self.plans[dialect.name] = self._build(dialect)
            return self.plans[dialect.name]

    def _build(self, dialect: Dialect) -> Any:
        ops_class = _JSON_DIALECTS.get(dialect.name)
        if ops_class is None:
            return f"the {dialect.name} dialect has no JSON strategy"
        if dialect.name == "sqlite" and not _sqlite_has_json():
            return "this SQLite has no JSON functions"
        ops = ops_class(dialect)
        try:
            root = _JsonBuilder(ops).document(self.node, self.node.model)
            return _Document(ops.root(root), self.node)
        except _Unsupported as error:
            return str(error)


@memoize
def _json_plans(node: ShapeNode) -> _JsonPlans:
    return _JsonPlans(node)


class _Document(ColumnElement[Any]):
    """A tree's document expression behind a constant cache key.

    SQLAlchemy computes the cache key of a statement on every execution, walking the whole
    expression: for a document of a few hundred columns and subqueries that is most of the cost
    of a small `fetch_json`. The document never changes (the tree and the dialect fix it), so it
    is keyed by a token unique to this plan (never reused: a counter, not an ``id``); the key of a
    call's statement is then that of its criteria, order and limit, and SQLAlchemy's compiled
    cache serves every call whose criteria have the same structure. The document's own bound
    values are constants of the plan, so the compiled form's values are always the right ones.
    """

    __visit_name__ = "treeshape_document"
    inherit_cache = True
    _traverse_internals = [("token", InternalTraversal.dp_string)]

    def __init__(self, doc: Any, node: ShapeNode) -> None:
        self.doc = doc
        self.token = f"treeshape-document-{next(_document_tokens)}"
        self.type = doc.type
        # What every call starts from. The FROM is explicit: a root outputting no column of its
        # own (``fields=[]``, only relationships or nothing) would otherwise select from no table.
        self.statement: Select[Any] = select(self).select_from(node.model)
        self.key_order = [
            getattr(node.model, k).__clause_element__() for k in node.info.primary_key
        ]


_document_tokens = itertools.count()


@compiles(_Document)
def _compile_document(element: _Document, compiler: Any, **kw: Any) -> str:
    text: str = compiler.process(element.doc, **kw)
    return text


def _execute(node: ShapeNode, request: _Request, stmt: Select[Any]) -> Any:
    """Run ``stmt`` on the request's session or connection.

    A Session without ``do_orm_execute`` hooks (other than treeshape's own, which only touches
    relationship loads) runs it on its connection as Core (what the ORM would do, without its
    per-call overhead), after an autoflush as the ORM would; a user's hook may rewrite
    statements, so with one the ORM runs it.
    """
    session = request.session
    if isinstance(session, Session):
        if any(hook is not reorder_hook for hook in session.dispatch.do_orm_execute):
            return session.execute(stmt)
        if session.autoflush:
            session.flush()
        return session.connection(bind_arguments={"mapper": node.info.mapper}).execute(stmt)
    return session.execute(stmt)


def _run_json(node: ShapeNode, request: _Request) -> bytes:
    doc: _Document = _json_plans(node).get(request.dialect)
    stmt = doc.statement.where(*request.criteria).order_by(*request.order_by, *doc.key_order)
    if request.limit is not None:
        stmt = stmt.limit(request.limit)
    try:
        texts = _execute(node, request, stmt).scalars().all()
    except DBAPIError as error:
        if request.dialect.name == "sqlite" and "malformed JSON" in str(error.orig):
            # A REAL SQLite cannot print exactly (see _sqlite_real), or a stored JSON text
            # that is not JSON (then Core raises as the ORM would).
            return orjson.dumps(_run_core(node, request))
        raise
    # One copy into a str, one into bytes (not "[" + ... + "]", which copies twice more).
    parts = ["["]
    for text in texts:
        parts += (text, ",")
    parts[-1] = "]"
    return "".join(parts).encode() if texts else b"[]"


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


def _sqlite_has_json() -> bool:
    return _sqlite_probe_value("json", "SELECT json_array(1)", "[1]")


def _sqlite_keeps_subtype() -> bool:
    """Whether a scalar subquery's JSON value stays JSON (not text) in this SQLite."""
    return _sqlite_probe_value(
        "subtype", "SELECT json_object('a', (SELECT json_array(1)))", '{"a":[1]}'
    )
