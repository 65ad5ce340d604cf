"""treeshape's rows of the benchmark table, next to the hand-written baselines.

One shape per workload, declaring exactly the document the baselines build
(:mod:`benchmarks.handwritten`): every column of every model, trips by ``trip_id``, stop_times by
``stop_sequence``. The transit example's endpoint shapes (``examples/transit/shapes.py``) show
brief field sets, not every column, so the shapes here are declared with the default fields (every
mapped column, in mapper order).

- **serialize**, on the tree the baselines load (the hand-written selectinload chain, detached):
  ``shape.dump``, ``shape.dump_json``, the generated marshmallow schema and the generated Pydantic
  model;
- **request**, a whole request from an engine to JSON bytes: ``loader_options()`` then
  ``dump_json`` (ORM objects, as a Flask or FastAPI view would), ``fetch`` then ``orjson.dumps``,
  and ``fetch_json`` with the strategy treeshape picks for the dialect (``auto``) and with
  ``strategy="core"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from examples.transit.models import Route, Stop, Trip
from sqlalchemy import select
from sqlalchemy.orm import Session

import treeshape as ts
from benchmarks.handwritten import preload
from benchmarks.harness import REQUEST, SERIALIZE, BenchContext, Case
from treeshape.sql.fetch import Strategy

SHAPES: dict[str, ts.Shape] = {
    "route": ts.shape(Route, "trips.stop_times.stop"),
    "stop": ts.shape(Stop, "trips"),
    "trip": ts.shape(Trip, "stop_times.stop"),
}
"""Per workload, the shape whose document equals the hand-written baselines' one."""


def _criterion(ctx: BenchContext) -> Any:
    """``<root primary key> == <workload key>``."""
    root = ctx.workload.root
    return root.__mapper__.primary_key[0] == ctx.workload.key


def _cases(workload: str) -> list[Case]:
    shape = SHAPES[workload]
    schema = shape.marshmallow_schema()
    model = shape.pydantic_model
    options = shape.loader_options()

    def orm_dump_json(ctx: BenchContext) -> bytes:
        with Session(ctx.engine) as session:
            stmt = select(ctx.workload.root).where(_criterion(ctx)).options(*options)
            return shape.dump_json(session.scalars(stmt).one())

    def fetch(ctx: BenchContext) -> bytes:
        with Session(ctx.engine) as session:
            return orjson.dumps(shape.fetch(session, _criterion(ctx)))

    def fetch_json(strategy: Strategy) -> Callable[[BenchContext], bytes]:
        def run(ctx: BenchContext) -> bytes:
            with Session(ctx.engine) as session:
                return shape.fetch_json(session, _criterion(ctx), strategy=strategy)

        return run

    return [
        Case(workload, "treeshape dump", SERIALIZE, shape.dump, preload),
        Case(workload, "treeshape dump_json", SERIALIZE, shape.dump_json, preload),
        Case(workload, "treeshape marshmallow", SERIALIZE, schema.dump, preload),
        Case(
            workload,
            "treeshape pydantic",
            SERIALIZE,
            lambda obj: model.model_validate(obj).model_dump(mode="json"),
            preload,
        ),
        Case(workload, "treeshape loader_options + dump_json", REQUEST, orm_dump_json),
        Case(workload, "treeshape fetch", REQUEST, fetch),
        Case(workload, "treeshape fetch_json", REQUEST, fetch_json("auto")),
        Case(workload, "treeshape fetch_json core", REQUEST, fetch_json("core")),
    ]


CASES: list[Case] = [case for workload in ("route", "stop", "trip") for case in _cases(workload)]
"""Every treeshape case of every workload, in table order."""
