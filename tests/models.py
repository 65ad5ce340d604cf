"""Test models: a small transit network, and a model with every column type.

The transit models mirror the example's (route -> trips -> stop_times -> stop) under other
names (Line, Journey, Call, Place), so that the classes generated for them never compete with
the example's for readable names in one test process.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Time,
    Uuid,
    select,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement

# Types that keep their values on MariaDB/MySQL too: an 8-byte float (MySQL's FLOAT has 4), and
# fractional seconds (MySQL's DATETIME and TIME drop them unless declared with fsp).
Stamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Clock = Time().with_variant(mysql.TIME(fsp=6), "mysql", "mariadb")


class chars_of(FunctionElement[Any]):
    """A string's length in characters: ``length`` on SQLite and PostgreSQL, ``CHAR_LENGTH`` on
    MySQL/MariaDB (whose ``LENGTH`` counts bytes). A plain function element, so that nothing
    is added to SQLAlchemy's registry of named functions. Untyped, as ``func.length`` is: the
    fetch tests check how an expression without a SQL type is answered."""

    inherit_cache = True


@compiles(chars_of)
def _chars_of(element: chars_of, compiler: Any, **kw: Any) -> str:
    return f"length({compiler.process(element.clauses, **kw)})"


@compiles(chars_of, "mysql")
@compiles(chars_of, "mariadb")
def _chars_of_mysql(element: chars_of, compiler: Any, **kw: Any) -> str:
    return f"CHAR_LENGTH({compiler.process(element.clauses, **kw)})"


class Base(DeclarativeBase):
    pass


class LineKind(enum.Enum):
    BUS = "bus"
    TRAM = "tram"
    RAIL = "rail"


class Operator(Base):
    __tablename__ = "operator"

    operator_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    lines: Mapped[list[Line]] = relationship(back_populates="operator", order_by="Line.line_id")


class Line(Base):
    """A route."""

    __tablename__ = "line"

    line_id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.operator_id"))
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[LineKind] = mapped_column(Enum(LineKind))
    fare: Mapped[decimal.Decimal | None] = mapped_column(Numeric(8, 2))
    opened: Mapped[dt.date | None] = mapped_column(Date)

    operator: Mapped[Operator | None] = relationship(back_populates="lines")
    journeys: Mapped[list[Journey]] = relationship(
        back_populates="line", order_by="Journey.journey_id"
    )


class Journey(Base):
    """A trip."""

    __tablename__ = "journey"

    journey_id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.line_id"))
    headsign: Mapped[str | None] = mapped_column(String(100))
    departs: Mapped[dt.time | None] = mapped_column(Clock)
    service_date: Mapped[dt.date] = mapped_column(Date)

    line: Mapped[Line] = relationship(back_populates="journeys")
    calls: Mapped[list[Call]] = relationship(back_populates="journey", order_by="Call.sequence")


class Call(Base):
    """A stop_time: the association object between a journey and a place."""

    __tablename__ = "call"

    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.journey_id"), primary_key=True)
    sequence: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.place_id"))
    arrives: Mapped[dt.time | None] = mapped_column(Clock)
    dwell: Mapped[float | None] = mapped_column(Double)

    journey: Mapped[Journey] = relationship(back_populates="calls")
    place: Mapped[Place] = relationship(back_populates="calls")


place_journeys = select(Call.place_id, Call.journey_id).distinct().subquery("place_journeys")


class Place(Base):
    """A stop, possibly inside a parent station."""

    __tablename__ = "place"

    place_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    lat: Mapped[float | None] = mapped_column(Double)
    code: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    accessible: Mapped[bool | None] = mapped_column()
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("place.place_id"))

    parent: Mapped[Place | None] = relationship(remote_side=[place_id], back_populates="children")
    children: Mapped[list[Place]] = relationship(
        back_populates="parent", order_by=lambda: Place.place_id
    )
    calls: Mapped[list[Call]] = relationship(
        back_populates="place", order_by=lambda: (Call.journey_id, Call.sequence)
    )
    # Every journey calling here: a secondary (many-to-many through the calls).
    journeys: Mapped[list[Journey]] = relationship(
        secondary=place_journeys,
        primaryjoin=lambda: Place.place_id == place_journeys.c.place_id,
        secondaryjoin=lambda: Journey.journey_id == place_journeys.c.journey_id,
        viewonly=True,
        order_by=lambda: Journey.journey_id,
    )


class Gadget(Base):
    """Every column type treeshape converts, nullable and not, plus computed fields."""

    __tablename__ = "gadget"

    gadget_id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[uuid.UUID] = mapped_column(Uuid)
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(12, 3))
    weight: Mapped[float] = mapped_column(Double)
    count: Mapped[int] = mapped_column(Integer)
    flag: Mapped[bool] = mapped_column()
    label: Mapped[str] = mapped_column(String(200))
    day: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(Stamp)
    clock: Mapped[dt.time] = mapped_column(Clock)
    kind: Mapped[LineKind] = mapped_column(Enum(LineKind))
    data: Mapped[Any] = mapped_column(JSON)

    uid_opt: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    price_opt: Mapped[decimal.Decimal | None] = mapped_column(Numeric(12, 3))
    weight_opt: Mapped[float | None] = mapped_column(Double)
    count_opt: Mapped[int | None] = mapped_column(Integer)
    flag_opt: Mapped[bool | None] = mapped_column()
    label_opt: Mapped[str | None] = mapped_column(String(200))
    day_opt: Mapped[dt.date | None] = mapped_column(Date)
    at_opt: Mapped[dt.datetime | None] = mapped_column(Stamp)
    clock_opt: Mapped[dt.time | None] = mapped_column(Clock)
    kind_opt: Mapped[LineKind | None] = mapped_column(Enum(LineKind))
    data_opt: Mapped[Any | None] = mapped_column(JSON, nullable=True)

    secret: Mapped[str | None] = mapped_column(String(100), info={"treeshape_private": True})

    label_length: Mapped[int] = column_property(chars_of(label))

    @hybrid_property
    def double_count(self) -> int:
        return self.count * 2

    @property
    def summary(self) -> str:
        """A one-line description."""
        return f"{self.label} x{self.count}"


GADGET_COLUMNS = [
    "gadget_id",
    "uid",
    "price",
    "weight",
    "count",
    "flag",
    "label",
    "day",
    "at",
    "clock",
    "kind",
    "data",
    "uid_opt",
    "price_opt",
    "weight_opt",
    "count_opt",
    "flag_opt",
    "label_opt",
    "day_opt",
    "at_opt",
    "clock_opt",
    "kind_opt",
    "data_opt",
]

# Shapes of configured mappers bind, and report spec errors, at ts.shape() time; unconfigured
# ones at first use. The tests that expect a SpecError from ts.shape() import these models, so
# they are configured here: otherwise the outcome depends on which test ran first (under xdist,
# on which worker a test lands).
Base.registry.configure()
