"""Output names that cannot be right are refused when the shape is defined (`SpecError`),
naming the model, the place and what to do."""

from __future__ import annotations

import pytest
from pydantic.alias_generators import to_camel
from sqlalchemy.orm import configure_mappers

import treeshape as ts
from tests.models import Call, Journey, Line, Place


@pytest.fixture(autouse=True)
def configured() -> None:
    """Shapes bind (and so check) at definition once the mappers are configured, as any
    query configures them; before that they bind at first use."""
    configure_mappers()


def initial(name: str) -> str:
    return name[:1]


def shout(name: str) -> str:
    return name.upper()


def test_two_fields_with_one_key_are_refused() -> None:
    with pytest.raises(ts.SpecError) as error:
        ts.shape(Line, fields=["line_id", "name"], names={"name": "line_id"})
    message = str(error.value)
    assert "Line" in message and "'line_id'" in message and "'name'" in message
    assert "names=" in message


def test_a_style_that_merges_two_outputs_is_refused_at_the_node() -> None:
    with pytest.raises(
        ts.SpecError,
        match=r"Call at 'journeys\.calls' have the output key 'p': 'place_id' and 'place'",
    ):
        ts.shape(
            Line,
            "journeys.calls.place",
            key_style=initial,
            fields={
                Line: ["line_id"],
                Journey: ["journey_id"],
                Call: ["place_id"],
                Place: ["name"],
            },
        )


def test_a_relationship_named_like_a_field_is_refused() -> None:
    with pytest.raises(ts.SpecError, match="'operator_id'"):
        ts.shape(Line, {"operator": ts.include(name="operator_id")})
    with pytest.raises(ts.SpecError, match="'name'"):
        ts.shape(Line, "operator", names={"operator": "name"})


def test_a_count_key_colliding_after_the_style_is_refused() -> None:
    with pytest.raises(ts.SpecError, match="'journeysCount'"):
        ts.shape(
            Line,
            {"journeys": ts.include(count=True)},
            fields=["line_id", "name"],
            names={"name": "journeysCount"},
            key_style=to_camel,
        )


def test_unknown_names_get_did_you_mean() -> None:
    with pytest.raises(ts.SpecError, match=r"renames 'nme'.*Did you mean 'name'\?"):
        ts.shape(Line, names={"nme": "title"})
    with pytest.raises(ts.SpecError, match=r"names= names the model 'Jorney'.*'Journey'"):
        ts.shape(Line, "journeys", names={"Jorney": {"headsign": "to"}})


def test_names_of_a_composed_model_are_the_composed_shapes_own() -> None:
    calls = ts.shape(Call)
    with pytest.raises(ts.SpecError, match="composed shape"):
        ts.shape(Journey, {"calls": calls}, names={Call: {"sequence": "n"}})


@pytest.mark.parametrize(
    ("style", "why"),
    [
        (lambda name: "", "non-empty string"),
        (lambda name: 3, "non-empty string"),
        (lambda name: name + "\\", "backslash"),
        (lambda name: name + "\n", "non-printable"),
        (lambda name: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_a_style_must_give_printable_text(style: object, why: str) -> None:
    with pytest.raises(ts.SpecError, match=why):
        ts.shape(Place, key_style=style)  # type: ignore[arg-type]


def test_bad_arguments_say_what_would_be_valid() -> None:
    with pytest.raises(ts.SpecError, match="callable"):
        ts.shape(Place, key_style="camel")  # type: ignore[arg-type]
    with pytest.raises(ts.SpecError, match="mapping of attribute name"):
        ts.shape(Place, names=["name"])  # type: ignore[arg-type]
    with pytest.raises(ts.SpecError, match="mixes"):
        ts.shape(Place, names={"name": "n", "Place": {"lat": "y"}})  # type: ignore[dict-item]
    with pytest.raises(ts.SpecError, match="non-empty output keys"):
        ts.shape(Place, names={"name": ""})
    with pytest.raises(ts.SpecError, match=r"name= of Line\.journeys"):
        ts.shape(Line, {"journeys": ts.include(name="")})
    with pytest.raises(ts.SpecError, match="name the count"):
        ts.shape(Line, {"journeys": ts.include(count=True, embed=False, name="j")})


def test_composed_shapes_with_other_names_do_not_merge() -> None:
    camel = ts.shape(Line, "operator", key_style=to_camel)
    plain = ts.shape(Line, "journeys")
    with pytest.raises(ts.SpecError, match="key styles or names"):
        ts.shape(Line, camel, plain)


def test_the_string_form_takes_name() -> None:
    assert ts.shape(Line, "journeys(name=trips)") == ts.shape(
        Line, {"journeys": ts.include(name="trips")}
    )


def test_equal_names_are_equal_shapes_and_share_classes() -> None:
    a = ts.shape(Line, "journeys", key_style=shout, names={"name": "title"})
    b = ts.shape(Line, {"journeys": {}}, key_style=shout, names={Line: {"name": "title"}})
    assert a == b and a.pydantic_model is b.pydantic_model
    assert a != ts.shape(Line, "journeys", key_style=shout)
    assert a.pydantic_model is not ts.shape(Line, "journeys").pydantic_model
