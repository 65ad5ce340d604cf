"""The Core strategy: one SELECT per level of the tree, stitched into documents in Python.

Each relationship's statement is driven by the keys of the rows the level above has fetched,
as bound parameters (``parent.pk IN (?, ?, ...)``; a many-to-one by its parents' foreign-key
values): the database looks each one up in an index, whatever its statistics say about the
tables, where the nested ``IN (SELECT ... IN (SELECT ...))`` chains this replaces were planned
as full scans per row on MariaDB without fresh statistics (53 s on a Cairns route). Past
`bound_limit` keys a level falls back to the subquery chain (SQLite refuses more parameters),
so the statement count stays ``1 + relationships`` whatever the number of rows. Rows are
converted with the same converters as the dumper (`treeshape.values`), so every column type any
dialect can load works.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from sqlalchemy import bindparam, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Select

from ...inspection import FieldInfo, model_info
from ...tree import RelationNode, ShapeNode, memoize
from ...values import converter_for
from ..clauses import where_clauses, window_range
from ..counting import count_expression
from .relations import (
    collection_order_in,
    field_expression,
    in_keys,
    in_values,
    is_lookup,
    join_for,
    local_keys,
    remote_keys,
)
from .request import CallStatements, Document, FetchRequest, execute

__all__ = ["bound_limit", "run_core"]


def bound_limit(dialect_name: str) -> int:
    """How many bound values one level's key list may have before it falls back to a subquery.

    SQLite allows 32766 parameters per statement since 3.32 (999 before); psycopg and asyncpg
    allow 65535 and 32767; PyMySQL interpolates on the client, bounded by
    ``max_allowed_packet``. One budget below all of them, with room for a shape's own
    parameters (``where=`` options, windows).
    """
    if dialect_name == "sqlite" and sqlite3.sqlite_version_info < (3, 32):
        return 900
    return 30000


@dataclass(frozen=True)
class _Keys:
    """The keys that drive a level's statement: the fetched ``values`` (scalars, or tuples
    for a composite key), and the same keys as a subquery (``query``) for when there are more
    of them than a statement may bind."""

    values: list[Any]
    query: Callable[[], Select[Any]]

    def bound(self, width: int, dialect_name: str) -> bool:
        """Whether the values (``width`` columns each) are few enough to bind."""
        return len(self.values) * width <= bound_limit(dialect_name)

    def test(self, columns: Sequence[Any], dialect_name: str) -> Any:
        """``columns IN (...)``: the values bound, or the subquery past `bound_limit`."""
        if self.bound(len(columns), dialect_name):
            return in_values(columns, self.values)
        return in_keys(columns, self.query())


_KEYS = "treeshape_keys"
"""The expanding parameter of a level's statement: the keys the level above fetched."""


@dataclass(eq=False)
class _CoreLevel:
    """The statements and row handling of one node of the tree (one statement per level).

    ``rows_entity`` is the alias the level's rows are selected from; ``keys_entity`` and
    ``keys_parent`` are other aliases, for the key subquery (a windowed many-to-one, and the
    fallback past `bound_limit` keys), so that no alias appears twice in one statement.
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
    calls: CallStatements = field(init=False)
    """The roots' statement per structure of a call's criteria and order (`CallStatements`)."""
    bound: Select[Any] | None = None
    """The rows statement with bound keys, built at its first use (it is the same for every
    call, so SQLAlchemy's compiled cache serves it without building a statement per call)."""

    def __post_init__(self) -> None:
        self.calls = CallStatements(self.root_statement)

    def add(self, expression: Any) -> int:
        self.columns.append(expression.label(f"c{len(self.columns)}"))
        return len(self.columns) - 1

    def getter(self, expressions: Sequence[Any]) -> Callable[[Any], Any]:
        return operator.itemgetter(*[self.add(e) for e in expressions])

    def keys_statement(self, parent_keys: _Keys | None, request: FetchRequest) -> Select[Any]:
        """The primary keys of this level's rows, as a subquery (for a windowed many-to-one,
        and for the levels below when their keys are too many to bind)."""
        info = self.node.info
        if self.rel is None:
            stmt = select(*[getattr(self.keys_entity, k) for k in info.primary_key])
            stmt = stmt.where(*request.criteria)
            if request.windowed:
                order = request.root_order(self.keys_entity, self.node)
                stmt = request.window(stmt.order_by(*order))
                if request.dialect.name in ("mysql", "mariadb"):
                    # MySQL and MariaDB refuse a LIMIT directly inside the IN (...) the levels
                    # below test their parents' keys with: a derived table around it.
                    limited = stmt.subquery()
                    stmt = select(*limited.c)
            return stmt.correlate(None)
        assert parent_keys is not None
        parent_pk = [getattr(self.keys_parent, k) for k in _pk_keys(self.keys_parent)]
        keys = [getattr(self.keys_entity, k).label(f"k{i}") for i, k in enumerate(info.primary_key)]
        joined = join_for(self.keys_parent, self.keys_entity, self.rel)
        stmt = select(*keys).select_from(joined)
        stmt = stmt.where(
            parent_keys.test(parent_pk, request.dialect.name),
            *where_clauses(self.rel.options, self.keys_entity),
        )
        if self.rel.options.windowed:
            numbered = _numbered(stmt, self.rel, self.keys_parent, self.keys_entity, joined)
            inner = numbered.subquery()
            stmt = select(*[inner.c[f"k{i}"] for i in range(len(keys))]).where(
                *window_range(self.rel.options, inner.c.rn)
            )
        return stmt.correlate(None)

    def rows_statement(
        self, parent_keys: _Keys | None, request: FetchRequest, targets: list[Any] | None = None
    ) -> tuple[Select[Any], dict[str, Any] | None]:
        """This level's rows (output fields plus the keys that stitching needs), and the
        statement's parameters.

        ``targets`` (a plain many-to-one only) are the parents' foreign-key values: the rows
        are the targets they name, without a join to the parents. Bound keys make the statement
        the same for every call: it is built once per plan, with the keys as one expanding
        parameter.
        """
        if self.mode == "root":
            found = self.calls.get(request)
            if found is not None:
                return found
            return request.window(self.root_statement(request.criteria, request.order_by)), None
        assert parent_keys is not None and self.rel is not None
        dialect = request.dialect.name
        if self.mode == "lookup":
            remote = [getattr(self.rows_entity, k) for k in remote_keys(self.rel)]
            if (
                targets is not None
                and not self.rel.options.windowed
                and len(targets) * len(remote) <= bound_limit(dialect)
            ):
                return self._bound_statement(), {_KEYS: targets}
            own_keys = self.keys_statement(parent_keys, request)
            pk = [getattr(self.rows_entity, k) for k in self.node.info.primary_key]
            return select(*self.columns).where(in_keys(pk, own_keys)), None
        if parent_keys.bound(len(_pk_keys(self.rows_parent)), dialect):
            return self._bound_statement(), {_KEYS: parent_keys.values}
        parent_pk = [getattr(self.rows_parent, k) for k in _pk_keys(self.rows_parent)]
        return self._grouped(in_keys(parent_pk, parent_keys.query())), None

    def root_statement(self, criteria: tuple[Any, ...], order_by: tuple[Any, ...]) -> Select[Any]:
        """The roots' rows for these criteria and order (the primary key as tie-breaker)."""
        pk = [getattr(self.rows_entity, key) for key in self.node.info.primary_key]
        return select(*self.columns).where(*criteria).order_by(*order_by, *pk)

    def _bound_statement(self) -> Select[Any]:
        """The rows statement with the keys as the expanding parameter ``_KEYS``."""
        stmt = self.bound
        if stmt is None:
            assert self.rel is not None
            keys: BindParameter[Any] = bindparam(_KEYS, expanding=True)
            if self.mode == "lookup":
                remote = [getattr(self.rows_entity, k) for k in remote_keys(self.rel)]
                where = where_clauses(self.rel.options, self.rows_entity)
                stmt = select(*self.columns).where(in_values(remote, keys), *where)
            else:
                parent_pk = [getattr(self.rows_parent, k) for k in _pk_keys(self.rows_parent)]
                stmt = self._grouped(in_values(parent_pk, keys))
            self.bound = stmt
        return stmt

    def _grouped(self, parents: Any) -> Select[Any]:
        """A collection's rows joined to the parents that ``parents`` (a condition) selects."""
        assert self.rel is not None
        joined = join_for(self.rows_parent, self.rows_entity, self.rel)
        stmt = select(*self.columns).select_from(joined)
        stmt = stmt.where(parents, *where_clauses(self.rel.options, self.rows_entity))
        if self.rel.options.windowed:
            numbered = _numbered(stmt, self.rel, self.rows_parent, self.rows_entity, joined)
            inner = numbered.subquery()
            columns = [inner.c[column.name] for column in self.columns]
            window = window_range(self.rel.options, inner.c.rn)
            return select(*columns).where(*window).order_by(inner.c.rn)
        # Each parent's rows in the collection's order is all that stitching needs: the
        # parents' keys first let the database read an index in its order (SQLite reads
        # stop_times by (trip_id, stop_sequence) for the trips' keys) instead of sorting every
        # row of the level by the collection's order.
        parent_pk = [getattr(self.rows_parent, k) for k in _pk_keys(self.rows_parent)]
        order = collection_order_in(self.rel, self.rows_entity, joined)
        return stmt.order_by(*parent_pk, *order)


def _numbered(
    stmt: Select[Any], rel: RelationNode, parent: Any, entity: Any, from_: Any
) -> Select[Any]:
    """``stmt`` (selecting from ``from_``) with each row's number among its parent's rows, in
    the collection's order.

    Through a secondary the rows are the join's (a target listed twice for a parent is two
    rows, as the ORM loads it), or the membership test's where that is the same rows.
    """
    partition = [getattr(parent, k) for k in _pk_keys(parent)]
    order = collection_order_in(rel, entity, from_)
    number = func.row_number().over(partition_by=partition, order_by=order)
    return stmt.add_columns(number.label("rn"))


def _pk_keys(entity: Any) -> tuple[str, ...]:
    return model_info(sa_inspect(entity).class_).primary_key


def _build_level(
    node: ShapeNode, rel: RelationNode | None, parent_model: type | None
) -> _CoreLevel:
    model = node.model
    if rel is None:
        level = _CoreLevel(node, None, "root", model, None, model, None)
    else:
        assert parent_model is not None
        mode: Literal["grouped", "lookup"] = "lookup" if is_lookup(rel) else "grouped"
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
    # The fields first: a row's leading columns, which `_make_converter` zips in one step.
    for f in node.fields:
        level.fields.append(
            (node.key(f.name), level.add(field_expression(entity, f)), converter_for(f.python_type))
        )
    if level.mode == "grouped":
        level.parent_key = level.getter(
            [getattr(level.rows_parent, k) for k in _pk_keys(level.rows_parent)]
        )
    level.key = level.getter([getattr(entity, k) for k in node.info.primary_key])
    if rel is not None and rel.render == "ids":
        level.key_value = _key_value(node.fields, level.key)
    if level.mode == "lookup" and rel is not None:
        level.remote = level.getter([getattr(entity, k) for k in remote_keys(rel)])
    for child in node.relations:
        options = child.options
        if child.render == "ids" and not child.many:
            columns = [getattr(entity, k) for k in child.id_locals]
            getter = level.getter(columns)
            key_value = _key_value(child.child.fields, getter)
            level.placeholders.append((node.key(child.name), "ids", key_value))
        elif child.loads:
            kind: Literal["many", "one"] = "many" if child.many else "one"
            level.placeholders.append((node.key(child.name), kind, None))
            if is_lookup(child):
                level.locals[child.name] = level.getter(
                    [getattr(entity, k) for k in local_keys(child)]
                )
            level.children.append(_build_level(child.child, child, model))
        if options.count is not None:
            index = level.add(count_expression(child, entity))
            level.placeholders.append((node.key(options.count), "value", index))
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
    """A row -> document function for ``level``: the fields zipped from the row in one step
    (most need no conversion), then the few converted, then the placeholders."""
    names = [name for name, _, _ in level.fields]
    # The fields are the row's leading columns (`_build_level`): zip stops after them.
    assert [index for _, index, _ in level.fields] == list(range(len(names)))
    converted = [(name, convert) for name, _, convert in level.fields if convert is not None]
    many = [name for name, kind, _ in level.placeholders if kind == "many"]
    ones = {name: None for name, kind, _ in level.placeholders if kind == "one"}
    values = [(name, data) for name, kind, data in level.placeholders if kind == "value"]
    ids = [(name, data) for name, kind, data in level.placeholders if kind == "ids"]
    order = [name for name, _, _ in level.placeholders]

    def make(row: Any) -> Document:
        out: Document = dict(zip(names, row))  # noqa: B905 (the row is longer, by design)
        for name, convert in converted:
            value = out[name]
            if value is not None:
                out[name] = convert(value)
        if ones:
            out.update(ones)
        for name in many:
            out[name] = []
        for name, index in values:
            out[name] = row[index]
        for name, data in ids:
            out[name] = data(row)
        return out

    if order == [*ones, *many, *(n for n, _ in values), *(n for n, _ in ids)]:
        if converted or values or ids or len(many) > 1:
            return make
        # The common levels (columns as they come, at most one collection): no loop per row.
        if many:
            (collection,) = many

            def make_simple(row: Any) -> Document:
                out: Document = dict(zip(names, row))  # noqa: B905 (the row is longer)
                if ones:
                    out.update(ones)
                out[collection] = []
                return out

            return make_simple

        def make_plain(row: Any) -> Document:
            out: Document = dict(zip(names, row))  # noqa: B905 (the row is longer)
            if ones:
                out.update(ones)
            return out

        return make_plain

    def make_ordered(row: Any) -> Document:
        # Placeholders of several kinds interleaved: keep their declared key order.
        out = make(row)
        for name in order:
            out[name] = out.pop(name)
        return out

    return make_ordered


def run_core(node: ShapeNode, request: FetchRequest) -> list[Document]:
    plan = _core_plan(node)
    rows = execute(node, request, *plan.rows_statement(None, request)).all()
    make = _make_converter(plan)
    records = [(make(row), row) for row in rows]
    by_key = {plan.key(row): doc for doc, row in records}
    keys = _Keys(list(by_key), partial(plan.keys_statement, None, request))
    _run_children(plan, keys, records, by_key, request)
    return [doc for doc, _ in records]


def _targets(level: _CoreLevel, name: str, records: list[tuple[Document, Any]]) -> list[Any]:
    """The distinct, complete foreign-key values of ``level``'s rows for the many-to-one
    ``name``: the targets its lookup statement fetches."""
    local = level.locals[name]
    values = dict.fromkeys(local(row) for _, row in records)
    return [v for v in values if v is not None and not (type(v) is tuple and None in v)]


def _run_children(
    level: _CoreLevel,
    keys: _Keys,
    records: list[tuple[Document, Any]],
    by_key: dict[Any, Document],
    request: FetchRequest,
) -> None:
    for child in level.children:
        assert child.rel is not None
        name = child.rel.name
        targets = _targets(level, name, records) if child.mode == "lookup" else None
        stmt, params = child.rows_statement(keys, request, targets)
        rows = execute(child.node, request, stmt, params).all()
        make = _make_converter(child)
        child_records: list[tuple[Document, Any]] = []
        child_by_key: dict[Any, Document] = {}
        # Documents take the output key; `locals` and `_targets` are by attribute.
        name = level.node.key(name)
        if child.mode == "lookup":
            by_remote: dict[Any, Document] = {}
            for row in rows:
                doc = make(row)
                child_records.append((doc, row))
                child_by_key[child.key(row)] = doc
                by_remote[child.remote(row)] = doc
            local = level.locals[child.rel.name]
            for doc, row in records:
                doc[name] = by_remote.get(local(row))
        else:
            _group(child, rows, make, name, by_key, child_records, child_by_key)
        if child.children:
            child_keys = _Keys(list(child_by_key), partial(child.keys_statement, keys, request))
            _run_children(child, child_keys, child_records, child_by_key, request)


def _group(
    child: _CoreLevel,
    rows: Sequence[Any],
    make: Callable[[Any], Document],
    name: str,
    by_key: dict[Any, Document],
    records: list[tuple[Document, Any]],
    child_by_key: dict[Any, Document],
) -> None:
    """Place a collection level's ``rows`` under their parents (``by_key``), one document per
    distinct key (``child_by_key``, ``records``): the loop runs once per row, so everything it
    reads is a local."""
    key_of, parent_of, key_value = child.key, child.parent_key, child.key_value
    known = child_by_key.get
    add = records.append
    assert child.rel is not None
    if key_value is None and child.rel.many:
        # The common case, a collection of documents, without the general loop's two tests per
        # row (the loop below is its general form).
        for row in rows:
            key = key_of(row)
            doc = known(key)
            if doc is None:
                doc = child_by_key[key] = make(row)
                add((doc, row))
            by_key[parent_of(row)][name].append(doc)
        return
    for row in rows:
        key = key_of(row)
        doc = known(key)
        if doc is None:
            doc = child_by_key[key] = make(row)
            add((doc, row))
        parent = by_key[parent_of(row)]
        if key_value is not None:
            parent[name].append(key_value(row))
        elif child.rel.many:
            parent[name].append(doc)
        elif parent[name] is None:
            parent[name] = doc
