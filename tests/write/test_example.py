"""The example's POST, PUT and PATCH /trips over HTTP, in the Flask and the FastAPI app.

Both apps serve the endpoints of `examples.transit.writes`; each test runs against both (their
test clients, on a fresh copy of the sample feed's database) and checks the same answers: the
written trip as ``GET /trips/{trip_id}`` shows it, the timetable after a PUT, 422s with the
same JSON paths in each framework's format, 404s, and the bodies in both OpenAPI documents.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from examples.transit import fastapi_app, flask_app
from examples.transit.importer import import_feed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SAMPLE_FEED = (
    Path(__file__).resolve().parents[2] / "examples" / "transit" / "data" / "sample_gtfs.zip"
)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("writes") / "sample.sqlite"
    import_feed(SAMPLE_FEED, f"sqlite:///{path}", progress=False)
    return path


class Client:
    """One app's test client, answering ``(status, json)``; the 422 paths in one form."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        if kind == "flask":
            self.client: Any = flask_app.create_app(url).test_client()
        else:
            self.client = TestClient(fastapi_app.create_app(url))

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        send = getattr(self.client, method)
        answer = send(path) if body is None else send(path, json=body)
        data = answer.get_json() if self.kind == "flask" else answer.json()
        return answer.status_code, data

    def error_paths(self, data: Any) -> set[tuple[Any, ...]]:
        if self.kind == "flask":
            return {tuple(e["loc"]) for e in data["errors"]}
        assert all(e["loc"][0] == "body" for e in data["detail"])
        return {tuple(e["loc"][1:]) for e in data["detail"]}


@pytest.fixture(params=["flask", "fastapi"])
def app(request: pytest.FixtureRequest, imported: Path, tmp_path: Path) -> Iterator[Client]:
    path = tmp_path / "db.sqlite"
    shutil.copy(imported, path)
    yield Client(request.param, f"sqlite:///{path}")


NEW_TRIP = {
    "trip_id": "AB9",
    "route_id": "AB",
    "service_id": "FULLW",
    "trip_headsign": "to Bullfrog",
    "direction_id": 0,
    "stop_times": [
        {"stop_sequence": 1, "stop": "BEATTY_AIRPORT", "arrival_time": "08:00:00"},
        {"stop_sequence": 2, "stop": "BULLFROG", "arrival_time": "08:15:00"},
    ],
}


def test_post_creates_and_answers_like_get(app: Client) -> None:
    status, created = app.call("post", "/trips", NEW_TRIP)
    assert status == 201
    assert app.call("get", "/trips/AB9") == (200, created)
    assert created["stops"] == ["BEATTY_AIRPORT", "BULLFROG"]
    assert created["stop_times_count"] == 2
    status, calls = app.call("get", "/trips/AB9/stop_times")
    assert [(c["stop_sequence"], c["stop_id"], c["arrival_time"]) for c in calls] == [
        (1, "BEATTY_AIRPORT", "08:00:00"),
        (2, "BULLFROG", "08:15:00"),
    ]


def test_put_replaces_the_timetable(app: Client) -> None:
    assert app.call("post", "/trips", NEW_TRIP)[0] == 201
    body = {
        **NEW_TRIP,
        "trip_headsign": "Bullfrog",
        "stop_times": [
            {"stop_sequence": 2, "stop": "BULLFROG", "arrival_time": "08:20:00"},
            {"stop_sequence": 3, "stop": "STAGECOACH", "arrival_time": "08:40:00"},
        ],
    }
    status, replaced = app.call("put", "/trips/AB9", body)
    assert status == 200 and replaced["trip_headsign"] == "Bullfrog"
    status, calls = app.call("get", "/trips/AB9/stop_times")
    assert [(c["stop_sequence"], c["stop_id"], c["arrival_time"]) for c in calls] == [
        (2, "BULLFROG", "08:20:00"),
        (3, "STAGECOACH", "08:40:00"),
    ]


def test_patch_changes_only_what_it_gives(app: Client) -> None:
    status, before = app.call("get", "/trips/AB1")
    status, patched = app.call("patch", "/trips/AB1", {"trip_headsign": None})
    assert status == 200 and patched == {**before, "trip_headsign": None}
    assert app.call("get", "/trips/AB1") == (200, patched)


def test_invalid_bodies_are_422s_with_the_same_paths(app: Client) -> None:
    bad = {
        **NEW_TRIP,
        "trip_id": "X" * 65,
        "color": "red",
        "stop_times": [{"stop_sequence": "one", "stop": "BULLFROG"}, {"stop": "BULLFROG"}],
    }
    status, data = app.call("post", "/trips", bad)
    assert status == 422
    assert app.error_paths(data) == {
        ("trip_id",),
        ("color",),
        ("stop_times", 0, "stop_sequence"),
        ("stop_times", 1, "stop_sequence"),
    }
    # what only the database can tell: a stop that does not exist, a trip that does
    status, data = app.call(
        "post",
        "/trips",
        {**NEW_TRIP, "trip_id": "AB1", "stop_times": [{"stop_sequence": 1, "stop": "NOWHERE"}]},
    )
    assert status == 422
    assert app.error_paths(data) == {("trip_id",), ("stop_times", 0, "stop")}
    assert app.call("get", "/trips/AB9")[0] == 404  # nothing was written


def test_an_unknown_trip_is_a_404(app: Client) -> None:
    status, _ = app.call("put", "/trips/NOPE", {**NEW_TRIP, "trip_id": "NOPE"})
    assert status == 404
    assert app.call("patch", "/trips/NOPE", {})[0] == 404


def test_openapi_documents_the_bodies(app: Client) -> None:
    assert app.call("get", "/openapi.json")[0] == 200
    document = app.call("get", "/openapi.json")[1]
    schemas = document["components"]["schemas"]
    assert {"TripCreate", "TripReplace", "TripPatch", "StopTimeCreate", "StopTimeReplace"} <= set(
        schemas
    )
    operations = document["paths"]["/trips/{trip_id}"]
    assert {"get", "put", "patch"} <= set(operations)
    for method, name in (("put", "TripReplace"), ("patch", "TripPatch")):
        content = operations[method]["requestBody"]["content"]["application/json"]
        assert content["schema"]["$ref"].endswith(f"/{name}")
    post = document["paths"]["/trips"]["post"]["requestBody"]["content"]["application/json"]
    assert post["schema"]["$ref"].endswith("/TripCreate")
    assert schemas["TripCreate"]["properties"]["trip_id"]["maxLength"] == 64


def test_replacing_a_40_call_timetable_reads_three_statements(
    imported: Path, tmp_path: Path
) -> None:
    """The trip's calls, the stops they name, the route: whatever the number of calls."""
    import sqlalchemy as sa
    from examples.transit.models import StopTime, Trip
    from examples.transit.writes import trip_in
    from sqlalchemy.orm import Session

    from tests.statements import StatementCounter

    path = tmp_path / "db.sqlite"
    shutil.copy(imported, path)
    engine = sa.create_engine(f"sqlite:///{path}")
    stops = ["BEATTY_AIRPORT", "BULLFROG", "STAGECOACH", "NADAV", "DADAN"]
    calls = [{"stop_sequence": i, "stop": stops[i % 5]} for i in range(1, 41)]
    with Session(engine) as session, StatementCounter(engine) as counter:
        trip = session.get(Trip, "AB1")
        counter.reset()
        trip_in.load(
            {**NEW_TRIP, "trip_id": "AB1", "stop_times": calls}, session=session, instance=trip
        )
        assert counter.count == 3
        session.commit()
        count = session.scalar(sa.select(sa.func.count()).where(StopTime.trip_id == "AB1"))
    assert count == 40
    engine.dispose()
