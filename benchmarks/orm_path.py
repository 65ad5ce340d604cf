"""The ORM path (issue 15.4): ``loader_options()`` + ``dump_json`` against a plain selectinload
chain, with ``dump_json`` and with a hand-written dict builder + orjson.

```
python -m benchmarks.orm_path                  # Cairns, SQLite, 15 interleaved runs
python -m benchmarks.orm_path --feed nyc --repeat 9
```

Each case is a whole request: open a Session, load the root and its tree, encode JSON bytes.
``loader_options()`` loads only the shape's columns (``load_only``) and makes every other
relationship raise (``raiseload``); the plain chain loads whole rows and leaves the rest lazy.
Every case's document is checked to parse to the first case's before it is timed; runs are
interleaved with the garbage collector paused; the table gives medians and ratios over the
plain chain with the hand serializer.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from examples.transit.models import Route, Trip
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import treeshape as ts
from benchmarks.feeds import feed_engine
from benchmarks.fetch_limits import measure
from benchmarks.handwritten import LOADER_OPTIONS, route_detail_dict, trip_detail_dict
from benchmarks.workloads import pick_workloads

__all__ = ["cases", "main"]

SHAPES = {
    "route": ts.shape(Route, "trips.stop_times.stop"),
    "trip": ts.shape(Trip, "stop_times.stop"),
}
HAND: dict[str, Callable[[Any], dict[str, Any]]] = {
    "route": route_detail_dict,
    "trip": trip_detail_dict,
}

Case = tuple[str, Callable[[], bytes]]


def cases(engine: Engine, workload: str, key: str) -> list[Case]:
    """The ORM-path cases of ``workload`` on the row ``key``."""
    shape = SHAPES[workload]
    root = shape.model
    criterion = root.__mapper__.primary_key[0] == key
    ours = select(root).where(criterion).options(*shape.loader_options())
    plain = select(root).where(criterion).options(*LOADER_OPTIONS[workload])
    hand = HAND[workload]

    def loader_options_dump_json() -> bytes:
        with Session(engine) as session:
            return shape.dump_json(session.scalars(ours).all(), many=True)

    def selectinload_dump_json() -> bytes:
        with Session(engine) as session:
            return shape.dump_json(session.scalars(plain).all(), many=True)

    def selectinload_hand() -> bytes:
        with Session(engine) as session:
            return orjson.dumps([hand(obj) for obj in session.scalars(plain).all()])

    return [
        ("loader_options() + dump_json", loader_options_dump_json),
        ("selectinload chain + dump_json", selectinload_dump_json),
        ("selectinload chain + dict + orjson (hand)", selectinload_hand),
    ]


def table(title: str, medians: dict[str, float]) -> str:
    base = medians["selectinload chain + dict + orjson (hand)"]
    lines = [f"**{title}**", "", "| case | median ms | vs hand |", "| --- | ---: | ---: |"]
    for name, value in medians.items():
        lines.append(f"| {name} | {value * 1e3:.2f} | {value / base:.2f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", default="cairns")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    engine = feed_engine(args.feed)
    workloads = pick_workloads(engine)
    for workload in ("route", "trip"):
        w = workloads[workload]
        medians = measure(cases(engine, workload, w.key), args.repeat)
        print(table(f"{args.feed}, SQLite, {w.description}", medians), end="\n\n")


if __name__ == "__main__":
    main()
