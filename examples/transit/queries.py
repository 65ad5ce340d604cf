"""The database side of the endpoints, shared by the Flask and the FastAPI app.

Each function loads with the (possibly narrowed) shape's loader options: one statement for the
roots plus one per included relationship, whatever the number of rows, and nothing lazily.

An id with a NUL character matches no row on any database (PostgreSQL's text cannot hold one,
and refuses to compare with one: ``psycopg.DataError``), so lookups answer ``None`` for it
without asking: the same 404 on SQLite and PostgreSQL, and no statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

import treeshape as ts
from treeshape.web import Page, PageQuery

from .models import Route, Stop, StopTime, Trip

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 10**9

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "matches_nothing",
    "page",
    "route",
    "stop",
    "trip",
    "trip_stop_times",
]


def matches_nothing(key: str) -> bool:
    """True for a key no row can have: one with a NUL character."""
    return "\x00" in key


def page(session: Session, query: PageQuery) -> Page:
    """A page of ``GET /routes`` or ``GET /stops``: one statement for the roots (their
    ``limit + 1``, after the cursor or offset) plus one per included relationship, and a
    ``count(*)`` with ``?total=true``."""
    return query.load(session)


def route(session: Session, shape: ts.Shape, route_id: str) -> Route | None:
    if matches_nothing(route_id):
        return None
    stmt = select(Route).where(Route.route_id == route_id)
    return session.scalars(stmt.options(*shape.loader_options())).one_or_none()


def stop(session: Session, shape: ts.Shape, stop_id: str) -> Stop | None:
    if matches_nothing(stop_id):
        return None
    stmt = select(Stop).where(Stop.stop_id == stop_id)
    return session.scalars(stmt.options(*shape.loader_options())).one_or_none()


def trip(session: Session, shape: ts.Shape, trip_id: str) -> Trip | None:
    if matches_nothing(trip_id):
        return None
    stmt = select(Trip).where(Trip.trip_id == trip_id)
    return session.scalars(stmt.options(*shape.loader_options())).one_or_none()


def trip_stop_times(session: Session, shape: ts.Shape, trip_id: str) -> Sequence[StopTime] | None:
    """The trip's stop_times in sequence order; ``None`` if there is no such trip.

    The trip itself is looked up only when it has no stop_times, so the usual request costs
    no extra statement.
    """
    if matches_nothing(trip_id):
        return None
    stmt = select(StopTime).where(StopTime.trip_id == trip_id).order_by(StopTime.stop_sequence)
    rows = session.scalars(stmt.options(*shape.loader_options())).all()
    if not rows and session.get(Trip, trip_id) is None:
        return None
    return rows
