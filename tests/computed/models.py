"""Models for computed fields: every relationship ``lazy="raise"``, so that a read the loader
plan missed is an error, never a quiet query; and the computed fields declared over them.

A small transit network: lines run trips (``CfRun``), each calling at places in sequence
(``CfCall``) with an optional departure time. Each model has computed fields reading its
relationships at depth one to three; all but `PLACE_LINES` have a SQL expression.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, Time, cast, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts

__all__ = [
    "CALL_LABEL",
    "COMPUTED",
    "LINE_PLACES",
    "PLACE_LINES",
    "RUN_CALLS",
    "RUN_FIRST",
    "CfBase",
    "CfCall",
    "CfLine",
    "CfPlace",
    "CfRun",
    "NetworkSpec",
    "build_network",
]


class CfBase(DeclarativeBase):
    pass


class CfLine(CfBase):
    __tablename__ = "cf_line"

    line_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    runs: Mapped[list[CfRun]] = relationship(
        back_populates="line", lazy="raise", order_by="CfRun.run_id"
    )


class CfRun(CfBase):
    __tablename__ = "cf_run"

    run_id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("cf_line.line_id"))
    headsign: Mapped[str] = mapped_column(String(40))
    line: Mapped[CfLine] = relationship(back_populates="runs", lazy="raise")
    calls: Mapped[list[CfCall]] = relationship(
        back_populates="run", lazy="raise", order_by="CfCall.seq"
    )


class CfCall(CfBase):
    __tablename__ = "cf_call"

    run_id: Mapped[int] = mapped_column(ForeignKey("cf_run.run_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("cf_place.place_id"))
    departure: Mapped[dt.time | None] = mapped_column(Time())
    run: Mapped[CfRun] = relationship(back_populates="calls", lazy="raise")
    place: Mapped[CfPlace] = relationship(back_populates="calls", lazy="raise")


class CfPlace(CfBase):
    __tablename__ = "cf_place"

    place_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    calls: Mapped[list[CfCall]] = relationship(
        back_populates="place", lazy="raise", order_by=(CfCall.run_id, CfCall.seq)
    )


def _first_departure(run: CfRun) -> dt.time | None:
    return min((c.departure for c in run.calls if c.departure is not None), default=None)


RUN_FIRST = ts.computed(
    _first_departure,
    type=dt.time | None,
    reads=["calls"],
    sql=lambda Run: (
        select(func.min(CfCall.departure)).where(CfCall.run_id == Run.run_id).scalar_subquery()
    ),
    doc="The run's earliest departure; null when no call has a time.",
)
RUN_CALLS = ts.computed(
    lambda run: len(run.calls),
    type=int,
    reads="calls",
    sql=lambda Run: (
        select(func.count())
        .select_from(CfCall)
        .where(CfCall.run_id == Run.run_id)
        .scalar_subquery()
    ),
)
LINE_PLACES = ts.computed(
    lambda line: len({c.place_id for r in line.runs for c in r.calls}),
    type=int,
    reads=["runs.calls"],
    sql=lambda Line: (
        select(func.count(func.distinct(CfCall.place_id)))
        .select_from(CfCall)
        .join(CfRun, CfRun.run_id == CfCall.run_id)
        .where(CfRun.line_id == Line.line_id)
        .scalar_subquery()
    ),
)
CALL_LABEL = ts.computed(
    lambda call: f"{call.run.headsign}#{call.seq}@{call.place.name}",
    type=str,
    reads=["run", "place"],
    sql=lambda Call: (
        select(CfRun.headsign).where(CfRun.run_id == Call.run_id).scalar_subquery()
        + "#"
        + cast(Call.seq, String)
        + "@"
        + select(CfPlace.name).where(CfPlace.place_id == Call.place_id).scalar_subquery()
    ),
)
PLACE_LINES = ts.computed(
    lambda place: ",".join(sorted({c.run.line.name for c in place.calls})),
    type=str,
    reads=["calls.run.line"],
)
"""Python only: no ``sql=``, so `fetch` refuses a shape with it."""

COMPUTED: dict[str, dict[str, ts.Computed]] = {
    "CfLine": {"place_count": LINE_PLACES},
    "CfRun": {"first_departure": RUN_FIRST, "call_count": RUN_CALLS},
    "CfCall": {"label": CALL_LABEL},
    "CfPlace": {"line_names": PLACE_LINES},
}
"""Every declared computed field, by model name and output name."""

READS: dict[str, dict[str, list[str]]] = {
    "CfLine": {"place_count": ["runs.calls"]},
    "CfRun": {"first_departure": ["calls"], "call_count": ["calls"]},
    "CfCall": {"label": ["run", "place"]},
    "CfPlace": {"line_names": ["calls.run.line"]},
}
"""What each reads, written out again for the tests' own load plan (not read from treeshape)."""


@dataclass(frozen=True)
class NetworkSpec:
    lines: int = 2
    runs_per_line: int = 2
    calls_per_run: int = 3
    places: int = 3
    seed: int = 0


def build_network(session: Session, spec: NetworkSpec = NetworkSpec()) -> None:
    """Lines, runs (some lines without), calls (some runs without, some without a time)."""
    s = spec.seed
    for p in range(spec.places):
        session.add(CfPlace(place_id=p + 1, name=f"Place {p + s} «{s}»"))
    run_id = 0
    for line in range(spec.lines):
        session.add(CfLine(line_id=line + 1, name=f"L{(line * 7 + s) % 10}"))
        for r in range((line + s) % (spec.runs_per_line + 1)):
            run_id += 1
            session.add(CfRun(run_id=run_id, line_id=line + 1, headsign=f"To {r + s}"))
            for c in range((run_id + s) % (spec.calls_per_run + 1)):
                minute = (run_id * 13 + c * 7 + s) % 60
                departure = None if (c + s) % 4 == 3 else dt.time(6 + c, minute, (s * 11) % 60)
                place = (run_id + c + s) % max(spec.places, 1) + 1 if spec.places else None
                if place is None:
                    break
                session.add(CfCall(run_id=run_id, seq=c + 1, place_id=place, departure=departure))
    session.commit()
