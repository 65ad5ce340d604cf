"""The harness, the reports and the scaling databases, on the sample feed (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.handwritten import CASES
from benchmarks.harness import REQUEST, BenchContext, Case, as_document, ratio, run_cases
from benchmarks.scaling import run_scaling, scaled_database
from benchmarks.workloads import busiest_route_id, pick_workloads
from examples.transit.models import StopTime, Trip
from sqlalchemy import Engine, create_engine, func, select

from benchmarks import report


def test_as_document_normalizes_bytes_and_single_item_lists() -> None:
    assert as_document(b'[{"a": 1}]') == {"a": 1}
    assert as_document([{"a": 1}]) == {"a": 1}
    assert as_document({"a": 1}) == {"a": 1}
    assert as_document([{"a": 1}, {"a": 2}]) == [{"a": 1}, {"a": 2}]


def test_run_cases_measures_and_flags_wrong_output(sample_engine: Engine, tmp_path: Path) -> None:
    workload = pick_workloads(sample_engine)["trip"]
    wanted = ("marshmallow (hand)", "dict (hand)", "core selects (hand)", "sqlite json (hand)")
    cases = [c for c in CASES if c.workload == "trip" and c.name in wanted]
    wrong = Case("trip", "wrong", REQUEST, lambda ctx: b'{"trip_id": "nope"}')
    results = run_cases(BenchContext(sample_engine, workload), [*cases, wrong], repeat=2)

    by_name = {r.name: r for r in results}
    assert all(len(r.times) == 2 for r in results)
    assert all(r.matches_reference for r in results[:-1])
    assert not by_name["wrong"].matches_reference
    assert by_name["sqlite json (hand)"].statements == 1
    assert by_name["dict (hand)"].peak_bytes > 0
    assert ratio(by_name["marshmallow (hand)"], results) == 1.0

    table = report.results_table(workload, results, memory=True)
    assert "| core selects (hand) | request |" in table
    assert "wrong (**output differs**)" in table
    chart = tmp_path / "chart.png"
    report.results_chart([(workload, results)], "test", chart)
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_scaled_database_multiplies_the_busiest_route(sample_db: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.sqlite"
    base.write_bytes(sample_db.read_bytes())
    engine = create_engine(f"sqlite:///{base}")
    with engine.connect() as conn:
        route_id = busiest_route_id(conn)
        n_trips = conn.scalar(select(func.count()).where(Trip.route_id == route_id))
        n_other = conn.scalar(select(func.count()).where(Trip.route_id != route_id))
    engine.dispose()

    scaled = create_engine(f"sqlite:///{scaled_database(base, 3)}")
    with scaled.connect() as conn:
        assert busiest_route_id(conn) == route_id
        assert conn.scalar(select(func.count()).where(Trip.route_id == route_id)) == 3 * n_trips
        assert conn.scalar(select(func.count()).where(Trip.route_id != route_id)) == n_other
        copies = conn.scalar(select(func.count()).where(StopTime.trip_id.like("%#2")))
        originals = conn.scalar(
            select(func.count())
            .select_from(StopTime)
            .join(Trip, Trip.trip_id == StopTime.trip_id)
            .where(Trip.route_id == route_id, ~StopTime.trip_id.like("%#%"))
        )
        assert copies == originals > 0
    scaled.dispose()


def test_run_scaling_and_its_report(sample_db: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.sqlite"
    base.write_bytes(sample_db.read_bytes())
    cases = [c for c in CASES if c.workload == "route"][:4]
    results, workloads = run_scaling(base, cases, scales=(1, 2), repeat=1)
    assert all(r.matches_reference for rs in results.values() for r in rs)
    assert workloads[2].key == workloads[1].key
    table = report.scaling_table(results, "sample", 1)
    assert "| 1x | 2x | 2x / 1x |" in table
    chart = tmp_path / "scaling.png"
    report.scaling_chart(results, "test", chart)
    assert chart.read_bytes().startswith(b"\x89PNG")
