"""Computed fields agree across every backend and the reference, on SQLite, PostgreSQL, MariaDB.

Random shapes over `tests.computed.models` (random include trees, random column subsets,
random computed fields on every model of the tree, given per model through ``computed=``)
over random networks: ``dump``, ``dump_json``, marshmallow, Pydantic, ``fetch`` and
``fetch_json`` in both strategies equal the reference's documents, key order included, and
``fetch_json`` gives ``dump_json``'s bytes; the load costs exactly the statements of the tree
joined with the reads (`planned_statements`), and serializing none. The models are
``lazy="raise"``: a read the plan missed fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.agreement import STRATEGIES, column_names, serialized, without_jit
from tests.computed.models import (
    COMPUTED,
    CfBase,
    CfCall,
    CfLine,
    CfPlace,
    CfRun,
    NetworkSpec,
    build_network,
)
from tests.computed.reference import Chosen, reference_documents
from tests.core.reference import Tree
from tests.databases import ALL, Db, database
from tests.statements import StatementCounter
from tests.strategies import include_trees, models_in

MODELS: tuple[type, ...] = (CfLine, CfRun, CfCall, CfPlace)
COLUMNS = column_names(*MODELS)
FETCHABLE = {
    model: [name for name, c in fields.items() if c.sql is not None]
    for model, fields in COMPUTED.items()
}

networks = st.builds(
    NetworkSpec,
    lines=st.integers(0, 3),
    runs_per_line=st.integers(0, 3),
    calls_per_run=st.integers(0, 4),
    places=st.integers(1, 4),
    seed=st.integers(0, 9),
)


@pytest.fixture(scope="module", params=ALL)
def network_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, CfBase.metadata) as db:
        yield without_jit(db)


def fill(db: Db, spec: NetworkSpec) -> None:
    db.clean()
    with Session(db.engine) as session:
        build_network(session, spec)


@st.composite
def computed_shapes(
    draw: st.DrawFn, *, fetchable: bool
) -> tuple[type, Tree, dict[str, list[str]], Chosen]:
    """A root, a tree up to 3 deep, column subsets and computed fields per model of the tree."""
    root = draw(st.sampled_from(MODELS))
    tree = draw(include_trees(root, 3))
    fields: dict[str, list[str]] = {}
    chosen: dict[str, list[str]] = {}
    for model in sorted(models_in(root, tree), key=lambda m: m.__name__):
        name = model.__name__
        pool = FETCHABLE[name] if fetchable else list(COMPUTED[name])
        if draw(st.booleans()):
            fields[name] = draw(st.lists(st.sampled_from(COLUMNS[name]), unique=True))
        picked = draw(st.lists(st.sampled_from(pool), unique=True)) if pool else []
        if picked:
            chosen[name] = picked
    return root, tree, fields, chosen


def _check(db: Db, spec: tuple[type, Tree, dict[str, list[str]], Chosen], fetch: bool) -> None:
    root, tree, fields, chosen = spec
    computed = {model: {n: COMPUTED[model][n] for n in names} for model, names in chosen.items()}
    shape = ts.shape(root, tree, fields=fields, computed=computed)
    expected, statements = reference_documents(db.engine, root, tree, fields, chosen, COLUMNS)
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        stmt = select(root).options(*shape.loader_options())
        objs = session.scalars(stmt.order_by(*inspect(root).primary_key)).all()
        assert counter.count == statements, counter.statements
        counter.reset()
        outputs = serialized(shape, objs)
        dumped = shape.dump_json(objs, many=True)
        assert counter.count == 0, counter.statements
    for backend, output in outputs.items():
        assert orjson.dumps(output) == orjson.dumps(expected), backend  # key order too
    if fetch:
        with Session(db.engine) as session:
            for strategy in STRATEGIES:
                got = shape.fetch(session, strategy=strategy)
                assert orjson.dumps(got) == orjson.dumps(expected), strategy
                raw = shape.fetch_json(session, strategy=strategy)
                assert raw == dumped, strategy  # the same bytes


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=computed_shapes(fetchable=True), data=networks)
def test_computed_fields_agree_everywhere(
    network_db: Db, spec: tuple[type, Tree, dict[str, list[str]], Chosen], data: NetworkSpec
) -> None:
    fill(network_db, data)
    _check(network_db, spec, fetch=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=computed_shapes(fetchable=False), data=networks)
def test_python_only_computed_fields_agree_on_orm_objects(
    network_db: Db, spec: tuple[type, Tree, dict[str, list[str]], Chosen], data: NetworkSpec
) -> None:
    """With `PLACE_LINES` (no ``sql=``) too: the ORM backends agree; `fetch` refuses, naming
    the field and ``sql=``."""
    fill(network_db, data)
    root, tree, fields, chosen = spec
    python_only = "line_names" in chosen.get("CfPlace", [])
    _check(network_db, spec, fetch=not python_only)
    if python_only:
        computed = {m: {n: COMPUTED[m][n] for n in names} for m, names in chosen.items()}
        shape = ts.shape(root, tree, fields=fields, computed=computed)
        with Session(network_db.engine) as session:
            for strategy in STRATEGIES:
                with pytest.raises(ts.FetchError, match=r"CfPlace\.line_names.*without sql="):
                    shape.fetch(session, strategy=strategy)
