"""The OpenAPI schema of each narrowing parameter promises what the parser accepts (issue
#19.6): a value its pattern and lengths allow, given alone, is accepted; the empty value is
allowed by the schema exactly when the endpoint accepts it. What a pattern cannot say (a name
listed twice, parameters depending on each other) is said in the description."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
from examples.transit import endpoints
from hypothesis import given, settings
from hypothesis import strategies as st

from treeshape.web import EndpointShape, QueryError

ENDPOINTS = {
    name: getattr(endpoints, name)
    for name in ("ROUTES", "STOPS", "ROUTE", "STOP", "TRIP", "TRIP_STOP_TIMES")
}
TEXT = [
    (name, parameter)
    for name, endpoint in ENDPOINTS.items()
    for parameter in endpoint.parameter_names
    if endpoint.parameter_schema(parameter)["type"] == "string"
]


def accepted(endpoint: EndpointShape, parameter: str, value: str) -> bool:
    try:
        endpoint.from_query([(parameter, value)])
    except QueryError:
        return False
    return True


def distinct(value: str) -> bool:
    names = [item.lstrip("-") for item in value.split(",")]
    return len(set(names)) == len(names)


@pytest.mark.parametrize(("name", "parameter"), TEXT)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_what_the_schema_allows_is_accepted(name: str, parameter: str, data: st.DataObject) -> None:
    endpoint = ENDPOINTS[name]
    schema = endpoint.parameter_schema(parameter)
    value = data.draw(st.from_regex(schema["pattern"], fullmatch=True).filter(distinct))
    validator = jsonschema_rs.validator_for(schema)
    if len(value) <= schema["maxLength"]:
        assert validator.is_valid(value)
        assert accepted(endpoint, parameter, value), (parameter, value)


@pytest.mark.parametrize(("name", "parameter"), TEXT)
def test_the_empty_value(name: str, parameter: str) -> None:
    endpoint = ENDPOINTS[name]
    schema = endpoint.parameter_schema(parameter)
    allowed = jsonschema_rs.validator_for(schema).is_valid("")
    assert allowed == accepted(endpoint, parameter, "") == (parameter == "include")


@pytest.mark.parametrize(("name", "parameter"), TEXT)
@pytest.mark.parametrize(
    "value", ["nope", "trips.", ",", "a b", "x" * 2000, "trips,,agency", "-", "trip_id\n"]
)
def test_what_the_endpoint_refuses_the_schema_refuses(
    name: str, parameter: str, value: str
) -> None:
    endpoint = ENDPOINTS[name]
    validator = jsonschema_rs.validator_for(endpoint.parameter_schema(parameter))
    if not accepted(endpoint, parameter, value):
        assert not validator.is_valid(value), (parameter, value)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_patterns_are_valid_ecma_and_python(name: str) -> None:
    endpoint: Any = ENDPOINTS[name]
    for parameter in endpoint.parameter_names:
        schema = endpoint.parameter_schema(parameter)
        if "pattern" in schema:
            re.compile(schema["pattern"])
            jsonschema_rs.validator_for(schema)
