"""The Pydantic input model and the marshmallow input schema accept and refuse the same bodies.

Property: for every mode of every shape here and any body (mostly near-valid: a wrong type, a
value too long, a key missing or unknown), both give the same verdict and, when they refuse,
problems at the same JSON paths.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import pytest
from examples.transit.models import Trip
from examples.transit.writes import trip_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import treeshape as ts
from treeshape.write import marshmallow_errors
from treeshape.write.plan import write_plan

from .models import invoice_in
from .strategies import bodies

SHAPES = {"invoice": invoice_in, "trip": trip_in}
MODES = ["create", "replace", "patch"]


def pydantic_verdict(shape: ts.Shape, mode: Any, body: Any) -> set[tuple[Any, ...]]:
    try:
        shape.input_model(mode).model_validate(body)
    except ValidationError as exc:
        return {tuple(e["loc"]) for e in exc.errors()}
    return set()


def marshmallow_verdict(shape: ts.Shape, mode: Any, body: Any) -> set[tuple[Any, ...]]:
    try:
        shape.input_schema(mode)().load(body)
    except ma.ValidationError as exc:
        return {tuple(e["loc"]) for e in marshmallow_errors(exc.messages)}
    return set()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SHAPES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_verdict_and_paths(name: str, mode: Any, data: st.DataObject) -> None:
    shape = SHAPES[name]
    body = data.draw(bodies(write_plan(shape.node), mode))
    assert pydantic_verdict(shape, mode, body) == marshmallow_verdict(shape, mode, body)


def given_values(value: Any) -> Any:
    """A validated body as what `load` reads of it: the keys it gives, at every level (an
    input model's instance or its twin's dictionary alike)."""
    if isinstance(value, ts.write.InputModel):
        return {k: given_values(getattr(value, k)) for k in value.model_fields_set}
    if isinstance(value, dict):
        return {k: given_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [given_values(v) for v in value]
    return value


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SHAPES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_load_validates_as_the_input_model(name: str, mode: Any, data: st.DataObject) -> None:
    """`load`'s validation (its `TypedDict` twin first, the limits' walk after it where the
    twin bounds every body it accepts) gives every body `validate`'s verdict: the same given
    values, or the same errors."""
    from treeshape.write.load import _models, _validate

    node = SHAPES[name].node
    body = data.draw(bodies(write_plan(node), mode))

    def verdict(run: Any) -> Any:
        try:
            return given_values(run())
        except ts.InputError as exc:
            return exc.errors

    model, twin, bounded = _models(node, mode, ts.write.DEFAULT_LIMITS)
    expected = verdict(lambda: ts.write.validate(node, body, mode))
    limits = ts.write.DEFAULT_LIMITS
    assert verdict(lambda: _validate(model, twin, body, limits, bounded=bounded)) == expected


def test_a_valid_body_loads_to_the_same_values() -> None:
    body = {
        "number": "N-1",
        "customer": 1,
        "issued": "2024-01-31",
        "total": "1.50",
        "lines": [{"quantity": 1, "product": "A"}],
    }
    model = invoice_in.input_model("create").model_validate(body)
    loaded = invoice_in.input_schema("create")().load(body)
    assert loaded == model.model_dump(exclude_unset=True)


def test_names_are_readable_and_unique() -> None:
    assert trip_in.input_model("create").__name__ == "TripCreate"
    assert trip_in.input_model("replace").__name__ == "TripReplace"
    assert trip_in.input_model("patch").__name__ == "TripPatch"
    assert trip_in.input_schema("create").__name__ == "TripCreateSchema"
    nested = trip_in.input_model("create").model_fields["stop_times"].annotation
    assert nested is not None and nested.__args__[0].__name__ == "StopTimeCreate"
    assert trip_in.input_model("create") is trip_in.input_model("create")  # cached on the tree
    other = ts.shape(Trip, fields=["trip_id", "route_id", "service_id"])
    assert other.input_model("create").__name__.startswith("TripCreate_")
