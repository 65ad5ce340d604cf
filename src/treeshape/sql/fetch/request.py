"""What one `fetch` call asks, and how its statements run: shared by both strategies."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

from sqlalchemy import Column, bindparam
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ClauseElement, ColumnElement
from sqlalchemy.sql.selectable import Select

from ...errors import TreeshapeError
from ...inspection import FieldInfo
from ...tree import ShapeNode, memoize

__all__ = [
    "CallStatements",
    "Document",
    "FetchError",
    "FetchRequest",
    "Strategy",
    "check_fetchable",
    "dialect_of",
    "execute",
    "executor",
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


class FetchRequest(NamedTuple):
    """One call's arguments, normalized (a named tuple: immutable, and built in a fraction of
    a frozen dataclass's time, once per call)."""

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
        if isinstance(session, Connection):
            bind, dialect = None, session.dialect
        else:
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
    return executor(node, request)(stmt, params)


def executor(node: ShapeNode, request: FetchRequest) -> Callable[..., Any]:
    """`execute` for several statements of one call: ``run(stmt, params)``.

    Nothing of the user's runs between a call's statements, so the autoflush happens once and
    a Session's connection is looked up once (the Session's transaction machinery costs as much
    per statement as executing a small one).
    """
    session = request.session
    if isinstance(session, Session):
        if session.dispatch.do_orm_execute:
            run: Callable[..., Any] = session.execute
            return run
        if session.autoflush:
            session.flush()
        bind = request.bind or session.get_bind(mapper=node.info.mapper)
        run = session.connection(bind_arguments={"bind": bind}).execute
        return run
    run = session.execute
    return run


class CallStatements:
    """A plan's root statement per structure of a call's criteria and order, built once; a
    call only binds its values.

    SQLAlchemy computes the cache key of a statement on every execution of a new statement
    object, walking all of it (a tenth of a 38-row `fetch_json`), and building the statement
    costs as much again. Here a call computes the keys of its own criteria and order only
    (small), and finds the statement built for the first call of that structure, whose bound
    values were replaced by named parameters (``treeshape_0``, ...) that the call passes. That
    statement object is the same on every call, so SQLAlchemy's memoized key and compiled
    cache serve it. The named parameters are required: a value not passed raises, never binds
    a stale one.

    A call whose parts cannot be keyed (no cache key, a string order), share a bound value
    between parts, or take a window (``limit``/``offset``: dialects render those their own
    way) gets ``None``, and builds its statement as before.

    The commonest criterion, a column compared with a value (``Trip.trip_id == key``), is keyed
    without SQLAlchemy's cache key (which costs, on a new criterion, a third of building it):
    by the column's identity, the operator and the value's type, all that its SQL depends on.
    The kept statement holds on to those columns, so that an identity names no other column
    while its key is kept.
    """

    LIMIT = 128
    """Structures kept per plan: past it, new structures build their statement per call."""

    def __init__(self, build: Callable[[tuple[Any, ...], tuple[Any, ...]], Select[Any]]) -> None:
        self.build = build
        """``build(criteria, order_by)``: the statement of a call."""
        self.statements: dict[Any, tuple[Select[Any], tuple[str, ...], list[Any]]] = {}
        """Structure key -> the statement, its parameters' names and the columns keyed by
        identity (kept alive with the key)."""
        self.lock = threading.Lock()

    def get(self, request: FetchRequest) -> tuple[Select[Any], dict[str, Any]] | None:
        """The statement for ``request`` and its parameters, or ``None`` (build it)."""
        if request.windowed:
            return None
        keys: list[Any] = [len(request.criteria)]
        binds: list[BindParameter[Any]] = []
        columns: list[Any] = []
        for part in (*request.criteria, *request.order_by):
            element = _element(part)
            simple = _simple_comparison(element)
            if simple is not None:
                keys.append(simple)
                binds.append(element.right)
                columns.append(element.left)
                continue
            found = None if element is None else element._generate_cache_key()
            if found is None:
                return None
            keys.append(found.key)
            binds += found.bindparams
        key = tuple(keys)
        found = self.statements.get(key)
        if found is None:
            if len({id(b) for b in binds}) != len(binds) or len(self.statements) >= self.LIMIT:
                return None
            names = tuple(f"treeshape_{i}" for i in range(len(binds)))
            with self.lock:
                found = self.statements.setdefault(
                    key, (self._named(request, binds), names, columns)
                )
        stmt, names, _ = found
        return stmt, dict(zip(names, [b.effective_value for b in binds], strict=True))

    def _named(self, request: FetchRequest, binds: list[BindParameter[Any]]) -> Select[Any]:
        """The call's statement with its bound values replaced by named, required parameters."""
        index = {id(b): i for i, b in enumerate(binds)}

        def replace(element: Any, **kw: Any) -> Any:
            i = index.get(id(element))
            if i is None or not isinstance(element, BindParameter):
                return None
            named: BindParameter[Any] = bindparam(
                f"treeshape_{i}",
                type_=element.type,
                required=True,
                expanding=element.expanding,
                literal_execute=element.literal_execute,
            )
            named.expand_op = element.expand_op
            return named

        def named(parts: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(visitors.replacement_traverse(_element(p), {}, replace) for p in parts)

        return self.build(named(request.criteria), named(request.order_by))


_COMPARISONS = frozenset(
    (operators.eq, operators.ne, operators.lt, operators.le, operators.gt, operators.ge)
)


def _simple_comparison(element: Any) -> tuple[Any, ...] | None:
    """The structure key of ``column <op> value`` (`CallStatements`), else ``None``."""
    if type(element) is not BinaryExpression or element.operator not in _COMPARISONS:
        return None
    left, right = element.left, element.right
    if (
        not isinstance(left, Column)
        or type(right) is not BindParameter
        or right.type is not left.type
        or right.expanding
        or right.literal_execute
        or right.callable is not None
        or element.modifiers
    ):
        return None
    return ("column comparison", id(left), element.operator, element.negate, type(element.type))


def _element(part: Any) -> Any:
    """A criterion's or order's clause element (an ORM attribute's column), or ``None``."""
    if isinstance(part, ClauseElement):
        return part
    clause_element = getattr(part, "__clause_element__", None)
    return None if clause_element is None else clause_element()
