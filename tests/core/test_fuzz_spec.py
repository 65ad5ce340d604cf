"""Fuzzing the spec language: whatever ``shape()`` and ``narrow()`` are given, they return a
shape or raise `SpecError` with a message; never another exception, never a hang, never a
``RecursionError``.

Specs are arbitrary text, nested mappings and lists of any depth (with relationship names,
field names and junk as keys), wrong types, containers that contain themselves, and 10,000-deep
nesting built without recursion. Each call runs under a time bound (`bounded`).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treeshape as ts
from tests.models import Call, Gadget, Journey, Line, Operator, Place

MODELS = [Operator, Line, Journey, Call, Place, Gadget]
RELATIONS = ["operator", "lines", "journeys", "calls", "journey", "place", "parent", "children"]
FIELDS = ["line_id", "name", "sequence", "place_id", "secret", "journey_id", "kind"]
SECONDS = 5.0  # per call; the real cost is milliseconds
DEEP = 10_000
LINE = ts.shape(Line, "journeys.calls.place.parent", "operator")


@contextmanager
def bounded(seconds: float = SECONDS) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM in the main thread (pytest runs tests there)."""
    if threading.current_thread() is not threading.main_thread() or sys.platform == "win32":
        yield
        return

    def expire(*_: Any) -> None:
        raise TimeoutError(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def only_spec_errors(call: Callable[[], Any]) -> ts.Shape | None:
    """``call()``'s shape, or ``None`` after checking it raised a `SpecError` with a message."""
    with bounded():
        try:
            result = call()
        except ts.SpecError as exc:
            assert str(exc).strip(), repr(exc)
            assert len(str(exc)) < 20_000  # a message, not a dump of the input
            return None
    assert isinstance(result, ts.Shape)
    return result


# -- strategies ---------------------------------------------------------------------------------

names = st.sampled_from(RELATIONS + FIELDS)
path_text = st.lists(names | st.text(max_size=6), min_size=1, max_size=5).map(".".join)
text = st.text(max_size=40) | path_text | st.lists(path_text, max_size=4).map(", ".join)
wrong = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.just(False),
    st.just(object()),
    st.frozensets(st.integers(), max_size=3),
    st.just(LINE),  # a shape, often of the wrong model
    st.just(Line),  # a class where a spec belongs
)
leaf = st.one_of(st.none(), st.just(True), st.just({}), text, wrong)
key = names | path_text | st.text(max_size=8) | st.integers() | st.none() | st.tuples(st.integers())
specs = st.recursive(
    leaf,
    lambda inner: (
        st.dictionaries(key, inner, max_size=4)
        | st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
    ),
    max_leaves=25,
)
field_lists = st.lists(names | st.text(max_size=6) | wrong, max_size=5)
fields = st.one_of(
    st.none(),
    field_lists,
    st.dictionaries(st.sampled_from([*MODELS, "Line", "Call", "Nope"]) | wrong, field_lists),
    text,
    wrong,
)


# -- properties ---------------------------------------------------------------------------------

fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(model=st.sampled_from(MODELS), spec=st.lists(specs, max_size=3), fields=fields)
def test_shape_raises_only_spec_errors(model: type, spec: list[Any], fields: Any) -> None:
    only_spec_errors(lambda: ts.shape(model, *spec, fields=fields))


@fuzz
@given(paths=st.lists(text | wrong, max_size=4), fields=fields)
def test_narrow_raises_only_spec_errors(paths: list[Any], fields: Any) -> None:
    narrowed = only_spec_errors(lambda: LINE.narrow(*paths, fields=fields))
    if narrowed is not None:  # a narrowing never widens
        assert set(narrowed.paths) <= set(LINE.paths)


@given(model=st.sampled_from(MODELS) | wrong, name=st.text(max_size=10) | wrong)
@fuzz
def test_wrong_models_and_names(model: Any, name: Any) -> None:
    only_spec_errors(lambda: ts.shape(model, name=name))


# -- pathological containers ----------------------------------------------------------------------


def deep_mapping(depth: int, key: str = "journeys") -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for _ in range(depth):
        spec = {key: spec}
    return spec


def deep_list(depth: int, leaf: Any = "journeys") -> Any:
    spec: Any = leaf
    for _ in range(depth):
        spec = [spec]
    return spec


def deep_tuple(depth: int) -> Any:
    spec: Any = ()
    for _ in range(depth):
        spec = (spec,)
    return spec


def deep_include(depth: int) -> Any:
    spec: Any = "calls"
    for _ in range(depth):
        spec = ts.include(spec)
    return spec


def self_list() -> list[Any]:
    spec: list[Any] = ["journeys"]
    spec.append(spec)
    return spec


def self_dict() -> dict[str, Any]:
    spec: dict[str, Any] = {}
    spec["journeys"] = {"line": spec}
    return spec


def self_value_list() -> dict[str, Any]:
    inner: list[Any] = []
    spec = {"journeys": inner}
    inner.append(spec)
    return spec


PATHOLOGICAL: dict[str, Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "10,000-deep mapping": lambda: ((deep_mapping(DEEP),), {}),
    "10,000-deep mapping of back-and-forth": lambda: ((deep_mapping(DEEP, "journeys.line"),), {}),
    "10,000-deep list": lambda: ((deep_list(DEEP),), {}),
    "10,000-deep list in a mapping": lambda: (({"journeys": deep_list(DEEP)},), {}),
    "10,000-deep list of a wrong type": lambda: ((deep_list(DEEP, 42),), {}),
    "10,000-deep tuple as a key": lambda: (({deep_tuple(DEEP): {}},), {}),
    "10,000 segments": lambda: (("journeys." * DEEP + "calls",), {}),
    "100,000 paths": lambda: ((",".join(["journeys"] * 100_000),), {}),
    "list containing itself": lambda: ((self_list(),), {}),
    "mapping containing itself": lambda: ((self_dict(),), {}),
    "list value containing its mapping": lambda: ((self_value_list(),), {}),
    "10,000-deep include()": lambda: (({"journeys": deep_include(DEEP)},), {}),
    "10,000-deep fields list": lambda: ((), {"fields": deep_list(DEEP)}),
    "fields list containing itself": lambda: ((), {"fields": self_list()}),
    "fields mapping to itself": lambda: ((), {"fields": {Line: self_list()}}),
    "10,000-deep tuple as a fields key": lambda: ((), {"fields": {deep_tuple(DEEP): ["name"]}}),
}


@pytest.mark.parametrize("case", PATHOLOGICAL)
def test_pathological_specs(case: str) -> None:
    args, kwargs = PATHOLOGICAL[case]()
    only_spec_errors(lambda: ts.shape(Line, *args, **kwargs))


@pytest.mark.parametrize("case", ["10,000-deep list", "list containing itself"])
def test_pathological_models_and_narrowings(case: str) -> None:
    (spec,), _ = PATHOLOGICAL[case]()
    only_spec_errors(lambda: ts.shape(spec))
    only_spec_errors(lambda: LINE.narrow(fields=spec))
    only_spec_errors(lambda: LINE.narrow(fields={"Line": spec}))
    only_spec_errors(lambda: LINE.narrow(spec))
    only_spec_errors(lambda: LINE.narrow("journeys." * DEEP + "calls"))
