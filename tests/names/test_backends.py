"""Output names on every backend: for random specs, random key styles and random rename maps,
``dump``, ``dump_json``, marshmallow, Pydantic and both fetch strategies give the independent
reference's document with the renamed keys (key order included), on SQLite and PostgreSQL; a
style or map that gives two outputs of one node the same key is refused at definition."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic.alias_generators import to_camel, to_pascal
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.agreement import assert_backends_agree, serialized, without_jit
from tests.core.reference import reference_dump
from tests.databases import Db
from tests.factories import NetworkSpec, build_network
from tests.models import Call, Journey, Line, Operator, Place
from tests.names.renaming import Renames, Style, collides, renamed
from tests.strategies import COLUMNS, Spec, models_in, networks, specs


def prefixed(name: str) -> str:
    return "x-" + name


def hostile(name: str) -> str:
    """Quotes, a percent sign, a colon and a non-ASCII letter: every one is SQL-literal text in
    fetch's JSON statements, and a bind-parameter marker to some drivers."""
    return f"{name}'%:\"é"


def initial(name: str) -> str:
    return name[:1]  # collides often: 'line_id' and 'lat' are both 'l'


STYLES: list[Style] = [to_camel, to_pascal, str.upper, prefixed, hostile, initial, str]
KEY_TEXT = st.text(alphabet="abXY_'%: é\"-.", min_size=1, max_size=5)


@st.composite
def rename_maps(draw: st.DrawFn, spec: Spec) -> Renames:
    """For some models of the spec: some of their fields and relationships, new keys."""
    renames: dict[str, dict[str, str]] = {}
    for model in sorted(models_in(spec.root, spec.tree), key=lambda m: m.__name__):
        if not draw(st.booleans()):
            continue
        attributes = [*COLUMNS[model.__name__], *inspect(model).relationships.keys()]
        chosen = draw(st.lists(st.sampled_from(attributes), unique=True, max_size=3))
        renames[model.__name__] = {a: draw(KEY_TEXT) for a in chosen}
    return renames


@pytest.fixture(scope="module")
def db(names_db: Db) -> Db:
    return without_jit(names_db)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(max_depth=3), network=networks, data=st.data())
def test_every_backend_gives_the_renamed_reference(
    db: Db, spec: Spec, network: NetworkSpec, data: st.DataObject
) -> None:
    root, tree, fields = spec
    style = data.draw(st.sampled_from(STYLES))
    renames = data.draw(rename_maps(spec))
    if collides(root, tree, fields, COLUMNS, style, renames):
        with pytest.raises(ts.SpecError, match="have the output key"):
            ts.shape(root, tree, fields=fields, key_style=style, names=renames)
        return
    shape = ts.shape(root, tree, fields=fields, key_style=style, names=renames)
    plain = ts.shape(root, tree, fields=fields)
    assert shape != plain  # equal trees with a naming are other nodes, with other classes
    assert shape.pydantic_model is not plain.pydantic_model
    db.clean()
    with Session(db.engine) as session:
        build_network(session, network)
    with Session(db.engine) as session:
        objs = session.scalars(
            select(root).options(*plain.loader_options()).order_by(*inspect(root).primary_key)
        ).all()
        expected = [
            renamed(reference_dump(o, tree, fields, COLUMNS), root, tree, style, renames)
            for o in objs
        ]
    assert_backends_agree(
        db.engine, shape, tree, fields=fields, defaults=COLUMNS, expected=expected
    )


def test_a_style_is_inherited_by_composed_shapes_that_set_none(db: Db) -> None:
    db.clean()
    with Session(db.engine) as session:
        build_network(session, NetworkSpec(operators=1, lines=2, journeys_per_line=2))
    calls = ts.shape(Call, fields=["sequence", "place_id"])  # no style: the composer's applies
    own = ts.shape(Operator, key_style=str.upper)  # its own style: kept
    journeys = ts.shape(Journey, {"calls": calls}, fields=["journey_id", "service_date"])
    line = ts.shape(
        Line,
        {"journeys": journeys, "operator": own},
        fields=["line_id", "name"],
        key_style=to_camel,
        names={"name": "title"},
    )
    expected_root = {"lineId", "title", "operator", "journeys"}
    with Session(db.engine) as session:
        objs = session.scalars(
            select(Line).options(*line.loader_options()).order_by(Line.line_id)
        ).all()
        docs = line.dump(objs, many=True)
    assert docs and all(set(d) == expected_root for d in docs)
    journey = next(j for d in docs for j in d["journeys"])
    assert list(journey) == ["journeyId", "serviceDate", "calls"]
    assert list(journey["calls"][0]) == ["sequence", "placeId"]
    operator = next(d["operator"] for d in docs if d["operator"] is not None)
    assert list(operator) == ["OPERATOR_ID", "NAME"]
    # The composed shapes themselves are unchanged: attribute names, their own classes.
    with Session(db.engine) as session:
        first = session.scalars(select(Call).options(*calls.loader_options())).first()
        assert first is not None and list(calls.dump(first)) == ["sequence", "place_id"]
    assert line.node.relation("journeys").child != journeys.node  # type: ignore[union-attr]
    tree = {"journeys": {"calls": {}}, "operator": {}}
    plain = ts.shape(Line, tree, fields={"Line": ["line_id", "name"], **_FIELDS})
    with Session(db.engine) as session:
        objs = session.scalars(
            select(Line).options(*plain.loader_options()).order_by(Line.line_id)
        ).all()
        expected = [_styled_line(d) for d in plain.dump(objs, many=True)]
    assert_backends_agree(db.engine, line, tree, fields={}, defaults=COLUMNS, expected=expected)


_FIELDS = {"Journey": ["journey_id", "service_date"], "Call": ["sequence", "place_id"]}


def _styled_line(doc: dict[str, Any]) -> dict[str, Any]:
    """The composed shape's expectation, written out by hand."""
    return {
        "lineId": doc["line_id"],
        "title": doc["name"],
        "operator": None
        if doc["operator"] is None
        else {"OPERATOR_ID": doc["operator"]["operator_id"], "NAME": doc["operator"]["name"]},
        "journeys": [
            {
                "journeyId": j["journey_id"],
                "serviceDate": j["service_date"],
                "calls": [
                    {"sequence": c["sequence"], "placeId": c["place_id"]} for c in j["calls"]
                ],
            }
            for j in doc["journeys"]
        ],
    }


def test_counts_ids_and_include_name_take_output_keys(db: Db) -> None:
    db.clean()
    with Session(db.engine) as session:
        build_network(session, NetworkSpec(places=5))
    spec = {
        "journeys": ts.include(ids=True, count=True, name="trips"),
        "calls": ts.include(count="calls_total", embed=False),
        "parent": ts.include(ids=True),
    }
    shape = ts.shape(Place, spec, fields=["place_id", "name"], key_style=to_camel)
    plain_spec = {**spec, "journeys": ts.include(ids=True, count=True)}
    plain = ts.shape(Place, plain_spec, fields=["place_id", "name"])
    with Session(db.engine) as session:
        objs = session.scalars(
            select(Place).options(*plain.loader_options()).order_by(Place.place_id)
        ).all()
        docs = plain.dump(objs, many=True)
    keys = {
        "place_id": "placeId",
        "name": "name",
        "parent": "parent",
        "journeys": "trips",
        "journeys_count": "journeysCount",
        "calls_total": "callsTotal",
    }
    expected = [{keys[k]: v for k, v in d.items()} for d in docs]
    assert_backends_agree(db.engine, shape, None, fields={}, defaults=COLUMNS, expected=expected)


def test_narrowing_keeps_the_names(db: Db) -> None:
    shape = ts.shape(
        Line, "journeys.calls", key_style=to_camel, names={Journey: {"headsign": "to"}}
    )
    narrowed = shape.narrow("journeys", fields={"Journey": ["journey_id", "headsign"]})
    db.clean()
    with Session(db.engine) as session:
        build_network(session, NetworkSpec())
        objs = session.scalars(
            select(Line).options(*narrowed.loader_options()).order_by(Line.line_id)
        ).all()
        outputs = serialized(narrowed, objs)
    for backend, docs in outputs.items():
        journey = next(j for d in docs for j in d["journeys"])
        assert list(journey) == ["journeyId", "to"], backend
        assert "operatorId" in docs[0], backend


def test_json_schema_and_generated_classes_show_the_output_keys() -> None:
    shape = ts.shape(Journey, "calls", key_style=to_camel, names={"headsign": "to"})
    schema = shape.json_schema()
    assert list(schema["properties"]) == [
        "journeyId",
        "lineId",
        "to",
        "departs",
        "serviceDate",
        "calls",
    ]
    call = schema["$defs"][schema["properties"]["calls"]["items"]["$ref"].split("/")[-1]]
    assert list(call["properties"]) == ["journeyId", "sequence", "placeId", "arrives", "dwell"]
    fields = shape.marshmallow_schema().fields
    assert fields["headsign"].data_key == "to" and fields["service_date"].data_key == "serviceDate"
    # A model validated from a dumped document reads the output keys back.
    doc = {
        "journeyId": 1,
        "lineId": 2,
        "to": None,
        "departs": None,
        "serviceDate": "2024-01-01",
        "calls": [],
    }
    assert shape.pydantic_model.model_validate(doc).model_dump(mode="json") == doc
    assert orjson.loads(shape.pydantic_model.model_validate(doc).model_dump_json()) == doc


def test_a_named_composed_shape_under_a_style_gets_its_own_class() -> None:
    brief = ts.shape(Place, fields=["place_id", "name"], name="NamesPlaceBrief")
    calls = ts.shape(Call, {"place": brief}, key_style=to_camel)
    restyled = calls.node.relation("place")
    assert restyled is not None and restyled.child != brief.node
    model = calls.pydantic_model.model_fields["place"].annotation
    assert brief.pydantic_model.__name__ == "NamesPlaceBrief"
    assert model is not brief.pydantic_model
    assert list(calls.json_schema()["properties"]) == [
        "journeyId",
        "sequence",
        "placeId",
        "arrives",
        "dwell",
        "place",
    ]
