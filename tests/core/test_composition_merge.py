"""Composed shapes that have relationships, merged with each other and with inline paths.

`treeshape.binding` merges the relationships of the shapes composed at one place with the paths
the spec names there. For random specs, any sub-tree split into two overlapping parts, one
composed and one inline (or both composed), at the root or at any relationship, must give the
very shape the whole spec written inline gives (same generated classes), with the same output on
every backend and `fetch`, on SQLite and PostgreSQL; options meet by the documented rules.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect
from sqlalchemy.orm import Session

import treeshape as ts
from tests.agreement import assert_backends_agree, without_jit
from tests.core.conftest import CoreDb
from tests.core.reference import Tree
from tests.factories import NetworkSpec, build_network
from tests.models import Journey, Line, Operator, Place
from tests.strategies import COLUMNS, Spec, models_in, networks, specs, tree_paths


@pytest.fixture(scope="module")
def db(core_db: CoreDb) -> CoreDb:
    """This module's test-model tables, without PostgreSQL's JIT (`without_jit`)."""
    return without_jit(core_db)


def target(model: type, path: str) -> type:
    """The model at the dotted ``path`` below ``model``."""
    for name in filter(None, path.split(".")):
        model = inspect(model).relationships[name].mapper.class_
    return model


def subtree(tree: Tree, path: str) -> Tree:
    for name in filter(None, path.split(".")):
        tree = tree[name]
    return tree


def replaced(tree: Tree, path: str, value: Any) -> dict[str, Any]:
    """``tree`` with the value at ``path`` (a relationship path, not the root) replaced."""
    head, _, rest = path.partition(".")
    return {
        name: (value if not rest else replaced(sub, rest, value)) if name == head else sub
        for name, sub in tree.items()
    }


@st.composite
def halves(draw: st.DrawFn, tree: Tree) -> tuple[Tree, Tree]:
    """Two trees whose union is ``tree``: each relationship in one of them or in both."""
    first: Tree = {}
    second: Tree = {}
    for name, sub in tree.items():
        where = draw(st.sampled_from(["first", "second", "both"]))
        if where == "both":
            first[name], second[name] = draw(halves(sub))
        else:
            (first if where == "first" else second)[name] = sub
    return first, second


def inline_models(root: type, tree: Tree, composed_at: str, inline: Tree | None) -> set[str]:
    """Names of the models at the inline nodes of the outer spec: ``tree`` with the sub-tree at
    ``composed_at`` replaced by the ``inline`` half (``None``: both halves composed), without
    the node holding the composed shapes."""
    found: set[str] = set()

    def walk(model: type, sub: Tree, path: str) -> None:
        if path == composed_at:
            if inline is None:
                return
            sub = inline
        else:
            found.add(model.__name__)
        for name, child in sub.items():
            rel = inspect(model).relationships[name]
            walk(rel.mapper.class_, child, f"{path}.{name}" if path else name)

    walk(root, tree, "")
    return found


def fields_for(fields: dict[str, list[str]], names: set[str]) -> dict[str, list[str]]:
    return {name: columns for name, columns in fields.items() if name in names}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(max_depth=3), network=networks, data=st.data())
def test_composed_and_inline_merge_to_the_inline_shape(
    db: CoreDb, spec: Spec, network: NetworkSpec, data: st.DataObject
) -> None:
    root, tree, fields = spec
    at = data.draw(st.sampled_from(["", *tree_paths(tree)]), label="composed at")
    model = target(root, at)
    first, second = data.draw(halves(subtree(tree, at)), label="halves")
    both_composed = data.draw(st.booleans(), label="both composed")

    def composed(part: Tree) -> ts.Shape:
        names = {m.__name__ for m in models_in(model, part)}
        return ts.shape(model, part, fields=fields_for(fields, names))

    parts: list[Any] = [composed(first), composed(second) if both_composed else second]
    outer_fields = fields_for(
        fields, inline_models(root, tree, at, None if both_composed else second)
    )
    if at:
        merged = ts.shape(root, replaced(tree, at, parts), fields=outer_fields)
    else:
        merged = ts.shape(root, *parts, fields=outer_fields)

    inline = ts.shape(root, tree, fields=fields)
    assert merged == inline
    assert merged.pydantic_model is inline.pydantic_model
    assert merged.marshmallow_schema is inline.marshmallow_schema

    db.clean()
    with Session(db.engine) as session:
        build_network(session, network)
    assert_backends_agree(db.engine, merged, tree, fields=fields, defaults=COLUMNS)


# -- relationship options where composed shapes meet -------------------------------------------

windowed = ts.shape(Line, "journeys(order_by=-journey_id,limit=2)", fields=["line_id"])


def test_a_composed_shapes_options_stay_under_inline_paths(db: CoreDb) -> None:
    merged = ts.shape(Operator, {"lines": [windowed, "journeys.calls"]}, fields=["operator_id"])
    inline = ts.shape(
        Operator,
        "lines.journeys(order_by=-journey_id,limit=2).calls",
        fields={"Operator": ["operator_id"], "Line": ["line_id"]},
    )
    assert merged == inline
    db.clean()
    with Session(db.engine) as session:
        build_network(session, NetworkSpec(operators=2, lines=3, journeys_per_line=4))
        expected = merged.fetch(session, strategy="core")
    assert any(len(line["journeys"]) == 2 for op in expected for line in op["lines"])
    for op in expected:
        for line in op["lines"]:
            ids = [j["journey_id"] for j in line["journeys"]]
            assert ids == sorted(ids, reverse=True)
    assert_backends_agree(
        db.engine,
        merged,
        None,
        fields={},
        defaults=COLUMNS,
        statements=4,  # operators, lines, journeys (windowed), calls
        expected=expected,
    )


def test_the_same_options_given_inline_again_merge() -> None:
    again = ts.shape(Line, [windowed, "journeys(order_by=-journey_id,limit=2).calls"])
    assert again == ts.shape(
        Line, "journeys(order_by=-journey_id,limit=2).calls", fields=["line_id"]
    )
    assert (
        again.pydantic_model
        is ts.shape(
            Line, "journeys(order_by=-journey_id,limit=2).calls", fields=["line_id"]
        ).pydantic_model
    )


def test_other_options_inline_are_a_spec_error() -> None:
    with pytest.raises(
        ts.SpecError,
        match=r"The options of Line\.journeys at 'lines\.journeys' differ from those of the "
        r"composed shape there \(order_by=-journey_id,limit=2\); give them once\.",
    ):
        ts.shape(Operator, {"lines": [windowed, "journeys(limit=3)"]})


def test_composed_shapes_with_other_options_are_a_spec_error() -> None:
    other = ts.shape(Line, "journeys(limit=3)", fields=["line_id"])
    with pytest.raises(
        ts.SpecError, match=r"Composed shapes disagree on the options of Line\.journeys\."
    ):
        ts.shape(Operator, {"lines": [windowed, other]})


def test_composed_shapes_with_other_fields_are_a_spec_error() -> None:
    wide = ts.shape(Line, "operator", fields=["line_id", "name"])
    with pytest.raises(
        ts.SpecError,
        match=r"Shapes of Line with different fields meet at 'lines': "
        r"\['line_id', 'name'\] vs \['line_id'\]\. Compose one shape there\.",
    ):
        ts.shape(Operator, {"lines": [windowed, wide]})


def test_a_composed_shape_of_another_model_is_a_spec_error() -> None:
    with pytest.raises(
        ts.SpecError,
        match=r"The shape given at 'lines' is a shape of Journey, but at 'lines' the model is Line",
    ):
        ts.shape(Operator, {"lines": ts.shape(Journey, "calls")})


def test_fields_for_a_model_only_in_composed_shapes_is_a_spec_error() -> None:
    with pytest.raises(
        ts.SpecError, match=r"every Journey in this shape comes from a composed shape"
    ):
        ts.shape(Operator, {"lines": windowed}, fields={"Journey": ["journey_id"]})


def test_a_named_shape_composed_alone_keeps_its_class_and_merged_gets_its_own() -> None:
    brief = ts.shape(Place, "parent", fields=["place_id", "name"], name="PlaceBriefComposed")
    alone = ts.shape(Journey, {"calls": {"place": brief}})
    node = alone.node.relation("calls").child.relation("place").child  # type: ignore[union-attr]
    assert node is brief.node
    assert node.name == "PlaceBriefComposed"
    merged = ts.shape(Journey, {"calls": {"place": [brief, "children"]}})
    merged_node = merged.node.relation("calls").child.relation("place").child  # type: ignore[union-attr]
    assert merged_node.name is None
    assert [r.name for r in merged_node.relations] == ["parent", "children"]
    assert merged_node.field_names == ("place_id", "name")
