"""Every invalid spec raises SpecError when the shape is defined, with a helpful message."""

from __future__ import annotations

import re
from typing import Any

import pytest

import treeshape as ts
from tests.models import Gadget, Journey, Line, Place


def spec_error(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(ts.SpecError) as info:
        ts.shape(*args, **kwargs)
    assert isinstance(info.value, ValueError)  # SpecError is a ValueError
    return str(info.value)


def test_relationship_typo_names_model_path_and_suggestion() -> None:
    message = spec_error(Line, "journies.calls")
    assert "Line has no relationship 'journies'" in message
    assert "'journies.calls'" in message
    assert "Did you mean 'journeys'?" in message
    assert "Relationships of Line: operator, journeys" in message


def test_typo_deep_in_a_path_names_the_full_path() -> None:
    message = spec_error(Line, "journeys.calls.plaec")
    assert "Call has no relationship 'plaec'" in message
    assert "'journeys.calls.plaec'" in message
    assert "Did you mean 'place'?" in message


def test_typo_in_a_mapping_key() -> None:
    message = spec_error(Line, {"journeys": {"cals": {}}})
    assert "Journey has no relationship 'cals'" in message
    assert "'journeys.cals'" in message
    assert "Did you mean 'calls'?" in message


def test_path_through_a_column() -> None:
    message = spec_error(Line, "journeys.headsign.foo")
    assert "'journeys.headsign.foo' goes through Journey.headsign" in message
    assert "field, not a relationship" in message


def test_path_ending_at_a_column_points_to_fields() -> None:
    message = spec_error(Line, "journeys.headsign")
    assert "ends at Journey.headsign, which is a field" in message
    assert "fields={'Journey': [..., 'headsign']}" in message


def test_field_typo() -> None:
    message = spec_error(Place, fields=["place_id", "nmae"])
    assert "Place has no field 'nmae'" in message
    assert "Did you mean 'name'?" in message
    assert "Fields of Place: place_id, name" in message


def test_field_typo_for_a_nested_model_by_class_and_by_name() -> None:
    message = spec_error(Line, "journeys", fields={Journey: ["headsing"]})
    assert "Journey has no field 'headsing'. Did you mean 'headsign'?" in message
    message = spec_error(Line, "journeys", fields={"Journey": ["headsing"]})
    assert "Journey has no field 'headsing'" in message


def test_unknown_model_name_in_fields() -> None:
    message = spec_error(Line, "journeys", fields={"Journy": ["headsign"]})
    assert "fields= names the model 'Journy', which is not in this shape of Line" in message
    assert "Did you mean 'Journey'?" in message
    assert "Models in this shape: Journey, Line" in message


def test_model_not_in_the_shape() -> None:
    message = spec_error(Line, "journeys", fields={Place: ["name"]})
    assert "fields= names the model Place, which is not in this shape of Line" in message


def test_field_listed_twice() -> None:
    message = spec_error(Place, fields=["name", "place_id", "name"])
    assert "Place.name is listed twice" in message


def test_relationship_listed_as_a_field() -> None:
    message = spec_error(Place, fields=["name", "parent"])
    assert "Place.parent is a relationship, not a field" in message
    assert "include it with a path such as 'parent'" in message


def test_fields_given_as_a_string() -> None:
    message = spec_error(Place, fields="name")
    assert "not a string: did you mean fields=['name']?" in message
    message = spec_error(Line, "journeys", fields={"Journey": "headsign"})
    assert "The fields of Journey must be a list of field names, got str 'headsign'" in message


def test_non_string_field_name() -> None:
    message = spec_error(Place, fields=["name", 3])
    assert "The fields of Place must be strings, got int 3" in message


def test_non_string_path_segment() -> None:
    message = spec_error(Line, {"journeys": {1: {}}})
    assert "non-string key 1 (int) at 'journeys'" in message
    message = spec_error(Line, 42)
    assert "Invalid include spec for Line: int 42" in message
    message = spec_error(Line, ["journeys", None, b"calls"])
    assert "bytes b'calls'" in message


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("journeys..calls", "Empty segment in include path 'journeys..calls'"),
        (".journeys", "Empty segment in include path '.journeys'"),
        ("journeys.", "Empty segment in include path 'journeys.'"),
        ("journeys,,operator", "remove the extra comma"),
        ("", "Empty include path for Line"),
        ("   ", "Empty include path for Line"),
        ({"journeys": {"": {}}}, "empty key at 'journeys'"),
        ({"journeys": ""}, "Empty include path for Line under 'journeys'"),
    ],
)
def test_empty_segments(spec: Any, expected: str) -> None:
    assert expected in spec_error(Line, spec)


def test_whitespace_inside_a_segment() -> None:
    message = spec_error(Line, "journeys. calls")
    assert "white space in the segment ' calls'. Did you mean 'calls'?" in message


def test_cycle_without_a_depth_bound() -> None:
    spec: dict[str, Any] = {}
    spec["parent"] = spec
    message = spec_error(Place, spec)
    assert "contains itself" in message
    assert "cycle without a depth bound" in message


def test_runaway_depth() -> None:
    message = spec_error(Place, ".".join(["parent"] * 40))
    assert "nests deeper than 32 relationships" in message


def test_composed_shape_of_the_wrong_model() -> None:
    place_brief = ts.shape(Place, fields=["name"])
    message = spec_error(Line, {"journeys": place_brief})
    assert "The shape given at 'journeys' is a shape of Place" in message
    assert "the model is Journey" in message


def test_fields_for_a_model_only_inside_a_composed_shape() -> None:
    place_brief = ts.shape(Place, fields=["name"])
    message = spec_error(Journey, {"calls": {"place": place_brief}}, fields={Place: ["place_id"]})
    assert "comes from a composed shape, which keeps its own fields" in message


def test_false_in_a_mapping() -> None:
    message = spec_error(Line, {"journeys": False})
    assert "leave the key out" in message


def test_private_column() -> None:
    message = spec_error(Gadget, fields=["gadget_id", "secret"])
    assert "Gadget.secret is private" in message


def test_not_a_mapped_class() -> None:
    class Plain:
        pass

    assert "Plain is not a mapped SQLAlchemy class" in spec_error(Plain)
    assert "shape() needs a mapped class, got str" in spec_error("Line")


def test_bad_name() -> None:
    assert "must be a Python identifier" in spec_error(Line, name="route detail")


def test_name_used_by_another_shape() -> None:
    first = ts.shape(Line, "journeys", name="LineWithJourneysForNameTest")
    again = ts.shape(Line, "journeys", name="LineWithJourneysForNameTest")  # same tree: fine
    assert again == first
    message = spec_error(Line, "operator", name="LineWithJourneysForNameTest")
    assert "already used by another shape" in message


def test_narrow_outside_the_shape() -> None:
    detail = ts.shape(Line, "journeys.calls")
    with pytest.raises(ts.SpecError, match=re.escape("Cannot narrow to 'journeys.calls.place'")):
        detail.narrow("journeys.calls.place")
    with pytest.raises(ts.SpecError, match="Did you mean 'journeys'"):
        detail.narrow("journey")
    with pytest.raises(ts.SpecError, match=re.escape("Paths in this shape: journeys")):
        detail.narrow("operator")
    with pytest.raises(ts.SpecError, match=re.escape("Cannot narrow to the field Journey.line_id")):
        ts.shape(Line, "journeys", fields={Journey: ["journey_id"]}).narrow(
            fields={Journey: ["line_id"]}
        )
    with pytest.raises(ts.SpecError, match="not in this shape of Line"):
        detail.narrow(fields={"Place": ["name"]})
