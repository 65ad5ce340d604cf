"""Instructions per call of each benchmark case, counted by callgrind: a comparison that holds on
a busy machine.

Wall-clock ratios on a shared 2-core machine move by 20% or more from run to run; the number of
instructions a call executes does not (same binary, same inputs). This counts them for the
treeshape cases and the hand-written baselines of the chosen workloads, in this checkout and,
with ``--against REV``, in a temporary worktree of another revision, and prints both side by side.

    python -m benchmarks.instructions                         # trip and stop workloads
    python -m benchmarks.instructions --against 419d929       # and the same cases at 419d929

How: each case runs twice untimed, then three times inside one ``functools.reduce`` call, and
valgrind runs with ``--toggle-collect=functools_reduce --dump-after=functools_reduce``, so each
such call writes one profile of just those three calls. Other ``reduce`` calls (imports use a
few) write small profiles; the case profiles are the ones above a million instructions, one per
case, and the run checks that they line up. Needs valgrind (Debian's package); a run takes a few
minutes per revision, which is why the route workload (50x the work) is left out by default.
"""

from __future__ import annotations

import argparse
import functools
import gc
import glob
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["CASE_FLOOR", "ROOT", "main", "reduce_profiles"]

ROOT = Path(__file__).resolve().parent.parent
CALLS = 3
CASE_FLOOR = 1_000_000
BASELINES = (
    "marshmallow (hand)",
    "dict (hand)",
    "marshmallow + selectinload (hand)",
    "sqlite json (hand)",
    "core selects (hand)",
)


def _measure(workloads: list[str], order_file: str, cases: list[str] | None = None) -> None:
    """Inside valgrind: set up and run every selected case, the measured calls in ``reduce``."""
    from benchmarks import feeds
    from benchmarks.__main__ import load_cases
    from benchmarks.harness import BenchContext
    from benchmarks.workloads import pick_workloads

    engine = feeds.feed_engine("cairns")
    picked = pick_workloads(engine)
    names = []
    for case in load_cases():
        if case.workload not in workloads:
            continue
        if not (case.name.startswith("treeshape") or case.name in BASELINES):
            continue
        if cases is not None and case.name not in cases:
            continue
        ctx = BenchContext(engine, picked[case.workload])
        state = case.setup(ctx) if case.setup else ctx
        case.run(state)
        case.run(state)
        # As the timed benchmarks do: no collection inside the measured calls.
        gc.collect()
        gc.disable()
        functools.reduce(lambda acc, _: (case.run(state), acc)[1], range(CALLS), None)
        gc.enable()
        names.append(f"{case.workload}\t{case.name}")
    Path(order_file).write_text("\n".join(names))


def _count(
    tree: Path, workloads: list[str], out: Path, cases: str | None = None
) -> dict[str, float]:
    """Instructions per call of each case, measured in checkout ``tree``."""
    order = out / "order.txt"
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}
    # The feed's database is built (and cached) outside valgrind: under it, that takes minutes.
    build = "from benchmarks import feeds; feeds.feed_engine('cairns')"
    subprocess.run([sys.executable, "-c", build], cwd=tree, env=env, check=True)
    # This file, run as a script: ``tree`` may be a revision that does not have it.
    script = [str(Path(__file__).resolve()), "--inner", str(order), "--workloads"]
    picked = ["--cases", cases] if cases else []
    totals = reduce_profiles([*script, ",".join(workloads), *picked], cwd=tree, env=env, out=out)
    names = order.read_text().split("\n")
    if len(totals) != len(names):
        raise SystemExit(
            f"{tree}: {len(totals)} profiles for {len(names)} cases: they do not line up"
        )
    return {name: total / CALLS for name, total in zip(names, totals, strict=True)}


def reduce_profiles(
    arguments: list[str], *, cwd: Path, env: dict[str, str], out: Path
) -> list[int]:
    """Run ``python <arguments>`` under callgrind, collecting only inside ``functools.reduce``
    with a profile dumped after each call; the instructions of each profile above
    `CASE_FLOOR`, in order (three calls of a case take millions, other reduce calls
    thousands)."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        "--toggle-collect=functools_reduce",
        "--dump-after=functools_reduce",
        f"--callgrind-out-file={out / 'callgrind.%p'}",
        sys.executable,
        *arguments,
    ]
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    dumps = sorted(glob.glob(str(out / "callgrind.*.*")), key=lambda f: int(f.rsplit(".", 1)[1]))
    return [n for n in (_profile_total(Path(f)) for f in dumps) if n >= CASE_FLOOR]


def cases_per_workload(
    module: str, arguments: list[str], calls: int
) -> dict[str, dict[str, float]]:
    """Instructions per call of each case of ``python -m <module> <arguments> --inner FILE``:
    workload -> case -> count. The inner run measures each case ``calls`` times inside one
    ``functools.reduce`` and writes the cases' ``workload<TAB>case`` names, in order, to FILE."""
    with tempfile.TemporaryDirectory(prefix="treeshape-instructions-") as tmp:
        out = Path(tmp)
        order = out / "order.txt"
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
        command = ["-m", module, *arguments, "--inner", str(order)]
        totals = reduce_profiles(command, cwd=ROOT, env=env, out=out)
        names = order.read_text().split("\n")
    if len(totals) != len(names):
        raise SystemExit(f"{len(totals)} profiles for {len(names)} cases: they do not line up")
    counts: dict[str, dict[str, float]] = {}
    for name, total in zip(names, totals, strict=True):
        workload, case = name.split("\t")
        counts.setdefault(workload, {})[case] = total / calls
    return counts


def measure_cases(
    workloads: Iterable[tuple[str, Iterable[tuple[str, Callable[[], object]]]]],
    calls: int,
    order_file: str,
) -> None:
    """The inner side of `cases_per_workload`, run under callgrind: each case of each workload
    twice uncounted, then ``calls`` times inside one ``functools.reduce`` (the garbage collector
    paused), the ``workload<TAB>case`` names written in order to ``order_file``."""
    names = []
    for workload, cases in workloads:
        for name, run in cases:
            run()
            run()
            gc.collect()
            gc.disable()
            functools.reduce(lambda acc, _, run=run: (run(), acc)[1], range(calls), None)
            gc.enable()
            names.append(f"{workload}\t{name}")
    Path(order_file).write_text("\n".join(names))


def _profile_total(path: Path) -> int:
    with path.open() as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("--workloads", default="trip,stop", help="comma-separated")
    parser.add_argument("--against", help="a git revision to count as well, side by side")
    parser.add_argument(
        "--cases",
        help="comma-separated case names (all of them otherwise), e.g. "
        '"treeshape fetch_json core,core selects (hand)"',
    )
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workloads = args.workloads.split(",")
    if args.inner:
        _measure(workloads, args.inner, args.cases.split(",") if args.cases else None)
        return
    with tempfile.TemporaryDirectory(prefix="treeshape-instructions-") as tmp:
        base = Path(tmp)
        (base / "here").mkdir()
        here = _count(ROOT, workloads, base / "here", args.cases)
        there: dict[str, float] = {}
        if args.against:
            tree = base / "against"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(tree), args.against],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            try:
                # That revision's own cases (their imports follow its layout) over its library.
                (base / "there").mkdir()
                there = _count(tree, workloads, base / "there", args.cases)
            finally:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
                )
    _print(here, there, args.against)


def _print(here: dict[str, float], there: dict[str, float], against: str | None) -> None:
    if there:
        print(f"| workload | case | {against} | this checkout | ratio |")
        print("| --- | --- | ---: | ---: | ---: |")
    else:
        print("| workload | case | instructions per call |")
        print("| --- | --- | ---: |")
    for name, count in here.items():
        workload, case = name.split("\t")
        if there and name in there:
            ratio = count / there[name]
            print(
                f"| {workload} | {case} | {there[name] / 1e6:.2f} M | {count / 1e6:.2f} M "
                f"| {ratio:.2f} |"
            )
        else:
            print(f"| {workload} | {case} | {count / 1e6:.2f} M |")


if __name__ == "__main__":
    main()
