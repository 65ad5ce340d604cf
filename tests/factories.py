"""Deterministic test data for the test models, from a few parameters (or hypothesis)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.models import Call, Gadget, Journey, Line, LineKind, Operator, Place


@dataclass(frozen=True)
class NetworkSpec:
    """How big a network to build; every field a small count."""

    operators: int = 2
    lines: int = 3
    journeys_per_line: int = 3
    calls_per_journey: int = 4
    places: int = 6
    seed: int = 0


def build_network(session: Session, spec: NetworkSpec = NetworkSpec()) -> None:
    """Add a network whose values vary with ``spec.seed`` (nulls included), then commit."""
    s = spec.seed
    for o in range(spec.operators):
        session.add(Operator(operator_id=o + 1, name=f"Operator {o + 1} «{s}»"))
    for p in range(spec.places):
        session.add(
            Place(
                place_id=p + 1,
                name=f'Place "{p + 1}"\\{s}',
                lat=None if (p + s) % 3 == 0 else 50.0 + p / 7,
                code=None if (p + s) % 2 else uuid.UUID(int=p * 7919 + s),
                accessible=None if (p + s) % 4 == 0 else bool((p + s) % 2),
                parent_id=1 if p > 0 and (p + s) % 3 == 1 else None,
            )
        )
    journey_id = 0
    for line in range(spec.lines):
        operator_id = (
            None
            if spec.operators == 0 or (line + s) % 4 == 3
            else ((line + s) % spec.operators + 1)
        )
        session.add(
            Line(
                line_id=line + 1,
                operator_id=operator_id,
                name=f"L{line + 1}",
                kind=list(LineKind)[(line + s) % 3],
                fare=None if (line + s) % 3 == 0 else decimal.Decimal(f"{line + s}.{s % 10}5"),
                opened=None if (line + s) % 2 else dt.date(2000 + line, 1 + s % 12, 1 + line),
            )
        )
        for j in range(spec.journeys_per_line):
            journey_id += 1
            session.add(
                Journey(
                    journey_id=journey_id,
                    line_id=line + 1,
                    headsign=None if (j + s) % 3 == 0 else f"To {j}",
                    departs=None if (j + s) % 4 == 0 else dt.time(5 + j % 18, (j * 7) % 60),
                    service_date=dt.date(2024, 1 + (j + s) % 12, 1 + j % 28),
                )
            )
            if spec.places == 0:
                continue
            for c in range(spec.calls_per_journey):
                session.add(
                    Call(
                        journey_id=journey_id,
                        sequence=c + 1,
                        place_id=(c * 3 + j + s) % spec.places + 1,
                        arrives=None if (c + s) % 5 == 0 else dt.time(6 + c % 17, c % 60, 30),
                        dwell=None if (c + j) % 2 else c * 0.5,
                    )
                )
    session.commit()


def make_gadget(gadget_id: int, *, nulls: bool) -> Gadget:
    """A gadget with every column set, and the optional ones null or not."""
    gadget = Gadget(
        gadget_id=gadget_id,
        uid=uuid.UUID(int=gadget_id),
        price=decimal.Decimal("1234.500"),
        weight=2.25,
        count=gadget_id * 3,
        flag=True,
        label=f'gadget «{gadget_id}» "quoted" \\ back',
        day=dt.date(2024, 2, 29),
        at=dt.datetime(2024, 3, 1, 12, 30, 45, 120),
        clock=dt.time(23, 59, 59),
        kind=LineKind.TRAM,
        data={"a": [1, 2.5, None, "x"], "b": {"c": True}},
        secret="never shown",
    )
    if not nulls:
        gadget.uid_opt = uuid.UUID(int=gadget_id + 1000)
        gadget.price_opt = decimal.Decimal("-0.010")
        gadget.weight_opt = -1e-3
        gadget.count_opt = -7
        gadget.flag_opt = False
        gadget.label_opt = ""
        gadget.day_opt = dt.date(1999, 12, 31)
        gadget.at_opt = dt.datetime(1999, 12, 31, 23, 59, 59)
        gadget.clock_opt = dt.time(0, 0, 0, 1)
        gadget.kind_opt = LineKind.RAIL
        gadget.data_opt = [1, "two", {"three": 3}]
    return gadget


def build_transit_route(session: Session, *, stops: int, trips: int, calls: int) -> None:
    """One route of the transit example's models: ``trips`` trips of ``calls`` stop_times each,
    over ``stops`` stops served in turn (trip ``t``'s call ``n`` at stop ``(t + n) % stops``)."""
    from examples.transit import models as transit

    session.add(transit.Agency(agency_id="A", agency_name="A", agency_url="u", agency_timezone="z"))
    session.add(transit.Route(route_id="R", agency_id="A", route_type=3))
    for s in range(stops):
        session.add(transit.Stop(stop_id=f"S{s}", stop_name=f"Stop {s}", stop_lat=s / 3))
    for t in range(trips):
        session.add(transit.Trip(trip_id=f"T{t}", route_id="R", service_id="X"))
        for n in range(calls):
            stop = f"S{(t + n) % stops}"
            session.add(transit.StopTime(trip_id=f"T{t}", stop_sequence=n, stop_id=stop))
    session.commit()
