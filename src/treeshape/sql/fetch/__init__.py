"""`fetch` and `fetch_json`: a shape's document straight from the database, no ORM objects.

ORM object materialization is most of the cost of a request, so `fetch` never builds an object.
Two strategies produce the same output as ``shape.dump(objs, many=True)`` of the rows loaded
with ``loader_options()``:

``core``
    One SELECT of only the needed columns for the roots and one per relationship of the shape.
    Each relationship's statement is driven by the keys its parents' level fetched, as bound
    values (a subquery of them past `core.bound_limit`), so the statement count is
    ``1 + relationships`` whatever the number of rows, with no batching. Rows are stitched into
    dicts in Python by generated code and converted with the same converters as the dumper, so
    every column type any dialect can load works.
``json``
    One statement whose correlated subqueries build the whole document in the database
    (SQLite ``json_object``/``json_group_array``; PostgreSQL text built with ``concat`` and
    ``string_agg``, since ``json_build_object`` prints spaced separators), byte for byte what
    ``dump_json`` writes. Values are converted to Pydantic's JSON conventions in SQL (see
    `treeshape.sql.fetch.dialects`); a column whose exact JSON form cannot be produced in SQL
    makes the whole shape use ``core`` instead (or raises `FetchError` when
    ``strategy="json"`` was asked for).

``strategy="auto"`` uses ``json`` where the dialect's `JsonDialect.prefers` says so for the
shape (set from measurement, ``python -m benchmarks.fetch_limits --instructions``) and ``core``
elsewhere; a database without a JSON dialect (`treeshape.sql.fetch.dialects`) always uses
``core``.

Ordering follows DESIGN.md: roots in primary-key order unless ``order_by=`` is given (the
primary key then breaks ties), each collection in its relationship's ``order_by`` then the
target's primary key. A many-to-one target reached from several parents is one shared dict.

Not computable in SQL: Python ``@property`` fields (`FetchError` naming them) and hybrids without
a SQL expression. Hybrids *with* one are selected as that expression, which must agree with the
Python side. Column-property expressions are selected as they are mapped. A computed field
(``ts.computed``) is selected as its ``sql=`` expression built on the row's entity; one without
``sql=`` is not computable (`FetchError` naming it).

A many-to-many relationship selects its targets with a membership test, ``target IN (SELECT
... FROM <secondary> WHERE <secondary>.parent_col = parent.key)``, read under a DISTINCT
secondary's DISTINCT, wherever that gives the same rows as the join (`treeshape.secondary`):
SQLite does not push a parent's condition into a DISTINCT subquery, and would otherwise
materialize all of it per statement.

Per call, only the criteria, order and limit are new: the JSON document stands behind a constant
cache key (`_Document`), so SQLAlchemy's compiled cache serves every call whose criteria have
the same structure, and a Session's statements run on its connection as Core (`_execute`).

Relationship options (issue 7), without adding statements: ``order_by`` replaces a
collection's order (`options.collection_order`); ``where`` is one more condition of the
relationship's statement (Core) or correlated subquery (JSON); ``limit``/``offset`` per parent
are a ``row_number() OVER (PARTITION BY <parent key> ORDER BY ...)`` window in Core (in the rows
statement, whose fetched keys then drive the levels below, so both see the same rows) and a
``LIMIT``/``OFFSET`` of the correlated subquery in JSON (which runs per parent anyway); through a
secondary, both number the rows of the parent's join or membership test, so a target listed
twice for a parent takes two places, as in the ORM's collection; counts are
a correlated ``count(*)`` column of the parents' statement (`counting.count_expression`); ids of a
many-to-one are the parent's foreign key columns (no statement), ids of a collection a level that
selects only the targets' keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import orjson
from sqlalchemy.engine import Dialect

from ...tree import ShapeNode
from .core import run_core
from .dialects import JSON_DIALECTS
from .json import DocumentExpression, NoDocumentText, json_plans, run_json
from .request import Document, FetchError, FetchRequest, Strategy

__all__ = ["Document", "FetchError", "Strategy", "fetch", "fetch_json"]


# -- entry points ------------------------------------------------------------------------------


def fetch(
    node: ShapeNode,
    session: Any,
    criteria: Sequence[Any],
    *,
    order_by: Any = None,
    limit: int | None = None,
    offset: int | None = None,
    strategy: Strategy = "auto",
) -> list[Document]:
    """The JSON-ready documents of the roots matching ``criteria`` (see the module doc)."""
    request = FetchRequest.make(node, session, criteria, order_by, limit, offset)
    doc = json_plan(node, request.dialect, strategy)
    if doc is not None:
        try:
            return list(orjson.loads(run_json(node, request, doc)))
        except NoDocumentText:
            if strategy != "auto":
                raise
    return run_core(node, request)


def fetch_json(
    node: ShapeNode,
    session: Any,
    criteria: Sequence[Any],
    *,
    order_by: Any = None,
    limit: int | None = None,
    offset: int | None = None,
    strategy: Strategy = "auto",
) -> bytes:
    """`fetch` as JSON bytes (an array), straight from the database's text where it can."""
    request = FetchRequest.make(node, session, criteria, order_by, limit, offset)
    doc = json_plan(node, request.dialect, strategy)
    if doc is not None:
        try:
            return run_json(node, request, doc)
        except NoDocumentText:
            if strategy != "auto":
                raise
    return orjson.dumps(run_core(node, request))


def choose(node: ShapeNode, dialect: Dialect, strategy: Strategy) -> Literal["core", "json"]:
    """The strategy a call runs: ``strategy`` checked against what the tree and database allow."""
    return "core" if json_plan(node, dialect, strategy) is None else "json"


def json_plan(node: ShapeNode, dialect: Dialect, strategy: Strategy) -> DocumentExpression | None:
    """The JSON plan a call runs, or ``None`` where it runs the Core strategy (`choose`)."""
    if strategy == "core":
        return None
    if strategy not in ("auto", "json"):
        raise FetchError(f"fetch(strategy=...) must be 'auto', 'core' or 'json', got {strategy!r}.")
    dialect_class = JSON_DIALECTS.get(dialect.name)
    if strategy == "auto" and (dialect_class is None or not dialect_class.prefers(node)):
        return None
    plan = json_plans(node).get(dialect)
    if isinstance(plan, str):
        if strategy == "json":
            raise FetchError(f"fetch(strategy='json') is not possible here: {plan}")
        return None
    doc: DocumentExpression = plan
    return doc
