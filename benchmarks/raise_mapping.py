"""The transit models mapped again with every relationship ``lazy="raise"`` (`benchmarks.orm_path`).

The same tables (copied into this module's own ``MetaData``, so the same database), the same
columns and the same relationships as `examples.transit.models`, each declared
``lazy="raise"``: the mapping SQLAlchemy recommends under asyncio, where a lazy load cannot run.
With it, the plan's top-level ``raiseload("*")`` asks for the strategy every relationship has at
class level already, which costs nothing per row (`treeshape.sql.loading`). A separate
declarative base: nothing of the example's mapping is changed.
"""

from __future__ import annotations

from examples.transit import models as transit
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, foreign, relationship

__all__ = ["Agency", "Base", "Calendar", "Route", "Stop", "StopTime", "Trip", "stop_trip_pairs"]


class Base(DeclarativeBase):
    pass


def _table(model: type[transit.Base]) -> object:
    return model.__table__.to_metadata(Base.metadata)


class Agency(Base):
    __table__ = _table(transit.Agency)

    routes = relationship("Route", back_populates="agency", order_by="Route.route_id", lazy="raise")


class Route(Base):
    __table__ = _table(transit.Route)

    agency = relationship("Agency", back_populates="routes", lazy="raise")
    trips = relationship("Trip", back_populates="route", order_by="Trip.trip_id", lazy="raise")


class Calendar(Base):
    __table__ = _table(transit.Calendar)

    trips = relationship(
        "Trip",
        primaryjoin=lambda: Calendar.service_id == foreign(Trip.service_id),
        viewonly=True,
        order_by=lambda: Trip.trip_id,
        lazy="raise",
    )


class Trip(Base):
    __table__ = _table(transit.Trip)

    route = relationship("Route", back_populates="trips", lazy="raise")
    stop_times = relationship(
        "StopTime", back_populates="trip", order_by="StopTime.stop_sequence", lazy="raise"
    )
    calendar = relationship(
        "Calendar",
        primaryjoin=lambda: foreign(Trip.service_id) == Calendar.service_id,
        viewonly=True,
        lazy="raise",
    )
    stops = relationship(
        "Stop",
        secondary=lambda: StopTime.__table__,
        primaryjoin=lambda: Trip.trip_id == StopTime.trip_id,
        secondaryjoin=lambda: StopTime.stop_id == Stop.stop_id,
        viewonly=True,
        order_by=lambda: StopTime.stop_sequence,
        lazy="raise",
    )


class StopTime(Base):
    __table__ = _table(transit.StopTime)

    trip = relationship("Trip", back_populates="stop_times", lazy="raise")
    stop = relationship("Stop", back_populates="stop_times", lazy="raise")


stop_trip_pairs = select(StopTime.stop_id, StopTime.trip_id).distinct().subquery("stop_trips")


class Stop(Base):
    __table__ = _table(transit.Stop)

    parent = relationship(
        "Stop",
        remote_side=lambda: Stop.stop_id,
        back_populates="children",
        lazy="raise",
    )
    children = relationship(
        "Stop", back_populates="parent", order_by=lambda: Stop.stop_id, lazy="raise"
    )
    stop_times = relationship(
        "StopTime",
        back_populates="stop",
        order_by=lambda: (StopTime.trip_id, StopTime.stop_sequence),
        lazy="raise",
    )
    trips = relationship(
        "Trip",
        secondary=stop_trip_pairs,
        primaryjoin=lambda: Stop.stop_id == stop_trip_pairs.c.stop_id,
        secondaryjoin=lambda: Trip.trip_id == stop_trip_pairs.c.trip_id,
        viewonly=True,
        order_by=lambda: Trip.trip_id,
        lazy="raise",
    )
