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

Per call, only the keys are new: each level's statements (one key binds ``= ?``, several an
expanding ``IN``) and its rows -> documents loop (generated code, `treeshape.sql.fetch.stitch`)
are built once per plan. A plain one-to-many (joined only by the parent's primary key) selects
its rows by their own foreign key, without a join back to the parents, and a key that is also
a field is read from the field's column. On SQLite (Cairns, in instructions) the strategy is
0.92x the hand-written Core stitch of `benchmarks.handwritten_sql` on the busiest route, 1.01x
on the busiest stop and 1.06x on a 38-row trip, where the rest is the Session's transaction
(the hand code runs on a bare connection).
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
from .request import CallStatements, Document, FetchRequest, executor
from .stitch import Entry, Stitch, StitchSpec, stitcher

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


class _Keys:
    """The keys that drive a level's statement: the fetched ``values`` (scalars, or tuples
    for a composite key), and the same keys as a subquery (``query``) for when there are more
    of them than a statement may bind.

    ``index`` is the level's key -> document index where its loop built one (it has
    collections below); the values are its keys, else read from the kept rows when first
    asked for (a level with only lookups below needs them only past `bound_limit`).
    """

    __slots__ = ("_values", "index", "level", "query", "rows")

    def __init__(
        self,
        level: _CoreLevel,
        index: dict[Any, Document],
        rows: list[Any],
        query: Callable[[], Select[Any]],
    ) -> None:
        self.level = level
        self.index = index
        self.rows = rows
        self.query = query
        self._values: list[Any] | None = None

    @property
    def values(self) -> list[Any]:
        if self._values is None:
            if self.index:
                self._values = list(self.index)
            else:
                key = operator.itemgetter(*self.level.key)
                self._values = list(dict.fromkeys(map(key, self.rows)))
        return self._values

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
_KEY = "treeshape_key"
"""The parameter of a level's statement when the level above fetched one key."""


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
    placeholders: list[Entry] = field(default_factory=list)
    """(key, kind, data) after the fields: kind "many"/"one" (stitched later), "value" (a
    column index: counts), "ids" (the columns of a many-to-one's foreign key, and the
    converters of the target's key)."""
    ids: tuple[tuple[int, ...], list[Any]] | None = None
    """For a level rendered as ids: its key's columns and converters, else ``None``."""
    key: tuple[int, ...] = ()
    """The columns of the level's primary key."""
    parent_key: tuple[int, ...] = ()
    """A collection's columns holding its parent's key."""
    locals: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """Per many-to-one lookup below: the columns of its foreign key."""
    remote: tuple[int, ...] = ()
    """A lookup's columns its parents' foreign keys name."""
    children: list[_CoreLevel] = field(default_factory=list)
    parent_node: ShapeNode | None = None
    stitch: Stitch | None = None
    """The level's generated rows -> documents loop (`stitch.stitcher`)."""
    named: dict[str, int] = field(default_factory=dict)
    """The column index of each attribute of ``rows_entity`` selected as itself: a key that
    is also a field is read from the field's column, not selected twice."""
    direct: list[str] | None = None
    """For a collection whose rows name their parent's primary key themselves (`_direct_keys`):
    those attributes, in the parent key's order; the statement then needs no join to the
    parents."""
    calls: CallStatements = field(init=False)
    """The roots' statement per structure of a call's criteria and order (`CallStatements`)."""
    bound: Select[Any] | None = None
    """The rows statement with bound keys, built at its first use (it is the same for every
    call, so SQLAlchemy's compiled cache serves it without building a statement per call)."""
    single: Select[Any] | None = None
    """The same for exactly one key of one column (``= ?``: an expanding ``IN`` is rendered
    anew on every execution)."""

    def __post_init__(self) -> None:
        self.calls = CallStatements(self.root_statement)

    def add(self, expression: Any) -> int:
        self.columns.append(expression.label(f"c{len(self.columns)}"))
        return len(self.columns) - 1

    def attribute(self, name: str) -> int:
        """The column index of ``rows_entity``'s attribute ``name``, selected once."""
        index = self.named.get(name)
        if index is None:
            index = self.named[name] = self.add(getattr(self.rows_entity, name))
        return index

    def attributes(self, names: Sequence[str]) -> tuple[int, ...]:
        return tuple(self.attribute(name) for name in names)

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
                if len(targets) == 1 and len(remote) == 1:
                    return self._single_statement(), {_KEY: targets[0]}
                return self._bound_statement(), {_KEYS: targets}
            own_keys = self.keys_statement(parent_keys, request)
            pk = [getattr(self.rows_entity, k) for k in self.node.info.primary_key]
            return select(*self.columns).where(in_keys(pk, own_keys)), None
        width = len(_pk_keys(self.rows_parent))
        if parent_keys.bound(width, dialect):
            if len(parent_keys.values) == 1 and width == 1 and not self.rel.options.windowed:
                return self._single_statement(), {_KEY: parent_keys.values[0]}
            return self._bound_statement(), {_KEYS: parent_keys.values}
        return self._grouped(in_keys(self._parent_columns(), parent_keys.query())), None

    def root_statement(self, criteria: tuple[Any, ...], order_by: tuple[Any, ...]) -> Select[Any]:
        """The roots' rows for these criteria and order (the primary key as tie-breaker)."""
        pk = [getattr(self.rows_entity, key) for key in self.node.info.primary_key]
        return select(*self.columns).where(*criteria).order_by(*order_by, *pk)

    def _bound_statement(self) -> Select[Any]:
        """The rows statement with the keys as the expanding parameter ``_KEYS``."""
        stmt = self.bound
        if stmt is None:
            keys: BindParameter[Any] = bindparam(_KEYS, expanding=True)
            stmt = self.bound = self._keyed(lambda columns: in_values(columns, keys))
        return stmt

    def _single_statement(self) -> Select[Any]:
        """The rows statement for one key of one column, the parameter ``_KEY``."""
        stmt = self.single
        if stmt is None:
            key: BindParameter[Any] = bindparam(_KEY)
            stmt = self.single = self._keyed(lambda columns: columns[0] == key)
        return stmt

    def _keyed(self, test: Callable[[list[Any]], Any]) -> Select[Any]:
        """The rows statement whose keys are tested by ``test(columns)``."""
        assert self.rel is not None
        if self.mode == "lookup":
            remote = [getattr(self.rows_entity, k) for k in remote_keys(self.rel)]
            where = where_clauses(self.rel.options, self.rows_entity)
            return select(*self.columns).where(test(remote), *where)
        return self._grouped(test(self._parent_columns()))

    def _parent_columns(self) -> list[Any]:
        """The columns holding a collection row's parent key: the parent alias's primary key,
        or the row's own columns naming it (`direct`)."""
        if self.direct is not None:
            return [getattr(self.rows_entity, k) for k in self.direct]
        return [getattr(self.rows_parent, k) for k in _pk_keys(self.rows_parent)]

    def _grouped(self, parents: Any) -> Select[Any]:
        """A collection's rows joined to the parents that ``parents`` (a condition) selects
        (its own rows alone, where they name their parents' keys: `direct`)."""
        assert self.rel is not None
        if self.direct is not None:
            stmt = select(*self.columns).where(
                parents, *where_clauses(self.rel.options, self.rows_entity)
            )
            order = collection_order_in(self.rel, self.rows_entity)
            return stmt.order_by(*self._parent_columns(), *order)
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
    # The fields first, so that the keys among them are read from their columns (`attribute`).
    for f in node.fields:
        index = level.add(field_expression(entity, f))
        if f.computed is None:
            level.named.setdefault(f.name, index)
        level.fields.append((node.key(f.name), index, converter_for(f.python_type)))
    if level.mode == "grouped":
        assert rel is not None
        level.direct = _direct_keys(rel)
        if level.direct is not None:
            level.parent_key = level.attributes(level.direct)
        else:
            parent_pk = [getattr(level.rows_parent, k) for k in _pk_keys(level.rows_parent)]
            level.parent_key = tuple(level.add(column) for column in parent_pk)
    level.key = level.attributes(node.info.primary_key)
    if rel is not None and rel.render == "ids":
        level.ids = (level.key, _converters(node.fields))
    if level.mode == "lookup" and rel is not None:
        level.remote = level.attributes(remote_keys(rel))
    for child in node.relations:
        options = child.options
        if child.render == "ids" and not child.many:
            ids = (level.attributes(child.id_locals), _converters(child.child.fields))
            level.placeholders.append((node.key(child.name), "ids", ids))
        elif child.loads:
            kind: Literal["many", "one"] = "many" if child.many else "one"
            level.placeholders.append((node.key(child.name), kind, None))
            if is_lookup(child):
                level.locals[child.name] = level.attributes(local_keys(child))
            below = _build_level(child.child, child, model)
            below.parent_node = node
            level.children.append(below)
        if options.count is not None:
            index = level.add(count_expression(child, entity))
            level.placeholders.append((node.key(options.count), "value", index))
    return level


def _direct_keys(rel: RelationNode) -> list[str] | None:
    """For a plain one-to-many (`RelationInfo.parent_key_in_target`), without a window or
    inheritance on either side: the child's attributes holding the parent's key, in its order;
    else ``None``.

    Its rows are then the child's rows whose foreign key is among the parents' keys, without
    the join to the parents (which SQLite reads row by row, a lookup per child row); a window
    keeps the join (its partition is the parent's key).
    """
    names = rel.info.parent_key_in_target
    if (
        names is None
        or rel.options.windowed
        or rel.child.info.inheritance is not None
        or model_info(rel.info.prop.parent.class_).inheritance is not None
    ):
        return None
    return list(names)


def _converters(fields: Sequence[FieldInfo]) -> list[Any]:
    return [converter_for(f.python_type) for f in fields]


def _compile(level: _CoreLevel) -> None:
    """Generate the stitch loop of ``level`` and the levels below (`stitch.stitcher`)."""
    spec = StitchSpec(
        mode=level.mode,
        width=len(level.columns),
        entries=[
            *((name, "field", (index, convert)) for name, index, convert in level.fields),
            *level.placeholders,
        ],
        key=level.key,
        keep=bool(level.children),
        index=any(child.mode == "grouped" for child in level.children),
        parent=level.parent_key,
        remote=level.remote,
        ids=level.ids,
    )
    if level.rel is not None and level.mode == "grouped":
        spec.many = level.rel.many
        # Documents take the output key.
        spec.name = _parent_node(level).key(level.rel.name)
        # Through a secondary (or a join) a target can come under several parents: the levels
        # below fill it once.
        spec.dedupe = level.direct is None
    level.stitch = stitcher(spec, f"{level.node.info.name}")
    for child in level.children:
        _compile(child)


def _parent_node(level: _CoreLevel) -> ShapeNode:
    assert level.parent_node is not None
    return level.parent_node


@memoize
def _core_plan(node: ShapeNode) -> _CoreLevel:
    """The Core plan of a tree: one `_CoreLevel` per node, built once per distinct tree."""
    plan = _build_level(node, None, None)
    _compile(plan)
    return plan


def run_core(node: ShapeNode, request: FetchRequest) -> list[Document]:
    plan = _core_plan(node)
    run = executor(node, request)
    rows = run(*plan.rows_statement(None, request)).all()
    assert plan.stitch is not None
    docs, kept, by_key, _ = plan.stitch(rows)
    if plan.children:
        keys = _Keys(plan, by_key, kept, partial(plan.keys_statement, None, request))
        _run_children(plan, keys, docs, kept, request, run)
    return docs


def _targets(level: _CoreLevel, name: str, rows: list[Any]) -> list[Any]:
    """The distinct, complete foreign-key values of ``level``'s rows for the many-to-one
    ``name``: the targets its lookup statement fetches."""
    values = dict.fromkeys(map(operator.itemgetter(*level.locals[name]), rows))
    return [v for v in values if v is not None and not (type(v) is tuple and None in v)]


def _run_children(
    level: _CoreLevel,
    keys: _Keys,
    docs: list[Document],
    rows: list[Any],
    request: FetchRequest,
    run: Callable[..., Any],
) -> None:
    """Fetch (with ``run``, `executor`) and place the levels below ``level``, whose kept
    documents and their rows are ``docs`` and ``rows`` (`keys` their keys)."""
    for child in level.children:
        assert child.rel is not None and child.stitch is not None
        name = child.rel.name
        targets = _targets(level, name, rows) if child.mode == "lookup" else None
        stmt, params = child.rows_statement(keys, request, targets)
        child_rows = run(stmt, params).all()
        if child.mode == "lookup":
            child_docs, kept, by_key, by_remote = child.stitch(child_rows)
            get = by_remote.get
            local = operator.itemgetter(*level.locals[name])
            # Documents take the output key; `locals` and `_targets` are by attribute.
            key = level.node.key(name)
            for doc, row in zip(docs, rows, strict=True):
                doc[key] = get(local(row))
        else:
            child_docs, kept, by_key, _ = child.stitch(child_rows, keys.index)
        if child.children:
            child_keys = _Keys(child, by_key, kept, partial(child.keys_statement, keys, request))
            _run_children(child, child_keys, child_docs, kept, request, run)
