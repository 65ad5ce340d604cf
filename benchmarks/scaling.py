"""The route workload on synthetic feeds with 1x to 16x the busiest route's trips.

A real feed has one size; to see how each approach grows (linearly, or worse, or with a fixed
overhead that dominates small documents) the busiest route's trips and their stop_times are
copied ``factor - 1`` times with new trip ids (``<trip_id>#<k>``). Stops are shared, as they
would be on a busier timetable, so the document grows in trips and stop_times only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from examples.transit.models import StopTime, Trip
from sqlalchemy import Engine, create_engine, insert, literal, select

from benchmarks.harness import BenchContext, Case, CaseResult, run_cases
from benchmarks.workloads import Workload, busiest_route_id, pick_workloads

SCALES = (1, 2, 4, 8, 16)


def scaled_database(base: Path, factor: int, *, rebuild: bool = False) -> Path:
    """A copy of the database at ``base`` whose busiest route has ``factor`` times the trips."""
    if factor == 1:
        return base
    db = base.with_name(f"{base.stem}-x{factor}{base.suffix}")
    if db.exists() and not rebuild:
        return db
    tmp = db.with_suffix(".building")
    shutil.copyfile(base, tmp)
    engine = create_engine(f"sqlite:///{tmp}")
    try:
        multiply_route(engine, factor)
    finally:
        engine.dispose()
    tmp.replace(db)
    return db


def multiply_route(engine: Engine, factor: int) -> None:
    """Copy the busiest route's trips (and stop_times) ``factor - 1`` times, in SQL."""
    trips, stop_times = Trip.__table__, StopTime.__table__
    with engine.begin() as conn:
        route_id = busiest_route_id(conn)
        # The originals, fixed before the first copy: copies are on the same route.
        route_trip_ids = list(
            conn.scalars(select(trips.c.trip_id).where(trips.c.route_id == route_id))
        )
        for k in range(1, factor):
            suffix = literal(f"#{k}")
            conn.execute(
                insert(trips).from_select(
                    list(trips.c.keys()),
                    select(
                        *((c + suffix).label(c.name) if c.name == "trip_id" else c for c in trips.c)
                    ).where(trips.c.trip_id.in_(route_trip_ids)),
                )
            )
            conn.execute(
                insert(stop_times).from_select(
                    list(stop_times.c.keys()),
                    select(
                        *(
                            (c + suffix).label(c.name) if c.name == "trip_id" else c
                            for c in stop_times.c
                        )
                    ).where(stop_times.c.trip_id.in_(route_trip_ids)),
                )
            )


def run_scaling(
    base: Path,
    cases: Sequence[Case],
    *,
    scales: Sequence[int] = SCALES,
    repeat: int = 5,
    rebuild: bool = False,
    collect_garbage: bool = False,
    on_scale: Callable[[Workload], None] | None = None,
) -> tuple[dict[int, list[CaseResult]], dict[int, Workload]]:
    """Run the route ``cases`` at each scale; results and the workload measured, by scale."""
    results: dict[int, list[CaseResult]] = {}
    workloads: dict[int, Workload] = {}
    for factor in scales:
        engine = create_engine(f"sqlite:///{scaled_database(base, factor, rebuild=rebuild)}")
        try:
            workload = pick_workloads(engine)["route"]
            if on_scale:
                on_scale(workload)
            ctx = BenchContext(engine, workload)
            results[factor] = run_cases(
                ctx, cases, repeat=repeat, memory=False, collect_garbage=collect_garbage
            )
            workloads[factor] = workload
        finally:
            engine.dispose()
    return results, workloads
