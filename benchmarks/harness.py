"""Time benchmark cases side by side, in one process, interleaved.

Why interleaved: on a shared or thermally throttled machine, running all repetitions of A and
then all of B lets drift in the machine's speed show up as a difference between A and B. Running
A, B, C, ... round-robin ``repeat`` times spreads any drift evenly, and the median of each case
discards the outliers.

Each case is checked before it is timed: its output must equal the reference case's output (the
first case of the workload), so a fast but wrong case cannot win. Statement counts come from an
engine event on one extra run, and peak memory from ``tracemalloc`` on yet another run, apart
from the timed runs because tracing slows allocation-heavy code several times over.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, event

from benchmarks.workloads import Workload

SERIALIZE = "serialize"
"""Group of cases that turn already loaded ORM objects into a JSON-ready document."""

REQUEST = "request"
"""Group of cases that do a whole request: query, build the document, encode it as JSON bytes."""

BASELINES: dict[str, str] = {
    SERIALIZE: "marshmallow (hand)",
    REQUEST: "marshmallow + selectinload (hand)",
}
"""The case each group's ratios are computed against."""


@dataclass(frozen=True)
class BenchContext:
    """What a case's setup gets: the database and the row the workload runs on."""

    engine: Engine
    workload: Workload


@dataclass(frozen=True)
class Case:
    """A named, timed callable for one workload.

    ``setup(ctx)`` runs once, untimed, and returns the state that ``run(state)`` gets on every
    timed call (loaded ORM objects for a serialize case, ``ctx`` itself for a request case).
    ``run`` returns the document: a dict, a list of one dict, or JSON bytes of either; see
    :func:`as_document`.
    """

    workload: str
    name: str
    group: str
    run: Callable[[Any], object]
    setup: Callable[[BenchContext], Any] | None = None


@dataclass
class CaseResult:
    """Measurements of one case."""

    name: str
    group: str
    times: list[float] = field(default_factory=list)
    statements: int = 0
    peak_bytes: int = 0
    matches_reference: bool = True

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def as_document(output: object) -> object:
    """Normalize a case's output for comparison.

    JSON bytes or str are decoded; a list holding one document (what ``fetch`` returns) is
    unwrapped, so that single-object and list-returning cases compare equal.
    """
    if isinstance(output, bytes | bytearray | str):
        output = orjson.loads(output)
    if isinstance(output, list) and len(output) == 1 and isinstance(output[0], dict):
        output = output[0]
    return output


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[int]]:
    """Count the statements sent to ``engine`` inside the block: ``counter[0]``."""
    counter = [0]

    def before(*_args: Any) -> None:
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


def measure_peak(fn: Callable[[], object]) -> int:
    """Peak bytes allocated while ``fn`` runs, above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(peak - before, 0)


def run_cases(
    ctx: BenchContext,
    cases: Sequence[Case],
    *,
    repeat: int = 20,
    memory: bool = True,
    check: bool = True,
    collect_garbage: bool = False,
) -> list[CaseResult]:
    """Set up, check, and time ``cases`` round-robin ``repeat`` times; then measure memory.

    The cyclic garbage collector is paused during each timed call (after a full collection
    before it), as ``timeit`` does, unless ``collect_garbage``: the cost of the collections a
    call triggers depends on every object alive in the process, here the other cases' loaded
    trees, and measured up to 3x a call's own time on 16x the Cairns route. Pausing it favours
    the approaches that allocate the most ORM objects, so it is the conservative choice for a
    benchmark that compares them with approaches that build none.
    """
    states = [case.setup(ctx) if case.setup else ctx for case in cases]
    results = [CaseResult(case.name, case.group) for case in cases]

    # Warm-up, output check and statement count, one case at a time.
    reference: object = None
    for i, (case, state) in enumerate(zip(cases, states, strict=True)):
        document = as_document(case.run(state))
        if i == 0:
            reference = document
        elif check:
            results[i].matches_reference = document == reference
        with count_statements(ctx.engine) as counter:
            case.run(state)
        results[i].statements = counter[0]

    for _ in range(repeat):
        for case, state, result in zip(cases, states, results, strict=True):
            gc.collect()
            if not collect_garbage:
                gc.disable()
            try:
                start = time.perf_counter()
                case.run(state)
                result.times.append(time.perf_counter() - start)
            finally:
                gc.enable()

    if memory:
        for case, state, result in zip(cases, states, results, strict=True):
            result.peak_bytes = measure_peak(lambda c=case, s=state: c.run(s))
    return results


def ratio(result: CaseResult, results: Sequence[CaseResult]) -> float | None:
    """``result``'s median over its group baseline's median (below 1: faster than baseline)."""
    baseline = BASELINES.get(result.group)
    for other in results:
        if other.name == baseline:
            return result.median / other.median
    return None
