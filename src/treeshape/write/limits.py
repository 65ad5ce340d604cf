"""Bounds on a request body, checked on the raw JSON before any statement.

A body is untrusted input that turns into objects, statements and rows: a million stop_times,
or a list nested a thousand deep, must cost a walk of the body and a clear 422, not a flush.
The walk comes before validation, except in `load` for a shape whose every accepted body is
within the limits (each collection holds at most ``max_items`` by the input model's own
constraint, and no column takes values of any size: `twin_extent`): there the walk runs only
for a body validation refuses, before its errors are read, so that the verdicts, errors and
their order are those of walking first.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

__all__ = ["DEFAULT_LIMITS", "Limits", "limit_errors"]


@dataclass(frozen=True)
class Limits:
    """How large one body may be; exceeding a bound is an `InputError` naming it.

    The defaults fit any hand-written form or timetable (a trip has a few hundred calls at
    most) and bound the work of a hostile body. ``shape.load(..., limits=Limits(...))`` and the
    web helpers take others.
    """

    max_items: int = 1000
    """Items in one collection."""
    max_depth: int = 16
    """Nesting of objects and lists (the body itself is depth 1)."""
    max_total: int = 10_000
    """Objects and list items in the whole body."""

    def __post_init__(self) -> None:
        for name in ("max_items", "max_depth", "max_total"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}.")


DEFAULT_LIMITS = Limits()

_CONTAINERS = (dict, list, tuple)


def limit_errors(body: Any, limits: Limits) -> list[dict[str, Any]]:
    """The bounds ``body`` exceeds, in `InputError.errors` form; stops at the first one.

    Iterative (no recursion limit to hit) and it stops as soon as a bound is passed, so its
    cost is bounded by the limits, not by the body.
    """
    if _within(body, limits):
        return []  # the common case, without building a path per container
    total = 0
    stack: list[tuple[Any, tuple[Any, ...], int]] = [(body, (), 1)]
    while stack:
        value, loc, depth = stack.pop()
        if isinstance(value, dict):
            total += 1
            items: Any = value.items()
        elif isinstance(value, list | tuple):
            if len(value) > limits.max_items:
                return [
                    _error(
                        loc,
                        f"A collection holds at most {limits.max_items} items "
                        f"(Limits.max_items), got {len(value)}.",
                        "max_items",
                    )
                ]
            total += len(value)
            items = enumerate(value)
        else:
            continue
        if depth > limits.max_depth:
            return [
                _error(
                    loc,
                    f"The body nests at most {limits.max_depth} levels (Limits.max_depth).",
                    "max_depth",
                )
            ]
        if total > limits.max_total:
            return [
                _error(
                    (),
                    f"A body holds at most {limits.max_total} objects and list items "
                    f"(Limits.max_total).",
                    "max_total",
                )
            ]
        for key, item in items:
            if isinstance(item, _CONTAINERS):
                stack.append((item, (*loc, key), depth + 1))
    return []


def _within(body: Any, limits: Limits) -> bool:
    """Whether ``body`` is within ``limits``: `limit_errors`' walk without the paths.

    The usual body is a few objects of scalars (a trip's calls): an object whose values are
    all of exact JSON scalar classes is counted where its parent lists it, with one C-level
    scan of its values' classes, and never pushed on the stack; a collection of such objects
    only, with one scan of all their values.
    """
    max_items, max_depth, max_total = limits.max_items, limits.max_depth, limits.max_total
    leaves = _LEAVES
    total = 0
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            total += 1
            items: Any = value.values()
        elif isinstance(value, list | tuple):
            if len(value) > max_items:
                return False
            total += len(value)
            items = value
        else:
            continue
        if depth > max_depth:
            return False
        if not leaves.issuperset(map(type, items)):
            depth += 1
            if _DICTS.issuperset(map(type, items)) and leaves.issuperset(
                map(type, chain.from_iterable(map(dict.values, items)))
            ):
                # Objects of scalars only (a timetable): counted as the loop below counts them,
                # in two C-level scans instead of one loop turn per object.
                total += len(items)
                if depth > max_depth or total > max_total:
                    return False
                continue
            for item in items:
                if item.__class__ is dict and leaves.issuperset(map(type, item.values())):
                    total += 1  # an object of scalars: nothing inside it to walk
                    if depth > max_depth:
                        return False
                elif isinstance(item, _CONTAINERS):
                    stack.append((item, depth))
        if total > max_total:
            return False
    return True


_LEAVES = frozenset({str, int, float, bool, type(None)})
"""The classes of JSON scalars: a value of one of exactly these holds nothing to walk."""

_DICTS = frozenset({dict})
"""Exactly ``dict``: what `_within` can scan the values of with ``dict.values``."""


def _error(loc: tuple[Any, ...], msg: str, limit: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": f"limit_{limit}"}
