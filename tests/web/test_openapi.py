"""The OpenAPI documents of both apps: valid JSON, every reference resolvable, readable
component names, the nested structure of each endpoint, and the narrowing parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Api

SHAPES = {
    "AgencyBrief", "RouteBrief", "RouteDetail", "RouteListItem", "StopBrief", "StopDetail",
    "StopListItem", "StopTimeWithStop", "TripDetail", "TripTimetable", "TripWithRoute",
}  # fmt: skip
# Paths with write operations only (POST /trips): tests/write covers their bodies.
WRITE_ONLY_PATHS = {"/trips"}
ENDPOINTS = {
    "/routes": ("RouteListItem", True),
    "/stops": ("StopListItem", True),
    "/routes/{route_id}": ("RouteDetail", False),
    "/stops/{stop_id}": ("StopDetail", False),
    "/trips/{trip_id}": ("TripDetail", False),
    "/trips/{trip_id}/stop_times": ("StopTimeWithStop", True),
}
# (component, property) -> the component it holds
NESTING = {
    ("RouteDetail", "trips"): "TripTimetable",
    ("RouteDetail", "agency"): "AgencyBrief",
    ("TripTimetable", "stop_times"): "StopTimeWithStop",
    ("StopTimeWithStop", "stop"): "StopBrief",
    ("StopDetail", "trips"): "TripWithRoute",
    ("StopDetail", "parent"): "StopBrief",
    ("TripWithRoute", "route"): "RouteBrief",
    ("RouteListItem", "agency"): "AgencyBrief",
    ("StopListItem", "parent"): "StopBrief",
    ("TripDetail", "route"): "RouteBrief",
}


@pytest.fixture(scope="module", params=["flask", "fastapi"])
def document(request: pytest.FixtureRequest, sample_apis: dict[str, Api]) -> dict[str, Any]:
    answer = sample_apis[request.param].get("/openapi.json")
    assert answer.status == 200
    assert answer.content_type.startswith("application/json")
    doc: dict[str, Any] = answer.json()
    return doc


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def target(schema: dict[str, Any]) -> str:
    """The component a property refers to: directly, as list items, or as ``X | null``."""
    if "items" in schema:
        schema = schema["items"]
    if "anyOf" in schema:
        schema = next(s for s in schema["anyOf"] if "$ref" in s)
    ref: str = schema["$ref"]
    return ref.rsplit("/", 1)[1]


def test_document_is_valid(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref
    assert set(document["paths"]) == set(ENDPOINTS) | WRITE_ONLY_PATHS


def test_component_names_are_readable(document: dict[str, Any]) -> None:
    names = set(document["components"]["schemas"])
    assert names >= SHAPES
    for name in names:
        assert re.fullmatch(r"[A-Z][A-Za-z]*", name), name  # no __main__, _1, _a1b2c3


def test_nested_structure(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for (component, prop), held in NESTING.items():
        assert target(schemas[component]["properties"][prop]) == held, (component, prop)
    assert schemas["RouteDetail"]["properties"]["trips"]["type"] == "array"
    assert set(schemas["StopBrief"]["properties"]) == {
        "stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon",
    }  # fmt: skip


@pytest.mark.parametrize("path", ENDPOINTS)
def test_operations(document: dict[str, Any], path: str) -> None:
    component, many = ENDPOINTS[path]
    operation = document["paths"][path]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if many:
        assert schema["type"] == "array"
        schema = schema["items"]
    assert schema["$ref"].endswith(f"/{component}")
    assert "400" in operation["responses"]
    params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert "include" in params
    assert any(name.startswith("fields[") for name in params)
    for name, param in params.items():
        if name == "include" or name.startswith("fields["):
            assert param.get("required", False) is False
            assert "among:" in param["description"]


def test_same_components_in_both(sample_apis: dict[str, Api]) -> None:
    flask = sample_apis["flask"].get("/openapi.json").json()["components"]["schemas"]
    fast = sample_apis["fastapi"].get("/openapi.json").json()["components"]["schemas"]
    for name in SHAPES:
        assert list(flask[name]["properties"]) == list(fast[name]["properties"]), name


def test_trip_detail_has_ids_and_a_count(document: dict[str, Any]) -> None:
    """``TripDetail.stops`` is a list of stop ids (strings, the key's type), not of objects;
    ``stop_times_count`` an integer; the trip's own fields come first, as in the body."""
    trip = document["components"]["schemas"]["TripDetail"]
    properties = trip["properties"]
    assert list(properties) == [
        "trip_id", "route_id", "service_id", "trip_headsign", "direction_id",
        "route", "stop_times_count", "stops",
    ]  # fmt: skip
    stops = properties["stops"]
    assert stops["type"] == "array"
    assert stops["items"]["type"] == "string"
    assert "$ref" not in stops["items"] and "properties" not in stops["items"]
    assert properties["stop_times_count"]["type"] == "integer"
    params = document["paths"]["/trips/{trip_id}"]["get"]["parameters"]
    include = next(p for p in params if p["name"] == "include")
    assert "route, stop_times, stops" in include["description"]
    assert not any(p["name"].startswith(("page[", "sort[")) for p in params)


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_400_has_a_schema(document: dict[str, Any], path: str) -> None:
    """One error convention: the 400 of every operation is documented with its body."""
    response = document["paths"][path]["get"]["responses"]["400"]
    body = resolve(document, response["content"]["application/json"]["schema"])
    listing = "errors" if "errors" in body["properties"] else "detail"
    assert listing in body["required"]
    problem = resolve(document, body["properties"][listing]["items"])
    expected = {"parameter", "value", "detail", "allowed"} if listing == "errors" else {
        "loc", "msg", "type"
    }  # fmt: skip
    assert expected <= set(problem["required"])


def query_parameters(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    params = document["paths"][path]["get"]["parameters"]
    return {p["name"]: p for p in params if p["in"] == "query"}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_parameter_titles_and_examples(document: dict[str, Any], path: str) -> None:
    """Titled by their own names (``fields[StopTime]``, not ``Fields[Stoptime]``), each with an
    example that its own pattern accepts."""
    for name, param in query_parameters(document, path).items():
        schema = param["schema"]
        assert schema["title"] == name
        (example,) = schema["examples"]
        if "pattern" in schema:
            assert re.search(schema["pattern"], example), (name, example)


def test_readable_titles_in_fastapi(sample_apis: dict[str, Api]) -> None:
    doc = sample_apis["fastapi"].get("/openapi.json").json()
    titles = {
        p["schema"]["title"]
        for p in doc["paths"]["/routes/{route_id}"]["get"]["parameters"]
        if p["in"] == "query" and "title" in p["schema"]
    }
    assert "fields[StopTime]" in titles and "Fields[Stoptime]" not in titles


def test_the_same_parameter_schemas_in_both(sample_apis: dict[str, Api]) -> None:
    flask = sample_apis["flask"].get("/openapi.json").json()
    fast = sample_apis["fastapi"].get("/openapi.json").json()
    for path in ENDPOINTS:
        ours = query_parameters(flask, path)
        theirs = query_parameters(fast, path)
        assert ours.keys() == theirs.keys(), path
        for name in ours:
            assert ours[name]["schema"] == theirs[name]["schema"], (path, name)
