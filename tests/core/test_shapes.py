"""Shapes as users write them: normalization, composition, reuse, naming, narrowing."""

from __future__ import annotations

import typing

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.factories import NetworkSpec, build_network
from tests.models import Call, Journey, Line, Operator, Place


def test_equal_specs_written_differently_are_equal() -> None:
    forms = [
        ts.shape(Line, "journeys.calls.place", "operator"),
        ts.shape(Line, "operator, journeys.calls.place"),
        ts.shape(Line, "operator,journeys.calls.place,journeys.calls"),
        ts.shape(Line, {"journeys": {"calls": {"place": {}}}, "operator": None}),
        ts.shape(Line, {"journeys.calls": "place", "operator": True}),
        ts.shape(Line, ["operator", {"journeys": ["calls.place"]}]),
        ts.shape(Line, {"journeys": {"calls": {"place": ts.shape(Place)}}}, "operator"),
    ]
    assert all(f == forms[0] for f in forms)
    assert len({hash(f) for f in forms}) == 1
    assert all(f.node is forms[0].node for f in forms)  # interned
    assert forms[0].paths == ["operator", "journeys", "journeys.calls", "journeys.calls.place"]


def test_field_order_is_canonical() -> None:
    a = ts.shape(Place, fields=["name", "place_id"])
    b = ts.shape(Place, fields=["place_id", "name"])
    assert a == b
    assert a.fields == ("place_id", "name")


def test_different_specs_differ() -> None:
    assert ts.shape(Line, "journeys") != ts.shape(Line, "journeys.calls")
    assert ts.shape(Place) != ts.shape(Place, fields=["name"])
    assert ts.shape(Line) != ts.shape(Journey)


def test_composition_reuses_the_fragment_and_its_classes() -> None:
    place_brief = ts.shape(Place, fields=["place_id", "name"])
    by_line = ts.shape(Line, {"journeys": {"calls": {"place": place_brief}}})
    by_journey = ts.shape(Journey, {"calls": {"place": place_brief}})
    call_node = by_line.node.relation("journeys").child.relation("calls").child  # type: ignore[union-attr]
    assert call_node is by_journey.node.relation("calls").child  # type: ignore[union-attr]
    place_schema = place_brief.marshmallow_schema
    line_schema = by_line.marshmallow_schema
    nested = line_schema._declared_fields["journeys"].nested._declared_fields["calls"]  # type: ignore[attr-defined]
    assert nested.nested._declared_fields["place"].nested is place_schema
    place_model = place_brief.pydantic_model
    calls_model = typing.get_args(by_journey.pydantic_model.model_fields["calls"].annotation)[0]
    assert calls_model.model_fields["place"].annotation is place_model


def test_same_subtree_from_two_shapes_gives_the_identical_class() -> None:
    a = ts.shape(Line, "journeys.calls.place")
    b = ts.shape(Operator, "lines.journeys.calls.place")
    journeys_a = a.node.relation("journeys").child  # type: ignore[union-attr]
    journeys_b = b.node.relation("lines").child.relation("journeys").child  # type: ignore[union-attr]
    assert journeys_a is journeys_b
    assert ts.Shape(journeys_a).pydantic_model is ts.Shape(journeys_b).pydantic_model
    assert ts.Shape(journeys_a).marshmallow_schema is ts.Shape(journeys_b).marshmallow_schema


def test_composed_shape_with_more_paths_merges() -> None:
    place_brief = ts.shape(Place, fields=["place_id", "name"])
    merged = ts.shape(Journey, {"calls": {"place": place_brief}}, "calls.place.parent")
    place = merged.node.relation("calls").child.relation("place").child  # type: ignore[union-attr]
    assert place.field_names == ("place_id", "name")
    assert [r.name for r in place.relations] == ["parent"]


def test_fields_for_models_by_class_or_name() -> None:
    a = ts.shape(Line, "journeys", fields={Journey: ["headsign"], "Line": ["name"]})
    b = ts.shape(Line, "journeys", fields={"Journey": ["headsign"], Line: ["name"]})
    assert a == b
    assert a.fields == ("name",)


# Declared at import, as an app declares its shapes: the plain names are claimed in that order.
operator_detail = ts.shape(Operator, "lines.journeys")


def test_readable_unique_class_names() -> None:
    detail = operator_detail
    assert detail.pydantic_model.__name__ == "OperatorWithLines"
    assert detail.marshmallow_schema.__name__ == "OperatorWithLinesSchema"
    named = ts.shape(Operator, "lines", name="OperatorDetail")
    assert named.pydantic_model.__name__ == "OperatorDetail"
    assert named.marshmallow_schema.__name__ == "OperatorDetailSchema"
    # A different tree that would get the same derived name gets a stable suffix.
    other = ts.shape(Operator, "lines.operator")
    assert other.pydantic_model.__name__.startswith("OperatorWithLines_")
    assert other.pydantic_model.__name__ != detail.pydantic_model.__name__
    assert "__main__" not in other.pydantic_model.__name__


def test_narrow_keeps_exactly_the_paths_and_their_prefixes() -> None:
    detail = ts.shape(Line, "journeys.calls.place", "operator")
    assert detail.narrow("journeys").paths == ["journeys"]
    assert detail.narrow("journeys.calls").paths == ["journeys", "journeys.calls"]
    assert detail.narrow("operator", "journeys").paths == ["operator", "journeys"]
    assert detail.narrow() == detail
    assert detail.narrow("journeys.calls.place", "operator") == detail
    assert detail.narrow("journeys.calls.place", "operator").node is detail.node


def test_narrow_fields() -> None:
    detail = ts.shape(Line, "journeys.calls")
    narrowed = detail.narrow("journeys", fields={"Journey": ["journey_id"]})
    assert narrowed == ts.shape(Line, "journeys", fields={Journey: ["journey_id"]})
    assert detail.narrow(fields=["name"]).fields == ("name",)
    assert (
        detail.narrow(fields={Call: []})
        .node.relation("journeys")
        .child.relation(  # type: ignore[union-attr]
            "calls"
        )
        .child.field_names
        == ()
    )


def test_narrowed_dump(session: Session) -> None:
    build_network(session, NetworkSpec(lines=1, journeys_per_line=2))
    detail = ts.shape(Line, "journeys.calls.place")
    line = session.scalars(select(Line).options(*detail.loader_options())).one()
    narrowed = detail.narrow("journeys", fields={"Journey": ["journey_id"], "Line": ["name"]})
    assert narrowed.dump(line) == {
        "name": "L1",
        "journeys": [{"journey_id": 1}, {"journey_id": 2}],
    }


def test_dump_type_checks() -> None:
    shape = ts.shape(Line)
    with pytest.raises(TypeError, match="dumps Line objects, got Place"):
        shape.dump(Place(place_id=1, name="x"))
    with pytest.raises(TypeError, match=r"pass many=True"):
        shape.dump([Line()])
    with pytest.raises(TypeError, match="needs an iterable of Line objects"):
        shape.dump(Line(), many=True)


def test_repr() -> None:
    assert repr(ts.shape(Line, "journeys.calls", "operator")) == (
        "<Shape Line(operator journeys(calls))>"
    )


def test_explicit_name_taking_over_a_derived_name_without_classes() -> None:
    from treeshape.naming import class_name

    unnamed = ts.shape(Place, "children.children", fields={"Place": ["name", "lat"]})
    derived = class_name(unnamed.node)  # claimed at definition; no class made yet
    named = ts.shape(Place, "children", name=derived)
    assert named.pydantic_model.__name__ == derived
    assert named.marshmallow_schema.__name__ == derived + "Schema"
    assert unnamed.pydantic_model.__name__ != derived
    assert unnamed.pydantic_model.__name__.startswith(derived.split("_")[0])


def test_explicit_name_of_a_derived_tree_with_classes_is_refused() -> None:
    unnamed = ts.shape(Place, "parent.parent", fields={"Place": ["name", "code"]})
    generated = unnamed.pydantic_model.__name__
    with pytest.raises(ts.SpecError, match=f"'{generated}' is already used"):
        ts.shape(Place, "parent", name=generated)
