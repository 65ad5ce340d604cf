"""Every hand-written baseline gives the same document, so the benchmark compares equal work.

No timing is asserted anywhere: the numbers are the benchmark's to report, not the tests'.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.handwritten import CASES
from benchmarks.harness import BenchContext, Case, as_document, count_statements
from benchmarks.workloads import Workload, pick_workloads
from examples.transit.models import Route, Stop, StopTime, Trip
from sqlalchemy import Engine, create_engine, insert, select

from benchmarks import handwritten_sql

WORKLOADS = ("route", "stop", "trip")


def cases_of(workload: str) -> list[Case]:
    return [c for c in CASES if c.workload == workload]


def documents(ctx: BenchContext) -> dict[str, object]:
    """Each case's output for ``ctx``, normalized, by case name."""
    out = {}
    for case in cases_of(ctx.workload.name):
        state = case.setup(ctx) if case.setup else ctx
        out[case.name] = as_document(case.run(state))
    return out


def assert_all_equal(docs: dict[str, object]) -> None:
    (first, reference), *others = docs.items()
    for name, doc in others:
        assert doc == reference, f"{name} differs from {first}"


@pytest.mark.parametrize("workload", WORKLOADS)
def test_baselines_agree_on_sample_feed(sample_engine: Engine, workload: str) -> None:
    ctx = BenchContext(sample_engine, pick_workloads(sample_engine)[workload])
    docs = documents(ctx)
    assert len(docs) == 9
    assert_all_equal(docs)


def test_route_document_shape(sample_engine: Engine) -> None:
    workload = pick_workloads(sample_engine)["route"]
    doc = handwritten_sql.core_document(sample_engine, "route", workload.key)
    assert doc["route_id"] == workload.key
    trip_ids = [t["trip_id"] for t in doc["trips"]]
    assert trip_ids == sorted(trip_ids) and trip_ids
    for trip in doc["trips"]:
        sequences = [st["stop_sequence"] for st in trip["stop_times"]]
        assert sequences == sorted(sequences)
        assert all(st["stop"]["stop_id"] == st["stop_id"] for st in trip["stop_times"])
    assert set(doc) == {c.name for c in handwritten_sql.routes.columns} | {"trips"}


def test_statement_counts(sample_engine: Engine) -> None:
    ctx = BenchContext(sample_engine, pick_workloads(sample_engine)["route"])
    counts = {}
    for case in cases_of("route"):
        state = case.setup(ctx) if case.setup else ctx
        case.run(state)  # warm: the SQLite JSON probe runs once per process
        with count_statements(sample_engine) as counter:
            case.run(state)
        counts[case.name] = counter[0]
    doc = handwritten_sql.core_document(sample_engine, "route", ctx.workload.key)
    n_trips = len(doc["trips"])
    n_stops = len({st["stop_id"] for t in doc["trips"] for st in t["stop_times"]})
    assert counts["marshmallow (hand)"] == counts["dict (hand)"] == 0
    assert counts["marshmallow + selectinload (hand)"] == 4
    assert counts["core selects (hand)"] == 4
    assert counts["sqlite json (hand)"] == 1
    # route, its trips, each trip's stop_times, each distinct stop once (identity map)
    assert counts["lazy + marshmallow (hand)"] == 2 + n_trips + n_stops


@pytest.fixture
def edge_engine(sample_db: Path, tmp_path: Path) -> Iterator[Engine]:
    """The sample feed plus the rows the feed lacks: a trip without stop_times, a loop trip
    calling twice at a stop, a stop no trip serves, and fractional floats."""
    db = tmp_path / "edge.sqlite"
    shutil.copyfile(sample_db, db)
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        route_id = conn.scalar(select(Trip.route_id).order_by(Trip.route_id).limit(1))
        stop_ids = conn.scalars(select(Stop.stop_id).order_by(Stop.stop_id).limit(2)).all()
        conn.execute(
            insert(Stop),
            [
                {"stop_id": "ZZ_LONELY", "stop_name": "Nobody stops here", "stop_lat": 1.25},
            ],
        )
        trip = {"route_id": route_id, "service_id": "X", "trip_headsign": "Loop"}
        conn.execute(
            insert(Trip),
            [{**trip, "trip_id": "ZZ_EMPTY"}, {**trip, "trip_id": "ZZ_LOOP", "direction_id": 1}],
        )
        loop = [stop_ids[0], stop_ids[1], stop_ids[0]]
        conn.execute(
            insert(StopTime),
            [
                {
                    "trip_id": "ZZ_LOOP",
                    "stop_sequence": 10 * (i + 1),
                    "stop_id": stop_id,
                    "arrival_time": f"25:0{i}:00",
                    "shape_dist_traveled": 0.5 + i * 1.75,
                    "stop_headsign": "Loop",
                }
                for i, stop_id in enumerate(loop)
            ],
        )
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("workload", "key"),
    [
        ("route", None),
        ("stop", "ZZ_LONELY"),
        ("stop", "loop stop"),
        ("trip", "ZZ_EMPTY"),
        ("trip", "ZZ_LOOP"),
    ],
)
def test_baselines_agree_on_edge_rows(edge_engine: Engine, workload: str, key: str | None) -> None:
    with edge_engine.connect() as conn:
        loop_stop = conn.scalar(
            select(StopTime.stop_id).where(StopTime.trip_id == "ZZ_LOOP").limit(1)
        )
        route_id = conn.scalar(select(Trip.route_id).where(Trip.trip_id == "ZZ_LOOP"))
    key = {None: route_id, "loop stop": loop_stop}.get(key, key)
    root = {"route": Route, "stop": Stop, "trip": Trip}
    ctx = BenchContext(edge_engine, Workload(workload, root[workload], key, "edge"))
    docs = documents(ctx)
    assert_all_equal(docs)
    doc = docs["core selects (hand)"]
    assert isinstance(doc, dict)
    if key == "ZZ_EMPTY":
        assert doc["stop_times"] == []
    if key == "ZZ_LONELY":
        assert doc["trips"] == []
    if workload == "stop" and key == loop_stop:
        trip_ids = [t["trip_id"] for t in doc["trips"]]
        assert trip_ids.count("ZZ_LOOP") == 1


@pytest.mark.parametrize("workload", WORKLOADS)
def test_sqlite_json_with_and_without_json_wrapping(
    sample_engine: Engine, workload: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form of the JSON query for SQLite versions that drop a subquery's JSON subtype
    (``json()`` around each subquery) gives the Core document too."""
    key = pick_workloads(sample_engine)[workload].key
    expected = handwritten_sql.core_document(sample_engine, workload, key)
    assert as_document(handwritten_sql.json_document(sample_engine, workload, key)) == expected
    monkeypatch.setattr(handwritten_sql, "_subtype_kept", [False])
    assert as_document(handwritten_sql.json_document(sample_engine, workload, key)) == expected
