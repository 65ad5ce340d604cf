"""The JSON strategy: one statement whose correlated subqueries build the whole document.

The database writes the JSON text (see `treeshape.sql.fetch.dialects` for how each one does);
Python only joins the roots' texts into an array. The document expression is built once per
tree and dialect (`JsonPlans`) and stands behind a constant cache key (`DocumentExpression`),
so a call costs SQLAlchemy only the key of its criteria, order and limit.
"""

from __future__ import annotations

import decimal
import itertools
import math
import struct
import threading
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Numeric, Table, and_, case, null, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.orm import outerjoin as orm_outerjoin
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Alias, Select
from sqlalchemy.sql.visitors import InternalTraversal

from ...compat import decimal_scale
from ...inspection import FieldInfo
from ...tree import RelationNode, ShapeNode, memoize
from ..clauses import where_clauses
from ..counting import count_expression
from .core import run_core
from .dialects import json_dialect
from .dialects.base import FLOAT_MARKER, JsonDialect, Unsupported, json_key
from .relations import field_expression, joinable_lookup, local_keys, remote_keys
from .request import CallStatements, FetchError, FetchRequest, execute

__all__ = [
    "DocumentExpression",
    "JsonBuilder",
    "JsonPlans",
    "NoDocumentText",
    "json_plans",
    "restore",
    "run_json",
]


class JsonBuilder:
    """Builds the document expression of a tree for one dialect."""

    def __init__(self, ops: JsonDialect) -> None:
        self.ops = ops
        self.joined: dict[tuple[int, str], tuple[Any, Any]] = {}
        """(id of an entity, relationship name) -> (the entity, the document column of its
        many-to-one target in the derived table a dialect joined into the entity's FROM)
        (`join_lookups`)."""

    def join_lookups(self, node: ShapeNode, entity: Any, from_: Any) -> Any:
        """``from_`` with ``node``'s plain many-to-one targets LEFT JOINed on their primary key,
        so that their documents come from the same rows instead of a subquery per row.

        Sound where the join finds at most one row per row of ``from_`` (the relationship's
        remote columns are the target's primary key) and needs no LIMIT or window. The target
        is a derived table of its key and its document: the database computes each document
        where it reads the target's row (PostgreSQL: once per distinct key under a Memoize, or
        once per row of the table under a hash join), not once per row of ``from_``.
        The dialect may wrap the document (`JsonDialect.joined_document`).
        """
        for rel in node.relations:
            if not (rel.options.embed and not rel.options.ids and joinable_lookup(rel)):
                continue
            target: Any = aliased(rel.child.model)
            remotes = remote_keys(rel)
            doc = self.ops.joined_document(self.document(rel.child, target))
            table = (
                select(
                    *(getattr(target, k).label(f"_treeshape_k{i}") for i, k in enumerate(remotes)),
                    doc.label("_treeshape_doc"),
                )
                .where(*where_clauses(rel.options, target))
                .subquery()
            )
            condition = and_(
                *(
                    getattr(entity, local) == table.c[f"_treeshape_k{i}"]
                    for i, local in enumerate(local_keys(rel))
                )
            )
            from_ = orm_outerjoin(from_, table, condition)
            self.joined[(id(entity), rel.name)] = (entity, table.c._treeshape_doc)
        return from_

    def join_rows(self, node: ShapeNode, entity: Any, from_: Any, *, tables: int) -> Any:
        """``from_`` with ``node``'s plain many-to-one targets' own tables LEFT JOINed on their
        primary key (and, from each, its own targets', recursively), so that each target's
        document is built from the joined row instead of by a subquery per row.

        For a database where a document does not cross a derived table's column as JSON
        (SQLite drops a value's JSON subtype there): no derived table, the document is built
        in the SELECT that joins, NULL where the join found no row (the target's key is then
        NULL, where a matched row's equals the foreign key). Sound where `join_lookups` is,
        for a target mapped to one table (joined inheritance or a mapped select would put a
        derived table or a join under the outer join); ``tables`` joins at most (SQLite joins
        64 tables in one SELECT), the rest keep their subqueries.
        """
        return self._join_rows(node, entity, from_, tables)[0]

    def _join_rows(self, node: ShapeNode, entity: Any, from_: Any, tables: int) -> Any:
        """`join_rows`, and how many more tables may be joined."""
        for rel in node.relations:
            if not (tables and rel.options.embed and not rel.options.ids and joinable_lookup(rel)):
                continue
            target: Any = aliased(rel.child.model)
            selectable = sa_inspect(target).selectable
            if not (isinstance(selectable, Alias) and isinstance(selectable.element, Table)):
                continue
            remotes = remote_keys(rel)
            condition = and_(
                *(
                    getattr(entity, local) == getattr(target, remote)
                    for local, remote in zip(local_keys(rel), remotes, strict=True)
                ),
                *where_clauses(rel.options, target),
            )
            from_, tables = self._join_rows(
                rel.child, target, orm_outerjoin(from_, target, condition), tables - 1
            )
            matched = getattr(target, remotes[0]).is_not(None)
            self.joined[(id(entity), rel.name)] = (
                entity,
                case((matched, self.document(rel.child, target))),
            )
        return from_, tables

    def lookup(self, rel: RelationNode, entity: Any) -> Any:
        """The document of ``rel`` on ``entity``: its joined document (NULL where the join
        found no row), or a subquery."""
        found = self.joined.get((id(entity), rel.name))
        if found is None:
            return self.ops.scalar(self, rel, entity)
        return found[1]

    def document(self, node: ShapeNode, entity: Any) -> Any:
        if len(node.fields) + sum(len(r.outputs) for r in node.relations) > self.ops.max_keys:
            raise Unsupported(
                f"{node.info.name}: more keys than one {self.ops.name} JSON object takes"
            )
        pairs: list[Any] = []
        for f in node.fields:
            pairs += [json_key(node.key(f.name)), self.ops.value(f, field_expression(entity, f))]
        for rel in node.relations:
            options = rel.options
            if rel.render == "ids" and not rel.many:
                columns = [getattr(entity, k) for k in rel.id_locals]
                pairs += [json_key(node.key(rel.name)), self.key(rel.child.fields, columns)]
            elif rel.render != "none":
                expr = (
                    self.ops.collection(self, rel, entity) if rel.many else self.lookup(rel, entity)
                )
                pairs += [json_key(node.key(rel.name)), expr]
            if options.count is not None:
                pairs += [json_key(node.key(options.count)), count_expression(rel, entity)]
        return self.ops.object(pairs)

    def item(self, rel: RelationNode, entity: Any) -> Any:
        """One element of a collection: the target's document, or its key for ids."""
        if rel.render == "ids":
            fields = rel.child.fields
            return self.key(fields, [getattr(entity, f.name) for f in fields])
        return self.document(rel.child, entity)

    def key(self, fields: Sequence[FieldInfo], columns: list[Any]) -> Any:
        """A key as JSON: its value, or an array of values (NULL if a part is NULL)."""
        values = [self.ops.value(f, c) for f, c in zip(fields, columns, strict=True)]
        if len(values) == 1:
            return values[0]
        nulls = [c.is_(None) for c in columns]
        return case((or_(*nulls), null()), else_=self.ops.array(values))


class JsonPlans:
    """A tree's JSON document expression per dialect name, or why it has none."""

    def __init__(self, node: ShapeNode) -> None:
        self.node = node
        self.plans: dict[str, Any] = {}
        self.lock = threading.Lock()

    def get(self, dialect: Dialect, *, fallback: bool = False) -> Any:
        """The root document expression for ``dialect``, or a string saying why not;
        ``fallback``: that of the dialect's `JsonDialect.fallback`, for a root whose text came
        back NULL."""
        key = dialect.name + (" fallback" if fallback else "")
        try:
            return self.plans[key]
        except KeyError:
            pass
        with self.lock:
            if key not in self.plans:
                self.plans[key] = self._build(dialect, fallback)
            return self.plans[key]

    def _build(self, dialect: Dialect, fallback: bool) -> Any:
        ops = json_dialect(dialect)
        if isinstance(ops, str):
            return ops
        if fallback:
            ops = ops.fallback()
        try:
            root = JsonBuilder(ops).document(self.node, self.node.model)
        except Unsupported as error:
            return str(error)
        doc = DocumentExpression(ops.root(root), self.node, ops)
        doc.falls_back = not fallback and ops.fallback() is not ops
        doc.reencode, doc.marks = ops.reencode, ops.marks or ops.reencode
        doc.marker = ops.marker
        return doc


@memoize
def json_plans(node: ShapeNode) -> JsonPlans:
    return JsonPlans(node)


class DocumentExpression(ColumnElement[Any]):
    """A tree's document expression behind a constant cache key.

    SQLAlchemy computes the cache key of a statement on every execution, walking the whole
    expression: for a document of a few hundred columns and subqueries that is most of the cost
    of a small `fetch_json`. The document never changes (the tree and the dialect fix it), so it
    is keyed by a token unique to this plan (never reused: a counter, not an ``id``); the key of a
    call's statement is then that of its criteria, order and limit, and SQLAlchemy's compiled
    cache serves every call whose criteria have the same structure. The document's own bound
    values are constants of the plan, so the compiled form's values are always the right ones.
    """

    __visit_name__ = "treeshape_document"
    inherit_cache = True
    _traverse_internals = [("token", InternalTraversal.dp_string)]

    def __init__(self, doc: Any, node: ShapeNode, ops: JsonDialect) -> None:
        self.doc = doc
        self.rewrite = ops.rewrite
        self.falls_back = False
        """Whether a root's NULL text runs the dialect's `JsonDialect.fallback` document."""
        self.token = f"treeshape-document-{next(_document_tokens)}"
        self.type = doc.type
        # What every call starts from. The FROM is explicit: a root outputting no column of its
        # own (``fields=[]``, only relationships or nothing) would otherwise select from no table.
        self.statement: Select[Any] = ops.statement(select(self).select_from(node.model))
        self.key_order = [
            getattr(node.model, k).__clause_element__() for k in node.info.primary_key
        ]
        self.ordered = self.statement.order_by(*self.key_order)
        """`statement` in primary-key order: a call without ``order_by=`` only adds criteria."""
        self.calls = CallStatements(self.call_statement)
        """The statement of each structure of a call's criteria and order, built once."""
        self.reencode = False
        """Every row goes through `restore` (a column whose exact text only Python writes)."""
        self.marks = False
        """Rows may hold a float marker (`restore` those that do)."""
        self.marker = _MARKER
        """How a marker starts in the database's text (`JsonDialect.marker`)."""

    def call_statement(self, criteria: tuple[Any, ...], order_by: tuple[Any, ...]) -> Select[Any]:
        """The statement of a call with these criteria and order (the roots' window apart)."""
        if order_by:
            return self.statement.where(*criteria).order_by(*order_by, *self.key_order)
        return self.ordered.where(*criteria)

    def has_marker(self, text: str | bytes) -> bool:
        """Whether one root's text may hold a float marker: a search for the marker, after one
        for a backslash (memchr) where the marker has one (SQLite's, `dialects.sqlite`)."""
        if isinstance(text, str):
            return self.marker in text
        marker = self.marker.encode()
        return (b"\\" not in marker or b"\\" in text) and marker in text


_document_tokens = itertools.count()


@compiles(DocumentExpression)
def _compile_document(element: DocumentExpression, compiler: Any, **kw: Any) -> str:
    text: str = compiler.process(element.doc, **kw)
    return text


class NoDocumentText(FetchError):
    """A root's document came back NULL from the database (`run_json`): ``strategy="auto"``
    serves the call through the Core strategy instead; ``strategy="json"`` raises this."""


def run_json(node: ShapeNode, request: FetchRequest, doc: Any = None) -> bytes:
    """The roots' documents as one JSON array, by ``doc`` (the tree's plan for the request's
    dialect, looked up where not given)."""
    if doc is None:
        doc = json_plans(node).get(request.dialect)
    try:
        texts = _texts(node, request, doc)
        if None in texts and doc.falls_back:
            # The session cannot give this document's exact text (`JsonDialect.fallback`).
            doc = json_plans(node).get(request.dialect, fallback=True)
            texts = _texts(node, request, doc)
        if None in texts:
            raise NoDocumentText(
                f"The database gave no text for a {node.info.name} document of this fetch: "
                "MariaDB and MySQL answer NULL, with only a warning, for a result larger than "
                "max_allowed_packet. Raise the server's max_allowed_packet, or fetch with "
                "strategy='core', which builds the documents in Python."
            )
    except DBAPIError as error:
        if request.dialect.name == "sqlite" and "malformed JSON" in str(error.orig):
            # A stored JSON text that is not JSON: Core raises as the ORM would.
            return orjson.dumps(run_core(node, request))
        raise
    if doc.rewrite:
        return orjson.dumps([orjson.loads(text) for text in texts])
    if doc.marks:
        texts = [restore(node, t) if doc.reencode or doc.has_marker(t) else t for t in texts]
    return _array(texts)


def _texts(node: ShapeNode, request: FetchRequest, doc: Any) -> Sequence[Any]:
    """The roots' texts of ``doc`` for ``request``: the statement built once per structure of
    the call's criteria and order (`CallStatements`) where it can be, else built here."""
    found = doc.calls.get(request)
    if found is None:
        stmt = request.window(doc.call_statement(request.criteria, request.order_by))
        params = None
    else:
        stmt, params = found
    texts: Sequence[Any] = execute(node, request, stmt, params).scalars().all()
    return texts


def _array(texts: Sequence[str] | Sequence[bytes]) -> bytes:
    """The roots' JSON texts as one JSON array: one copy (not "[" + ... + "]", which copies
    twice more), and none to decode where the database gives bytes (`JsonDialect.root`)."""
    if not texts:
        return b"[]"
    if isinstance(texts[0], bytes):
        parts: list[Any] = [b"["]
        for text in texts:
            parts += (text, b",")
        parts[-1] = b"]"
        return b"".join(parts)
    parts = ["["]
    for text in texts:
        parts += (text, ",")
    parts[-1] = "]"
    return "".join(parts).encode()


# -- what only Python writes exactly -------------------------------------------------------------

_MARKER = '{"' + FLOAT_MARKER + '":'
_HEX = "0123456789abcdef"


def restore(node: ShapeNode, text: Any) -> Any:
    """One root's JSON text (str or bytes, returned as it came) with every float marker
    replaced by its float, encoded by orjson.

    A dialect marks the values its SQL cannot print as ``dump_json`` does (`float_marker`), and
    columns whose stored text orjson would write differently (JSON columns) make it re-encode
    every row. Markers are read only where the tree has a non-JSON column, so a stored JSON
    value that happens to look like one is left as it is.
    """
    doc = orjson.loads(text)
    _restorer(node)(doc)
    encoded = orjson.dumps(doc)
    return encoded if isinstance(text, bytes) else encoded.decode()


@memoize
def _restorer(node: ShapeNode) -> Callable[[Any], None]:
    """A function that replaces the markers in one document of ``node``, in place."""
    key = node.key
    scalars = [key(f.name) for f in node.fields if not isinstance(f.sa_type, JSON | Numeric)]
    # A Numeric's marker (SQLite) is the stored double, which the ORM formats at its scale.
    decimals = [
        (key(f.name), decimal_scale(f.sa_type))
        for f in node.fields
        if isinstance(f.sa_type, Numeric) and f.sa_type.asdecimal
    ]
    scalars += [
        key(f.name)
        for f in node.fields
        if isinstance(f.sa_type, Numeric) and not f.sa_type.asdecimal
    ]
    children: list[tuple[str, bool, Callable[[Any], None] | None]] = []
    for rel in node.relations:
        options = rel.options
        if not options.embed:
            continue
        if options.ids:
            children.append((node.key(rel.name), rel.many, None))
        else:
            children.append((node.key(rel.name), rel.many, _restorer(rel.child)))

    def fix(doc: Any) -> None:
        for name in scalars:
            doc[name] = _value(doc[name])
        for name, scale in decimals:
            if isinstance(value := doc[name], dict):
                doc[name] = str(decimal.Decimal(f"{_value(value):.{scale}f}"))
        for name, many, child in children:
            value = doc[name]
            if child is None:
                doc[name] = [_value(v) for v in value] if many else _value(value)
            elif many:
                for item in value:
                    child(item)
            elif value is not None:
                child(value)

    return fix


def _value(value: Any) -> Any:
    """A marker's float, each part of a composite key, or the value itself."""
    if isinstance(value, dict):
        payload = value[FLOAT_MARKER]
        if isinstance(payload, str):
            if len(payload) == 16 and not payload.strip(_HEX):
                # The double's eight bytes, big-endian, in hex.
                return struct.unpack(">d", bytes.fromhex(payload))[0]
            # Its shortest digits, ``NaN`` or ``Infinity`` (PostgreSQL's text): never 16 hex
            # digits (an exponent has a sign), and exact.
            return float(payload)
        m, q = payload
        return math.ldexp(m, q)
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value
