"""``python -m benchmarks``: every case on every workload of each feed, then the scaling run.

Cases come from the modules in :data:`PROVIDERS`, each exposing ``CASES: list[Case]``; a provider
that does not exist yet (treeshape's own cases, before the library is there) is skipped. Adding
rows to the table is adding a ``Case`` to a provider.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import feeds, report
from benchmarks.harness import BenchContext, Case, run_cases
from benchmarks.scaling import SCALES, run_scaling
from benchmarks.workloads import pick_workloads

PROVIDERS = ("benchmarks.handwritten", "benchmarks.treeshape_cases")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
QUICK_DIR = Path(tempfile.gettempdir()) / "treeshape-benchmarks-quick"
"""Where ``--quick`` writes: its numbers are a smoke test, not the committed results."""


def load_cases(providers: Sequence[str] = PROVIDERS) -> list[Case]:
    """All cases of the providers that exist, in provider order."""
    cases: list[Case] = []
    for name in providers:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the provider exists but something it imports is missing
                raise
            print(f"(skipping {name}: not there yet)", file=sys.stderr)
            continue
        cases.extend(module.CASES)
    return cases


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--feed",
        choices=[*feeds.FEEDS, "all", "none"],
        default="cairns",
        help="'none': scaling only",
    )
    parser.add_argument("--repeat", type=int, help="interleaved runs per case (default 20)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"3 runs, scales 1x-4x: a smoke test, not numbers (written to {QUICK_DIR})",
    )
    parser.add_argument("--workload", action="append", choices=["route", "stop", "trip"])
    parser.add_argument(
        "--scaling-feed", default="cairns", help="feed of the scaling run, or 'none' to skip it"
    )
    parser.add_argument("--scales", help=f"comma-separated factors (default {SCALES})")
    parser.add_argument(
        "--gc", action="store_true", help="keep the garbage collector on during timed calls"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached databases")
    parser.add_argument(
        "--out",
        type=Path,
        help="where tables/charts go (default benchmarks/results/, or the temporary "
        "directory above with --quick)",
    )
    parser.add_argument(
        "--charts",
        action="store_true",
        help="run nothing: draw the charts again from the tables in --out",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = QUICK_DIR if args.quick else RESULTS_DIR
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.charts:
        for chart in report.redraw(args.out):
            print(f"wrote {chart}")
        return
    repeat = args.repeat or (3 if args.quick else 20)
    scales = (
        [int(s) for s in args.scales.split(",")]
        if args.scales
        else ([1, 2, 4] if args.quick else list(SCALES))
    )
    cases = load_cases()
    env = report.environment()
    print(env)

    selected_feeds = {"all": list(feeds.FEEDS), "none": []}.get(args.feed, [args.feed])
    for feed in selected_feeds:
        engine = feeds.feed_engine(feed, rebuild=args.rebuild)
        workloads = pick_workloads(engine)
        runs = []
        print(f"\n## {feed}")
        for name in args.workload or list(workloads):
            started = time.perf_counter()
            selected = [c for c in cases if c.workload == name]
            results = run_cases(
                BenchContext(engine, workloads[name]),
                selected,
                repeat=repeat,
                memory=not args.no_memory,
                collect_garbage=args.gc,
            )
            runs.append((workloads[name], results))
            print()
            print(report.results_table(workloads[name], results, memory=not args.no_memory))
            print(f"\n({time.perf_counter() - started:.0f} s)")
        engine.dispose()
        tables = "\n\n".join(report.results_table(w, r, memory=not args.no_memory) for w, r in runs)
        header = f"# {feed}\n\n{env}; median of {repeat} interleaved runs.\n\n"
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{feed}.md").write_text(header + tables + "\n")
        report.results_chart(
            runs, f"{feed} feed, median of {repeat} runs", args.out / f"{feed}.png"
        )

    if args.scaling_feed != "none":
        base = feeds.feed_database(feeds.feed_path(args.scaling_feed), rebuild=args.rebuild)
        route_cases = [c for c in cases if c.workload == "route"]
        results, workloads = run_scaling(
            base,
            route_cases,
            scales=scales,
            repeat=repeat,
            rebuild=args.rebuild,
            collect_garbage=args.gc,
            on_scale=lambda w: print(f"scaling: {w.description}", file=sys.stderr),
        )
        description = f"{args.scaling_feed} {workloads[scales[0]].description}"
        table = report.scaling_table(results, description, repeat)
        print(f"\n## scaling\n\n{table}")
        largest = workloads[scales[-1]].description
        (args.out / f"scaling-{args.scaling_feed}.md").write_text(
            f"# Scaling, {args.scaling_feed}\n\n{env}.\n\n{table}\n\nAt {scales[-1]}x: {largest}.\n"
        )
        report.scaling_chart(
            results,
            f"{args.scaling_feed}: route endpoint, 1x to {scales[-1]}x trips",
            args.out / f"scaling-{args.scaling_feed}.png",
        )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
