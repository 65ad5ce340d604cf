"""SQLAlchemy loader options that load exactly a shape's tree, and nothing lazily.

One ``selectinload`` per included relationship (one statement per relationship, batched by
SQLAlchemy in groups of 500 parents), ``load_only`` of the columns the shape outputs plus the
keys that relationship loading needs, and ``raiseload`` for everything else, so an access the
shape did not plan fails loudly instead of issuing a query.

The ``raiseload`` is one top-level ``raiseload("*")``: SQLAlchemy applies it to every
relationship of every class the statement loads, at every level, except those an option names
(nested in a loader's ``.options()``, a ``raiseload("*")`` does nothing in SQLAlchemy 2.1).
It is most of what the plan costs over a plain ``selectinload`` chain (about a tenth of a
request, docs/performance.md): a class-level lazy loader costs nothing per row, but any other
strategy makes SQLAlchemy install a loader callable on each loaded object for each of its
relationships the plan does not load, and no option raises more cheaply (``raise_on_sql`` and
explicit ``raiseload(attr)`` install the same callables, the latter with more option objects).
`lazy_loader_options` is the plan without it, for ``loader_options(raise_on_unplanned=False)``.
The callable is installed only where the option's strategy is not the relationship's
class-level one (``_LazyLoader.create_row_processor``, ``is_class_level``): on a relationship
declared ``lazy="raise"``, ``raiseload("*")`` resolves to the class-level loader itself and
costs nothing per row, so on such a mapping the plan raises at a plain chain's cost
(``benchmarks.orm_path``'s ``lazy="raise"`` cases). ``defaultload(attr)`` does not exempt a
relationship from the wildcard (it puts no loader in the context, so the wildcard is found).

``selectinload`` is used for many-to-one too: a JOIN would widen every parent row and repeat the
target's columns for each parent (the same stop under thousands of stop_times), whereas
selectin fetches each distinct target once.

Relationship options (issue 7), still one statement per relationship:

* ``where``: the loader's own criteria, ``selectinload(Parent.rel.and_(...))``.
* ``limit``/``offset`` per parent: ``selectinload`` cannot limit per parent (its criteria see
  one row at a time), so the relationship is loaded ``of_type`` an alias of the target over a
  windowed subquery, ``SELECT target.*, row_number() OVER (PARTITION BY <foreign key> ORDER BY
  ...) FROM target WHERE <where>``, with the criteria ``rn > offset AND rn <= offset + limit``.
  The selectin ``IN`` on the foreign key is on the partition column, which SQLite and
  PostgreSQL push down into the subquery, so only the parents' rows are numbered.
  Through a secondary, the subquery numbers the secondary's rows joined to their targets
  (a target listed twice for a parent is two rows, as selectin loading gives), partitioned by
  the secondary's columns that hold the parent's key, and the load selects from it instead
  of through the secondary (`_SecondaryWindow`: one more option of the plan, `_SecondaryWindows`,
  rewrites the load's FROM, WHERE and ORDER BY when it compiles, as `_Orders` does below).
* ``order_by`` (and a window's order, and the primary key after a relationship's own
  ``order_by``, which may have ties): selectin orders by the relationship's own ``order_by``
  and offers no option to change it, so the plan carries one more option (`_Orders`) that
  propagates to the plan's relationship loads and rewrites their ORDER BY when they compile
  (once per cached statement). No event listener is registered, for orders or windows:
  statements that are not the plan's are never touched.
* counts: ``with_expression`` of a correlated count on a hidden ``query_expression`` attribute
  (`treeshape.counting`): a column of the parents' statement, no statement of its own.
* ids: a many-to-one loads nothing (the parent's foreign key is its id); a collection loads
  only the targets' keys (``load_only``).

Computed fields (`treeshape.spec.computed`): the paths a node's computed fields read
(`ShapeNode.reads`) are loaded too, one ``selectinload`` per relationship level, whether or not
the shape outputs them; every object on a read path is loaded whole (no ``load_only``: the
function may read any column), and a relationship the shape loads already (embedded, or ids
of a collection) is not loaded twice.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select, tuple_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import (
    aliased,
    load_only,
    raiseload,
    selectinload,
    with_expression,
)
from sqlalchemy.orm import join as orm_join
from sqlalchemy.orm.interfaces import LoaderOption
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import InternalTraversal, iterate

from ..compat import (
    CompileStateOption,
    options_of,
    relationship_path,
    select_from_instead,
    select_instead,
    with_compile_options_of,
    without_own_order,
)
from ..inspection import HIDDEN_PREFIX, ModelInfo
from ..tree import ReadTree, RelationNode, RelationOptions, ShapeNode, memoize, merge_reads
from .clauses import collection_order, where_clauses, window_range
from .counting import count_attribute, count_expression
from .secondary import aliased_secondary, orders_by_target_only, parent_key_columns, relation_join

__all__ = ["RowOrders", "lazy_loader_options", "loader_options"]

RowOrders = dict[tuple[str, ...], "list[Any] | _SecondaryWindow"]
"""Relationship path -> its ORDER BY, or the window that replaces its load."""


def _windowed(rel: RelationNode) -> tuple[Any, Any]:
    """An alias of the target over its rows numbered per parent, and the number column."""
    if rel.info.secondary:
        return _windowed_through_secondary(rel)
    target = rel.child.model
    info = rel.child.info
    partition = [
        getattr(target, key) for key in sorted(rel.info.remote_side_keys, key=info.position)
    ]
    number = func.row_number().over(partition_by=partition, order_by=collection_order(rel, target))
    inner = (
        select(target, number.label("_treeshape_rn"))
        .where(*where_clauses(rel.options, target))
        .subquery()
    )
    return aliased(target, inner), inner.c._treeshape_rn


def _windowed_through_secondary(rel: RelationNode) -> tuple[Any, Any]:
    """`_windowed` for a relationship through a secondary: one row per row of the secondary.

    A target listed twice for one parent is two rows, numbered apart, as selectin loading
    without a window gives. The partition is the secondary's columns that hold the parent's key
    (`parent_key_columns`), or the parent's key through a join of the parent where the primary
    join has other conditions; it is selected as ``_treeshape_p<i>``, since the load then
    selects from this subquery alone (`_SecondaryWindow`).
    """
    target = rel.child.model
    joins: Any = rel.info.joins
    columns = parent_key_columns(rel)
    secondary = None
    if columns is not None:
        source = orm_join(joins.secondary, target, joins.secondaryjoin)
    else:
        parent: Any = aliased(rel.info.model)
        source = relation_join(parent, target, rel)
        columns = [getattr(parent, key) for key in rel.info.parent_primary_key]
        secondary = aliased_secondary(rel, source)
    order = collection_order(rel, target, secondary)
    number = func.row_number().over(partition_by=columns, order_by=order)
    extra = [column.label(f"_treeshape_p{i}") for i, column in enumerate(columns)]
    orders = _secondary_orders(rel, secondary)
    extra += [column.label(f"_treeshape_o{i}") for i, column in enumerate(orders)]
    inner = (
        select(*extra, target, number.label("_treeshape_rn"))
        .select_from(source)
        .where(*where_clauses(rel.options, target))
        .subquery()
    )
    return aliased(target, without_own_order(inner)), inner.c._treeshape_rn


def _secondary_orders(rel: RelationNode, secondary: Any) -> list[Any]:
    """The secondary's columns in the relationship's own ``order_by`` (on ``secondary``, its
    alias, if given).

    Selected by the windowed subquery only so that selectin loading, which adapts that
    ``order_by`` to the alias when it builds the statement `_SecondaryWindow` replaces, finds
    them there (it warns about a column it cannot find).
    """
    own = set(rel.child.info.tables)
    found: dict[Any, None] = {}
    for expression in rel.info.order_by:
        for element in iterate(expression):
            if isinstance(element, ColumnClause) and element.table not in own:
                found[element] = None
    if secondary is None:
        return list(found)
    return [ClauseAdapter(secondary).traverse(column) for column in found]


def _options_for(
    node: ShapeNode,
    entity: Any,
    incoming_remote: set[str],
    path: tuple[str, ...],
    orders: RowOrders,
    reads: ReadTree | None = None,
    *,
    raising: bool,
) -> list[Any]:
    """``reads``: what computed fields above read below this node (``None``: this node is not
    on a read path). The objects on a read path are loaded whole (the function may read any
    of their columns), and read relationships the shape does not load are loaded too.
    ``raising``: whether the columns ``load_only`` leaves out raise (else they are deferred).

    No ``raiseload("*")`` here: nested in a loader's ``.options()`` it does nothing in
    SQLAlchemy 2.1 (the relationships below still lazy-load); the plan's one top-level
    ``raiseload("*")`` (`_plan`) covers every level."""
    options: list[Any] = []
    if node.reads:
        reads = merge_reads([reads or (), node.reads])
    read = dict(reads or ())
    keys = node.load_keys
    if keys is not None and reads is None:
        keys = keys | incoming_remote
        if not _loads_every_column(node.info, keys):
            attrs = [getattr(entity, key) for key in sorted(keys, key=node.info.position)]
            options.append(load_only(*attrs, raiseload=raising))
    for rel in node.relations:
        opts = rel.options
        if opts.count is not None:
            counted = getattr(entity, count_attribute(rel))
            options.append(with_expression(counted, count_expression(rel, entity)))
        if not rel.loads:
            continue  # nothing to load: a count only, or ids from the foreign key
        sub_reads = read.pop(rel.name, None)
        remote: set[str] = set()
        if rel.info.direction == "one_to_many":
            remote = set(rel.info.remote_side_keys)
        attribute = getattr(entity, rel.name)
        child: Any = rel.child.model
        here = (*path, rel.name)
        if opts.windowed and rel.info.secondary:
            child, _ = _windowed(rel)
            attribute = attribute.of_type(child)
            orders[here] = _SecondaryWindow(opts, len(rel.info.parent_primary_key))
        elif opts.windowed:
            child, number = _windowed(rel)
            attribute = attribute.of_type(child).and_(*window_range(opts, number))
            orders[here] = _BY_NUMBER
        else:
            if opts.where:
                attribute = attribute.and_(*where_clauses(opts, child))
            if rel.many and orders_by_target_only(rel) and not _own_order_is_total(rel):
                # The options' order or the relationship's own, then the primary key: an order
                # with ties (``order_by=Trip.direction_id``) or none would leave rows in whatever
                # order the database returns them, and `fetch` breaks ties by primary key. (An
                # order by a secondary's column stays selectin's: it adapts it to its aliases.)
                orders[here] = collection_order(rel, child)
        loader = selectinload(attribute)
        nested = _options_for(rel.child, child, remote, here, orders, sub_reads, raising=raising)
        options.append(loader.options(*nested))
    for name, sub in read.items():
        options.append(_read_loader(getattr(entity, name), sub))
    return options


def _own_order_is_total(rel: RelationNode) -> bool:
    """Whether the relationship's own ``order_by`` orders each parent's rows without ties, so
    selectin's ORDER BY needs no primary key after it (and the plan no `_Orders` entry).

    True when the options give no order and the ``order_by`` columns, with the target's
    columns a one-to-many join equates to the parent's (equal within one parent's rows),
    cover the target's primary key: ``Trip.stop_times`` by ``stop_sequence`` (the key is
    ``trip_id, stop_sequence``), ``Route.trips`` by ``trip_id``. Rewriting such an ORDER BY
    gives the same rows in the same order and costs the database a longer sort.
    """
    if rel.options.order_by or not rel.info.order_by:
        return False
    info = rel.child.info
    keys = {info.key_of(column) for column in rel.info.order_by}
    if None in keys:
        return False  # an expression or a secondary's column
    if rel.info.direction == "one_to_many" and rel.info.equality_join:
        keys |= {key for key in rel.info.remote_keys if key is not None}
    return set(info.primary_key) <= keys


def _loads_every_column(info: ModelInfo, keys: frozenset[str] | set[str]) -> bool:
    """Whether a load of ``info``'s rows without options loads exactly ``keys``: every column
    attribute is among them and none is deferred by the mapping.

    Then ``load_only(*keys, raiseload=True)`` changes nothing about what is loaded and leaves
    no column to raise, but costs on every request: SQLAlchemy computes the cache key of every
    option of the plan for each statement it runs, the roots' and each relationship load's, and
    ``load_only`` is one option entry per column. Left out for such models (most shapes output
    every column). Models in an inheritance hierarchy keep it (a query of them may load other
    classes' columns), and so do models with a query expression of their own: unloaded, it
    reads as ``None`` instead of raising. treeshape's hidden count attributes
    (`treeshape.sql.counting`) are such expressions, loaded only where a plan counts.
    """
    if info.inheritance is not None or info.loads_subclasses:
        return False
    found = 0
    for prop in info.mapper.column_attrs:
        if prop.key in keys:
            if prop.deferred:
                return False
            found += 1
        elif not prop.key.startswith(HIDDEN_PREFIX):
            return False
    return found == len(keys)  # every key a column attribute (no synonym, no composite)


def _read_loader(attribute: Any, reads: ReadTree) -> Any:
    """A relationship only a computed field reads: every row, whole, as the mapping orders
    them; below it only what the field reads (the rest raises by the plan's top-level
    ``raiseload("*")``, or is left to the mapping)."""
    target = attribute.property.mapper.class_
    nested = [_read_loader(getattr(target, name), sub) for name, sub in reads]
    return selectinload(attribute).options(*nested)


_BY_NUMBER: list[Any] = []
"""Order a windowed load by its row number (found in the statement: see `_row_numbers`)."""


def _row_numbers(statement: Any) -> list[Any]:
    """The row-number column of the windowed alias the relationship load selects.

    Looked up in the statement itself, not kept from `_windowed`: SQLAlchemy caches relationship
    load statements by structure, so the alias in the statement may be the equal one of another
    shape's plan. (Read from the column descriptions: resolving the FROM would compile the
    statement, and so call this option again.)
    """
    entity = statement.column_descriptions[-1]["entity"]
    column = getattr(sa_inspect(entity).selectable, "c", {}).get("_treeshape_rn")
    if column is None:
        raise RuntimeError("treeshape: a windowed relationship load without its row number")
    return [column]


@dataclass(frozen=True)
class _SecondaryWindow:
    """A windowed load through a secondary: its FROM, WHERE and ORDER BY are replaced when it
    compiles (`rewrite`).

    Selectin loading joins the secondary to the target; joined to the numbered rows of
    `_windowed_through_secondary` (which hold the secondary's rows already) that would repeat
    each row once per copy of its pair, and the parents' ``IN`` would not reach the window's
    partition, so every parent's rows would be numbered. The rewritten load selects from the
    numbered rows alone, ``IN`` on the partition columns (pushed down into the window by SQLite
    and PostgreSQL, as for one-to-many), cut to the window and ordered by the number.
    """

    options: RelationOptions
    parents: int
    """The number of parent key columns (``_treeshape_p<i>``), selected first as selectin's."""

    def rewrite(self, compile_state: Any) -> None:
        """Rewrite the load ``compile_state`` compiles (`_SecondaryWindows`).

        The numbered rows are found in the statement, not kept from `_windowed`: SQLAlchemy
        caches relationship load statements by structure, so the alias there may be the equal
        one of another shape's plan, the one its options' paths name.

        Selectin selects the parent's key from the secondary (when the secondary alone joins
        the parent to the target) or from its alias of the parent; the load selects it from
        the numbered rows' ``_treeshape_p<i>`` instead (`select_instead`), FROM the numbered
        rows alone (`select_from_instead`; the relationship's own ``order_by``, which selectin
        adds where it joins from the parent's alias, is implied by the number:
        `without_own_order`). The replacement keeps the load's loader options, in their order,
        and its compile options (its path): SQLAlchemy takes the options of the loads nested
        under this one from the statement it compiled.
        """
        statement: Any = compile_state.select_statement
        entity = statement.column_descriptions[-1]["entity"]
        inner: Any = sa_inspect(entity).selectable
        parents = [inner.c[f"_treeshape_p{i}"] for i in range(self.parents)]
        number = inner.c._treeshape_rn
        select_instead(compile_state, parents)
        select_from_instead(compile_state, inner)
        key = parents[0] if len(parents) == 1 else tuple_(*parents)
        replacement = (
            select(*parents, entity)
            .where(key.in_(bindparam("primary_keys")), *_literal_range(self.options, number))
            .order_by(number)
            .options(*options_of(statement))
        )
        compile_state.select_statement = with_compile_options_of(replacement, statement)


def _literal_range(options: RelationOptions, number: Any) -> list[Any]:
    """`window_range` with the offset and limit written as integer literals, not bound.

    The rewritten load must bind the same parameters, in the same order, as the statement it
    replaces: SQLAlchemy gives the loads nested under it their criteria's values by position
    among the bound parameters of this statement's cache key and the executing one's
    (``Load._adjust_for_extra_criteria``), so one more bound value here shifts theirs (a
    nested filter's value read as a window's bound, or an ``IN`` list as a number). The
    numbers are validated non-negative integers and part of the plan's key.
    """
    upper = options.offset + options.limit if options.limit is not None else None
    conditions = [number > literal_column(str(int(options.offset)))]
    if upper is not None:
        conditions.append(number <= literal_column(str(int(upper))))
    return conditions


class _Orders(CompileStateOption):
    """A plan's ORDER BYs per relationship path, applied when a relationship load compiles.

    Selectin loading orders by the relationship's own ``order_by`` and offers no option to
    change it; this option, part of the plan's options and propagated to every relationship
    load they cause, rewrites the load's statement at compilation (`process_compile_state`),
    so no event listener is registered anywhere. Part of the statement's cache key (``key``:
    unique per plan): SQLAlchemy caches compiled relationship loads, and two plans that differ
    only in a collection's order must not share them.
    """

    propagate_to_loaders = True
    _cache_key_traversal = [("key", InternalTraversal.dp_plain_obj)]

    def __init__(self, payload: dict[tuple[str, ...], list[Any]], key: str) -> None:
        self.payload = payload
        self.key = key

    def process_compile_state(self, compile_state: Any) -> None:
        path = relationship_path(compile_state)
        if not path:
            return
        orders = self.payload.get(path)
        if orders is None:
            return
        statement: Any = compile_state.select_statement
        if orders is _BY_NUMBER:
            orders = _row_numbers(statement)
        compile_state.select_statement = statement.order_by(None).order_by(*orders)


class _SecondaryWindows(CompileStateOption):
    """A plan's windows through a secondary per relationship path (`_SecondaryWindow`),
    applied when the relationship load compiles; keyed like `_Orders`, for the same reason.

    Propagated to the plan's relationship loads like `_Orders`: nothing is registered outside
    the plan's own statements (the windows were a ``do_orm_execute`` listener on `Session`
    before).
    """

    propagate_to_loaders = True
    _cache_key_traversal = [("key", InternalTraversal.dp_plain_obj)]

    def __init__(self, payload: dict[tuple[str, ...], _SecondaryWindow], key: str) -> None:
        self.payload = payload
        self.key = key

    def process_compile_state(self, compile_state: Any) -> None:
        path = relationship_path(compile_state)
        window = self.payload.get(path) if path else None
        if window is not None:
            window.rewrite(compile_state)


@memoize
def loader_options(node: ShapeNode) -> tuple[LoaderOption, ...]:
    """Options for ``select(Model).options(*options)`` that load ``node``'s tree, and make
    every other relationship and every column left out raise instead of loading."""
    return _plan(node, raising=True)


@memoize
def lazy_loader_options(node: ShapeNode) -> tuple[LoaderOption, ...]:
    """`loader_options` that leave what the plan does not load to the mapping: a relationship
    loads as its ``lazy=`` says, a column left out by ``load_only`` is deferred.

    The same statements for the tree, without raising's cost: ``raiseload("*")`` makes
    SQLAlchemy install a loader callable on every loaded object for each of its relationships
    the plan does not load (a class-level lazy loader costs nothing per row), about a tenth
    of a request on the ORM path (docs/performance.md).
    """
    return _plan(node, raising=False)


def _plan(node: ShapeNode, *, raising: bool) -> tuple[LoaderOption, ...]:
    orders: RowOrders = {}
    options = _options_for(node, node.model, set(), (), orders, raising=raising)
    if raising:
        # Top-level, so SQLAlchemy applies it to the relationships of every class the plan
        # loads, at every level, except those an option names (the plan's own loads).
        options.append(raiseload("*"))
    key = f"plan-{next(_plan_numbers)}"
    windows = {path: o for path, o in orders.items() if isinstance(o, _SecondaryWindow)}
    if windows:
        options.insert(0, _SecondaryWindows(windows, key))
    plain = {path: o for path, o in orders.items() if not isinstance(o, _SecondaryWindow)}
    if plain:
        options.insert(0, _Orders(plain, key))
    return tuple(options)


# Each plan's own cache key. Not the tree's text: filters given as expressions or functions
# describe themselves without their values (two lambdas even share a name), and two distinct
# plans must never share SQLAlchemy's cached relationship-load statements and their options.
_plan_numbers = itertools.count(1)
