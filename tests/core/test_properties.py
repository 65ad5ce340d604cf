"""Property tests: for random specs and random data, every backend gives the same output.

For each example: build a random network, pick a root model, a random include tree (up to
depth 4, self-reference included) and random field subsets, then check that ``dump``,
``dump_json``, the marshmallow schema and the Pydantic model all equal an independent reference
walk, that loading issues exactly the planned number of statements, and that serializing issues
none. Each example runs on SQLite and on PostgreSQL (``core_db``), with the same assertions: the
planned statement count depends on the data only, so it is the same number on both.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.core.conftest import CoreDb
from tests.core.reference import Tree, planned_statements, reference_dump
from tests.factories import NetworkSpec, build_network
from tests.models import Journey, Line, Place
from tests.statements import StatementCounter

MODELS = {m.class_.__name__: m.class_ for m in Line.registry.mappers}
COLUMNS = {
    name: [p.key for p in inspect(model).column_attrs if p.key != "secret"]
    for name, model in MODELS.items()
}


@st.composite
def include_trees(draw: st.DrawFn, model: type, depth: int = 0) -> Tree:
    if depth >= 4:
        return {}
    rels = sorted(inspect(model).relationships.keys())
    chosen = draw(st.lists(st.sampled_from(rels), unique=True, max_size=2 if depth else 3))
    return {
        name: draw(include_trees(inspect(model).relationships[name].mapper.class_, depth + 1))
        for name in chosen
    }


def tree_paths(tree: Tree, prefix: str = "") -> list[str]:
    paths = []
    for name, sub in tree.items():
        path = f"{prefix}.{name}" if prefix else name
        paths.append(path)
        paths.extend(tree_paths(sub, path))
    return paths


def models_in(model: type, tree: Tree) -> set[str]:
    found = {model.__name__}
    for name, sub in tree.items():
        found |= models_in(inspect(model).relationships[name].mapper.class_, sub)
    return found


@st.composite
def cases(draw: st.DrawFn) -> tuple[type, Tree, dict[str, list[str]], NetworkSpec]:
    root = draw(st.sampled_from([Line, Place, Journey]))
    tree = draw(include_trees(root))
    fields: dict[str, list[str]] = {}
    for name in sorted(models_in(root, tree)):
        if draw(st.booleans()):
            fields[name] = draw(st.lists(st.sampled_from(COLUMNS[name]), unique=True))
    network = draw(
        st.builds(
            NetworkSpec,
            operators=st.integers(0, 2),
            lines=st.integers(0, 3),
            journeys_per_line=st.integers(0, 3),
            calls_per_journey=st.integers(0, 4),
            places=st.integers(0, 5),
            seed=st.integers(0, 50),
        )
    )
    return root, tree, fields, network


def spec_forms(root: type, tree: Tree, draw: st.DrawFn) -> list[Any]:
    """The same include tree written as a string, a mapping and a list of paths."""
    paths = tree_paths(tree)
    leaves = [p for p in paths if not any(q.startswith(p + ".") for q in paths)]
    forms: list[Any] = [tree, leaves]
    if leaves:
        forms.append(",".join(draw(st.permutations(leaves))))
    return forms


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), data=st.data())
def test_every_backend_equals_the_reference(
    core_db: CoreDb, case: tuple[type, Tree, dict[str, list[str]], NetworkSpec], data: st.DataObject
) -> None:
    root, tree, fields, network = case
    shapes = [ts.shape(root, form, fields=fields) for form in spec_forms(root, tree, data.draw)]
    shape = shapes[0]
    # Equal specs written differently are the same shape, with the same generated classes.
    assert all(other == shape for other in shapes)
    assert all(other.pydantic_model is shape.pydantic_model for other in shapes)
    assert all(other.marshmallow_schema is shape.marshmallow_schema for other in shapes)

    core_db.clean()
    engine = core_db.engine
    with Session(engine) as session:
        build_network(session, network)
    with Session(engine) as session, StatementCounter(engine) as counter:
        order = inspect(root).primary_key
        objs = session.scalars(select(root).options(*shape.loader_options()).order_by(*order))
        objs = objs.all()
        loaded = counter.count
        assert loaded == planned_statements(objs, tree)

        counter.reset()
        dumped = shape.dump(objs, many=True)
        as_json = orjson.loads(shape.dump_json(objs, many=True))
        by_marshmallow = shape.marshmallow_schema(many=True).dump(objs)
        by_pydantic = [shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs]
        assert counter.count == 0, counter.statements  # serializing never queries

        expected = [reference_dump(o, tree, fields, COLUMNS) for o in objs]
        assert dumped == expected
        assert as_json == expected
        assert by_marshmallow == expected
        assert by_pydantic == expected
        # Key order too: every backend writes fields in mapper order, then relationships.
        assert [list(d) for d in dumped] == [list(d) for d in expected]
