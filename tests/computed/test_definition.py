"""A computed field is checked when the shape is defined, and typed in the generated classes.

Every mistake is a `SpecError` naming the model, the field and what would be valid (read paths
get "did you mean"); the JSON Schema and the marshmallow schema declare the field with its
type, read-only; equal declarations give one shape (one interned tree).
"""

from __future__ import annotations

import enum
from typing import Any

import marshmallow as ma
import pytest
from pydantic import ValidationError
from sqlalchemy import String, func, literal_column, select
from sqlalchemy.orm import configure_mappers

import treeshape as ts
from tests.computed.models import (
    CALL_LABEL,
    RUN_CALLS,
    RUN_FIRST,
    CfCall,
    CfLine,
    CfPlace,
    CfRun,
)

# As after an application's first query: shapes bind (and check) when defined. (With mappers
# not configured yet, a shape binds at its first use, and raises there.)
configure_mappers()


def spec_error(match: str) -> Any:
    return pytest.raises(ts.SpecError, match=match)


def test_an_unknown_read_path_suggests_the_relationship() -> None:
    bad = ts.computed(len, type=int, reads=["call"])
    with spec_error(r"CfRun has no relationship 'call' .*Did you mean 'calls'\?"):
        ts.shape(CfRun, computed={"n": bad})
    deep = ts.computed(len, type=int, reads=["calls.plac"])
    with spec_error(r"CfCall has no relationship 'plac' \(in include path 'calls.plac'\)"):
        ts.shape(CfRun, computed={"n": deep})


def test_a_read_path_through_a_field_is_refused() -> None:
    bad = ts.computed(len, type=int, reads=["headsign"])
    with spec_error(r"ends at CfRun.headsign, which is a field, not a relationship"):
        ts.shape(CfRun, computed={"n": bad})


def test_a_read_path_with_options_is_refused() -> None:
    bad = ts.computed(len, type=int, reads=["calls(limit=2)"])
    with spec_error(r"plain dotted path of relationships"):
        ts.shape(CfRun, computed={"n": bad})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"type": list[int]}, r"type=\.\.\.\) must be a class"),
        ({"type": int | str}, r"type=\.\.\.\) must be a class"),
        ({"type": "int"}, r"type=\.\.\.\) must be a class"),
        ({"type": int, "reads": [3]}, r"dotted include path strings"),
        ({"type": int, "reads": 3}, r"takes include paths"),
        ({"type": int, "sql": "min(x)"}, r"sql=\.\.\.\) takes a function of the model"),
        ({"type": int, "doc": 3}, r"doc=\.\.\.\) takes a string"),
    ],
)
def test_bad_declarations(kwargs: dict[str, Any], match: str) -> None:
    with spec_error(match):
        ts.computed(len, **kwargs)


def test_the_function_must_be_callable() -> None:
    with spec_error(r"needs a function of the object"):
        ts.computed("len", type=int)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("computed", "match"),
    [
        ({"headsign": RUN_CALLS}, r"CfRun\.headsign has the name of a mapped column attribute"),
        ({"calls": RUN_CALLS}, r"CfRun\.calls has the name of a relationship"),
        ({"not an id": RUN_CALLS}, r"needs a Python identifier"),
        ({"n": len}, r"must be ts\.computed\(\.\.\.\)"),
        ({"CfLine": {"n": RUN_CALLS}}, r"computed= names the model 'CfLine', which is not in"),
        ([RUN_CALLS], r"must be a mapping of output names"),
    ],
)
def test_bad_computed_arguments(computed: Any, match: str) -> None:
    with spec_error(match):
        ts.shape(CfRun, computed=computed)


def test_a_computed_field_listed_in_fields_too_is_refused() -> None:
    hybrid_like = ts.computed(lambda run: 1, type=int)
    with spec_error(r"CfRun\.run_id has the name of a mapped column"):
        ts.shape(CfRun, fields=["run_id"], computed={"run_id": hybrid_like})


def test_a_count_named_like_a_computed_field_is_refused() -> None:
    with spec_error(r"output key 'calls_count' of CfRun is used twice"):
        ts.shape(CfRun, "calls(count)", computed={"calls_count": RUN_CALLS})


@pytest.mark.parametrize("option", ["limit=2", "offset=1"])
def test_reading_a_windowed_collection_is_refused(option: str) -> None:
    with spec_error(r"CfRun reads 'calls', which this shape includes with where=/limit="):
        ts.shape(CfRun, f"calls({option})", computed={"n": RUN_CALLS})


def test_reading_a_filtered_collection_is_refused() -> None:
    spec = {"calls": ts.include(where={"seq": 1})}
    with spec_error(r"the function would see only those rows"):
        ts.shape(CfRun, spec, computed={"n": RUN_CALLS})


def test_reading_an_ordered_collection_is_allowed() -> None:
    shape = ts.shape(CfRun, "calls(order_by=-seq)", computed={"n": RUN_CALLS})
    assert shape.fields[-1] == "n"


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        (lambda Run: select(func.count()).select_from(CfCall), r"returns a SELECT: end it"),
        (lambda Run: 3, r"must return a SQL expression"),
        (lambda Run: Run.missing, r"fails on the model: AttributeError"),
        (lambda Run: literal_column("1"), r"has no SQL type \(NullType\)"),
        (lambda Run: Run.headsign, r"is of SQL type String.*declared int"),
    ],
)
def test_bad_sql_is_refused_at_definition(sql: Any, match: str) -> None:
    declared = ts.computed(len, type=int, sql=sql)
    with spec_error(match):
        ts.shape(CfRun, computed={"n": declared})


def test_equal_declarations_are_one_shape() -> None:
    one = ts.shape(CfRun, "calls", computed={"first_departure": RUN_FIRST, "n": RUN_CALLS})
    two = ts.shape(CfRun, {"calls": {}}, computed={"n": RUN_CALLS, "first_departure": RUN_FIRST})
    assert one != two  # computed fields are output in the order given
    assert one.fields[-2:] == ("first_departure", "n")  # in the order given
    assert two.fields[-2:] == ("n", "first_departure")
    again = ts.shape(CfRun, "calls", computed={"first_departure": RUN_FIRST, "n": RUN_CALLS})
    assert again.node is one.node
    assert again.pydantic_model is one.pydantic_model
    other = ts.computed(RUN_CALLS.func, type=int, reads=["calls"])
    assert ts.shape(CfRun, computed={"n": other}) != ts.shape(CfRun, computed={"n": RUN_CALLS})


# -- generated classes ----------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_json_schema_types_the_computed_fields() -> None:
    colour = ts.computed(lambda run: Colour.RED, type=Colour, doc="A colour.")
    shape = ts.shape(
        CfRun,
        fields=["run_id"],
        computed={"first_departure": RUN_FIRST, "call_count": RUN_CALLS, "colour": colour},
    )
    schema = shape.json_schema()
    props = schema["properties"]
    assert list(props) == ["run_id", "first_departure", "call_count", "colour"]
    assert props["first_departure"]["anyOf"] == [
        {"type": "string", "format": "time"},
        {"type": "null"},
    ]
    assert props["first_departure"]["description"].startswith("The run's earliest departure")
    assert props["call_count"]["type"] == "integer"
    assert props["colour"]["description"] == "A colour."
    assert schema["$defs"]["Colour"]["enum"] == ["red", "blue"]
    assert set(schema["required"]) == set(props)


def test_marshmallow_declares_the_type_read_only() -> None:
    shape = ts.shape(
        CfCall,
        fields=["seq"],
        computed={"label": CALL_LABEL},
    )
    schema_fields = shape.marshmallow_schema().fields
    assert isinstance(schema_fields["label"], ma.fields.String)
    assert schema_fields["label"].dump_only
    assert not schema_fields["label"].allow_none
    runs = ts.shape(CfRun, computed={"first_departure": RUN_FIRST, "n": RUN_CALLS})
    run_fields = runs.marshmallow_schema().fields
    assert isinstance(run_fields["first_departure"], ma.fields.Time)
    assert run_fields["first_departure"].allow_none
    assert isinstance(run_fields["n"], ma.fields.Integer)


def test_a_computed_field_may_replace_a_property_of_the_same_name() -> None:
    """Declaring the reads of an existing ``@property`` under its own name."""
    from tests.computed_models import CpShelf

    first_title = ts.computed(lambda shelf: shelf.first_title, type=str | None, reads=["books"])
    shape = ts.shape(CpShelf, fields=["shelf_id"], computed={"first_title": first_title})
    assert shape.fields == ("shelf_id", "first_title")
    assert shape.node.reads == (("books", ()),)


def test_computed_fields_are_read_only_for_writes() -> None:
    calls = ts.computed(lambda place: len(place.calls), type=int, reads=["calls"])
    shape = ts.shape(CfPlace, fields=["place_id", "name"], computed={"n": calls})
    body_fields = shape.input_model("create").model_fields
    assert "n" not in body_fields and "name" in body_fields
    with pytest.raises(ValidationError, match=r"\nn\n +Extra inputs are not permitted"):
        shape.input_model("create").model_validate({"name": "x", "n": 3})
    assert shape.input_model("create").model_validate({"name": "x"}).name == "x"  # type: ignore[attr-defined]


def test_narrowing_names_computed_fields_with_did_you_mean() -> None:
    shape = ts.shape(CfLine, "runs", computed={"CfRun": {"call_count": RUN_CALLS}})
    narrowed = shape.narrow("runs", fields={"CfRun": ["run_id", "call_count"]})
    assert narrowed.node.relation("runs").child.field_names == ("run_id", "call_count")  # type: ignore[union-attr]
    with spec_error(r"Did you mean 'call_count'\?"):
        shape.narrow("runs", fields={"CfRun": ["call_cont"]})


def test_string_sql_types_match_a_string_declaration() -> None:
    label = ts.computed(
        lambda run: run.headsign, type=str, sql=lambda Run: func.upper(Run.headsign, type_=String)
    )
    assert ts.shape(CfRun, computed={"label": label}).fields[-1] == "label"


def test_a_composed_root_gets_the_computed_fields_after_its_own() -> None:
    brief = ts.shape(CfRun, fields=["run_id", "headsign"])
    shape = ts.shape(CfRun, brief, "calls", computed={"n": RUN_CALLS})
    assert shape.fields == ("run_id", "headsign", "n")
    assert shape.node.reads == (("calls", ()),)
    with spec_error(r"CfRun\.headsign has the name of a mapped column"):
        ts.shape(CfRun, brief, computed={"headsign": ts.computed(len, type=int)})
    with spec_error(r"CfRun\.n is both a field of the shape and in computed="):
        ts.shape(CfRun, shape, computed={"n": RUN_CALLS})


def test_a_model_only_in_a_composed_shape_takes_no_computed_fields() -> None:
    brief = ts.shape(CfRun, fields=["run_id", "headsign"])
    with spec_error(r"computed= names CfRun, .*declare the computed field in that shape"):
        ts.shape(CfLine, {"runs": brief}, computed={"CfRun": {"n": RUN_CALLS}})
    nested = ts.shape(CfLine, {"runs": ts.shape(CfRun, computed={"n": RUN_CALLS})})
    assert nested.node.relation("runs").child.reads == (("calls", ()),)  # type: ignore[union-attr]
