"""GTFS models, named after the GTFS Schedule reference (https://gtfs.org/schedule/reference/).

Attribute names are the GTFS column names, so a feed's CSV header maps onto the model one to
one. Times of day stay text ("25:10:00" is valid GTFS: service past midnight), zero-padded to
HH:MM:SS by the importer so that they sort in time order; dates are dates.

The types keep a feed's values exactly on every database (SQLite, PostgreSQL, MariaDB/MySQL):
coordinates and distances are 8-byte `Double` (MySQL's `FLOAT` has 4 bytes: -16.74359 would
read back as -16.7436), and ids are `Key`: text compared byte for byte, as Python and the ORM
compare them. A MySQL/MariaDB server compares text case-insensitively by default, which would
make `BULLFROG` and `bullfrog` one stop; `Key` declares the binary collation `utf8mb4_bin`
there. Foreign keys take the type of the key they reference, collation included.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Double, ForeignKey, Integer, String, select
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, foreign, mapped_column, relationship

ID_LENGTH = 64


def Key(length: int = ID_LENGTH) -> String:
    """An id's type: `String(length)`, with a binary collation on MySQL and MariaDB."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


class Base(DeclarativeBase):
    pass


class Agency(Base):
    __tablename__ = "agency"

    agency_id: Mapped[str] = mapped_column(Key(), primary_key=True)
    agency_name: Mapped[str] = mapped_column(String(255))
    agency_url: Mapped[str] = mapped_column(String(255))
    agency_timezone: Mapped[str] = mapped_column(String(64))
    agency_lang: Mapped[str | None] = mapped_column(String(16))
    agency_phone: Mapped[str | None] = mapped_column(String(64))
    agency_fare_url: Mapped[str | None] = mapped_column(String(255))
    agency_email: Mapped[str | None] = mapped_column(String(255))
    # Not GTFS: the operator's own note, never served. `treeshape_private` keeps it out of every
    # shape (a request cannot ask for it), and the importer neither reads nor overwrites it.
    agency_internal_note: Mapped[str | None] = mapped_column(
        String(1024), info={"treeshape_private": True}
    )

    routes: Mapped[list[Route]] = relationship(back_populates="agency", order_by="Route.route_id")


class Route(Base):
    __tablename__ = "routes"

    route_id: Mapped[str] = mapped_column(Key(), primary_key=True)
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agency.agency_id"), index=True)
    route_short_name: Mapped[str | None] = mapped_column(String(64))
    route_long_name: Mapped[str | None] = mapped_column(String(255))
    route_desc: Mapped[str | None] = mapped_column(String(1024))
    route_type: Mapped[int] = mapped_column(Integer)
    route_url: Mapped[str | None] = mapped_column(String(255))
    route_color: Mapped[str | None] = mapped_column(String(6))
    route_text_color: Mapped[str | None] = mapped_column(String(6))
    route_sort_order: Mapped[int | None] = mapped_column(Integer)

    agency: Mapped[Agency | None] = relationship(back_populates="routes")
    trips: Mapped[list[Trip]] = relationship(back_populates="route", order_by="Trip.trip_id")


class Calendar(Base):
    __tablename__ = "calendar"

    service_id: Mapped[str] = mapped_column(Key(), primary_key=True)
    monday: Mapped[bool] = mapped_column()
    tuesday: Mapped[bool] = mapped_column()
    wednesday: Mapped[bool] = mapped_column()
    thursday: Mapped[bool] = mapped_column()
    friday: Mapped[bool] = mapped_column()
    saturday: Mapped[bool] = mapped_column()
    sunday: Mapped[bool] = mapped_column()
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)

    trips: Mapped[list[Trip]] = relationship(
        primaryjoin=lambda: Calendar.service_id == foreign(Trip.service_id),
        viewonly=True,
        order_by=lambda: Trip.trip_id,
    )


class Trip(Base):
    __tablename__ = "trips"

    trip_id: Mapped[str] = mapped_column(Key(), primary_key=True)
    route_id: Mapped[str] = mapped_column(ForeignKey("routes.route_id"), index=True)
    # No foreign key: a feed may define its services in calendar_dates.txt only.
    service_id: Mapped[str] = mapped_column(Key(), index=True)
    trip_headsign: Mapped[str | None] = mapped_column(String(255))
    trip_short_name: Mapped[str | None] = mapped_column(String(64))
    direction_id: Mapped[int | None] = mapped_column(Integer)
    block_id: Mapped[str | None] = mapped_column(Key())
    shape_id: Mapped[str | None] = mapped_column(Key())
    wheelchair_accessible: Mapped[int | None] = mapped_column(Integer)
    bikes_allowed: Mapped[int | None] = mapped_column(Integer)

    route: Mapped[Route] = relationship(back_populates="trips")
    stop_times: Mapped[list[StopTime]] = relationship(
        back_populates="trip", order_by="StopTime.stop_sequence"
    )
    calendar: Mapped[Calendar | None] = relationship(
        primaryjoin=lambda: foreign(Trip.service_id) == Calendar.service_id,
        viewonly=True,
    )
    # The stops the trip calls at, in call order, through its stop_times (one row per call,
    # not per stop). A loop passes some stops twice, and treeshape lists them twice: its loader
    # plans use selectin loading and `fetch` keeps the join, which both give a row per call.
    # SQLAlchemy's lazy, joined and subquery loaders would list each stop once (they keep one
    # object per identity in a collection), so read it through a treeshape shape.
    stops: Mapped[list[Stop]] = relationship(
        secondary="stop_times",
        primaryjoin=lambda: Trip.trip_id == StopTime.trip_id,
        secondaryjoin=lambda: StopTime.stop_id == Stop.stop_id,
        viewonly=True,
        order_by=lambda: StopTime.stop_sequence,
    )


class StopTime(Base):
    __tablename__ = "stop_times"

    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.trip_id"), primary_key=True)
    stop_sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    arrival_time: Mapped[str | None] = mapped_column(String(8))
    departure_time: Mapped[str | None] = mapped_column(String(8))
    stop_id: Mapped[str] = mapped_column(ForeignKey("stops.stop_id"), index=True)
    stop_headsign: Mapped[str | None] = mapped_column(String(255))
    pickup_type: Mapped[int | None] = mapped_column(Integer)
    drop_off_type: Mapped[int | None] = mapped_column(Integer)
    shape_dist_traveled: Mapped[float | None] = mapped_column(Double)
    timepoint: Mapped[int | None] = mapped_column(Integer)

    trip: Mapped[Trip] = relationship(back_populates="stop_times")
    stop: Mapped[Stop] = relationship(back_populates="stop_times")


# The distinct (stop_id, trip_id) pairs of stop_times: the secondary of `Stop.trips`, so that a
# trip calling twice at a stop (a loop) appears once.
stop_trip_pairs = select(StopTime.stop_id, StopTime.trip_id).distinct().subquery("stop_trips")


class Stop(Base):
    __tablename__ = "stops"

    stop_id: Mapped[str] = mapped_column(Key(), primary_key=True)
    stop_code: Mapped[str | None] = mapped_column(String(64))
    stop_name: Mapped[str | None] = mapped_column(String(255))
    stop_desc: Mapped[str | None] = mapped_column(String(1024))
    stop_lat: Mapped[float | None] = mapped_column(Double)
    stop_lon: Mapped[float | None] = mapped_column(Double)
    zone_id: Mapped[str | None] = mapped_column(Key())
    stop_url: Mapped[str | None] = mapped_column(String(255))
    location_type: Mapped[int | None] = mapped_column(Integer)
    parent_station: Mapped[str | None] = mapped_column(ForeignKey("stops.stop_id"), index=True)
    stop_timezone: Mapped[str | None] = mapped_column(String(64))
    wheelchair_boarding: Mapped[int | None] = mapped_column(Integer)
    platform_code: Mapped[str | None] = mapped_column(String(64))

    parent: Mapped[Stop | None] = relationship(remote_side=[stop_id], back_populates="children")
    children: Mapped[list[Stop]] = relationship(
        back_populates="parent", order_by=lambda: Stop.stop_id
    )
    stop_times: Mapped[list[StopTime]] = relationship(
        back_populates="stop", order_by=lambda: (StopTime.trip_id, StopTime.stop_sequence)
    )
    # Every trip that calls at this stop.
    trips: Mapped[list[Trip]] = relationship(
        secondary=stop_trip_pairs,
        primaryjoin=lambda: Stop.stop_id == stop_trip_pairs.c.stop_id,
        secondaryjoin=lambda: Trip.trip_id == stop_trip_pairs.c.trip_id,
        viewonly=True,
        order_by=lambda: Trip.trip_id,
    )


__all__ = [
    "ID_LENGTH",
    "Agency",
    "Base",
    "Calendar",
    "Key",
    "Route",
    "Stop",
    "StopTime",
    "Trip",
    "stop_trip_pairs",
]
