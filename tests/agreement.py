"""Every backend against every other and against the independent reference, on one database.

`assert_backends_agree` loads a shape's roots with ``loader_options()`` (exactly the planned
number of statements, `tests.core.reference.planned_statements`), serializes them with
``dump``, ``dump_json``, the marshmallow schema and the Pydantic model (no statement at all),
fetches them with ``fetch``/``fetch_json`` in both strategies, and compares every output with
`tests.core.reference.reference_dump`, key order included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Column, Engine, inspect, select, text
from sqlalchemy.orm import Session

import treeshape as ts
from tests.core.reference import Tree, planned_statements, reference_dump
from tests.databases import Db
from tests.statements import StatementCounter

__all__ = ["STRATEGIES", "assert_backends_agree", "column_names", "serialized", "without_jit"]

STRATEGIES = ("core", "json")
"""Both `fetch` strategies: each must equal the ORM's output."""


def without_jit(db: Db) -> Db:
    """``db`` with PostgreSQL's JIT off for its (throwaway) database; SQLite as it is.

    The tables are never analyzed, so PostgreSQL estimates a document with a few correlated
    subqueries above ``jit_above_cost`` and JIT-compiles its plan, for up to a second per
    statement on a loaded machine (measured: 1.1 s against 0.04 s for three relationships).
    The rows are the same either way.
    """
    if db.kind == "postgresql":
        with db.engine.begin() as conn:
            name = conn.execute(text("SELECT current_database()")).scalar_one()
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.execute(text(f"ALTER DATABASE {quoted} SET jit = off"))
        db.engine.dispose()  # new connections read the setting
    return db


def column_names(*models: type) -> dict[str, list[str]]:
    """Every public table column of each model, in mapper order: a shape's default fields
    (not column properties that are SQL expressions, nor treeshape's hidden count attributes)."""
    return {
        model.__name__: [
            p.key
            for p in inspect(model).column_attrs
            if not p.key.startswith("_") and isinstance(p.expression, Column)
        ]
        for model in models
    }


def serialized(shape: ts.Shape, objs: Sequence[Any]) -> dict[str, list[Any]]:
    """The four ORM backends' outputs for ``objs``, by backend name."""
    return {
        "dump": shape.dump(objs, many=True),
        "dump_json": orjson.loads(shape.dump_json(objs, many=True)),
        "marshmallow": shape.marshmallow_schema(many=True).dump(objs),
        "pydantic": [shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs],
    }


def assert_backends_agree(
    engine: Engine,
    shape: ts.Shape,
    tree: Tree | None,
    *,
    fields: Mapping[str, list[str]],
    defaults: Mapping[str, list[str]],
    criteria: Sequence[Any] = (),
    statements: int | None = None,
    fetchable: bool = True,
    expected: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every backend's output of ``shape``'s roots matching ``criteria`` (in primary-key order)
    equals the reference walk of ``tree`` with ``fields`` (``defaults`` for models not named),
    or ``expected`` where given (ids and counts, which the reference walk does not know).

    Loading costs exactly the planned statements of ``tree`` (``None``: of ids and counts,
    which the reference does not plan) and ``statements``, when given;
    serializing none. ``fetchable=False`` for shapes `fetch` cannot compute (Python properties).
    """
    model = shape.model
    with Session(engine) as session, StatementCounter(engine) as counter:
        stmt = select(model).options(*shape.loader_options()).where(*criteria)
        objs = session.scalars(stmt.order_by(*inspect(model).primary_key)).all()
        if tree is not None:
            assert counter.count == planned_statements(list(objs), tree), counter.statements
        if statements is not None:
            assert counter.count == statements, counter.statements
        counter.reset()
        outputs = serialized(shape, objs)
        assert counter.count == 0, counter.statements  # serializing never queries
        if expected is None:
            assert tree is not None, "the reference walks a tree"
            expected = [
                reference_dump(o, tree, dict(fields), dict(defaults), model=model) for o in objs
            ]
    for backend, output in outputs.items():
        assert output == expected, backend
        # Key order too, at every level: fields in mapper order, then relationships.
        assert orjson.dumps(output) == orjson.dumps(expected), backend
    if fetchable:
        with Session(engine) as session:
            for strategy in STRATEGIES:
                got = shape.fetch(session, *criteria, strategy=strategy)
                assert got == expected, strategy
                raw = shape.fetch_json(session, *criteria, strategy=strategy)
                assert orjson.loads(raw) == expected, strategy
    return expected
