"""Both apps, through test clients and over real HTTP: bodies against the feed's CSV files,
identical bodies across apps, narrowing, pagination, 404s and statements per request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import CAIRNS_FEED, SAMPLE_FEED, Api, read_csv
from .expected import DEPARTURES, STOP_BRIEF, FeedBodies

SAMPLE = FeedBodies(SAMPLE_FEED)
SAMPLE_ROUTES = sorted(SAMPLE.routes)
SAMPLE_STOPS = sorted(SAMPLE.stops)
SAMPLE_TRIPS = sorted(SAMPLE.trips)


def ok(api: Api, url: str) -> object:
    answer = api.get(url)
    assert answer.status == 200, answer.body
    assert answer.content_type.startswith("application/json")
    return answer.json()


def test_route_list(api: Api) -> None:
    assert ok(api, "/routes") == SAMPLE.route_list()


def test_stop_list(api: Api) -> None:
    assert ok(api, "/stops") == SAMPLE.stop_list()


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (2, 1), (3, 4), (50, 9), (1000, 0)])
def test_pagination(api: Api, limit: int, offset: int) -> None:
    stops = SAMPLE.stop_list()
    assert ok(api, f"/stops?limit={limit}&offset={offset}") == stops[offset : offset + limit]
    routes = SAMPLE.route_list()
    assert ok(api, f"/routes?offset={offset}&limit={limit}") == routes[offset : offset + limit]


@pytest.mark.parametrize("route_id", SAMPLE_ROUTES)
def test_route_detail(api: Api, route_id: str) -> None:
    assert ok(api, f"/routes/{route_id}") == SAMPLE.route_detail(route_id)


@pytest.mark.parametrize("stop_id", SAMPLE_STOPS)
def test_stop_detail(api: Api, stop_id: str) -> None:
    assert ok(api, f"/stops/{stop_id}") == SAMPLE.stop_detail(stop_id)


@pytest.mark.parametrize("trip_id", SAMPLE_TRIPS)
def test_trip_detail(api: Api, trip_id: str) -> None:
    assert ok(api, f"/trips/{trip_id}") == SAMPLE.trip_detail(trip_id)


@pytest.mark.parametrize("trip_id", SAMPLE_TRIPS)
def test_trip_stop_times(api: Api, trip_id: str) -> None:
    assert ok(api, f"/trips/{trip_id}/stop_times") == SAMPLE.stop_time_with_stop(trip_id)


def seconds(time: str) -> int:
    """``HH:MM:SS`` (or GTFS's ``H:MM:SS``, hours past 23 included) as seconds past midnight."""
    hours, minutes, secs = (int(part) for part in time.split(":"))
    return hours * 3600 + minutes * 60 + secs


def assert_first_departures(body: dict[str, Any], feed: Path, stop_id: str) -> None:
    """A stop's page lists its earliest departures in time order, compared as times (not text,
    in which ``10:00:00`` comes before ``8:15:00``), against the feed's raw CSV."""
    calls = [st for st in read_csv(feed, "stop_times.txt") if st["stop_id"] == stop_id]
    every = sorted(seconds(st["departure_time"]) for st in calls if st["departure_time"])
    served = [seconds(st["departure_time"]) for st in body["stop_times"] if st["departure_time"]]
    assert len(body["stop_times"]) == min(DEPARTURES, len(calls))
    assert served == every[: len(served)]  # calls without a time come last


@pytest.mark.parametrize("stop_id", SAMPLE_STOPS)
def test_departures_in_time_order(api: Api, stop_id: str) -> None:
    body = ok(api, f"/stops/{stop_id}")
    assert isinstance(body, dict)
    assert_first_departures(body, SAMPLE_FEED, stop_id)


URLS = [
    "/routes",
    "/routes?include=",
    "/stops?limit=3&offset=2",
    *(f"/routes/{r}" for r in SAMPLE_ROUTES),
    *(f"/stops/{s}" for s in SAMPLE_STOPS),
    *(f"/trips/{t}/stop_times" for t in SAMPLE_TRIPS),
    *(f"/trips/{t}" for t in SAMPLE_TRIPS),
    "/routes/AB?include=trips&fields[Trip]=trip_id",
    "/stops/BULLFROG?include=trips.route&fields[Route]=route_short_name&fields[Trip]=trip_id",
    "/trips/AB1/stop_times?fields[StopTime]=stop_sequence&fields[Stop]=stop_name",
    "/trips/CITY1?include=stops,route&fields[Trip]=trip_id,stops&fields[Route]=route_short_name",
    "/trips/STBA?include=stop_times",
]


@pytest.mark.parametrize("url", URLS)
def test_identical_bodies(sample_apis: dict[str, Api], url: str) -> None:
    """The two apps answer byte for byte the same, through test clients and over HTTP."""
    bodies = {name: api.get(url).body for name, api in sample_apis.items()}
    assert len(set(bodies.values())) == 1, bodies


def test_narrowing_include_and_fields(api: Api) -> None:
    body = ok(api, "/routes/AB?include=trips&fields[Trip]=trip_id")
    full = SAMPLE.route_detail("AB")
    del full["agency"]
    full["trips"] = [{"trip_id": t["trip_id"]} for t in full["trips"]]
    assert body == full


def test_empty_include_means_no_relationships(api: Api) -> None:
    body = ok(api, "/routes/AB?include=")
    assert isinstance(body, dict)
    assert "trips" not in body and "agency" not in body
    assert body["route_id"] == "AB"


def test_include_keeps_prefixes(api: Api) -> None:
    body = ok(api, "/routes/AB?include=trips.stop_times.stop&fields[Stop]=stop_name")
    assert isinstance(body, dict)
    assert "agency" not in body
    calls = [st for trip in body["trips"] for st in trip["stop_times"]]
    assert calls and all(set(st["stop"]) == {"stop_name"} for st in calls)


def test_trip_narrowing(api: Api) -> None:
    """``include`` keeps the stops' ids, the count or neither; ``fields[Trip]`` the trip's."""
    full = SAMPLE.trip_detail("CITY1")
    body = ok(api, "/trips/CITY1?include=stops&fields[Trip]=trip_id,stops")
    assert body == {"trip_id": "CITY1", "stops": full["stops"]}
    body = ok(api, "/trips/CITY1?fields[Trip]=trip_id,stops")
    assert body == {"trip_id": "CITY1", "route": full["route"], "stops": full["stops"]}
    query = "include=stop_times&fields[Trip]=trip_id,direction_id,stop_times_count"
    body = ok(api, f"/trips/CITY1?{query}")
    assert body == {"trip_id": "CITY1", "direction_id": 0, "stop_times_count": 5}
    # The include names the id list, the fieldset leaves it out: it would have no effect.
    answer = api.get("/trips/CITY1?include=stops&fields[Trip]=trip_id")
    assert answer.status == 400 and answer.statements == 0
    assert b"no effect" in answer.body
    assert full["stop_times_count"] == len(full["stops"]) == 5
    body = ok(api, "/trips/CITY1?include=")
    assert body == {
        k: v for k, v in full.items() if k not in {"route", "stops", "stop_times_count"}
    }


def test_fields_apply_to_every_occurrence(api: Api) -> None:
    """fields[Stop] narrows the stop and its parent station alike (JSON:API sparse fields)."""
    body = ok(api, "/stops?fields[Stop]=stop_id,stop_name&limit=2")
    assert body == [
        {"stop_id": s["stop_id"], "stop_name": s["stop_name"], "parent": None}
        for s in SAMPLE.stop_list()[:2]
    ]


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("/routes/NOPE", "route"),
        ("/stops/NOPE", "stop"),
        ("/trips/NOPE/stop_times", "trip"),
        ("/trips/NOPE", "trip"),
        ("/trips/NOPE?include=stops&fields[Trip]=trip_id,stops", "trip"),
        ("/routes/NOPE?include=trips", "route"),
    ],
)
def test_missing_id_is_404(api: Api, url: str, what: str) -> None:
    answer = api.get(url)
    assert answer.status == 404
    assert answer.content_type.startswith("application/json")
    body = answer.json()
    message = body["message"] if api.framework == "flask" else body["detail"]
    assert f"No {what} with {what}_id 'NOPE'" in message


# Statements per request on the sample feed: one for the roots, one per included
# relationship; SQLAlchemy skips a many-to-one's statement when no row on the page has a key
# (the sample feed has no parent stations, so `parent` costs nothing there).
STATEMENTS = [
    ("/routes", 2),  # routes (with their trips_count, a column of the same statement), agency
    ("/routes?include=", 1),
    ("/stops", 1),  # stops (+1 with any parent station on the page)
    ("/routes/AB", 5),  # route, agency, trips, stop_times, stops
    ("/routes/AB?include=trips", 2),
    ("/routes/AB?include=trips.stop_times", 3),
    ("/routes/AB?include=", 1),
    ("/stops/BULLFROG", 5),  # stop, trips, their routes, first departures, their trips
    ("/stops/BULLFROG?include=trips", 2),
    ("/stops/BULLFROG?include=stop_times", 2),  # the departures' window costs one statement
    ("/stops/BULLFROG?page[stop_times]=2&sort[stop_times]=-departure_time", 5),
    ("/routes/AB?page[trips]=1&sort[trips]=-trip_id&page[trips.stop_times]=2", 5),
    ("/routes/AB?page[trips]=1001", 0),  # over the cap: a 400 before any query
    ("/trips/AB1/stop_times", 2),  # stop_times, stops
    ("/trips/AB1/stop_times?include=", 1),
    ("/routes/NOPE", 1),
    ("/stops/NOPE", 1),
    ("/trips/NOPE/stop_times", 2),  # no stop_times, then: is there such a trip?
    ("/trips/AB1", 3),  # trip (with its stop_times_count), route, stops' ids
    ("/trips/AB1?include=stops", 2),  # the ids: one statement through stop_times
    ("/trips/AB1?include=stop_times", 1),  # a count only: a column of the trip's statement
    ("/trips/AB1?include=", 1),
    ("/trips/NOPE", 1),
    ("/trips/AB1?include=stops.stop", 0),  # ids have no sub-tree: a 400
    ("/routes/AB?include=nope", 0),  # a 400 costs no query
    ("/routes?limit=0", 0),
]


@pytest.mark.parametrize(("url", "count"), STATEMENTS)
def test_statement_count(api: Api, url: str, count: int) -> None:
    assert api.get(url).statements == count


def test_cairns_route(cairns_apis: dict[str, Api]) -> None:
    """A busy route of a real feed: 125 trips, 3,000+ stop_times, still 5 statements."""
    cairns = FeedBodies(CAIRNS_FEED)
    expected = cairns.route_detail("110-423")
    assert len(expected["trips"]) == 125
    bodies = set()
    for api in cairns_apis.values():
        answer = api.get("/routes/110-423")
        assert answer.status == 200
        assert answer.statements == 5, (api, answer.statements)
        assert answer.json() == expected
        bodies.add(answer.body)
    assert len(bodies) == 1


def test_cairns_lists_and_stop(cairns_apis: dict[str, Api]) -> None:
    cairns = FeedBodies(CAIRNS_FEED)
    stop_id = max(cairns.trips_at, key=lambda s: len(cairns.trips_at[s]))
    for api in cairns_apis.values():
        assert api.get("/routes").json() == cairns.route_list()
        assert api.get("/stops?limit=1000").json() == cairns.stop_list()
        answer = api.get(f"/stops/{stop_id}")
        assert answer.json() == cairns.stop_detail(stop_id)
        assert_first_departures(answer.json(), CAIRNS_FEED, stop_id)
        assert answer.statements == 5
        answer = api.get(f"/stops/{stop_id}?include=&fields[Stop]={','.join(STOP_BRIEF)}")
        assert answer.json() == cairns.stop_brief(stop_id)
        assert answer.statements == 1


def test_cairns_trips_with_repeated_stops(cairns_apis: dict[str, Api]) -> None:
    """Loops of a real feed: a trip's ``stops`` has the stop of every call, in stop_sequence
    order, so a stop called at twice is there twice (a membership test, or a DISTINCT, would
    list it once); 3 statements, the same bytes from each app, each way."""
    cairns = FeedBodies(CAIRNS_FEED)
    loops = cairns.trips_with_repeated_stops()
    assert len(loops) == 39
    repeats = sum(len(b["stops"]) - len(set(b["stops"])) for b in map(cairns.trip_detail, loops))
    assert repeats == 74
    for trip_id in loops:
        expected = cairns.trip_detail(trip_id)
        bodies = set()
        for api in cairns_apis.values():
            answer = api.get(f"/trips/{trip_id}")
            assert answer.status == 200, (api, trip_id)
            assert answer.statements == 3, (api, trip_id, answer.statements)
            assert answer.json() == expected, (api, trip_id)
            bodies.add(answer.body)
        assert len(bodies) == 1, trip_id


# -- the same answers on SQLite and PostgreSQL ---------------------------------------------------

BOTH_DATABASES = [
    *URLS,
    *(url for url, _ in STATEMENTS),
    "/routes?limit=2&offset=3",
    "/stops?include=parent&fields[Stop]=stop_id,stop_name",
    "/routes/CITY?sort[trips]=-direction_id,trip_headsign&page[trips]=3",
    "/routes/CITY?page[trips.stop_times]=2&page[trips.stop_times][offset]=1",
    "/stops/BEATTY_AIRPORT?sort[stop_times]=-arrival_time,trip_id&page[stop_times]=4",
    "/stops/STAGECOACH?include=trips.route,stop_times&fields[Trip]=trip_id,trip_headsign",
    "/routes/AB?include=trips.nope&fields[Stop]=nope",  # 400s: the same message
    "/stops?limit=1001",
    "/stops/NOPE?include=trips",  # 404
]


def _same_on_both(sqlite: dict[str, Api], postgresql: dict[str, Api], url: str) -> bytes:
    """Each app, each way, answers ``url`` on PostgreSQL as on SQLite: the same status, the
    same body byte for byte and the same number of statements. Returns the body."""
    for name, lite in sqlite.items():
        expected, answer = lite.get(url), postgresql[name].get(url)
        assert (answer.status, answer.body) == (expected.status, expected.body), (name, url)
        assert answer.statements == expected.statements, (name, url)
    return sqlite["flask"].get(url).body


@pytest.mark.parametrize("url", list(dict.fromkeys(BOTH_DATABASES)))
def test_same_answers_on_both_databases(
    sqlite_sample_apis: dict[str, Api], postgresql_sample_apis: dict[str, Api], url: str
) -> None:
    _same_on_both(sqlite_sample_apis, postgresql_sample_apis, url)


def test_cairns_same_answers_on_both_databases(
    sqlite_cairns_apis: dict[str, Api], postgresql_cairns_apis: dict[str, Api]
) -> None:
    """A real feed's busiest stop and route, its lists: thousands of rows whose order (text
    keys, departure times, a window cut in SQL) must come out the same on both databases."""
    cairns = FeedBodies(CAIRNS_FEED)
    stop_id = max(cairns.trips_at, key=lambda s: len(cairns.trips_at[s]))
    for url in [
        "/routes",
        "/stops?limit=1000&offset=100",
        "/routes/110-423",
        "/routes/110-423?sort[trips]=-service_id,trip_headsign&page[trips]=7",
        f"/stops/{stop_id}",
        f"/stops/{stop_id}?sort[stop_times]=-departure_time&page[stop_times][offset]=5",
        *(f"/trips/{trip_id}" for trip_id in cairns.trips_with_repeated_stops()[::10]),
    ]:
        body = _same_on_both(sqlite_cairns_apis, postgresql_cairns_apis, url)
        assert body.startswith((b"[{", b"{")), url
