"""Counts of a relationship's rows per parent, computed in SQL by every backend.

A count is a correlated scalar subquery (``SELECT count(*) FROM child WHERE child.fk =
parent.pk AND <where>``; through a secondary, a membership test where it is equivalent: see
`treeshape.secondary`), selected as one more column of the statement that loads the parents:
counts cost no statement of their own, in the loader plan as in `fetch`.

The ORM can only put a per-query SQL value on an object through a ``query_expression()``
attribute filled by ``with_expression``; so the first time a shape with a count is loaded,
treeshape adds one such attribute per (model, relationship, filter) to the model's mapper
(``Mapper.add_property``), named ``_treeshape_count_<relationship>_<n>``. Those attributes are
invisible to shapes (`inspection.HIDDEN_PREFIX`) and unloaded unless a treeshape loader plan
fills them. One object loaded at two places of one tree with two different count filters keeps
the first value SQLAlchemy gives it (the identity map holds one object).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased, query_expression

from ..inspection import HIDDEN_PREFIX
from ..tree import RelationNode
from .clauses import where_clauses
from .secondary import correlated_from

_attributes: dict[tuple[type, str, tuple[Any, ...]], str] = {}
_lock = threading.Lock()


def count_attribute(rel: RelationNode) -> str:
    """The hidden attribute of the parent model that holds ``rel``'s count once loaded."""
    key = (rel.info.model, rel.info.name, rel.options.where)
    try:
        return _attributes[key]
    except KeyError:
        pass
    with _lock:
        if key not in _attributes:
            mapper: Any = sa_inspect(rel.info.model)
            number = sum(1 for k in _attributes if k[:2] == key[:2])
            name = f"{HIDDEN_PREFIX}count_{rel.info.name}_{number}"
            mapper.add_property(name, query_expression())
            _attributes[key] = name
        return _attributes[key]


def count_expression(rel: RelationNode, parent: Any) -> Any:
    """``rel``'s filtered row count per ``parent`` row (the class or an alias of it)."""
    child: Any = aliased(rel.child.model)
    from_, where = correlated_from(parent, child, rel)
    stmt = (
        select(func.count())
        .select_from(from_)
        .where(where, *where_clauses(rel.options, child))
        .correlate(sa_inspect(parent).selectable)
    )
    return stmt.scalar_subquery()
