"""Markdown tables and PNG charts of benchmark results, for the terminal and the docs.

Charts use matplotlib's Agg backend, so they render on a server without a display. matplotlib is
imported only when a chart is drawn: the tables need nothing beyond the standard library.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

from benchmarks.harness import BASELINES, CaseResult, ratio
from benchmarks.workloads import Workload


def environment() -> str:
    """One line naming what the numbers were measured on, to print above every table."""
    versions = []
    for dist in ("SQLAlchemy", "marshmallow", "marshmallow-sqlalchemy", "pydantic", "orjson"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return (
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{', '.join(versions)}; {platform.machine()}, {os.cpu_count()} CPUs"
    )


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def results_table(workload: Workload, results: Sequence[CaseResult], *, memory: bool) -> str:
    """A Markdown table of one workload's results, grouped, with ratios against each baseline."""
    lines = [
        f"**{workload.name}**: {workload.description}",
        "",
        "| case | group | median ms | vs baseline | statements"
        + (" | peak memory" if memory else "")
        + " |",
        "| --- | --- | ---: | ---: | ---: |" + (" ---: |" if memory else ""),
    ]
    for r in results:
        x = ratio(r, results)
        cells = [
            r.name if r.matches_reference else f"{r.name} (**output differs**)",
            r.group,
            _ms(r.median),
            f"{x:.2f}x" if x is not None else "",
            str(r.statements),
        ]
        if memory:
            cells.append(_mb(r.peak_bytes))
        lines.append("| " + " | ".join(cells) + " |")
    groups = sorted({r.group for r in results})
    baselines = ", ".join(f"{g}: {BASELINES[g]}" for g in groups if g in BASELINES)
    lines += ["", f"Ratios are medians over the group's baseline ({baselines}); below 1 is faster."]
    return "\n".join(lines)


def scaling_table(
    results: Mapping[int, Sequence[CaseResult]], description: str, repeat: int
) -> str:
    """A Markdown table: one row per case, one column per scale, median ms in each cell."""
    scales = sorted(results)
    names = [r.name for r in results[scales[0]]]
    by = {(s, r.name): r for s in scales for r in results[s]}
    head = " | ".join(f"{s}x" for s in scales)
    lines = [
        f"Scaling: {description}; the busiest route's trips copied with new ids, median ms of "
        f"{repeat} interleaved runs per scale.",
        "",
        f"| case | {head} | {scales[-1]}x / {scales[0]}x | statements at {scales[-1]}x |",
        "| --- |" + " ---: |" * (len(scales) + 2),
    ]
    for name in names:
        cells = [_ms(by[s, name].median) for s in scales]
        growth = by[scales[-1], name].median / by[scales[0], name].median
        last = by[scales[-1], name]
        label = (
            name if all(by[s, name].matches_reference for s in scales) else f"{name} (**differs**)"
        )
        lines.append(f"| {label} | {' | '.join(cells)} | {growth:.1f} | {last.statements} |")
    return "\n".join(lines)


def results_chart(
    runs: Sequence[tuple[Workload, Sequence[CaseResult]]], title: str, path: Path
) -> None:
    """Horizontal bars of median ms, one panel per workload, colored by group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"serialize": "#4C72B0", "request": "#DD8452"}
    heights = [max(len(results), 1) * 0.32 + 0.9 for _, results in runs]
    fig, axes = plt.subplots(
        len(runs), 1, figsize=(9, sum(heights)), gridspec_kw={"height_ratios": heights}
    )
    axes = [axes] if len(runs) == 1 else list(axes)
    for ax, (workload, results) in zip(axes, runs, strict=True):
        names = [r.name for r in results][::-1]
        values = [r.median * 1000 for r in results][::-1]
        bars = ax.barh(names, values, color=[colors.get(r.group, "#999") for r in results][::-1])
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], padding=3, fontsize=8)
        ax.set_title(f"{workload.name}: {workload.description}", fontsize=9, loc="left")
        ax.set_xlabel("median ms (lower is better)", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.12)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
    axes[0].legend(handles, list(colors), fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def scaling_chart(results: Mapping[int, Sequence[CaseResult]], title: str, path: Path) -> None:
    """Median ms against scale, log-log, one line per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = sorted(results)
    names = [r.name for r in results[scales[0]]]
    by = {(s, r.name): r.median * 1000 for s in scales for r in results[s]}
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for name in names:
        style = (
            "--"
            if any(r.name == name and r.group == "serialize" for r in results[scales[0]])
            else "-"
        )
        ax.plot(scales, [by[s, name] for s in scales], style, marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(scales, [f"{s}x" for s in scales])
    ax.set_xlabel("trips per route (x the real feed)")
    ax.set_ylabel("median ms (log)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
