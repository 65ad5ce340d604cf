"""Micro benchmark of serialization alone: treeshape's dumper and generated classes against the
hand-written baselines, on already-loaded objects.

    python -m benchmarks.dumper_bench [--rounds N]

Builds the Cairns feed's busiest route (126 trips, 4,788 stop_times with their stops) once,
through ``examples.transit.importer.import_feed`` into a temporary SQLite file (a synthetic
route of the same size when the importer or the feed is missing), loads it with the shape's
loader options, then times every case interleaved (one run of each per round, so a noisy
neighbour slows all of them alike) and prints medians and ratios. CPU time of this thread is
measured, not wall time: on a shared machine it is the steadier of the two. Each run starts
after a full garbage collection.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from examples.transit.models import Base, Route, Stop, StopTime, Trip
from marshmallow import Schema, fields
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

import treeshape as ts

ROOT = Path(__file__).resolve().parent.parent
FEED = ROOT / "examples" / "transit" / "data" / "cairns_gtfs.zip"
route_detail = ts.shape(Route, "trips.stop_times.stop")


def build_database(path: Path) -> str:
    """Import Cairns into ``path``; synthetic data if that is not possible. Returns the source."""
    url = f"sqlite:///{path}"
    try:
        from examples.transit.importer import import_feed

        if FEED.is_file():
            import_feed(FEED, url, progress=False)
            return "cairns"
    except ImportError:
        pass
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        stops = [
            Stop(stop_id=f"s{i}", stop_name=f"Stop {i}", stop_lat=-16.9 - i / 1000, stop_lon=145.7)
            for i in range(120)
        ]
        session.add_all(stops)
        route = Route(route_id="r1", route_short_name="110", route_type=3)
        session.add(route)
        for t in range(126):
            trip = Trip(trip_id=f"t{t:03}", route=route, service_id="weekday", direction_id=t % 2)
            session.add(trip)
            for n in range(38):
                session.add(
                    StopTime(
                        trip=trip,
                        stop_sequence=n + 1,
                        stop=stops[(t + n) % 120],
                        arrival_time=f"{6 + n // 6:02}:{n % 60:02}:00",
                        departure_time=f"{6 + n // 6:02}:{n % 60:02}:00",
                    )
                )
        session.commit()
    engine.dispose()
    return "synthetic"


def busiest_route(session: Session) -> Route:
    route_id = session.scalars(
        select(Trip.route_id)
        .join(StopTime, StopTime.trip_id == Trip.trip_id)
        .group_by(Trip.route_id)
        .order_by(func.count().desc(), Trip.route_id)
        .limit(1)
    ).one()
    return session.scalars(
        select(Route).where(Route.route_id == route_id).options(*route_detail.loader_options())
    ).one()


# Hand-written marshmallow in the same style as the generated schema (plain Schema, Nested with
# many=True): the like-for-like baseline for "generated within 1.1x of hand-written".
class StopSchema(Schema):
    stop_id = fields.String()
    stop_code = fields.String(allow_none=True)
    stop_name = fields.String(allow_none=True)
    stop_desc = fields.String(allow_none=True)
    stop_lat = fields.Float(allow_none=True)
    stop_lon = fields.Float(allow_none=True)
    zone_id = fields.String(allow_none=True)
    stop_url = fields.String(allow_none=True)
    location_type = fields.Integer(allow_none=True)
    parent_station = fields.String(allow_none=True)
    stop_timezone = fields.String(allow_none=True)
    wheelchair_boarding = fields.Integer(allow_none=True)
    platform_code = fields.String(allow_none=True)


class StopTimeSchema(Schema):
    trip_id = fields.String()
    stop_sequence = fields.Integer()
    arrival_time = fields.String(allow_none=True)
    departure_time = fields.String(allow_none=True)
    stop_id = fields.String()
    stop_headsign = fields.String(allow_none=True)
    pickup_type = fields.Integer(allow_none=True)
    drop_off_type = fields.Integer(allow_none=True)
    shape_dist_traveled = fields.Float(allow_none=True)
    timepoint = fields.Integer(allow_none=True)
    stop = fields.Nested(StopSchema)


class TripSchema(Schema):
    trip_id = fields.String()
    route_id = fields.String()
    service_id = fields.String()
    trip_headsign = fields.String(allow_none=True)
    trip_short_name = fields.String(allow_none=True)
    direction_id = fields.Integer(allow_none=True)
    block_id = fields.String(allow_none=True)
    shape_id = fields.String(allow_none=True)
    wheelchair_accessible = fields.Integer(allow_none=True)
    bikes_allowed = fields.Integer(allow_none=True)
    stop_times = fields.Nested(StopTimeSchema, many=True)


class RouteSchema(Schema):
    route_id = fields.String()
    agency_id = fields.String(allow_none=True)
    route_short_name = fields.String(allow_none=True)
    route_long_name = fields.String(allow_none=True)
    route_desc = fields.String(allow_none=True)
    route_type = fields.Integer()
    route_url = fields.String(allow_none=True)
    route_color = fields.String(allow_none=True)
    route_text_color = fields.String(allow_none=True)
    route_sort_order = fields.Integer(allow_none=True)
    trips = fields.Nested(TripSchema, many=True)


def cases(route: Route) -> dict[str, Callable[[], Any]]:
    from benchmarks import handwritten as hw

    generated_schema = route_detail.marshmallow_schema()
    generated_model = route_detail.pydantic_model
    plain_schema = RouteSchema()
    return {
        "treeshape dump": lambda: route_detail.dump(route),
        "treeshape dump_json": lambda: route_detail.dump_json(route),
        "generated marshmallow": lambda: generated_schema.dump(route),
        "generated pydantic": lambda: generated_model.model_validate(route).model_dump(mode="json"),
        "hand dict builder": lambda: hw.route_detail_dict(route),
        "hand dict builder + orjson": lambda: orjson.dumps(hw.route_detail_dict(route)),
        "hand marshmallow (benchmarks)": lambda: hw.route_schema.dump(route),
        "hand marshmallow (Nested many)": lambda: plain_schema.dump(route),
        "hand pydantic": lambda: hw.RoutePublicWithTrips.model_validate(route).model_dump(
            mode="json"
        ),
    }


RATIOS = [
    ("dump / hand dict builder", "treeshape dump", "hand dict builder", "<= 0.6"),
    ("dump_json / hand dict+orjson", "treeshape dump_json", "hand dict builder + orjson", ""),
    ("hand marshmallow / dump", "hand marshmallow (benchmarks)", "treeshape dump", ">= 8"),
    ("hand pydantic / dump", "hand pydantic", "treeshape dump", ">= 3"),
    (
        "gen marshmallow / hand (benchmarks)",
        "generated marshmallow",
        "hand marshmallow (benchmarks)",
        "<= 1.1",
    ),
    (
        "gen marshmallow / hand (Nested many)",
        "generated marshmallow",
        "hand marshmallow (Nested many)",
        "<= 1.1",
    ),
    ("gen pydantic / hand pydantic", "generated pydantic", "hand pydantic", "<= 1.1"),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (default 21)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        source = build_database(Path(tmp) / "feed.sqlite")
        engine = create_engine(f"sqlite:///{Path(tmp) / 'feed.sqlite'}")
        with Session(engine) as session:
            route = busiest_route(session)
            session.expunge_all()
        engine.dispose()
    trips = route.__dict__["trips"]
    n_stop_times = sum(len(t.__dict__["stop_times"]) for t in trips)
    print(f"{source}: route {route.route_id}, {len(trips)} trips, {n_stop_times} stop_times")
    runs = cases(route)
    expected = runs["hand dict builder"]()
    for name, run in runs.items():  # warm up, and check every case dumps the same document
        out = run()
        out = orjson.loads(out) if isinstance(out, bytes) else out
        assert out == expected, name
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            # A full collection first, so that one case does not pay for another's garbage
            # (with the cases in a fixed order, the same case would pay every round).
            gc.collect()
            start = time.thread_time()
            run()
            times[name].append(time.thread_time() - start)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\nmedian CPU time of {args.rounds} interleaved rounds")
    for name, value in median.items():
        print(f"  {name:32} {value * 1000:8.2f} ms")
    print("\nratios (median / median)")
    for label, a, b, target in RATIOS:
        print(f"  {label:38} {median[a] / median[b]:6.2f}x   target {target or '-'}")


if __name__ == "__main__":
    main()
