"""Every class of bad ``include``/``fields[...]`` input is a 400 naming what was wrong, in each
framework's own error format, before any query; never a 500, never silently ignored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from treeshape.fastapi import init_app

from .conftest import Api

LONG = ",".join(["trips"] * 400)  # 2,399 characters
DEEP = ".".join(["trips", "stop_times", "stop"] * 12)

# (url, the offending parameter, words the message must contain)
BAD = [
    # unknown paths, paths through a column, paths outside the endpoint's shape
    ("/routes/AB?include=trips.nope", "include", ["trips.nope", "stop_times"]),
    ("/routes/AB?include=tirps", "include", ["tirps", "trips"]),
    ("/routes/AB?include=route_id", "include", ["route_id"]),
    ("/routes/AB?include=trips.calendar", "include", ["trips.calendar", "outside"]),
    ("/stops/BULLFROG?include=children", "include", ["children", "trips"]),
    ("/routes?include=parent", "include", ["parent", "agency"]),
    ("/trips/AB1/stop_times?include=trip", "include", ["trip", "stop"]),
    ("/trips/AB1?include=stops.stop", "include", ["stops.stop", "at most 1"]),  # ids: no tree
    ("/trips/AB1?include=stop", "include", ["stop", "stops"]),
    # unknown models, models outside the shape, unknown fields, relationships as fields
    ("/routes/AB?fields[Nope]=x", "fields[Nope]", ["Nope", "Route", "Stop"]),
    ("/routes?fields[Stop]=stop_id", "fields[Stop]", ["Stop", "Route", "Agency"]),
    ("/routes/AB?fields[Calendar]=service_id", "fields[Calendar]", ["Calendar"]),
    ("/routes/AB?fields[Trip]=nope", "fields[Trip]", ["nope", "trip_id"]),
    ("/routes/AB?fields[Trip]=trip_headsing", "fields[Trip]", ["trip_headsing", "trip_headsign"]),
    ("/routes/AB?fields[Trip]=block_id", "fields[Trip]", ["block_id", "outside"]),
    ("/routes/AB?fields[Trip]=stop_times", "fields[Trip]", ["stop_times", "relationship"]),
    # a model the response holds only as ids or as a count has no fieldset to narrow
    ("/trips/AB1?fields[Stop]=stop_id", "fields[Stop]", ["Stop", "fields[Trip]"]),
    ("/routes?fields[Trip]=trip_id", "fields[Trip]", ["Trip", "fields[Route]"]),
    # a count or id list the include leaves out would have no effect
    ("/routes?include=agency&fields[Route]=trips_count", "fields[Route]", ["no effect"]),
    ("/routes/AB?fields[Trip]=trip_id,trip_id", "fields[Trip]", ["twice", "trip_id"]),
    ("/routes/AB?fields[Trip]=", "fields[Trip]", ["at least one field", "trip_id"]),
    ("/routes/AB?fields[Trip]=trips.trip_id", "fields[Trip]", ["not paths", "trip_id"]),
    # fields for a model the include leaves out: it would have no effect
    ("/routes/AB?include=trips&fields[Stop]=stop_id", "fields[Stop]", ["Stop", "include"]),
    ("/routes/AB?include=&fields[Trip]=trip_id", "fields[Trip]", ["Trip", "include"]),
    # empty segments
    ("/routes/AB?include=trips..stop", "include", ["empty segment", "trips..stop"]),
    ("/routes/AB?include=trips.", "include", ["empty segment", "trips."]),
    ("/routes/AB?include=.trips", "include", ["empty segment"]),
    ("/routes/AB?include=trips,,agency", "include", ["empty path"]),
    ("/routes/AB?include=,", "include", ["empty path"]),
    ("/routes/AB?fields[Trip]=trip_id,", "fields[Trip]", ["empty field"]),
    # repeated parameters
    ("/routes/AB?include=trips&include=agency", "include", ["more than once"]),
    ("/routes/AB?fields[Trip]=trip_id&fields[Trip]=route_id", "fields[Trip]", ["more than once"]),
    # parameters that look like ours but are not
    ("/routes/AB?field[Stop]=stop_id", "field[Stop]", ["field[Stop]", "fields[Stop]"]),
    ("/routes/AB?includes=trips", "includes", ["includes", "include"]),
    ("/routes/AB?Include=trips", "Include", ["Include", "include"]),
    ("/routes/AB?fields=trip_id", "fields", ["fields", "fields[Trip]"]),
    ("/routes/AB?include[]=trips", "include[]", ["include[]", "include"]),
    ("/routes/AB?fields[]=trip_id", "fields[]", ["fields[Route]"]),
    # very long and deeply nested values
    (f"/routes/AB?include={LONG}", "include", ["2399 characters", "at most"]),
    (f"/routes/AB?include={DEEP}", "include", ["36 relationships deep", "at most 3"]),
    ("/routes/AB?include=trips.stop_times.stop.trips", "include", ["at most 3"]),
    # non-ASCII, in values and in names; other characters that are not names
    ("/routes/AB?include=tr%C3%AFps", "include", ["non-ASCII"]),
    ("/routes/AB?fields[Trip]=trip_%E2%80%8Bid", "fields[Trip]", ["non-ASCII"]),
    ("/routes/AB?incl%C3%BCde=trips", "inclüde", ["inclüde", "include"]),
    ("/routes/AB?include=trips%00", "include", ["'\\x00'"]),
    ("/routes/AB?include=trips;agency", "include", ["';'"]),
    ("/routes/AB?include=trips,%20agency", "include", ["' '"]),
    ("/routes/AB?include=trips%2Fstop_times", "include", ["'/'"]),
    ("/routes/AB?fields[Trip]=*", "fields[Trip]", ["'*'"]),
]


def problems(api: Api, body: Any) -> list[tuple[str, str]]:
    """(parameter, message) of every problem, in either framework's format."""
    if api.framework == "flask":
        assert body["code"] == 400 and body["status"] == "Bad Request"
        return [(e["parameter"], e["detail"]) for e in body["errors"]]
    for error in body["detail"]:
        assert error["type"] == "value_error" and error["loc"][0] == "query"
    return [(e["loc"][1], e["msg"]) for e in body["detail"]]


@pytest.mark.parametrize(("url", "parameter", "words"), BAD)
def test_bad_input_is_400(api: Api, url: str, parameter: str, words: list[str]) -> None:
    answer = api.get(url)
    assert answer.status == 400, answer.body
    assert answer.content_type.startswith("application/json")
    assert answer.statements == 0
    found = problems(api, answer.json())
    assert [p for p, _ in found] == [parameter]
    message = found[0][1]
    for word in words:
        assert word in message, message


def test_every_problem_is_reported(api: Api) -> None:
    answer = api.get("/routes/AB?fields[Nope]=x&field[Stop]=a&include=trips..x&fields[Trip]=")
    assert answer.status == 400
    assert {p for p, _ in problems(api, answer.json())} == {
        "fields[Nope]",
        "field[Stop]",
        "include",
        "fields[Trip]",
    }


def test_errors_list_what_is_allowed(sample_apis: dict[str, Api]) -> None:
    url = "/routes/AB?include=trips.nope"
    flask = sample_apis["flask"].get(url).json()["errors"][0]
    fast = sample_apis["fastapi"].get(url).json()["detail"][0]
    allowed = ["agency", "trips", "trips.stop_times", "trips.stop_times.stop"]
    assert flask["allowed"] == fast["ctx"]["allowed"] == allowed
    assert flask["value"] == fast["input"] == "trips.nope"
    assert flask["detail"] == fast["msg"]


def test_long_values_are_not_echoed_in_full(api: Api) -> None:
    answer = api.get(f"/routes/AB?include={LONG}")
    assert len(answer.body) < 1500


def test_other_parameters_are_the_apps_business(api: Api) -> None:
    """Parameters that do not look like ours are left alone (here: ignored by the app)."""
    assert api.get("/routes/AB?utm_source=x&include_deleted=1&fieldset=a").status == 200


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "offset=-1", "limit=1e3"])
def test_bad_pagination(api: Api, query: str) -> None:
    """One status for every bad query parameter: the app's own ``limit`` is a 400 in both,
    FastAPI's own validation included, in each framework's error body."""
    answer = api.get(f"/routes?{query}")
    assert answer.status == 400
    assert answer.statements == 0
    body = answer.json()
    name = query.split("=")[0]
    if api.framework == "flask":
        assert [e["parameter"] for e in body["errors"]] == [name]
    else:
        assert [e["loc"] for e in body["detail"]] == [["query", name]]


class Body(BaseModel):
    n: int


def test_fastapi_keeps_422_for_what_is_not_a_query() -> None:
    """Only query errors become 400s: a bad body stays FastAPI's 422."""
    app = FastAPI()
    init_app(app)

    @app.post("/items")
    def create(body: Body, limit: int = 1) -> dict[str, int]:
        return {"n": body.n, "limit": limit}

    client = TestClient(app)
    assert client.post("/items", json={"n": "x"}).status_code == 422
    assert client.post("/items?limit=x", json={"n": "x"}).status_code == 422
    answer = client.post("/items?limit=x", json={"n": 1})
    assert answer.status_code == 400
    assert [e["loc"] for e in answer.json()["detail"]] == [["query", "limit"]]
    assert client.post("/items?limit=2", json={"n": 1}).json() == {"n": 1, "limit": 2}


def test_repeated_limit_is_400_in_flask(sample_apis: dict[str, Api]) -> None:
    answer = sample_apis["flask"].get("/routes?limit=1&limit=2")
    assert answer.status == 400
    assert "more than once" in answer.json()["errors"][0]["detail"]
