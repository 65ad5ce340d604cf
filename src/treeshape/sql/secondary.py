"""Many-to-many targets as a membership test: ``target IN (SELECT ... FROM secondary WHERE ...)``.

A relationship through a secondary is naturally a join ``parent JOIN secondary JOIN target``. When
the secondary is a subquery (``select(...).distinct().subquery()``, as the transit example's
``Stop.trips`` over ``stop_times``), a database may not push the parent's condition into it:
SQLite 3.40 materializes the whole DISTINCT subquery for every statement (every row of
``stop_times``), where the membership form reads only the parent's rows through an index::

    trips.trip_id IN (SELECT stop_times.trip_id FROM stop_times
                      WHERE stop_times.stop_id = stops.stop_id)

A membership test ignores duplicates, so for a DISTINCT secondary it can use the select *under*
the DISTINCT (`membership` removes it: no sort, no temporary b-tree).

The two forms give the same rows only when the join cannot repeat a target for one parent, so the
membership form is used only where that is provable: both join conditions are conjunctions of
column equalities (parent = secondary, target = secondary), and the secondary's rows are unique
over the columns those equalities use (a DISTINCT select of exactly those columns, or a table
with a primary key or unique constraint within them). Anything else (an association table
without a key, an extra condition, an order by a secondary column) keeps the join, which is what
the ORM's selectin loading does (it repeats a target listed twice).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Table, UniqueConstraint, select, tuple_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import join as orm_join
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList, ColumnClause
from sqlalchemy.sql.selectable import Alias, Select, Subquery
from sqlalchemy.sql.util import find_tables

from ..tree import RelationNode


def relation_join(parent: Any, child: Any, rel: RelationNode) -> Any:
    """The ORM join of ``parent`` to ``child`` through ``rel`` (secondary and aliases included)."""
    return orm_join(parent, child, getattr(parent, rel.name))


def membership(parent: Any, child: Any, rel: RelationNode) -> Any | None:
    """``child``'s columns ``IN`` the secondary's matching rows for ``parent``, correlated to
    ``parent`` (a mapped class or an alias of one), or ``None`` where the join must stay (see the
    module doc). Every column of the condition is ``child``'s, ``parent``'s or the secondary's."""
    if not rel.info.secondary or not orders_by_target_only(rel):
        return None
    joined = relation_join(parent, child, rel)
    secondary = joined.left.right
    parent_selectable = sa_inspect(parent).selectable
    child_selectable = sa_inspect(child).selectable
    primary = _equalities(joined.left.onclause, parent_selectable, secondary)
    targets = _equalities(joined.onclause, child_selectable, secondary)
    if primary is None or targets is None:
        return None
    used = {id(column) for _, column in [*primary, *targets]}
    if not _unique_over(secondary, used):
        return None
    target_columns = [own for own, _ in targets]
    members = _undistinct(secondary, primary, targets, parent_selectable)
    if members is None:
        members = (
            select(*[column for _, column in targets])
            .select_from(secondary)
            .where(joined.left.onclause)
        )
    members = members.correlate(parent_selectable)
    if len(target_columns) == 1:
        return target_columns[0].in_(members)
    return tuple_(*target_columns).in_(members)


def correlated_from(parent: Any, child: Any, rel: RelationNode) -> tuple[Any, Any]:
    """FROM and WHERE of a subquery of ``rel``'s targets (``child``), correlated to ``parent``:
    the target alone with a `membership` test where possible, else the secondary join."""
    condition = membership(parent, child, rel)
    if condition is not None:
        return child, condition
    joined = relation_join(parent, child, rel)
    if rel.info.secondary:
        from sqlalchemy import join

        return join(joined.left.right, joined.right, joined.onclause), joined.left.onclause
    return joined.right, joined.onclause


def parent_key_columns(rel: RelationNode) -> list[Any] | None:
    """The secondary's columns that hold the parent's primary key, in the key's order, when the
    relationship's primary join is exactly those equalities; else ``None`` (the join has
    another condition, which only the parent's own row can decide)."""
    prop = rel.info.prop
    mapper = prop.parent
    pairs = _equalities(prop.primaryjoin, mapper.local_table, prop.secondary)
    if pairs is None:
        return None
    keys = list(mapper.primary_key)
    if not all(any(key.shares_lineage(own) for key in keys) for own, _ in pairs):
        return None
    columns: list[Any] = []
    for key in keys:
        found = [column for own, column in pairs if key.shares_lineage(own)]
        if not found:
            return None
        columns.append(found[0])
    return columns


def aliased_secondary(rel: RelationNode, from_: Any) -> Any | None:
    """``rel``'s secondary as it stands in ``from_`` (a join from `relation_join` or
    `correlated_from`), or ``None`` when ``from_`` holds no alias of it.

    The ORM aliases the secondary whenever it joins from an aliased parent, so a secondary
    column in the relationship's ``order_by`` must be adapted to the alias found here.
    """
    secondary = rel.info.prop.secondary
    if secondary is None:
        return None
    base = _base(secondary)
    selectable = getattr(sa_inspect(from_), "selectable", from_)  # an ORM entity: its table
    for table in find_tables(selectable, include_aliases=True):
        if table is not secondary and _base(table) is base:
            return table
    return None


def orders_by_target_only(rel: RelationNode) -> bool:
    """Whether the collection's order needs no secondary column (it is not in the FROM)."""
    if rel.options.order_by:
        return True
    mapper = rel.child.info.mapper
    for column in rel.info.order_by:
        try:
            mapper.get_property_by_column(column)
        except Exception:
            return False
    return True


def _equalities(clause: Any, own: Any, secondary: Any) -> list[tuple[Any, Any]] | None:
    """``clause`` as ``[(own column, secondary column), ...]`` if it is a conjunction of
    equalities between a column of ``own`` and one of ``secondary``; else ``None``."""
    if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
        pairs: list[tuple[Any, Any]] = []
        for each in clause.clauses:
            found = _equalities(each, own, secondary)
            if found is None:
                return None
            pairs += found
        return pairs or None
    if not isinstance(clause, BinaryExpression) or clause.operator is not operators.eq:
        return None
    left, right = clause.left, clause.right
    if not (isinstance(left, ColumnClause) and isinstance(right, ColumnClause)):
        return None
    if left.table is own and right.table is secondary:
        return [(left, right)]
    if right.table is own and left.table is secondary:
        return [(right, left)]
    return None


def _base(selectable: Any) -> Any:
    """What an alias or subquery stands for (a table or a select)."""
    while isinstance(selectable, Alias | Subquery):
        selectable = selectable.element
    return selectable


def _unique_over(secondary: Any, used: set[int]) -> bool:
    """Whether no two rows of ``secondary`` agree on the columns ``used`` (by ``id``)."""
    base = _base(secondary)
    keys = {column.key for column in secondary.c if id(column) in used}
    if isinstance(base, Select):
        if not _plain_distinct(base):
            return False
        return keys == {column.key for column in secondary.c}
    if isinstance(base, Table):
        candidates: list[set[str]] = []
        if len(base.primary_key.columns):
            candidates.append({column.key for column in base.primary_key.columns})
        for constraint in base.constraints:
            if isinstance(constraint, UniqueConstraint):
                candidates.append({column.key for column in constraint.columns})
        for index in base.indexes:
            if isinstance(index, Index) and index.unique:
                names = {getattr(e, "key", None) for e in index.expressions}
                if None not in names:
                    candidates.append({str(name) for name in names})
        return any(candidate and candidate <= keys for candidate in candidates)
    return False


def _plain_distinct(select_: Select[Any]) -> bool:
    """A ``SELECT DISTINCT`` of plain table columns, with nothing that works on whole rows."""
    statement: Any = select_
    if not statement._distinct or statement._distinct_on:
        return False
    if statement._group_by_clauses or statement._having_criteria:
        return False
    if statement._limit_clause is not None or statement._offset_clause is not None:
        return False
    if statement._fetch_clause is not None:
        return False
    return all(
        isinstance(column, ColumnClause) and isinstance(column.table, Table)
        for column in select_.selected_columns
    )


def _undistinct(
    secondary: Any,
    primary: list[tuple[Any, Any]],
    targets: list[tuple[Any, Any]],
    parent_selectable: Any,
) -> Select[Any] | None:
    """The membership select over the rows *under* a DISTINCT secondary, or ``None``.

    ``SELECT DISTINCT a, b FROM t WHERE w`` joined on ``a = parent.x`` becomes ``SELECT t.b FROM
    t WHERE w AND t.a = parent.x``: a membership test ignores duplicates. Not when a table of the
    select is the parent's own table (unaliased), which correlation would confuse with it.
    """
    base = _base(secondary)
    if not isinstance(base, Select):
        return None
    if any(table is parent_selectable for table in find_tables(base, include_aliases=True)):
        return None
    inner = dict(zip(secondary.c.keys(), base.selected_columns, strict=True))
    conditions: list[Any] = [] if base.whereclause is None else [base.whereclause]
    conditions += [own == inner[proxy.key] for own, proxy in primary]
    stmt = select(*[inner[proxy.key] for _, proxy in targets])
    return stmt.select_from(*base.get_final_froms()).where(*conditions)
