"""Body limits: checked on the raw body before any statement, and before validation unless
every body the input model accepts is within them (the same verdicts either way)."""

from __future__ import annotations

import pytest
from examples.transit.writes import trip_in
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import Db
from tests.statements import StatementCounter
from treeshape.write import Limits
from treeshape.write.input_model import nul_pattern_dict, twin_extent
from treeshape.write.limits import _within, limit_errors
from treeshape.write.load import _models, _validate

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


def _call(i: int) -> dict[str, object]:
    """A call giving every key its input model has."""
    return {
        "stop_sequence": i,
        "stop": "S1",
        "arrival_time": "08:00:00",
        "departure_time": "08:00:30",
        "stop_headsign": "Town",
        "pickup_type": 0,
        "drop_off_type": 0,
        "shape_dist_traveled": 1.5,
        "timepoint": 1,
    }


def _trip(calls: object) -> dict[str, object]:
    return {
        "trip_id": "T",
        "route_id": "R",
        "service_id": "WEEK",
        "trip_headsign": "Town",
        "trip_short_name": "1",
        "direction_id": 0,
        "block_id": "B",
        "shape_id": "SH",
        "wheelchair_accessible": 1,
        "bikes_allowed": 1,
        "stop_times": calls,
    }


def test_a_twin_counts_at_most_its_extent() -> None:
    """A twin's extent is the walk's count of the largest body it accepts: with limits that
    hold it, `load` validates before it walks (the walk only for a refused body); with
    tighter ones, or a column of any size (a Decimal), it walks first."""
    node = trip_in.__treeshape_node__
    limits = Limits(max_items=5)
    twin = nul_pattern_dict(node, "create", limits=limits)
    assert twin_extent(twin) == (11, 3)  # the trip, and each of 5 calls: a list item, an object
    largest = _trip([_call(i) for i in range(5)])
    TypeAdapter(twin).validate_python(largest)
    exact = Limits(max_items=5, max_total=11, max_depth=3)
    assert limit_errors(largest, exact) == []
    assert limit_errors(largest, Limits(max_items=5, max_total=10))[0]["type"] == "limit_max_total"
    assert limit_errors(largest, Limits(max_items=5, max_depth=2))[0]["type"] == "limit_max_depth"
    assert _models(node, "create", exact)[2] is True
    assert _models(node, "create", Limits(max_items=5, max_total=10))[2] is False
    assert _models(node, "create", Limits(max_items=5, max_depth=2))[2] is False
    invoice = nul_pattern_dict(invoice_in.__treeshape_node__, "create")
    assert twin_extent(invoice) is None  # its total is a Decimal: digits as a tuple too
    assert _models(invoice_in.__treeshape_node__, "create", Limits())[2] is False


_VALUES = st.one_of(JSON, st.sampled_from(["S1", "08:00:00", "x\x00", 1, 0.5, None]))
_CALLS = st.lists(
    st.one_of(
        st.dictionaries(st.sampled_from(sorted(_call(1))), _VALUES, max_size=5),
        st.builds(_call, st.integers(0, 3)),
        _VALUES,
    ),
    max_size=5,
)


@given(
    st.builds(_trip, st.one_of(_CALLS, _CALLS.map(tuple), _VALUES)),
    st.sets(st.sampled_from(sorted(_trip(None))), max_size=3),
    st.dictionaries(st.sampled_from(["junk", "stop_times"]), _VALUES, max_size=1),
)
def test_a_bounded_twin_gives_the_walk_first_verdicts(
    whole: dict[str, object], left_out: set[str], changed: dict[str, object]
) -> None:
    """Validating before the walk (a bounded twin) gives every body the verdict walking
    first gives: the same values, or the same errors, limit errors first."""
    body = {k: v for k, v in whole.items() if k not in left_out} | changed
    limits = Limits(max_items=3, max_depth=3, max_total=7)
    model, twin, bounded = _models(trip_in.__treeshape_node__, "create", limits)
    assert bounded

    def verdict(walk_first: bool) -> object:
        try:
            return _validate(model, twin, body, limits, bounded=not walk_first)
        except ts.InputError as exc:
            return exc.errors

    assert verdict(walk_first=False) == verdict(walk_first=True)
