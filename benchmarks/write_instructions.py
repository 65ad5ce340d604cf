"""Instructions per call of the writing benchmark's treeshape and hand-written cases.

    python -m benchmarks.write_instructions [--seeds N]

`benchmarks.write_bench` in instructions (callgrind) instead of time, for a busy machine: a
create of a 40-call trip and a replace of a 40-call timetable, ``load`` (or the hand-written
code) plus ``commit``, each on a fresh state. As in `benchmarks.instructions`, each measured call
runs inside one ``functools.reduce`` that callgrind collects and dumps after; warm-up calls run
outside it.

The counts move by a few percent with the process's memory layout and hash seed (dictionaries
keyed by objects and strings probe differently), the hand-written code's as much as
treeshape's: ``--seeds N`` runs under ``PYTHONHASHSEED=1..N`` and shows the medians (the
ratio's median over the runs).

    python -m benchmarks.write_instructions --seeds 5
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.instructions import ROOT, reduce_profiles

__all__ = ["main"]

WARM_UP = 2


def _measure(order_file: str) -> None:
    """Inside valgrind: each case twice untimed, then once inside ``reduce``."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import StaticPool

    from benchmarks.write_bench import CASES, check, fill, reset, timetable, trip_body

    engine = create_engine("sqlite://", poolclass=StaticPool)
    fill(engine)
    calls = 40
    new_calls = timetable(calls, shift=1, start=6)
    names = []
    for name, create, replace, model in CASES[:2]:  # treeshape, hand-written SQLAlchemy
        for workload in ("create", "replace"):
            for run in range(WARM_UP + 1):
                reset(engine, calls)
                with Session(engine) as session:
                    creating = workload == "create"
                    body = trip_body(
                        "N" if creating else "T", timetable(calls) if creating else new_calls
                    )
                    trip = None if creating else session.get(model, "T")
                    if trip is not None:
                        trip.stop_times  # noqa: B018 - loaded for every case alike, unmeasured

                    call = functools.partial(
                        _once, session, trip, body, create if creating else None, replace
                    )
                    gc.collect()
                    gc.disable()
                    if run == WARM_UP:
                        functools.reduce(call, range(1), None)
                    else:
                        call(None, 0)
                    gc.enable()
                check(engine, body["trip_id"], body["stop_times"])
            names.append(f"{workload}\t{name}")
    Path(order_file).write_text("\n".join(names))


def _once(
    session: Any, trip: Any, body: Any, create: Any, replace: Any, _acc: Any, _item: Any
) -> None:
    """One create (``create`` given) or replace of ``trip``, then the commit."""
    if create is not None:
        create(session, body)
    else:
        replace(session, trip, body)
    session.commit()


def _counts(seed: str | None) -> dict[str, int]:
    """Instructions of each case in one valgrind run (``PYTHONHASHSEED=seed`` if given)."""
    with tempfile.TemporaryDirectory(prefix="treeshape-write-instructions-") as tmp:
        out = Path(tmp)
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
        if seed is not None:
            env["PYTHONHASHSEED"] = seed
        arguments = ["-m", "benchmarks.write_instructions", "--inner", str(out / "order.txt")]
        totals = reduce_profiles(arguments, cwd=ROOT, env=env, out=out)
        names = (out / "order.txt").read_text().split("\n")
        if len(totals) != len(names):
            raise SystemExit(f"{len(totals)} profiles for {len(names)} cases: they do not line up")
    return dict(zip(names, totals, strict=True))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--inner":
        _measure(sys.argv[2])
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.write_instructions")
    parser.add_argument(
        "--seeds",
        type=int,
        default=0,
        help="run under PYTHONHASHSEED=1..N and show the median (default: one run, any seed)",
    )
    args = parser.parse_args()
    seeds = [str(n) for n in range(1, args.seeds + 1)] or [None]
    runs = [_counts(seed) for seed in seeds]
    print("| workload | treeshape | hand-written SQLAlchemy | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for workload in ("create", "replace"):
        ours = statistics.median(run[f"{workload}\ttreeshape load"] for run in runs)
        hand = statistics.median(run[f"{workload}\thand-written SQLAlchemy"] for run in runs)
        ratio = statistics.median(
            run[f"{workload}\ttreeshape load"] / run[f"{workload}\thand-written SQLAlchemy"]
            for run in runs
        )
        print(f"| {workload} | {ours / 1e6:.2f} M | {hand / 1e6:.2f} M | {ratio:.3f} |")


if __name__ == "__main__":
    main()
