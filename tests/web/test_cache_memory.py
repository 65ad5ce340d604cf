"""Narrowed shapes are cached per endpoint in a bounded LRU, and what falls out of it is freed:
its interned tree, its dumper and its generated marshmallow and Pydantic classes. Memory stays
flat however many distinct narrowings clients send. And many threads asking for the same new
narrowing at once get one class each, and no errors.

A synthetic model with 20 columns gives 2**20 distinct ``fields[Wide]`` narrowings. The
100,000-narrowing measurement is ``python -m benchmarks.cache_memory``; this test runs a few
thousand, enough to see growth if anything kept them.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import treeshape as ts
from treeshape import tree
from treeshape.web import EndpointShape

COLUMNS = [f"c{i:02d}" for i in range(20)]


class Base(DeclarativeBase):
    pass


class Wide(Base):
    __tablename__ = "cache_wide"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cache_parent.id"))
    parent: Mapped[Parent | None] = relationship(back_populates="wides")


for _name in COLUMNS:
    setattr(Wide, _name, mapped_column(_name, Integer))


class Parent(Base):
    __tablename__ = "cache_parent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wides: Mapped[list[Wide]] = relationship(back_populates="parent", order_by=Wide.id)


WIDE = ts.shape(Parent, "wides")


def fields_for(i: int) -> str:
    """The ``i``-th of the 2**20 - 1 non-empty subsets of the 20 columns."""
    return ",".join(name for bit, name in enumerate(COLUMNS) if (i >> bit) & 1)


def sample() -> Parent:
    parent = Parent(id=1)
    parent.wides = [Wide(id=1, **{name: n for n, name in enumerate(COLUMNS)})]
    return parent


def live_wide_nodes() -> int:
    gc.collect()
    return sum(1 for node in list(tree._interned.values()) if node.model is Wide)


def test_memory_stays_flat_over_distinct_narrowings() -> None:
    endpoint = EndpointShape(WIDE, cache_size=64)
    parent = sample()

    def request(i: int) -> None:
        shape = endpoint.from_query([("fields[Wide]", fields_for(i))])
        body = shape.dump(parent)
        assert list(body["wides"][0]) == fields_for(i).split(",")

    # Traced from the start: entries cached before tracing would be freed untraced, and their
    # replacements would look like growth. The first 600 fill the cache, run every path and
    # let the process-wide tables the dumpers register in (linecache, weakref finalizers) reach
    # their size: a one-off resize there is not growth.
    tracemalloc.start()
    try:
        for i in range(1, 601):
            request(i)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(601, 2101):
            request(i)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    info = endpoint.cache_info()
    assert info.currsize == info.maxsize == 64
    assert info.misses == 2100
    # 1,500 new narrowings, each a few KB of tree and compiled dumper: kept, they would be
    # several MB (see benchmarks/cache_memory.py). Freed, the traced memory stays flat.
    assert growth < 128 * 1024, f"{growth / 1024:.0f} KiB"
    # Live trees: the cached narrowings' Wide nodes and the declared shape's; no more.
    assert live_wide_nodes() <= 64 + 1


def test_evicted_classes_are_freed() -> None:
    """Nothing outside the cache keeps generated classes: not naming's claimed names,
    marshmallow's class registry, Pydantic's internals or `typing`'s caches."""
    endpoint = EndpointShape(WIDE, cache_size=16)
    parent = sample()
    refs: list[weakref.ref[Any]] = []
    for i in range(1, 201):
        shape = endpoint.from_query([("fields[Wide]", fields_for(i))])
        refs += [weakref.ref(shape.pydantic_model), weakref.ref(shape.marshmallow_schema)]
        shape.dump_json(parent)
        shape.loader_options()
        del shape
    gc.collect()
    alive = [ref for ref in refs if ref() is not None]
    assert len(alive) <= 16 * 2, len(alive)  # the 16 cached narrowings' classes
    assert live_wide_nodes() <= 16 + 1


def test_same_new_narrowing_from_many_threads_gets_one_class() -> None:
    endpoint = EndpointShape(WIDE, cache_size=8)
    parent = sample()
    threads = 16

    for round_ in range(10):
        barrier = threading.Barrier(threads)
        query = [("include", "wides"), ("fields[Wide]", fields_for(100_000 + round_))]

        def work(
            _: int, query: list[tuple[str, str]] = query, barrier: threading.Barrier = barrier
        ) -> tuple[Any, ...]:
            barrier.wait(timeout=10)
            shape = endpoint.from_query(query)
            return (
                shape.node,
                shape.pydantic_model,
                shape.marshmallow_schema,
                shape.dump_json(parent),
                shape.loader_options(),
            )

        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(work, range(threads)))
        node, model, schema, body, options = results[0]
        for result in results:  # identical objects, not merely equal ones; the same bytes
            assert result[0] is node and result[1] is model and result[2] is schema
            assert result[3] == body and result[4] is options


def tracked_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def test_tracked_objects_stay_bounded_over_distinct_narrowings() -> None:
    """Issue #19.5: the cache is bounded in tree nodes, so the objects the collector walks stay
    bounded whatever the shape's depth. ``route_detail`` has 5 nodes; each cached narrowing
    with its loader options and dumper holds about 130 tracked objects per node (256 entries
    of it held 171,000 objects; the 256-node bound holds 51 entries)."""
    from examples.transit import shapes

    endpoint = EndpointShape(shapes.route_detail, max_page={"trips": 1000})

    def request(i: int) -> None:
        shape = endpoint.from_query([("page[trips]", str(i))])
        shape.loader_options()
        shape.dump_json([], many=True)

    before = tracked_objects()
    for i in range(1, 121):
        request(i)
    filled = tracked_objects()
    for i in range(121, 241):
        request(i)
    after = tracked_objects()
    info = endpoint.cache_info()
    assert info.weight <= info.max_weight == 256
    assert info.currsize == 256 // 5
    assert filled - before < 50_000, filled - before
    assert abs(after - filled) < 2_000, after - filled


def test_the_cache_bounds_weight_and_entries() -> None:
    from treeshape.web.cache import NarrowingCache

    built: list[int] = []

    def build(key: int) -> int:
        built.append(key)
        return key

    cache: NarrowingCache[int, int] = NarrowingCache(
        build, lambda v: v, max_entries=3, max_weight=10
    )
    for key in (4, 5, 1):  # 4 + 5 + 1 = 10
        assert cache(key) == key
    assert cache.info()[:5] == (0, 3, 3, 3, 10)
    assert cache(2) == 2  # 12 > 10: the least recently used (4) goes
    assert cache.info().weight == 8 and cache.info().currsize == 3
    cache(5)
    assert cache.info().hits == 1
    cache(11)  # heavier than the whole budget: built, not kept
    cache(11)
    assert built.count(11) == 2 and cache.info().weight == 8
    cache(4)
    assert built.count(4) == 2  # it had been evicted


@pytest.mark.parametrize("bad", [-1, 1.5, True, "8"])
def test_cache_bounds_must_be_integers(bad: Any) -> None:
    with pytest.raises(ValueError, match="cache_nodes"):
        EndpointShape(WIDE, cache_nodes=bad)
    with pytest.raises(ValueError, match="cache_size"):
        EndpointShape(WIDE, cache_size=bad)
