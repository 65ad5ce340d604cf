"""Writing benchmark: create a trip with 40 calls, and replace a 40-call timetable.

``python -m benchmarks.write_bench [--repeat 30] [--calls 40]``

Four ways, in one process, interleaved (A, B, C, D, A, B, ... so that drift in machine speed
spreads over all of them), each on its own fresh state (set up untimed):

- **treeshape**: ``trip_in.load(body, session=...)`` (validation, reference checks, matching),
  then ``commit``;
- **hand-written SQLAlchemy**: hand-written Pydantic body models, one ``IN`` query per referenced
  model, calls matched by ``stop_sequence`` in Python, ``commit``: what a careful developer
  writes for one endpoint;
- **SQLModel's documented pattern**: ``Trip.model_validate(body)``, a ``StopTime`` per call,
  ``sqlmodel_update`` and replacing every call on PUT (SQLModel's docs stop at one level);
- **marshmallow-sqlalchemy** ``load_instance=True`` with a nested schema (each child must carry
  ``trip_id``; each nested instance is looked up by its key).

Each timed call's result is checked (the trip and its calls as expected). The table shows the
median time, the ratio to the hand-written code and the statements per call, reads and writes.
"""

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from examples.transit.models import Agency, Base, Route, Stop, StopTime, Trip
from examples.transit.writes import trip_in
from marshmallow_sqlalchemy import SQLAlchemyAutoSchema
from marshmallow_sqlalchemy.fields import Nested
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, create_engine, delete, event, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlmodel import Field as SQLField
from sqlmodel import Relationship, SQLModel

STOPS = 60


def fill(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Agency(agency_id="A", agency_name="a", agency_url="u", agency_timezone="t"))
        session.add(Route(route_id="R", agency_id="A", route_type=3))
        session.add_all([Stop(stop_id=f"S{i}", stop_name=f"stop {i}") for i in range(STOPS)])
        session.commit()


def timetable(calls: int, shift: int = 0, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "stop_sequence": i,
            "stop": f"S{(i + shift) % STOPS}",
            "arrival_time": f"{8 + i // 60:02d}:{i % 60:02d}:00",
            "departure_time": f"{8 + i // 60:02d}:{i % 60:02d}:30",
        }
        for i in range(start, start + calls)
    ]


def trip_body(trip_id: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "trip_id": trip_id,
        "route_id": "R",
        "service_id": "WEEK",
        "trip_headsign": "Downtown",
        "direction_id": 0,
        "stop_times": calls,
    }


# -- hand-written ---------------------------------------------------------------------------


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stop_sequence: int
    stop: str = Field(max_length=64)
    arrival_time: str | None = Field(None, max_length=8)
    departure_time: str | None = Field(None, max_length=8)


class TripIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trip_id: str = Field(max_length=64)
    route_id: str = Field(max_length=64)
    service_id: str = Field(max_length=64)
    trip_headsign: str | None = Field(None, max_length=255)
    direction_id: int | None = None
    stop_times: list[CallIn]


def hand_check(session: Session, data: TripIn) -> None:
    if session.scalar(select(Route.route_id).where(Route.route_id == data.route_id)) is None:
        raise ValueError("no such route")
    wanted = {c.stop for c in data.stop_times}
    found = set(session.scalars(select(Stop.stop_id).where(Stop.stop_id.in_(wanted))))
    if found != wanted:
        raise ValueError(f"no such stops: {wanted - found}")


def hand_create(session: Session, body: dict[str, Any]) -> Trip:
    data = TripIn.model_validate(body)
    with session.no_autoflush:
        hand_check(session, data)
        if session.get(Trip, data.trip_id) is not None:
            raise ValueError("trip exists")
        trip = Trip(**data.model_dump(exclude={"stop_times"}))
        trip.stop_times = [
            StopTime(
                stop_sequence=c.stop_sequence,
                stop_id=c.stop,
                arrival_time=c.arrival_time,
                departure_time=c.departure_time,
            )
            for c in data.stop_times
        ]
        session.add(trip)
    return trip


def hand_replace(session: Session, trip: Trip, body: dict[str, Any]) -> Trip:
    data = TripIn.model_validate(body)
    with session.no_autoflush:
        hand_check(session, data)
        for name, value in data.model_dump(exclude={"stop_times", "trip_id"}).items():
            setattr(trip, name, value)
        current = {c.stop_sequence: c for c in trip.stop_times}
        calls = []
        for c in data.stop_times:
            call = current.pop(c.stop_sequence, None) or StopTime(stop_sequence=c.stop_sequence)
            call.stop_id = c.stop
            call.arrival_time = c.arrival_time
            call.departure_time = c.departure_time
            calls.append(call)
        for gone in current.values():
            session.delete(gone)
        trip.stop_times = calls
    return trip


# -- SQLModel's documented pattern ------------------------------------------------------------


class SMTrip(SQLModel, table=True):
    __tablename__ = "trips"
    trip_id: str = SQLField(primary_key=True, max_length=64)
    route_id: str = SQLField(max_length=64)
    service_id: str = SQLField(max_length=64)
    trip_headsign: str | None = None
    direction_id: int | None = None
    stop_times: list["SMStopTime"] = Relationship(back_populates="trip")


class SMStopTime(SQLModel, table=True):
    __tablename__ = "stop_times"
    trip_id: str = SQLField(foreign_key="trips.trip_id", primary_key=True)
    stop_sequence: int = SQLField(primary_key=True)
    arrival_time: str | None = None
    departure_time: str | None = None
    stop_id: str = SQLField(max_length=64)
    trip: SMTrip = Relationship(back_populates="stop_times")


class SMCallCreate(SQLModel):
    stop_sequence: int
    stop: str = SQLField(max_length=64)
    arrival_time: str | None = None
    departure_time: str | None = None


class SMTripCreate(SQLModel):
    trip_id: str = SQLField(max_length=64)
    route_id: str = SQLField(max_length=64)
    service_id: str = SQLField(max_length=64)
    trip_headsign: str | None = None
    direction_id: int | None = None
    stop_times: list[SMCallCreate] = []


def sqlmodel_calls(trip_id: str, data: SMTripCreate) -> list[SMStopTime]:
    return [
        SMStopTime.model_validate(
            c.model_dump(exclude={"stop"}), update={"trip_id": trip_id, "stop_id": c.stop}
        )
        for c in data.stop_times
    ]


def sqlmodel_create(session: Session, body: dict[str, Any]) -> SMTrip:
    data = SMTripCreate.model_validate(body)
    trip = SMTrip.model_validate(data.model_dump(exclude={"stop_times"}))
    session.add(trip)
    session.add_all(sqlmodel_calls(trip.trip_id, data))
    return trip


def sqlmodel_replace(session: Session, trip: SMTrip, body: dict[str, Any]) -> SMTrip:
    data = SMTripCreate.model_validate(body)
    trip.sqlmodel_update(data.model_dump(exclude={"stop_times", "trip_id"}))
    for call in trip.stop_times:
        session.delete(call)
    session.flush()
    session.add_all(sqlmodel_calls(trip.trip_id, data))
    return trip


# -- marshmallow-sqlalchemy load_instance -------------------------------------------------------


class MStopTimeSchema(SQLAlchemyAutoSchema):
    class Meta:
        model = StopTime
        load_instance = True
        include_fk = True
        unknown = ma.RAISE
        fields = ("trip_id", "stop_sequence", "stop_id", "arrival_time", "departure_time")


class MTripSchema(SQLAlchemyAutoSchema):
    class Meta:
        model = Trip
        load_instance = True
        include_fk = True
        unknown = ma.RAISE
        fields = (
            "trip_id",
            "route_id",
            "service_id",
            "trip_headsign",
            "direction_id",
            "stop_times",
        )

    stop_times = Nested(MStopTimeSchema, many=True)


def mm_body(body: dict[str, Any]) -> dict[str, Any]:
    calls = [
        {
            "trip_id": body["trip_id"],
            "stop_sequence": c["stop_sequence"],
            "stop_id": c["stop"],
            "arrival_time": c["arrival_time"],
            "departure_time": c["departure_time"],
        }
        for c in body["stop_times"]
    ]
    return {**body, "stop_times": calls}


def mm_create(session: Session, body: dict[str, Any]) -> Trip:
    trip: Trip = MTripSchema().load(mm_body(body), session=session)
    session.add(trip)
    return trip


def mm_replace(session: Session, trip: Trip, body: dict[str, Any]) -> Trip:
    before = list(trip.stop_times)
    loaded: Trip = MTripSchema().load(mm_body(body), session=session, instance=trip)
    # load_instance leaves the calls the body left out orphaned (their key holds trip_id):
    # deleting them is the caller's job.
    kept = {id(c) for c in loaded.stop_times}
    for call in before:
        if id(call) not in kept:
            session.delete(call)
    return loaded


# -- the runs -----------------------------------------------------------------------------------

Case = tuple[str, Callable[[Session, dict[str, Any]], Any], Callable[..., Any], type]

CASES: list[Case] = [
    ("treeshape load", lambda s, b: trip_in.load(b, session=s),
     lambda s, t, b: trip_in.load(b, session=s, instance=t), Trip),
    ("hand-written SQLAlchemy", hand_create, hand_replace, Trip),
    ("SQLModel (documented)", sqlmodel_create, sqlmodel_replace, SMTrip),
    ("marshmallow-sqlalchemy load_instance", mm_create, mm_replace, Trip),
]  # fmt: skip


def reset(engine: Engine, calls: int) -> None:
    """The replace workload's starting point: trip T with ``calls`` calls; nothing else."""
    with Session(engine) as session:
        session.execute(delete(StopTime))
        session.execute(delete(Trip))
        session.commit()
        trip_in.load(trip_body("T", timetable(calls)), session=session)
        session.commit()


def check(engine: Engine, trip_id: str, calls: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        got = session.execute(
            select(StopTime.stop_sequence, StopTime.stop_id, StopTime.arrival_time)
            .where(StopTime.trip_id == trip_id)
            .order_by(StopTime.stop_sequence)
        ).all()
    expected = [(c["stop_sequence"], c["stop"], c["arrival_time"]) for c in calls]
    assert [tuple(row) for row in got] == expected, (trip_id, got[:3], expected[:3])


def run(repeat: int, calls: int) -> list[dict[str, Any]]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    fill(engine)
    counts: list[int] = []
    event.listen(engine, "before_cursor_execute", lambda *a: counts.append(1))
    # The replace: calls 1..N become 6..N+5 shifted by one stop (N-5 updated, 5 added, 5 gone).
    new_calls = timetable(calls, shift=1, start=6)
    times: dict[tuple[str, str], list[float]] = {}
    statements: dict[tuple[str, str], int] = {}
    for _ in range(repeat):
        for name, create, replace, model in CASES:
            for workload in ("create", "replace"):
                reset(engine, calls)
                with Session(engine) as session:
                    body = trip_body(
                        "N" if workload == "create" else "T",
                        timetable(calls) if workload == "create" else new_calls,
                    )
                    trip = session.get(model, "T") if workload == "replace" else None
                    if trip is not None:
                        trip.stop_times  # noqa: B018 - loaded for every case alike, untimed
                    gc.disable()
                    counts.clear()
                    start = time.perf_counter()
                    if workload == "create":
                        create(session, body)
                    else:
                        replace(session, trip, body)
                    session.commit()
                    elapsed = time.perf_counter() - start
                    gc.enable()
                    statements[(name, workload)] = len(counts)
                times.setdefault((name, workload), []).append(elapsed)
                check(engine, body["trip_id"], body["stop_times"])
    rows = []
    for workload in ("create", "replace"):
        base = statistics.median(times[("hand-written SQLAlchemy", workload)])
        for name, *_ in CASES:
            median = statistics.median(times[(name, workload)])
            rows.append(
                {
                    "workload": workload,
                    "case": name,
                    "ms": median * 1000,
                    "ratio": median / base,
                    "statements": statements[(name, workload)],
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    rows = run(args.repeat, args.calls)
    print(f"| workload ({args.calls} calls) | case | median ms | vs hand-written | statements |")
    print("| --- | --- | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['workload']} | {row['case']} | {row['ms']:.2f} | {row['ratio']:.2f} | "
            f"{row['statements']} |"
        )


if __name__ == "__main__":
    main()
