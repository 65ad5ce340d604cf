"""Request-time ``page[path]``, ``page[path][offset]`` and ``sort[path]`` in both apps: bodies
against references computed in Python (from the full response or the feed's CSV), identical
bodies across apps, the 400s in each framework's format, and a hypothesis property."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import SAMPLE_FEED, Api
from .expected import FeedBodies

SAMPLE = FeedBodies(SAMPLE_FEED)
TRIP_SORTABLE = ["trip_id", "trip_headsign", "direction_id", "service_id"]
DEPARTURE_SORTABLE = ["departure_time", "arrival_time", "trip_id", "stop_sequence"]


def ok(api: Api, url: str) -> Any:
    answer = api.get(url)
    assert answer.status == 200, answer.body
    return answer.json()


def ordered(items: list[dict[str, Any]], order: list[tuple[str, bool]], pk: list[str]) -> list[Any]:
    """``items`` sorted as treeshape sorts in SQL: by ``order`` (NULLs as the largest values:
    last ascending, first descending), then by the primary key ascending."""
    result = sorted(items, key=lambda item: [item[k] for k in pk])
    for name, descending in reversed(order):
        values = [item[name] for item in result if item[name] is not None]
        filler = type(values[0])() if values else 0
        result.sort(
            key=lambda item: (item[name] is None, filler if item[name] is None else item[name]),
            reverse=descending,
        )
    return result


def sort_text(order: list[tuple[str, bool]]) -> str:
    return ",".join(("-" if d else "") + n for n, d in order)


def route_reference(
    route_id: str,
    limit: int | None,
    offset: int | None,
    order: list[tuple[str, bool]] | None,
    calls: int | None,
) -> dict[str, Any]:
    """The route's full response, its trips sorted and cut in Python."""
    body = SAMPLE.route_detail(route_id)
    trips = body["trips"]
    if order is not None:
        trips = ordered(trips, order, ["trip_id"])
    start = offset or 0
    trips = trips[start : None if limit is None else start + limit]
    if calls is not None:
        trips = [{**trip, "stop_times": trip["stop_times"][:calls]} for trip in trips]
    return {**body, "trips": trips}


# -- examples --------------------------------------------------------------------------------


def test_page_trips(api: Api) -> None:
    assert ok(api, "/routes/CITY?page[trips]=1") == route_reference("CITY", 1, None, None, None)
    assert ok(api, "/routes/CITY?page[trips]=1&page[trips][offset]=1") == route_reference(
        "CITY", 1, 1, None, None
    )
    assert ok(api, "/routes/CITY?page[trips]=0")["trips"] == []


def test_sort_trips(api: Api) -> None:
    order = [("direction_id", True), ("trip_id", True)]
    url = "/routes/CITY?sort[trips]=-direction_id,-trip_id"
    assert ok(api, url) == route_reference("CITY", None, None, order, None)


def test_nested_page(api: Api) -> None:
    url = "/routes/CITY?page[trips.stop_times]=2&page[trips.stop_times][offset]=0"
    assert ok(api, url) == route_reference("CITY", None, None, None, 2)


def test_stop_departures_page_and_sort(api: Api) -> None:
    body = ok(api, "/stops/BEATTY_AIRPORT?page[stop_times]=3&page[stop_times][offset]=2")
    assert body["stop_times"] == SAMPLE.departures("BEATTY_AIRPORT", limit=3, offset=2)
    body = ok(api, "/stops/BEATTY_AIRPORT?sort[stop_times]=-departure_time&page[stop_times]=2")
    latest = ordered(SAMPLE.departures("BEATTY_AIRPORT", limit=None), [("departure_time", True)],
                     ["trip_id", "stop_sequence"])  # fmt: skip
    assert body["stop_times"] == latest[:2]


def test_sort_after_an_unsorted_request(api: Api) -> None:
    """Plans that differ only in a collection's order do not share SQLAlchemy's cached
    statement (regression: the second request used to come back in the first one's order)."""
    for url, order in [
        ("/routes/CITY", None),
        ("/routes/CITY?sort[trips]=-trip_id", [("trip_id", True)]),
        ("/routes/CITY?sort[trips]=trip_id", [("trip_id", False)]),
        ("/routes/CITY?sort[trips]=-trip_id", [("trip_id", True)]),
    ]:
        assert ok(api, url) == route_reference("CITY", None, None, order, None), url


def test_without_parameters_the_declared_shape(api: Api) -> None:
    assert ok(api, "/stops/BEATTY_AIRPORT")["stop_times"] == SAMPLE.departures("BEATTY_AIRPORT")


PAGED_URLS = [
    "/routes/CITY?page[trips]=1&sort[trips]=-trip_id",
    "/routes/CITY?page[trips.stop_times]=1&include=trips.stop_times",
    "/stops/BEATTY_AIRPORT?sort[stop_times]=-arrival_time,trip_id&page[stop_times][offset]=1",
    "/routes/CITY?page[trips]=1000&sort[trips]=direction_id,-service_id",
]


@pytest.mark.parametrize("url", PAGED_URLS)
def test_identical_bodies(sample_apis: dict[str, Api], url: str) -> None:
    bodies = {name: api.get(url).body for name, api in sample_apis.items()}
    assert len(set(bodies.values())) == 1, bodies


# -- 400s ------------------------------------------------------------------------------------

# (url, offending parameter, words the message must contain)
BAD = [
    ("/routes/AB?page[trips]=1001", "page[trips]", ["at most 1000"]),
    ("/stops/BULLFROG?page[stop_times]=11", "page[stop_times]", ["at most 10"]),
    ("/routes/AB?page[trips]=abc", "page[trips]", ["non-negative integer"]),
    ("/routes/AB?page[trips]=-1", "page[trips]", ["non-negative integer"]),
    ("/routes/AB?page[trips]=1.5", "page[trips]", ["non-negative integer"]),
    ("/routes/AB?page[trips]=", "page[trips]", ["non-negative integer"]),
    ("/routes/AB?page[trips][offset]=-3", "page[trips][offset]", ["non-negative integer"]),
    ("/routes/AB?page[trips][offset]=99999999999", "page[trips][offset]", ["integer"]),
    ("/routes/AB?page[trips]=1&page[trips]=2", "page[trips]", ["more than once"]),
    ("/routes/AB?sort[trips]=trip_id&sort[trips]=direction_id", "sort[trips]", ["more than once"]),
    ("/routes/AB?page[tirps]=1", "page[tirps]", ["page[trips]"]),
    ("/routes/AB?page[agency]=1", "page[agency]", ["Unknown parameter"]),
    ("/routes/AB?page[trips][limit]=1", "page[trips][limit]", ["page[trips][offset]"]),
    ("/routes?page[trips]=1", "page[trips]", ["no collection"]),
    ("/trips/AB1?page[stops]=5", "page[stops]", ["no collection"]),  # none declared
    ("/trips/AB1?sort[stops]=stop_id", "sort[stops]", ["no collection"]),
    ("/stops/BULLFROG?page[trips]=1", "page[trips]", ["page[stop_times]"]),
    ("/routes/AB?sort[trips]=route_id", "sort[trips]", ["route_id", "trip_headsign"]),
    ("/routes/AB?sort[trips]=block_id", "sort[trips]", ["block_id", "direction_id"]),
    ("/routes/AB?sort[trips]=trip_id,-trip_id", "sort[trips]", ["twice"]),
    ("/routes/AB?sort[trips]=", "sort[trips]", ["at least one"]),
    ("/routes/AB?sort[trips]=trip_id,", "sort[trips]", ["empty sort field"]),
    ("/routes/AB?sort[trips]=+trip_id", "sort[trips]", ["optional leading '-'"]),
    ("/routes/AB?sort[trips.stop_times]=stop_sequence", "sort[trips.stop_times]", ["sort[trips]"]),
    ("/routes/AB?include=agency&page[trips]=1", "page[trips]", ["no effect"]),
    ("/routes/AB?include=agency&sort[trips]=trip_id", "sort[trips]", ["no effect"]),
]


@pytest.mark.parametrize(("url", "parameter", "words"), BAD)
def test_bad_page_or_sort_is_400(api: Api, url: str, parameter: str, words: list[str]) -> None:
    answer = api.get(url)
    assert answer.status == 400, answer.body
    assert answer.statements == 0
    body = answer.json()
    if api.framework == "flask":
        assert body["code"] == 400 and body["status"] == "Bad Request"
        problems = [(e["parameter"], e["detail"]) for e in body["errors"]]
    else:
        problems = [(e["loc"][1], e["msg"]) for e in body["detail"]]
        assert all(e["loc"][0] == "query" for e in body["detail"])
    assert parameter in [p for p, _ in problems], problems
    message = " ".join(detail for p, detail in problems if p == parameter)
    for word in words:
        assert word in message, (word, message)


def test_an_unknown_parameter_is_echoed_with_its_value(api: Api) -> None:
    body = api.get("/stops/BULLFROG?page[trips]=7").json()
    if api.framework == "flask":
        [error] = body["errors"]
        assert (error["parameter"], error["value"]) == ("page[trips]", "7")
    else:
        [error] = body["detail"]
        assert (error["loc"], error["input"]) == (["query", "page[trips]"], "7")


def test_bare_page_and_sort_are_the_applications(api: Api) -> None:
    """``page=2`` or ``sort=name`` without brackets are not ours: left to the application."""
    assert ok(api, "/routes/AB?page=2&sort=name") == SAMPLE.route_detail("AB")


# -- property --------------------------------------------------------------------------------

ORDERS = st.lists(
    st.tuples(st.sampled_from(TRIP_SORTABLE), st.booleans()),
    max_size=3,
    unique_by=lambda item: item[0],
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route_id=st.sampled_from(sorted(SAMPLE.routes)),
    limit=st.none() | st.integers(0, 6),
    offset=st.none() | st.integers(0, 6),
    order=st.none() | ORDERS.filter(bool),
    calls=st.none() | st.integers(0, 4),
    which=st.sampled_from(["flask", "fastapi"]),
)
def test_random_page_and_sort_match_python(
    sample_apis: dict[str, Api],
    route_id: str,
    limit: int | None,
    offset: int | None,
    order: list[tuple[str, bool]] | None,
    calls: int | None,
    which: str,
) -> None:
    params: list[tuple[str, str]] = []
    if limit is not None:
        params.append(("page[trips]", str(limit)))
    if offset is not None:
        params.append(("page[trips][offset]", str(offset)))
    if order is not None:
        params.append(("sort[trips]", sort_text(order)))
    if calls is not None:
        params.append(("page[trips.stop_times]", str(calls)))
    answer = sample_apis[which].get(f"/routes/{route_id}?{urlencode(params)}")
    assert answer.status == 200, answer.body
    # One per relationship plus one; fewer when a window leaves nothing to load below it.
    assert answer.statements <= 5
    assert answer.json() == route_reference(route_id, limit, offset, order, calls)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stop_id=st.sampled_from(sorted(SAMPLE.stops)),
    limit=st.none() | st.integers(0, 10),
    offset=st.none() | st.integers(0, 8),
    order=st.none()
    | st.lists(
        st.tuples(st.sampled_from(DEPARTURE_SORTABLE), st.booleans()),
        min_size=1,
        max_size=2,
        unique_by=lambda item: item[0],
    ),
    which=st.sampled_from(["flask", "fastapi"]),
)
def test_random_departures_match_python(
    sample_apis: dict[str, Api],
    stop_id: str,
    limit: int | None,
    offset: int | None,
    order: list[tuple[str, bool]] | None,
    which: str,
) -> None:
    params: list[tuple[str, str]] = []
    if limit is not None:
        params.append(("page[stop_times]", str(limit)))
    if offset is not None:
        params.append(("page[stop_times][offset]", str(offset)))
    if order is not None:
        params.append(("sort[stop_times]", sort_text(order)))
    answer = sample_apis[which].get(f"/stops/{stop_id}?{urlencode(params)}")
    assert answer.status == 200, answer.body
    every = SAMPLE.departures(stop_id, limit=None)  # the stop's calls, in the declared order
    if order is not None:
        every = ordered(every, order, ["trip_id", "stop_sequence"])
    start = offset or 0
    expected = every[start : start + (10 if limit is None else limit)]
    assert answer.json()["stop_times"] == expected


# -- OpenAPI ---------------------------------------------------------------------------------


def schema_of(parameter: dict[str, Any]) -> dict[str, Any]:
    """A parameter's value schema; FastAPI writes an optional one as ``anyOf: [X, null]``."""
    schema: dict[str, Any] = parameter["schema"]
    if "anyOf" in schema:
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
    return schema


@pytest.mark.parametrize("which", ["flask", "fastapi"])
def test_openapi_documents_new_outputs_and_parameters(
    sample_apis: dict[str, Api], which: str
) -> None:
    doc = sample_apis[which].get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    count = schemas["RouteListItem"]["properties"]["trips_count"]
    assert count["type"] == "integer"
    departures = schemas["StopDetail"]["properties"]["stop_times"]
    assert departures["type"] == "array"
    assert departures["items"]["$ref"].endswith("/Departure")
    assert set(schemas["Departure"]["properties"]) == {
        "trip_id", "stop_sequence", "arrival_time", "departure_time", "trip",
    }  # fmt: skip
    route = {p["name"]: p for p in doc["paths"]["/routes/{route_id}"]["get"]["parameters"]}
    stop = {p["name"]: p for p in doc["paths"]["/stops/{stop_id}"]["get"]["parameters"]}
    page = schema_of(route["page[trips]"])
    assert page["type"] == "integer" and (page["minimum"], page["maximum"]) == (0, 1000)
    assert page["title"] == "page[trips]"
    assert schema_of(route["page[trips][offset]"])["type"] == "integer"
    page = schema_of(stop["page[stop_times]"])
    assert page["type"] == "integer" and (page["minimum"], page["maximum"]) == (0, 10)
    sort = schema_of(route["sort[trips]"])
    assert sort["type"] == "string" and sort["minLength"] == 1
    assert re.fullmatch(sort["pattern"], "-direction_id,trip_id")
    assert not re.fullmatch(sort["pattern"], "block_id")
    assert "direction_id" in route["sort[trips]"]["description"]
    for params in (route, stop):
        for name, param in params.items():
            if name.startswith(("page[", "sort[")):
                assert param["in"] == "query" and not param.get("required", False)
    listing = {p["name"] for p in doc["paths"]["/routes"]["get"]["parameters"]}
    assert not any(name.startswith(("page[", "sort[")) for name in listing)
