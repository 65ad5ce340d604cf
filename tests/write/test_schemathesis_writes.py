"""Schemathesis against the FastAPI example's write operations: generated bodies for
``POST /trips``, ``PUT`` and ``PATCH /trips/{trip_id}`` never get a 500, and every answer has a
documented status, content type and (for a 2xx) a body matching the documented schema."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from examples.transit import fastapi_app
from examples.transit.importer import import_feed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

SAMPLE_FEED = (
    Path(__file__).resolve().parents[2] / "examples" / "transit" / "data" / "sample_gtfs.zip"
)
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("fuzz") / "sample.sqlite"
    import_feed(SAMPLE_FEED, f"sqlite:///{path}", progress=False)
    return schemathesis.openapi.from_asgi(
        "/openapi.json", fastapi_app.create_app(f"sqlite:///{path}")
    )


@pytest.mark.parametrize(
    ("path", "method"),
    [("/trips", "POST"), ("/trips/{trip_id}", "PUT"), ("/trips/{trip_id}", "PATCH")],
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data())
def test_write_operations_conform(schema: Any, path: str, method: str, data: st.DataObject) -> None:
    case = data.draw(schema[path][method].as_strategy())
    if case.path_parameters and data.draw(st.booleans()):
        case.path_parameters["trip_id"] = data.draw(st.sampled_from(["AB1", "STBA", "CITY1"]))
    response = case.call()
    case.validate_response(response, checks=CHECKS)
