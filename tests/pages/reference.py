"""The page order computed in Python: the sort fields (NULLs largest), then the primary key."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

__all__ = ["ordered"]


def _compare(a: Any, b: Any) -> int:
    if a == b:
        return 0
    if a is None:
        return 1
    if b is None:
        return -1
    return -1 if a < b else 1


def ordered(
    rows: Sequence[dict[str, Any]], order: Sequence[tuple[str, bool]], key: str
) -> list[dict[str, Any]]:
    """``rows`` in ``order`` (``(field, descending)``), ``key`` breaking ties ascending."""
    named = {name for name, _ in order}
    keys = [*order, *([] if key in named else [(key, False)])]

    def compare(x: dict[str, Any], y: dict[str, Any]) -> int:
        for name, descending in keys:
            result = _compare(x[name], y[name])
            if result:
                return -result if descending else result
        return 0

    return sorted(rows, key=functools.cmp_to_key(compare))
