"""Property tests: for random specs and random data, every backend gives the same output.

For each example (drawn by `tests.strategies`): build a random network, pick a root model, a
random include tree (up to depth 4, self-reference included) and random field subsets, then
check that ``dump``, ``dump_json``, the marshmallow schema and the Pydantic model all equal an
independent reference walk, that loading issues exactly the planned number of statements, and
that serializing issues none. Each example runs on SQLite and on PostgreSQL (``core_db``), with
the same assertions: the planned statement count depends on the data only, so it is the same
number on both.
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
from tests.core.reference import planned_statements, reference_dump
from tests.factories import NetworkSpec, build_network
from tests.statements import StatementCounter
from tests.strategies import COLUMNS, Spec, networks, specs, tree_paths


def spec_forms(spec: Spec, draw: st.DrawFn) -> list[Any]:
    """The same include tree written as a mapping, lists of paths and a string."""
    forms: list[Any] = [spec.tree, spec.paths, tree_paths(spec.tree)]
    if spec.paths:
        forms.append(",".join(draw(st.permutations(spec.paths))))
    return forms


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), network=networks, data=st.data())
def test_every_backend_equals_the_reference(
    core_db: CoreDb, spec: Spec, network: NetworkSpec, data: st.DataObject
) -> None:
    root, tree, fields = spec
    shapes = [ts.shape(root, form, fields=fields) for form in spec_forms(spec, data.draw)]
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
