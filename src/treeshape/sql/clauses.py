"""SQL clauses of a relationship's options, shared by the loader plan, counts and fetch.

Filters, ORDER BYs with the NULL placement treeshape promises on every database, and per-parent
windows as conditions on a row number: each built once here, so that the ORM path and the SQL
path order and cut collections identically.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import InternalTraversal

from ..inspection import ModelInfo
from ..tree import RelationOptions

__all__ = ["NullsLargest", "collection_order", "order_clauses", "where_clauses", "window_range"]


def where_clauses(options: RelationOptions, entity: Any) -> list[Any]:
    """The SQL criteria of ``options`` on ``entity`` (the target class or an alias of it)."""
    return [criterion.clause(entity) for criterion in options.where]


def order_clauses(options: RelationOptions, info: ModelInfo, entity: Any) -> list[Any]:
    """``options.order_by`` on ``entity``, NULLs as the largest values, then the primary key.

    NULL placement is explicit because dialects differ (SQLite and MySQL put NULLs first,
    PostgreSQL last); treeshape sorts as PostgreSQL does by default, on every database
    (`NullsLargest`).
    """
    orders: list[Any] = []
    for name, descending in options.order_by:
        orders.append(NullsLargest(getattr(entity, name), descending=descending))
    orders += [getattr(entity, key) for key in info.primary_key]
    return orders


class NullsLargest(ColumnElement[Any]):
    """An ORDER BY item that sorts NULLs as the largest values: ``x ASC NULLS LAST`` or
    ``x DESC NULLS FIRST``.

    MySQL and MariaDB have no ``NULLS FIRST/LAST``; there the item is ``x IS NULL, x`` (or
    ``x IS NULL DESC, x DESC``), which orders the same. A construct of its own, compiled per
    dialect, so that one clause serves every database and SQLAlchemy's compilers stay as they are.
    """

    __visit_name__ = "treeshape_nulls_largest"
    inherit_cache = True
    _traverse_internals = [
        ("element", InternalTraversal.dp_clauseelement),
        ("descending", InternalTraversal.dp_boolean),
    ]

    def __init__(self, element: Any, *, descending: bool) -> None:
        self.element = element
        self.descending = descending
        self.type = element.type


@compiles(NullsLargest)
def _nulls_largest(element: NullsLargest, compiler: Any, **kw: Any) -> str:
    column = element.element
    order = column.desc().nulls_first() if element.descending else column.asc().nulls_last()
    text: str = compiler.process(order, **kw)
    return text


@compiles(NullsLargest, "mysql")
@compiles(NullsLargest, "mariadb")
def _nulls_largest_mysql(element: NullsLargest, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.element, **kw)
    if element.descending:
        return f"{column} IS NULL DESC, {column} DESC"
    return f"{column} IS NULL, {column}"


def window_range(options: RelationOptions, number: Any) -> list[Any]:
    """The per-parent ``offset``/``limit`` as conditions on a row number (1 for the first row)."""
    upper = [] if options.limit is None else [number <= options.offset + options.limit]
    return [number > options.offset, *upper]


def collection_order(rel: Any, entity: Any, secondary: Any = None) -> list[Any]:
    """A collection's ORDER BY on ``entity``: the options' order or the relationship's, then
    the target's primary key (``rel`` is a `RelationNode`).

    A relationship's own ``order_by`` may name columns of its secondary table (a trip's stops
    in ``stop_times.stop_sequence`` order) or be expressions (``desc(...)``): those are adapted
    to ``entity`` (when it is an alias) and to ``secondary``, the secondary as it stands in the
    statement's FROM (`treeshape.secondary.aliased_secondary`: an ORM join through an aliased
    parent aliases it too), since an unadapted column would name a table the FROM lacks.
    """
    info: ModelInfo = rel.child.info
    if rel.options.order_by:
        return order_clauses(rel.options, info, entity)
    orders: list[Any] = []
    for column in rel.info.order_by:
        key = info.key_of(column)
        if key is None:  # a column of the secondary table, or an expression
            orders.append(_adapted(column, entity, secondary))
        else:
            orders.append(getattr(entity, key))
    orders += [getattr(entity, key) for key in info.primary_key]
    return orders


def _adapted(expression: Any, entity: Any, secondary: Any) -> Any:
    """``expression`` with the target's columns on ``entity`` and the secondary's on
    ``secondary`` (each only where it is an alias)."""
    insp: Any = sa_inspect(entity)
    if getattr(insp, "is_aliased_class", False):
        expression = ClauseAdapter(insp.selectable).traverse(expression)
    if secondary is not None:
        expression = ClauseAdapter(secondary).traverse(expression)
    return expression
