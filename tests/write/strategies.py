"""Hypothesis strategies for bodies: valid ones from a write plan, and near misses.

`bodies` draws, for every key a body of that mode may carry, either nothing, a valid value or
a JSON value of the wrong kind, and now and then a key the shape does not have: most bodies are
invalid in one or two places, which is where two validators could disagree.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import typing
from typing import Any

from hypothesis import strategies as st

from treeshape.write.plan import WritePlan
from treeshape.write.rules import Mode, slots
from treeshape.write.scalars import key_annotation, scalar_annotation

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=4),
    st.just({}),
    st.just([]),
)


def mostly(good: st.SearchStrategy[Any], edge: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, ``edge`` otherwise."""
    return st.integers(0, 9).flatmap(lambda i: edge if i == 0 else good)


def valid_scalar(annotation: Any) -> st.SearchStrategy[Any]:
    """JSON values ``annotation`` accepts (and a few it refuses, at its edges)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        limit = None
        for extra in extras:
            for item in getattr(extra, "metadata", ()):
                limit = getattr(item, "max_length", limit)
        if base is str and limit is not None:
            return mostly(st.text(max_size=limit), st.text(min_size=limit + 1, max_size=limit + 1))
        return valid_scalar(base)
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if origin is tuple:
        return st.tuples(*(valid_scalar(a) for a in typing.get_args(annotation))).map(list)
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return mostly(st.sampled_from([m.value for m in annotation]), st.just("nope"))
        if issubclass(annotation, bool):
            return st.booleans()
        if issubclass(annotation, int):
            return st.integers(-1000, 1000)
        if issubclass(annotation, float):
            return st.floats(-1e6, 1e6) | st.integers(-9, 9)
        if issubclass(annotation, str):
            return st.text(max_size=8)
        if issubclass(annotation, decimal.Decimal):
            return mostly(st.decimals(-999999, 999999, places=2).map(str), st.just("1.234"))
        if issubclass(annotation, dt.datetime):
            return st.datetimes().map(dt.datetime.isoformat)
        if issubclass(annotation, dt.date):
            return mostly(st.dates().map(dt.date.isoformat), st.just("2024-02-30"))
        if issubclass(annotation, dt.time):
            return st.times().map(dt.time.isoformat)
    return st.text(max_size=4)


@st.composite
def bodies(draw: st.DrawFn, plan: WritePlan, mode: Mode, root: bool = True, depth: int = 0) -> Any:
    """A body for ``plan`` in ``mode``: mostly near-valid, sometimes not even an object."""
    if draw(st.integers(0, 60)) == 0:
        return draw(JUNK)
    body: dict[str, Any] = {}
    for slot in slots(plan, mode, root=root):
        choice = draw(st.integers(0, 29))
        if choice == 0 or (not slot.required and choice < 5):
            continue  # absent
        # The body's key; now and then the attribute's spelling, which a shape with output
        # names (`Slot.key`) refuses as an unknown key.
        key = slot.name if draw(st.integers(0, 15)) == 0 else slot.key
        if choice == 5:
            body[key] = draw(JUNK)
            continue
        if slot.field is not None:
            annotation = scalar_annotation(slot.field.info, slot.field.facts)
            body[key] = draw(valid_scalar(annotation))
        elif slot.ref is not None:
            ref_key = valid_scalar(key_annotation(slot.ref.key_fields))
            body[key] = draw(st.lists(ref_key, max_size=3)) if slot.ref.many else draw(ref_key)
        else:
            assert slot.child is not None and slot.child_mode is not None
            sub = bodies(slot.child.plan, slot.child_mode, False, depth + 1)
            body[key] = draw(st.lists(sub, max_size=3)) if slot.child.many else draw(sub)
    if draw(st.integers(0, 20)) == 0:
        body[draw(st.sampled_from(["extra", "invoice_count", "_sa_instance_state", "id"]))] = 1
    return body
