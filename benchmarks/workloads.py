"""The three endpoints the benchmarks measure, and which rows of a feed they run on.

Each workload is one document of the transit API, with every column of every model in it:

- ``route``: ``GET /routes/{id}``, a route with its trips (by ``trip_id``), their stop_times (by
  ``stop_sequence``) and each stop_time's stop; run on the feed's busiest route, the one with the
  most stop_times (Cairns: 126 trips, 4,788 stop_times);
- ``stop``: ``GET /stops/{id}``, a stop with ``Stop.trips`` (by ``trip_id``); run on the stop
  served by the most trips;
- ``trip``: ``GET /trips/{id}/stop_times``, a trip with its stop_times and their stops; run on
  the busiest route's longest trip.

Picking by data rather than by hard-coded ids keeps the suite runnable on any GTFS feed.
"""

from __future__ import annotations

from dataclasses import dataclass

from examples.transit.models import Route, Stop, StopTime, Trip, stop_trip_pairs
from sqlalchemy import Connection, Engine, func, select


@dataclass(frozen=True)
class Workload:
    """One endpoint on one row: ``root`` is the model, ``key`` its primary key value."""

    name: str
    root: type[Route] | type[Stop] | type[Trip]
    key: str
    description: str


def busiest_route_id(conn: Connection) -> str:
    """The route with the most stop_times (ties broken by ``route_id``)."""
    n = func.count()
    stmt = (
        select(Trip.route_id)
        .join(StopTime, StopTime.trip_id == Trip.trip_id)
        .group_by(Trip.route_id)
        .order_by(n.desc(), Trip.route_id)
        .limit(1)
    )
    return conn.execute(stmt).scalar_one()


def busiest_stop_id(conn: Connection) -> str:
    """The stop served by the most distinct trips (ties broken by ``stop_id``)."""
    n = func.count()
    stmt = (
        select(stop_trip_pairs.c.stop_id)
        .group_by(stop_trip_pairs.c.stop_id)
        .order_by(n.desc(), stop_trip_pairs.c.stop_id)
        .limit(1)
    )
    return conn.execute(stmt).scalar_one()


def longest_trip_id(conn: Connection, route_id: str) -> str:
    """The trip of ``route_id`` with the most stop_times (ties broken by ``trip_id``)."""
    n = func.count()
    stmt = (
        select(StopTime.trip_id)
        .join(Trip, Trip.trip_id == StopTime.trip_id)
        .where(Trip.route_id == route_id)
        .group_by(StopTime.trip_id)
        .order_by(n.desc(), StopTime.trip_id)
        .limit(1)
    )
    return conn.execute(stmt).scalar_one()


def pick_workloads(engine: Engine) -> dict[str, Workload]:
    """The three workloads on ``engine``'s feed, keyed by name."""
    with engine.connect() as conn:
        route_id = busiest_route_id(conn)
        stop_id = busiest_stop_id(conn)
        trip_id = longest_trip_id(conn, route_id)
        n_trips = conn.scalar(select(func.count()).where(Trip.route_id == route_id))
        n_stop_times = conn.scalar(
            select(func.count())
            .select_from(StopTime)
            .join(Trip, Trip.trip_id == StopTime.trip_id)
            .where(Trip.route_id == route_id)
        )
        n_stop_trips = conn.scalar(select(func.count()).where(stop_trip_pairs.c.stop_id == stop_id))
        n_trip_stop_times = conn.scalar(select(func.count()).where(StopTime.trip_id == trip_id))
    return {
        "route": Workload(
            "route",
            Route,
            route_id,
            f"route {route_id}: {n_trips} trips, {n_stop_times} stop_times, with stops",
        ),
        "stop": Workload("stop", Stop, stop_id, f"stop {stop_id}: {n_stop_trips} trips"),
        "trip": Workload(
            "trip", Trip, trip_id, f"trip {trip_id}: {n_trip_stop_times} stop_times, with stops"
        ),
    }
