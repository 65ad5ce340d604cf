"""Memory over 100,000 distinct request narrowings of one endpoint: it must stay flat.

A client can send a different ``?fields[...]=`` on every request. Each distinct narrowing is a
new shape tree with its own compiled dumper (and, when asked for, marshmallow and Pydantic
classes); `treeshape.web.EndpointShape` keeps them in a bounded LRU cache, and what falls out
must be freed. This drives ``EndpointShape.from_query`` + ``dump_json`` (what a request does)
through ``--count`` distinct narrowings of a synthetic 20-column model (2**20 field subsets),
generating the marshmallow and Pydantic classes too on every ``--classes-every``-th, and
prints the process's memory every 10% of the way::

    python -m benchmarks.cache_memory                      # 100,000 narrowings, RSS
    python -m benchmarks.cache_memory --trace              # + tracemalloc (about 3x slower)
    python -m benchmarks.cache_memory --count 20000 --cache-size 0   # unbounded, to compare

The regression test is ``tests/web/test_cache_memory.py``.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
import tracemalloc

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import treeshape as ts
from treeshape import tree
from treeshape.web import EndpointShape

COLUMNS = [f"c{i:02d}" for i in range(20)]


class Base(DeclarativeBase):
    pass


class Wide(Base):
    __tablename__ = "bench_wide"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("bench_parent.id"))
    parent: Mapped[Parent | None] = relationship(back_populates="wides")


for _name in COLUMNS:
    setattr(Wide, _name, mapped_column(_name, Integer))


class Parent(Base):
    __tablename__ = "bench_parent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wides: Mapped[list[Wide]] = relationship(back_populates="parent", order_by=Wide.id)


def rss_mib() -> float:
    """Resident set size now (Linux ``/proc``; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--cache-size", type=int, default=256, help="0: unbounded")
    parser.add_argument("--classes-every", type=int, default=10)
    parser.add_argument("--trace", action="store_true", help="also report tracemalloc")
    args = parser.parse_args()

    shape = ts.shape(Parent, "wides")
    endpoint = EndpointShape(shape, cache_size=args.cache_size or 2**30)
    parent = Parent(id=1, wides=[Wide(id=1, **{name: n for n, name in enumerate(COLUMNS)})])
    if args.trace:
        tracemalloc.start()
    step = max(args.count // 10, 1)
    print(
        f"{args.count:,} distinct narrowings, cache_size={args.cache_size or 'unbounded'}, "
        f"classes every {args.classes_every}"
    )
    print(f"{'requests':>9} {'RSS MiB':>8} {'traced MiB':>10} {'cached':>7} {'live nodes':>10} "
          f"{'us/request':>10}")  # fmt: skip
    started = last = time.perf_counter()
    for i in range(1, args.count + 1):
        fields = ",".join(name for bit, name in enumerate(COLUMNS) if (i >> bit) & 1)
        narrowed = endpoint.from_query([("fields[Wide]", fields)])
        narrowed.dump_json(parent)
        if i % args.classes_every == 0:
            _ = narrowed.pydantic_model, narrowed.marshmallow_schema
        if i % step == 0:
            now = time.perf_counter()
            gc.collect()
            traced = tracemalloc.get_traced_memory()[0] / 2**20 if args.trace else float("nan")
            print(
                f"{i:>9,} {rss_mib():>8.1f} {traced:>10.1f} {endpoint.cache_info().currsize:>7} "
                f"{len(tree._interned):>10} {(now - last) / step * 1e6:>10.0f}"
            )
            last = time.perf_counter()
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
