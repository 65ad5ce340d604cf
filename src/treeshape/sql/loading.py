"""SQLAlchemy loader options that load exactly a shape's tree, and nothing lazily.

One ``selectinload`` per included relationship (one statement per relationship, batched by
SQLAlchemy in groups of 500 parents), ``load_only`` of the columns the shape outputs plus the
keys that relationship loading needs, and ``raiseload`` for everything else, so an access the
shape did not plan fails loudly instead of issuing a query.

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
  the secondary's columns that hold the parent's key, and the load's statement is replaced by
  one that selects from it alone (`_SecondaryWindow`).
* ``order_by`` (and a window's order, and the primary key after a relationship's own
  ``order_by``, which may have ties): selectin orders by the relationship's own ``order_by``
  and offers no option to change it, so a ``do_orm_execute`` listener on `Session` (registered
  once, on import) replaces the ORDER BY of the relationship loads that a treeshape plan marks
  (`_Orders`, a propagating user option carrying the orders per relationship path). Other
  statements pay one ``isinstance`` scan of their user options.
* counts: ``with_expression`` of a correlated count on a hidden ``query_expression`` attribute
  (`treeshape.counting`): a column of the parents' statement, no statement of its own.
* ids: a many-to-one loads nothing (the parent's foreign key is its id); a collection loads
  only the targets' keys (``load_only``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, func, select, tuple_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import (
    Bundle,
    ORMExecuteState,
    Session,
    aliased,
    load_only,
    raiseload,
    selectinload,
    with_expression,
)
from sqlalchemy.orm import join as orm_join
from sqlalchemy.orm.interfaces import LoaderOption, UserDefinedOption
from sqlalchemy.sql.cache_key import HasCacheKey
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import InternalTraversal, iterate

from ..inspection import ModelInfo
from ..tree import RelationNode, RelationOptions, ShapeNode, memoize
from .clauses import collection_order, where_clauses, window_range
from .counting import count_attribute, count_expression
from .secondary import aliased_secondary, orders_by_target_only, parent_key_columns, relation_join

RowOrders = dict[tuple[str, ...], "list[Any] | _SecondaryWindow"]


def _column_keys(info: ModelInfo, columns: Any) -> set[str]:
    keys: set[str] = set()
    for column in columns:
        try:
            keys.add(info.mapper.get_property_by_column(column).key)
        except Exception:  # a column of a secondary table or subquery: not this model's
            continue
    return keys


def _needed_keys(node: ShapeNode, incoming_remote: set[str]) -> set[str] | None:
    """The attribute keys to load for ``node``; ``None`` means "all columns".

    Hybrids and Python properties may read any column, so a node that outputs one loads all.
    """
    if any(not f.loaded_from_state for f in node.fields):
        return None
    keys = {f.name for f in node.fields} | set(node.info.primary_key) | incoming_remote
    for rel in node.relations:
        if rel.info.direction == "many_to_one":
            keys |= _column_keys(node.info, rel.info.prop.local_columns)
    return keys


def _windowed(rel: RelationNode) -> tuple[Any, Any]:
    """An alias of the target over its rows numbered per parent, and the number column."""
    if rel.info.secondary:
        return _windowed_through_secondary(rel)
    target = rel.child.model
    info = rel.child.info
    partition = [getattr(target, key) for key in sorted(_remote_keys(rel), key=info.position)]
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
    prop: Any = rel.info.prop
    columns = parent_key_columns(rel)
    secondary = None
    if columns is not None:
        source = orm_join(prop.secondary, target, prop.secondaryjoin)
    else:
        parent: Any = aliased(rel.info.model)
        source = relation_join(parent, target, rel)
        columns = [getattr(parent, key) for key in _parent_keys(rel)]
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
    return aliased(target, inner), inner.c._treeshape_rn


def _secondary_orders(rel: RelationNode, secondary: Any) -> list[Any]:
    """The secondary's columns in the relationship's own ``order_by`` (on ``secondary``, its
    alias, if given).

    Selected by the windowed subquery only so that selectin loading, which adapts that
    ``order_by`` to the alias when it builds the statement `_SecondaryWindow` replaces, finds
    them there (it warns about a column it cannot find).
    """
    own = set(rel.child.info.mapper.tables)
    found: dict[Any, None] = {}
    for expression in rel.info.order_by:
        for element in iterate(expression):
            if isinstance(element, ColumnClause) and element.table not in own:
                found[element] = None
    if secondary is None:
        return list(found)
    return [ClauseAdapter(secondary).traverse(column) for column in found]


def _parent_keys(rel: RelationNode) -> list[str]:
    """The parent's primary key attributes, in the mapper's order (selectin's ``IN`` order)."""
    mapper = rel.info.prop.parent
    return [mapper.get_property_by_column(column).key for column in mapper.primary_key]


def _remote_keys(rel: RelationNode) -> set[str]:
    return _column_keys(rel.child.info, rel.info.prop.remote_side)


def _options_for(
    node: ShapeNode,
    entity: Any,
    incoming_remote: set[str],
    path: tuple[str, ...],
    orders: RowOrders,
) -> list[Any]:
    options: list[Any] = []
    keys = _needed_keys(node, incoming_remote)
    if keys is not None:
        attrs = [getattr(entity, key) for key in sorted(keys, key=node.info.position)]
        options.append(load_only(*attrs, raiseload=True))
    for rel in node.relations:
        opts = rel.options
        if opts.count is not None:
            counted = getattr(entity, count_attribute(rel))
            options.append(with_expression(counted, count_expression(rel, entity)))
        if not opts.embed or (opts.ids and not rel.many):
            continue  # nothing to load: a count only, or ids from the foreign key
        remote: set[str] = set()
        if rel.info.direction == "one_to_many":
            remote = _remote_keys(rel)
        attribute = getattr(entity, rel.name)
        child: Any = rel.child.model
        here = (*path, rel.name)
        if opts.windowed and rel.info.secondary:
            child, _ = _windowed(rel)
            attribute = attribute.of_type(child)
            orders[here] = _SecondaryWindow(opts, len(_parent_keys(rel)))
        elif opts.windowed:
            child, number = _windowed(rel)
            attribute = attribute.of_type(child).and_(*window_range(opts, number))
            orders[here] = _BY_NUMBER
        else:
            if opts.where:
                attribute = attribute.and_(*where_clauses(opts, child))
            if rel.many and orders_by_target_only(rel):
                # The options' order or the relationship's own, then the primary key: an order
                # with ties (``order_by=Trip.direction_id``) or none would leave rows in whatever
                # order the database returns them, and `fetch` breaks ties by primary key. (An
                # order by a secondary's column stays selectin's: it adapts it to its aliases.)
                orders[here] = collection_order(rel, child)
        loader = selectinload(attribute)
        options.append(loader.options(*_options_for(rel.child, child, remote, here, orders)))
    options.append(raiseload("*"))
    return options


_BY_NUMBER: list[Any] = []
"""Order a windowed load by its row number (found in the statement: see `_row_numbers`)."""


def _row_numbers(statement: Any) -> list[Any]:
    """The row-number column of the windowed subquery the statement selects from.

    Looked up in the statement itself, not kept from `_windowed`: SQLAlchemy caches relationship
    load statements by structure, so the subquery object in the statement may be the equal one
    of another shape's plan.
    """
    for from_ in statement.get_final_froms():
        for candidate in [from_, *getattr(from_, "froms", ())]:
            column = getattr(candidate, "c", {}).get("_treeshape_rn")
            if column is not None:
                return [column]
    raise RuntimeError("treeshape: a windowed relationship load without its row number")


@dataclass(frozen=True)
class _SecondaryWindow:
    """A windowed load through a secondary: its statement is replaced (`statement`).

    Selectin loading joins the secondary to the target; joined to the numbered rows of
    `_windowed_through_secondary` (which hold the secondary's rows already) that would repeat
    each row once per copy of its pair, and the parents' ``IN`` would not reach the window's
    partition, so every parent's rows would be numbered. The replacement selects from the
    numbered rows alone, ``IN`` on the partition columns (pushed down into the window by SQLite
    and PostgreSQL, as for one-to-many), cut to the window and ordered by the number.
    """

    options: RelationOptions
    parents: int
    """The number of parent key columns (``_treeshape_p<i>``), selected first as selectin's."""

    def statement(self, original: Any) -> Any:
        """``original``'s replacement, with its loader options, path and execution options.

        The entity is taken from ``original``: it may be the equal alias of a cached statement,
        the one its options' paths name.
        """
        entity = original.column_descriptions[-1]["entity"]
        inner: Any = sa_inspect(entity).selectable
        parents = [inner.c[f"_treeshape_p{i}"] for i in range(self.parents)]
        key = parents[0] if len(parents) == 1 else tuple_(*parents)
        number = inner.c._treeshape_rn
        # The parent key in the form selectin loading reads: SQLAlchemy 2.0 selects it as a
        # Bundle, 2.1 as plain columns.
        first = original.column_descriptions[0]["expr"]
        keys = [Bundle("pk", *parents)] if isinstance(first, Bundle) else parents
        statement: Any = (
            select(*keys, entity)
            .where(key.in_(bindparam("primary_keys")), *window_range(self.options, number))
            .order_by(number)
            .options(*original._with_options)
            .execution_options(**original.get_execution_options())
        )
        # The load's path (`_current_path`), which nested loader options are matched against.
        statement._compile_options = original._compile_options
        return statement


class _Orders(HasCacheKey, UserDefinedOption):
    """Marks a treeshape plan's statements: ``payload`` maps relationship paths to ORDER BYs.

    Part of the statement's cache key (``key``: unique per plan): SQLAlchemy caches a
    compiled statement with the options it propagates to relationship loads, so without a key
    two plans that differ only in a collection's order would share the first one's orders.
    """

    propagate_to_loaders = True
    _cache_key_traversal = [("key", InternalTraversal.dp_plain_obj)]

    def __init__(self, payload: RowOrders, key: str) -> None:
        super().__init__(payload)
        self.key = key


def _reorder(state: ORMExecuteState) -> None:
    """Give a marked relationship load the ORDER BY its shape asks for."""
    if not state.is_relationship_load:
        return
    for option in state.user_defined_options:
        if isinstance(option, _Orders):
            strategy_path = state.loader_strategy_path
            if strategy_path is None:
                return
            key = tuple(getattr(prop, "key", "") for prop in strategy_path.path[1::2])
            orders = (option.payload or {}).get(key)
            statement: Any = state.statement
            if isinstance(orders, _SecondaryWindow):
                state.statement = orders.statement(statement)
            elif orders is not None:
                if orders is _BY_NUMBER:
                    orders = _row_numbers(statement)
                state.statement = statement.order_by(None).order_by(*orders)
            return


event.listen(Session, "do_orm_execute", _reorder)


@memoize
def loader_options(node: ShapeNode) -> tuple[LoaderOption, ...]:
    """Options for ``select(Model).options(*options)`` that load ``node``'s tree."""
    orders: RowOrders = {}
    options = _options_for(node, node.model, set(), (), orders)
    if orders:
        options.insert(0, _Orders(orders, f"plan-{next(_plan_numbers)}"))
    return tuple(options)


# Each plan's own cache key. Not the tree's text: filters given as expressions or functions
# describe themselves without their values (two lambdas even share a name), and two distinct
# plans must never share SQLAlchemy's cached relationship-load statements and their options.
_plan_numbers = itertools.count(1)
