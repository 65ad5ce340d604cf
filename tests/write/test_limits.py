"""Body limits: checked on the raw body, before validation and before any statement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import Db
from tests.statements import StatementCounter
from treeshape.write import Limits
from treeshape.write.limits import _within, limit_errors

from .models import invoice_in


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_each_limit_is_named(db: Db) -> None:
    limits = Limits(max_items=3, max_depth=5, max_total=10)
    cases = {
        "max_items": {"lines": [{}] * 4},
        "max_depth": {"lines": [{"adjustments": [{"reason": [[1]]}]}]},
        "max_total": {"lines": [{"adjustments": [{}, {}]}] * 3},
    }
    for name, body in cases.items():
        with Session(db.engine) as session, StatementCounter(db.engine) as counter:
            with pytest.raises(ts.InputError, match=f"Limits.{name}") as info:
                invoice_in.load(body, session=session, limits=limits)
            assert counter.count == 0
        assert info.value.errors[0]["type"] == f"limit_{name}"


def test_a_deep_body_costs_no_recursion() -> None:
    errors = limit_errors(nested(100_000), Limits())
    assert errors[0]["type"] == "limit_max_depth"


@given(st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=4), max_leaves=30))
def test_limits_are_exact(body: object) -> None:
    def measure(value: object, depth: int = 1) -> tuple[int, int, int]:
        if not isinstance(value, list):
            return 0, 0, 0
        inner = [measure(v, depth + 1) for v in value]
        deepest = max([depth, *(d for _, d, _ in inner if d)])
        return (
            max([len(value), *(i for i, _, _ in inner)]),
            deepest,
            len(value) + sum(t for _, _, t in inner),
        )

    items, depth, total = measure(body)
    if not isinstance(body, list):
        return
    exact = {"max_items": max(items, 1), "max_depth": depth, "max_total": max(total, 1)}
    assert limit_errors(body, Limits(**exact)) == []
    for name, value in exact.items():
        if value > 1:
            tighter = Limits(**{**exact, name: value - 1})
            assert limit_errors(body, tighter)[0]["type"] == f"limit_{name}"


def test_the_models_carry_the_collection_limit() -> None:
    limits = Limits(max_items=2)
    schema = invoice_in.input_model("create", limits=limits).model_json_schema()
    assert schema["properties"]["lines"]["maxItems"] == 2
    assert invoice_in.input_model("create", limits=limits) is not invoice_in.input_model("create")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_items must be a positive integer"):
        Limits(max_items=0)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=2) | st.decimals(places=1),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=2), inner, max_size=4)
    ),
    max_leaves=25,
)


@given(JSON, st.integers(1, 5), st.integers(1, 6), st.integers(1, 30))
def test_the_quick_walk_agrees_with_the_exact_one(
    body: object, items: int, depth: int, total: int
) -> None:
    """`_within` (objects of scalars counted without a push) says a body is within the limits
    exactly when an independent measure of it does: objects, lists and tuples mixed."""

    def measure(value: object, level: int = 1) -> tuple[int, int, int]:
        if isinstance(value, dict):
            inner = [measure(v, level + 1) for v in value.values()]
            size, count = 0, 1
        elif isinstance(value, list | tuple):
            inner = [measure(v, level + 1) for v in value]
            size, count = len(value), len(value)
        else:
            return 0, 0, 0
        return (
            max([size, *(i for i, _, _ in inner)]),
            max([level, *(d for _, d, _ in inner)]),
            count + sum(t for _, _, t in inner),
        )

    most, deepest, all_items = measure(body)
    limits = Limits(max_items=items, max_depth=depth, max_total=total)
    expected = most <= items and deepest <= depth and all_items <= total
    assert _within(body, limits) == expected
    assert (limit_errors(body, limits) == []) == expected
