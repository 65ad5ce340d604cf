"""Request parameters and bodies in output keys, in both apps, on SQLite and PostgreSQL:
``include``, ``fields[Model]``, ``page[...]`` and ``sort[...]`` name what the response shows
(with "Did you mean" for the model's spelling), the bodies are camelCase, the errors name the
body's keys, and both OpenAPI documents show the output keys."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic.alias_generators import to_camel
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import Db
from tests.factories import NetworkSpec, build_network
from tests.models import Call, Journey, Line
from tests.names import apps
from tests.names.renaming import renamed

RENAMES = {"Line": {"journeys": "trips"}, "Journey": {"headsign": "destination"}}
JOURNEY_FIELDS = {Call: ["sequence", "place_id", "arrives"]}


@pytest.fixture(scope="module")
def clients(names_db: Db) -> dict[str, Any]:
    names_db.clean()
    with Session(names_db.engine) as session:
        build_network(session, NetworkSpec(lines=2, journeys_per_line=4, calls_per_journey=2))
    if names_db.kind == "postgresql":  # the network's explicit ids leave the sequence behind
        with names_db.engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('journey', 'journey_id'), "
                    "(SELECT max(journey_id) FROM journey))"
                )
            )
    return apps.clients(names_db.engine)


def expected(db: Db, spec: Any, fields: Any, tree: dict[str, Any]) -> Any:
    """Line 1 through a plain (attribute-named) shape, renamed independently."""
    plain = ts.shape(Line, spec, fields=fields)
    with Session(db.engine) as session:
        stmt = select(Line).where(Line.line_id == 1).options(*plain.loader_options())
        doc = plain.dump(session.scalars(stmt).one())
    return renamed(doc, Line, tree, to_camel, RENAMES)


@pytest.mark.parametrize("app", ["flask", "fastapi"])
def test_parameters_name_output_keys(names_db: Db, clients: dict[str, Any], app: str) -> None:
    get, _ = clients[app]
    status, body = get(
        "/lines/1?include=trips&fields[Journey]=journeyId,destination"
        "&sort[trips]=-destination,journeyId&page[trips]=2&page[trips][offset]=1"
    )
    assert status == 200, body
    journeys = ts.include(order_by=["-headsign", "journey_id"], limit=2, offset=1)
    assert body == expected(
        names_db,
        {"journeys": journeys},
        {Journey: ["journey_id", "headsign"]},
        {"journeys": {}},
    )
    status, body = get("/lines/1?fields[Call]=placeId&fields[Line]=lineId")
    assert status == 200, body
    assert body == expected(
        names_db,
        {"journeys": {"calls": {}}},
        {
            Line: ["line_id"],
            Call: ["place_id"],
            Journey: ["journey_id", "line_id", "headsign", "departs", "service_date"],
        },
        {"journeys": {"calls": {}}},
    )


SUGGESTIONS = [
    ("include=journeys", "include", "Did you mean 'trips'?"),
    ("include=trips.call", "include", "Did you mean 'trips.calls'"),
    ("include=journeys.calls", "include", "Did you mean 'trips.calls'?"),
    ("fields[Journey]=service_date", "fields[Journey]", "Did you mean 'serviceDate'?"),
    ("fields[Journey]=headsign", "fields[Journey]", "Did you mean 'destination'?"),
    ("fields[Call]=placeid", "fields[Call]", "Did you mean 'placeId'?"),
    ("sort[trips]=-service_date", "sort[trips]", "Did you mean 'serviceDate'?"),
    ("sort[trips]=headsign", "sort[trips]", "Did you mean 'destination'?"),
    ("page[journeys]=2", "page[journeys]", "Did you mean 'page[trips]'?"),
]


@pytest.mark.parametrize("app", ["flask", "fastapi"])
@pytest.mark.parametrize(("query", "parameter", "hint"), SUGGESTIONS)
def test_either_spelling_gets_did_you_mean(
    clients: dict[str, Any], app: str, query: str, parameter: str, hint: str
) -> None:
    get, _ = clients[app]
    status, body = get(f"/lines/1?{query}")
    assert status == 400, body
    if app == "flask":
        (problem,) = body["errors"]
        assert problem["parameter"] == parameter
        assert hint in problem["detail"], problem
    else:
        (problem,) = body["detail"]
        assert problem["loc"] == ["query", parameter]
        assert hint in problem["msg"], problem


GOOD = {
    "lineId": 1,
    "headsign": "camel",
    "serviceDate": "2024-02-03",
    "calls": [{"sequence": 1, "placeId": 1, "arrives": "08:00:00"}],
}


@pytest.mark.parametrize("app", ["flask", "fastapi"])
def test_bodies_are_written_in_output_keys(names_db: Db, clients: dict[str, Any], app: str) -> None:
    _, post = clients[app]
    status, body = post("/journeys", GOOD)
    assert status == 201, body
    with Session(names_db.engine) as session:
        journey = session.get(Journey, body["journeyId"])
        assert journey is not None
        assert (journey.line_id, journey.headsign, str(journey.service_date)) == (
            1,
            "camel",
            "2024-02-03",
        )
        assert [(c.sequence, c.place_id, str(c.arrives)) for c in journey.calls] == [
            (1, 1, "08:00:00")
        ]


def _locs(app: str, body: Any) -> list[list[Any]]:
    if app == "flask":
        return [e["loc"] for e in body["errors"]]
    return [e["loc"][1:] for e in body["detail"]]


@pytest.mark.parametrize("app", ["flask", "fastapi"])
def test_body_errors_name_the_body_keys(clients: dict[str, Any], app: str) -> None:
    _, post = clients[app]
    # The model's spelling is an unknown key, never silently taken or dropped.
    snake = {**GOOD, "service_date": GOOD["serviceDate"]}
    del snake["serviceDate"]
    status, body = post("/journeys", snake)
    assert status == 422, body
    assert sorted(_locs(app, body)) == [["serviceDate"], ["service_date"]]
    # What only load finds (a reference to no row) is reported at the body's key too.
    missing = {**GOOD, "calls": [{"sequence": 1, "placeId": 999, "arrives": None}]}
    status, body = post("/journeys", missing)
    assert status == 422, body
    assert _locs(app, body) == [["calls", 0, "placeId"]]


def test_openapi_shows_the_output_keys(names_db: Db) -> None:
    document = apps.openapi(names_db.engine)
    schemas = document["components"]["schemas"]
    line = schemas["NamesLineDetail"]
    assert list(line["properties"]) == [
        "lineId",
        "operatorId",
        "name",
        "kind",
        "fare",
        "opened",
        "trips",
    ]
    journey = schemas[line["properties"]["trips"]["items"]["$ref"].split("/")[-1]]
    assert list(journey["properties"]) == [
        "journeyId",
        "lineId",
        "destination",
        "departs",
        "serviceDate",
        "calls",
    ]
    operation = document["paths"]["/lines/{line_id}"]["get"]
    names = [p["name"] for p in operation["parameters"]]
    assert names == [
        "line_id",
        "include",
        "fields[Line]",
        "fields[Journey]",
        "fields[Call]",
        "page[trips]",
        "page[trips][offset]",
        "sort[trips]",
    ]
    described = {p["name"]: p.get("description", "") for p in operation["parameters"]}
    assert "serviceDate" in described["sort[trips]"]
    assert "trips.calls" in described["include"]
    body = schemas["NamesJourneyCreate"]
    assert list(body["properties"]) == ["lineId", "headsign", "serviceDate", "calls"]
    call_in = schemas[body["properties"]["calls"]["items"]["$ref"].split("/")[-1]]
    assert list(call_in["properties"]) == ["sequence", "placeId", "arrives"]


def test_flask_openapi_operation_shows_the_output_keys() -> None:
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    from treeshape.flask import openapi_operation
    from treeshape.write.flask import request_body

    spec = APISpec("names", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.path("/lines/{line_id}", operations={"get": openapi_operation(apps.LINE, summary="x")})
    spec.path(
        "/journeys",
        operations={
            "post": {
                "requestBody": request_body(apps.journey_in, "create"),
                "responses": {"201": {"description": "created"}},
            }
        },
    )
    document = spec.to_dict()
    schemas = document["components"]["schemas"]
    line = next(s for n, s in schemas.items() if n.startswith("NamesLineDetail"))
    assert list(line["properties"]) == [
        "lineId",
        "operatorId",
        "name",
        "kind",
        "fare",
        "opened",
        "trips",
    ]
    body = next(s for n, s in schemas.items() if n.startswith("NamesJourneyCreate"))
    assert list(body["properties"]) == ["lineId", "headsign", "serviceDate", "calls"]
    names = [p["name"] for p in document["paths"]["/lines/{line_id}"]["get"]["parameters"]]
    assert "page[trips]" in names and "sort[trips]" in names
