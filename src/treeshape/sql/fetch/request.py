"""What one `fetch` call asks, and how its statements run: shared by both strategies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from ...errors import TreeshapeError
from ...inspection import FieldInfo
from ...tree import ShapeNode, memoize

__all__ = [
    "Document",
    "FetchError",
    "FetchRequest",
    "Strategy",
    "check_fetchable",
    "dialect_of",
    "execute",
    "hybrid_expression",
]

Strategy = Literal["auto", "core", "json"]
Document = dict[str, Any]


class FetchError(TreeshapeError, ValueError):
    """A shape, or an argument of `fetch`, that cannot be fetched as asked.

    Raised at fetch time: a Python ``@property`` in the shape (SQL cannot compute it) or a
    computed field declared without ``sql=``, a
    relationship option not implemented by `fetch`, or ``strategy="json"`` for a column whose
    JSON form the database cannot produce exactly.
    """


@dataclass(frozen=True)
class FetchRequest:
    """One call's arguments, normalized."""

    session: Any
    dialect: Dialect
    criteria: tuple[Any, ...]
    order_by: tuple[Any, ...]
    limit: int | None
    offset: int | None = None
    bind: Any = None
    """The engine or connection a Session's `Session.get_bind` gave for the root's mapper
    (asked once per call), else ``None``."""

    @classmethod
    def make(
        cls,
        node: ShapeNode,
        session: Any,
        criteria: Sequence[Any],
        order_by: Any,
        limit: Any,
        offset: Any = None,
    ) -> FetchRequest:
        check_fetchable(node)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise FetchError(f"fetch(limit=...) must be an int or None, got {limit!r}.")
        if offset is not None and (
            isinstance(offset, bool) or not isinstance(offset, int) or offset < 0
        ):
            raise FetchError(f"fetch(offset=...) must be an int >= 0 or None, got {offset!r}.")
        if order_by is None:
            orders: tuple[Any, ...] = ()
        elif isinstance(order_by, list | tuple):
            orders = tuple(order_by)
        else:
            orders = (order_by,)
        get_bind = getattr(session, "get_bind", None)
        bind = get_bind(mapper=node.info.mapper) if get_bind is not None else None
        dialect = (session if bind is None else bind).dialect
        return cls(session, dialect, tuple(criteria), orders, limit, offset or None, bind)

    @property
    def windowed(self) -> bool:
        """The roots are a window of the matching rows (``limit`` or ``offset``)."""
        return self.limit is not None or self.offset is not None

    def window(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` with the roots' ``LIMIT``/``OFFSET``."""
        if self.limit is not None:
            stmt = stmt.limit(self.limit)
        return stmt.offset(self.offset) if self.offset is not None else stmt

    def root_order(self, entity: Any, node: ShapeNode) -> list[Any]:
        """The user's order (primary key as tie-breaker), or the primary key."""
        return [*self.order_by, *(getattr(entity, key) for key in node.info.primary_key)]


def dialect_of(session: Any, node: ShapeNode) -> Dialect:
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
            if f.kind == "property" or (f.kind == "hybrid" and hybrid_expression(f) is None):
                found.append(f"{prefix}{f.name} ({sub.info.name}.{f.name}, a {f.kind})")
            elif f.kind == "computed" and (f.computed is None or f.computed.sql is None):
                found.append(
                    f"{prefix}{f.name} ({sub.info.name}.{f.name}, a computed field without "
                    f"sql=: give ts.computed(..., sql=lambda {sub.info.name}: ...) to fetch it)"
                )
    return tuple(found)


def check_fetchable(node: ShapeNode) -> None:
    found = _unfetchable(node)
    if found:
        raise FetchError(
            f"This shape of {node.info.name} cannot be fetched in SQL: {', '.join(found)}. "
            f"Python properties and hybrids without a SQL expression are computed from ORM "
            f"objects only: load with loader_options() and dump() instead, or narrow them out."
        )


def hybrid_expression(f: FieldInfo) -> Any:
    try:
        expr = getattr(f.model, f.name)
    except Exception:  # the hybrid's class-level expression fails: not computable in SQL
        return None
    return expr if isinstance(expr, ColumnElement) or hasattr(expr, "__clause_element__") else None


def execute(
    node: ShapeNode, request: FetchRequest, stmt: Select[Any], params: dict[str, Any] | None = None
) -> Any:
    """Run ``stmt`` (with ``params``) on the request's session or connection.

    A Session without ``do_orm_execute`` hooks (treeshape registers none) runs it on its
    connection as Core (what the ORM would do, without its per-call overhead), after an
    autoflush as the ORM would; a user's hook may rewrite statements, so with one the ORM
    runs it.
    """
    session = request.session
    if isinstance(session, Session):
        if session.dispatch.do_orm_execute:
            return session.execute(stmt, params)
        if session.autoflush:
            session.flush()
        bind = request.bind or session.get_bind(mapper=node.info.mapper)
        return session.connection(bind_arguments={"bind": bind}).execute(stmt, params)
    return session.execute(stmt, params)
