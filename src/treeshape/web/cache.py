"""The narrowed-shape cache of an endpoint: least recently used, bounded in entries and in
tree nodes.

An entry's memory is mostly what the backends generate per relationship and per node (its
loader options, its dumper's code): about 130 objects tracked by the garbage collector per
node of ``route_detail``'s tree. A bound in entries alone lets an endpoint with a deep shape
hold hundreds of thousands of long-lived objects, which every full collection walks (issue
#19.5: 0.8 s stalls). The node bound keeps the cache small in objects whatever the shape.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, NamedTuple, TypeVar

__all__ = ["CacheInfo", "NarrowingCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class CacheInfo(NamedTuple):
    """The cache's statistics, as ``functools.lru_cache`` reports them, plus its weight."""

    hits: int
    misses: int
    maxsize: int
    currsize: int
    weight: int
    """Tree nodes held by the cached entries."""
    max_weight: int


class NarrowingCache(Generic[K, V]):
    """``build(key)`` cached: at most ``max_entries`` entries weighing ``max_weight`` in all.

    ``weigh(value)`` is an entry's weight (at least 1). An entry heavier than the whole budget
    is built and returned but not kept. Building happens outside the lock (it may take
    milliseconds); two threads building the same key keep the first result.
    """

    def __init__(
        self,
        build: Callable[[K], V],
        weigh: Callable[[V], int],
        *,
        max_entries: int,
        max_weight: int,
    ) -> None:
        for name, bound in (("cache_size", max_entries), ("cache_nodes", max_weight)):
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {bound!r}.")
        self._build = build
        self._weigh = weigh
        self._max_entries = max_entries
        self._max_weight = max_weight
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def __call__(self, key: K) -> V:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                return found[0]
            self._misses += 1
        value = self._build(key)
        weight = max(1, self._weigh(value))
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                return found[0]
            if weight > self._max_weight or self._max_entries == 0:
                return value
            self._entries[key] = (value, weight)
            self._weight += weight
            while len(self._entries) > self._max_entries or self._weight > self._max_weight:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped
        return value

    def info(self) -> CacheInfo:
        """Hits, misses, entry bound, entries, weight and weight bound."""
        with self._lock:
            return CacheInfo(
                self._hits,
                self._misses,
                self._max_entries,
                len(self._entries),
                self._weight,
                self._max_weight,
            )
