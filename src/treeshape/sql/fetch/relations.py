"""How a relationship of the tree joins and orders in a fetch statement (both strategies)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import tuple_
from sqlalchemy.orm import join as orm_join
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Select

from ...inspection import FieldInfo
from ...tree import RelationNode
from ..clauses import collection_order
from ..secondary import aliased_secondary, membership, relation_join

__all__ = [
    "collection_order_in",
    "field_expression",
    "in_keys",
    "in_values",
    "is_lookup",
    "join_for",
    "joinable_lookup",
    "local_keys",
    "remote_keys",
]


def field_expression(entity: Any, f: FieldInfo) -> Any:
    """The SQL expression of a field on ``entity`` (a mapped class or an alias of one): a
    computed field's own ``sql=`` built on it."""
    if f.computed is not None and f.computed.sql is not None:
        return f.computed.sql(entity)
    return getattr(entity, f.name)


def collection_order_in(rel: RelationNode, entity: Any, from_: Any = None) -> list[Any]:
    """A collection's ORDER BY on ``entity``: its options' or relationship's order, then key.

    ``from_`` is the FROM the rows are selected from: the relationship's secondary is aliased
    there, and an ``order_by`` on a secondary column must name that alias.
    """
    secondary = None
    if from_ is not None and rel.info.secondary and not rel.options.order_by:
        secondary = aliased_secondary(rel, from_)
    return collection_order(rel, entity, secondary)


def in_keys(columns: Sequence[Any], subquery: Select[Any]) -> Any:
    """``columns IN (subquery)``, as a row value for composite keys."""
    if len(columns) == 1:
        return columns[0].in_(subquery)
    return tuple_(*columns).in_(subquery)


def in_values(columns: Sequence[Any], values: Sequence[Any] | BindParameter[Any]) -> Any:
    """``columns IN (:v1, :v2, ...)``: fetched keys as bound parameters (tuples for a
    composite key), or an expanding `bindparam` that takes them at execution."""
    if len(columns) == 1:
        return columns[0].in_(values)
    return tuple_(*columns).in_(values)


def join_for(parent: Any, child: Any, rel: RelationNode) -> Any:
    """The Core join of ``parent`` to ``child`` through ``rel``, aliases and secondary included;
    through a secondary, a join on a membership test where that is equivalent (`membership`)."""
    condition = membership(parent, child, rel)
    if condition is not None:
        return orm_join(parent, child, condition)
    return relation_join(parent, child, rel)


def local_keys(rel: RelationNode) -> list[str]:
    """Parent attribute keys a many-to-one lookup matches on (the foreign key)."""
    return [key for key in rel.info.local_keys if key is not None]


def remote_keys(rel: RelationNode) -> list[str]:
    """Target attribute keys a many-to-one lookup matches on (usually the primary key)."""
    return [key for key in rel.info.remote_keys if key is not None]


def is_lookup(rel: RelationNode) -> bool:
    """A plain many-to-one: fetch each distinct target once and look it up by foreign key."""
    return rel.info.direction == "many_to_one" and not rel.info.secondary and not rel.many


def joinable_lookup(rel: RelationNode) -> bool:
    """A plain many-to-one on the target's primary key, without a window: joining it finds at
    most one target row per parent row, so it may be a LEFT JOIN instead of a subquery."""
    if not is_lookup(rel) or rel.options.windowed:
        return False
    return set(remote_keys(rel)) == set(rel.child.info.primary_key)
