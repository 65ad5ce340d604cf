"""The ORM path (issue 15.4): ``loader_options()`` + ``dump_json`` against a plain selectinload
chain, with ``dump_json`` and with a hand-written dict builder + orjson.

```
python -m benchmarks.orm_path                  # Cairns, SQLite, 15 interleaved runs
python -m benchmarks.orm_path --feed nyc --repeat 9
python -m benchmarks.orm_path --instructions   # Cairns, instructions per call (callgrind)
```

Each case is a whole request: open a Session, load the root and its tree, encode JSON bytes.
``loader_options()`` loads only the shape's columns (``load_only``, left out where the shape
outputs every column) and makes every other relationship raise (``raiseload``);
``loader_options(raise_on_unplanned=False)`` leaves them lazy, as the plain chain does, which
loads whole rows. Instructions per call, Cairns (2026-12-02): ``loader_options()`` 1.112x the
plain chain + ``dump_json`` on the route, 1.135x on the stop, 1.102x on the trip (the per-row
cost of ``raiseload``, see `treeshape.sql.loading`); ``raise_on_unplanned=False`` 1.001x,
1.000x and 0.998x. The ``lazy="raise" mapping`` cases run the same shapes and chain on the same
tables mapped with every relationship ``lazy="raise"`` (`benchmarks.raise_mapping`), where
``raiseload("*")`` is every relationship's class-level strategy: ``loader_options()`` 1.000x,
1.003x and 1.009x that mapping's chain (2026-12-03; the default mapping 1.113x, 1.133x, 1.109x
in the same run). Each case's ratio is over the chain + ``dump_json`` of its own mapping.
Every case's document is checked to parse to the first case's before it is timed; runs are
interleaved with the garbage collector paused; the table gives medians and ratios over the
plain chain with the hand serializer. ``--instructions`` counts instructions per call instead
(valgrind's callgrind, as `benchmarks.instructions` does: each case twice untimed, then three
calls inside one ``functools.reduce``), a comparison that holds on a busy machine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from examples.transit.models import Route, Stop, Trip
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

import treeshape as ts
from benchmarks import raise_mapping as raising
from benchmarks.feeds import feed_engine
from benchmarks.fetch_limits import measure
from benchmarks.handwritten import (
    LOADER_OPTIONS,
    route_detail_dict,
    stop_detail_dict,
    trip_detail_dict,
)
from benchmarks.instructions import cases_per_workload, measure_cases
from benchmarks.workloads import pick_workloads

__all__ = ["cases", "main"]

SHAPES = {
    "route": ts.shape(Route, "trips.stop_times.stop"),
    "stop": ts.shape(Stop, "trips"),
    "trip": ts.shape(Trip, "stop_times.stop"),
}
RAISING_SHAPES = {
    "route": ts.shape(raising.Route, "trips.stop_times.stop"),
    "stop": ts.shape(raising.Stop, "trips"),
    "trip": ts.shape(raising.Trip, "stop_times.stop"),
}
"""The same shapes of the transit models mapped with every relationship ``lazy="raise"``."""
RAISING_CHAINS: dict[str, tuple[LoaderOption, ...]] = {
    "route": (
        selectinload(raising.Route.trips)
        .selectinload(raising.Trip.stop_times)
        .selectinload(raising.StopTime.stop),
    ),
    "stop": (selectinload(raising.Stop.trips),),
    "trip": (selectinload(raising.Trip.stop_times).selectinload(raising.StopTime.stop),),
}
"""`LOADER_OPTIONS` for that mapping: the plain chain names every relationship it loads."""
RAISING = 'lazy="raise" mapping: '
"""The prefix of the cases on that mapping."""
HAND: dict[str, Callable[[Any], dict[str, Any]]] = {
    "route": route_detail_dict,
    "stop": stop_detail_dict,
    "trip": trip_detail_dict,
}

WORKLOADS = ("route", "stop", "trip")
CALLS = 3
Case = tuple[str, Callable[[], bytes]]


def cases(engine: Engine, workload: str, key: str) -> list[Case]:
    """The ORM-path cases of ``workload`` on the row ``key``."""
    shape = SHAPES[workload]
    root = shape.model
    criterion = root.__mapper__.primary_key[0] == key
    ours = select(root).where(criterion).options(*shape.loader_options())
    lazy = select(root).where(criterion).options(*shape.loader_options(raise_on_unplanned=False))
    plain = select(root).where(criterion).options(*LOADER_OPTIONS[workload])
    hand = HAND[workload]

    def loader_options_dump_json() -> bytes:
        with Session(engine) as session:
            return shape.dump_json(session.scalars(ours).all(), many=True)

    def lazy_loader_options_dump_json() -> bytes:
        with Session(engine) as session:
            return shape.dump_json(session.scalars(lazy).all(), many=True)

    def selectinload_dump_json() -> bytes:
        with Session(engine) as session:
            return shape.dump_json(session.scalars(plain).all(), many=True)

    def selectinload_hand() -> bytes:
        with Session(engine) as session:
            return orjson.dumps([hand(obj) for obj in session.scalars(plain).all()])

    return [
        ("loader_options() + dump_json", loader_options_dump_json),
        ("loader_options(raise_on_unplanned=False) + dump_json", lazy_loader_options_dump_json),
        ("selectinload chain + dump_json", selectinload_dump_json),
        ("selectinload chain + dict + orjson (hand)", selectinload_hand),
        *raising_cases(engine, workload, key),
    ]


def raising_cases(engine: Engine, workload: str, key: str) -> list[Case]:
    """`loader_options()` and the plain chain, each + ``dump_json``, on the ``lazy="raise"``
    mapping (`benchmarks.raise_mapping`): there the plan's ``raiseload("*")`` asks for every
    relationship's class-level strategy."""
    shape = RAISING_SHAPES[workload]
    root = shape.model
    criterion = root.__mapper__.primary_key[0] == key
    ours = select(root).where(criterion).options(*shape.loader_options())
    plain = select(root).where(criterion).options(*RAISING_CHAINS[workload])

    def loader_options_dump_json() -> bytes:
        with Session(engine) as session:
            return shape.dump_json(session.scalars(ours).all(), many=True)

    def selectinload_dump_json() -> bytes:
        with Session(engine) as session:
            return shape.dump_json(session.scalars(plain).all(), many=True)

    return [
        (f"{RAISING}loader_options() + dump_json", loader_options_dump_json),
        (f"{RAISING}selectinload chain + dump_json", selectinload_dump_json),
    ]


def table(title: str, medians: dict[str, float]) -> str:
    base = medians["selectinload chain + dict + orjson (hand)"]
    lines = [f"**{title}**", "", "| case | median ms | vs hand |", "| --- | ---: | ---: |"]
    for name, value in medians.items():
        lines.append(f"| {name} | {value * 1e3:.2f} | {value / base:.2f}x |")
    return "\n".join(lines)


def _count_inside_valgrind(feed: str, order_file: str) -> None:
    """Inside valgrind: every case of every workload twice untimed, then `CALLS` times inside
    one ``functools.reduce``, the case names written in order to ``order_file``."""
    engine = feed_engine(feed)
    workloads = pick_workloads(engine)
    cases_of = ((w, cases(engine, w, workloads[w].key)) for w in WORKLOADS)
    measure_cases(cases_of, CALLS, order_file)


def instructions(feed: str) -> dict[str, dict[str, float]]:
    """Instructions per call: workload -> case -> count."""
    # The feed's database is built (and cached) outside valgrind: under it, that takes minutes.
    feed_engine(feed)
    return cases_per_workload("benchmarks.orm_path", ["--feed", feed], CALLS)


def instructions_table(title: str, counts: dict[str, float]) -> str:
    """Each case over the selectinload chain + ``dump_json`` of its own mapping."""
    lines = [
        f"**{title}**",
        "",
        "| case | instructions per call | vs its mapping's selectinload chain + dump_json |",
        "| --- | ---: | ---: |",
    ]
    for name, value in counts.items():
        prefix = RAISING if name.startswith(RAISING) else ""
        base = counts[f"{prefix}selectinload chain + dump_json"]
        lines.append(f"| {name} | {value / 1e6:.2f} M | {value / base:.3f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", default="cairns")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--instructions", action="store_true", help="count, with callgrind")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        _count_inside_valgrind(args.feed, args.inner)
        return
    engine = feed_engine(args.feed)
    workloads = pick_workloads(engine)
    if args.instructions:
        for workload, counts in instructions(args.feed).items():
            description = workloads[workload].description
            print(instructions_table(f"{args.feed}, SQLite, {description}", counts), end="\n\n")
        return
    for workload in WORKLOADS:
        w = workloads[workload]
        medians = measure(cases(engine, workload, w.key), args.repeat)
        print(table(f"{args.feed}, SQLite, {w.description}", medians), end="\n\n")


if __name__ == "__main__":
    main()
