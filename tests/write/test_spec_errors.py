"""Shapes that cannot be written raise `SpecError` naming the path; bad options too."""

from __future__ import annotations

import pytest
from examples.transit.models import Route, Stop, StopTime, Trip

import treeshape as ts

from .edge_models import member_shape
from .models import Invoice, InvoiceLine


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (lambda: ts.shape(StopTime, "stop"), "many-to-one relationship and cannot be embedded"),
        (lambda: ts.shape(Trip, "calendar"), "viewonly"),
        (lambda: ts.shape(Invoice, "tags"), "many-to-many relationship and cannot be embedded"),
        (lambda: ts.shape(Route, {"trips": ts.include(ids=True)}), "one-to-many written by"),
        (
            lambda: ts.shape(Route, {"trips": ts.include(limit=3)}, fields=["route_id"]),
            "limit, offset or where",
        ),
        (
            lambda: ts.shape(
                StopTime, {"stop": ts.include(ids=True)}, fields=["stop_sequence", "stop_id"]
            ),
            "foreign key of the reference 'stop'",
        ),
        (lambda: ts.shape(Stop, fields=["stop_name"]), "part of Stop's primary key"),
    ],
)
def test_unwritable_shapes(shape: object, message: str) -> None:
    built = shape()  # type: ignore[operator]
    for call in (
        lambda: built.input_model("create"),
        lambda: built.input_schema("replace"),
    ):
        with pytest.raises(ts.SpecError, match=message):
            call()


def test_the_error_names_the_path() -> None:
    shape = ts.shape(Route, {"trips": {"stop_times": {"stop": {}}}}, fields={"Route": ["route_id"]})
    with pytest.raises(ts.SpecError, match=r"StopTime\.stop \(at 'trips\.stop_times\.stop'\)"):
        shape.input_model("create")


def test_on_missing_is_checked_when_the_shape_is_defined() -> None:
    with pytest.raises(ts.SpecError, match="must be one of 'error', 'delete', 'unlink', 'keep'"):
        ts.shape(Trip, {"stop_times": ts.include(on_missing="drop")})
    with pytest.raises(ts.SpecError, match="this one is many_to_one"):
        ts.shape(StopTime, {"stop": ts.include(ids=True, on_missing="delete")})
    # the string form takes it too
    shape = ts.shape(Trip, "stop_times(on_missing=delete)")
    assert shape.node.relations[0].options.on_missing == "delete"


def test_unlink_needs_a_nullable_foreign_key() -> None:
    shape = ts.shape(
        Invoice, {"lines": ts.include(on_missing="unlink")}, fields=["invoice_id", "number"]
    )
    with pytest.raises(ts.SpecError, match="on_missing='unlink'"):
        shape.input_model("replace")


def test_read_only_keys_are_refused_not_ignored() -> None:
    shape = ts.shape(
        InvoiceLine,
        {"product": ts.include(ids=True), "adjustments": ts.include(count=True, embed=False)},
        fields=["line_id", "quantity"],
    )
    model = shape.input_model("create")
    assert set(model.model_fields) == {"quantity", "product"}
    schema = shape.input_schema("create")()
    body = {"quantity": 1, "product": "A", "adjustments_count": 3, "invoice_id": 1}
    assert set(schema.validate(body)) == {"adjustments_count", "invoice_id"}


def test_private_columns_are_never_writable() -> None:
    from examples.transit.models import Agency

    model = ts.shape(Agency).input_model("create")
    assert "agency_internal_note" not in model.model_fields
    with pytest.raises(ts.InputError) as info:
        from treeshape.write import validate

        validate(ts.shape(Agency).node, {"agency_internal_note": "x"}, "patch")
    assert info.value.errors[0]["type"] == "extra_forbidden"
    with pytest.raises(ts.SpecError, match="private"):
        ts.shape(Agency, fields=["agency_id", "agency_internal_note"])


def test_keep_is_refused_on_a_one_to_one() -> None:
    """A replace that keeps the old child of a one-to-one would leave two rows where the
    relationship holds one."""
    with pytest.raises(ts.SpecError, match=r"Member\.bio.*on_missing='keep' on a one-to-one"):
        member_shape(bio="keep").input_model("replace")
    assert member_shape(bio="delete").input_model("replace").__name__
