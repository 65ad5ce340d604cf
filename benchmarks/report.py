"""Markdown tables and PNG charts of benchmark results, for the terminal and the docs.

Charts use matplotlib's Agg backend, so they render on a server without a display. matplotlib is
imported only when a chart is drawn: the tables need nothing beyond the standard library.
"""

from __future__ import annotations

import os
import platform
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from benchmarks.harness import BASELINES, REQUEST, SERIALIZE, CaseResult, ratio
from benchmarks.workloads import Workload

__all__ = [
    "ParsedWorkload",
    "environment",
    "parse_results",
    "parse_scaling",
    "redraw",
    "results_chart",
    "results_table",
    "scaling_chart",
    "scaling_table",
]


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


class Panel(Protocol):
    """What a chart needs of a workload: its name and description (a `Workload` has both)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...


@dataclass(frozen=True)
class ParsedWorkload:
    """A workload read back from a results table (its model and key are not in the table)."""

    name: str
    description: str


# One colour per series within a panel (tab10 has ten; a panel never has more).
_PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip
_GROUP_COLORS = {SERIALIZE: "#4C72B0", REQUEST: "#DD8452"}
_GROUP_TITLES = {
    SERIALIZE: "serialize: objects already loaded, to JSON-ready output",
    REQUEST: "request: database to JSON, statements included",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def results_chart(
    runs: Sequence[tuple[Panel, Sequence[CaseResult]]], title: str, path: Path
) -> None:
    """Horizontal bars of median ms, one panel per workload, coloured by group.

    Constrained layout keeps the figure's title clear of the first panel's title."""
    plt = _pyplot()
    heights = [max(len(results), 1) * 0.32 + 1.0 for _, results in runs]
    fig, axes = plt.subplots(
        len(runs),
        1,
        figsize=(9, sum(heights) + 0.4),
        gridspec_kw={"height_ratios": heights},
        layout="constrained",
        squeeze=False,
    )
    for ax, (workload, results) in zip(axes[:, 0], runs, strict=True):
        names = [r.name for r in results][::-1]
        values = [r.median * 1000 for r in results][::-1]
        colors = [_GROUP_COLORS.get(r.group, "#999") for r in results][::-1]
        bars = ax.barh(names, values, color=colors)
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], padding=3, fontsize=8)
        ax.set_title(f"{workload.name}: {workload.description}", fontsize=9, loc="left")
        ax.set_xlabel("median ms (lower is better)", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.12)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in _GROUP_COLORS.values()]
    fig.legend(
        handles, list(_GROUP_COLORS), fontsize=8, loc="outside upper right", ncols=2, frameon=False
    )
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def scaling_chart(results: Mapping[int, Sequence[CaseResult]], title: str, path: Path) -> None:
    """Median ms against scale, log-log: one panel per group, each case its own colour
    (treeshape solid, hand-written dashed), the legend beside the panel, not over the lines."""
    plt = _pyplot()
    scales = sorted(results)
    first = results[scales[0]]
    by = {(s, r.name): r.median * 1000 for s in scales for r in results[s]}
    groups = [g for g in (SERIALIZE, REQUEST) if any(r.group == g for r in first)]
    groups += sorted({r.group for r in first} - set(groups))
    fig, axes = plt.subplots(
        len(groups), 1, figsize=(10, 4.2 * len(groups)), layout="constrained", squeeze=False
    )
    for ax, group in zip(axes[:, 0], groups, strict=True):
        names = [r.name for r in first if r.group == group]
        if len(names) > len(_PALETTE):
            raise ValueError(
                f"{len(names)} {group} cases: a panel shows at most {len(_PALETTE)} "
                "distinguishable series"
            )
        for color, name in zip(_PALETTE, names, strict=False):
            style = "--" if name.endswith("(hand)") else "-"
            ax.plot(
                scales, [by[s, name] for s in scales], style, marker="o", color=color, label=name
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(scales, [f"{s}x" for s in scales])
        ax.set_xlabel("trips per route (x the real feed)", fontsize=8)
        ax.set_ylabel("median ms (log)", fontsize=8)
        ax.set_title(_GROUP_TITLES.get(group, group), fontsize=9, loc="left")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- charts from the committed tables ------------------------------------------------------------

_ROW = re.compile(r"^\| (?P<cells>.+) \|$")


def _cells(line: str) -> list[str] | None:
    match = _ROW.match(line.strip())
    if match is None:
        return None
    return [c.strip() for c in match["cells"].split(" | ")]


def _case_name(cell: str) -> tuple[str, bool]:
    for mark in (" (**output differs**)", " (**differs**)"):
        if cell.endswith(mark):
            return cell[: -len(mark)], False
    return cell, True


def parse_results(text: str) -> list[tuple[ParsedWorkload, list[CaseResult]]]:
    """The workloads and results of a ``{feed}.md`` written by `results_table`."""
    runs: list[tuple[ParsedWorkload, list[CaseResult]]] = []
    for line in text.splitlines():
        heading = re.match(r"^\*\*(?P<name>[^*]+)\*\*: (?P<description>.+)$", line)
        if heading:
            runs.append((ParsedWorkload(heading["name"], heading["description"]), []))
            continue
        cells = _cells(line)
        if cells is None or not runs or cells[0] in ("case", "---") or len(cells) < 5:
            continue
        name, matches = _case_name(cells[0])
        runs[-1][1].append(
            CaseResult(
                name=name,
                group=cells[1],
                times=[float(cells[2]) / 1000],
                statements=int(cells[4]),
                matches_reference=matches,
            )
        )
    if not runs or not all(results for _, results in runs):
        raise ValueError("no results table in the text (expected **workload**: ... then rows)")
    return runs


def parse_scaling(text: str) -> dict[int, list[CaseResult]]:
    """The results per scale of a ``scaling-{feed}.md`` written by `scaling_table`.

    The table has no group column: a case that ran no statement serialized objects loaded
    beforehand (``serialize``), the others are requests."""
    scales: list[int] = []
    results: dict[int, list[CaseResult]] = {}
    for line in text.splitlines():
        cells = _cells(line)
        if cells is None:
            continue
        if cells[0] == "case":
            scales = [int(c[:-1]) for c in cells[1:] if re.fullmatch(r"\d+x", c)]
            results = {s: [] for s in scales}
            continue
        if not scales or cells[0].startswith("---"):
            continue
        name, matches = _case_name(cells[0])
        statements = int(cells[-1])
        group = SERIALIZE if statements == 0 else REQUEST
        for scale, cell in zip(scales, cells[1 : 1 + len(scales)], strict=True):
            results[scale].append(
                CaseResult(name, group, [float(cell) / 1000], statements, 0, matches)
            )
    if not results or not all(results.values()):
        raise ValueError("no scaling table in the text (expected | case | 1x | ... rows)")
    return results


def redraw(results_dir: Path) -> list[Path]:
    """Draw every chart again from the Markdown tables in ``results_dir``; the charts written.

    The tables are what a run commits, so the charts' look can change without a new run."""
    written: list[Path] = []
    for table in sorted(results_dir.glob("*.md")):
        text = table.read_text()
        chart = table.with_suffix(".png")
        if table.stem.startswith("scaling-"):
            results = parse_scaling(text)
            feed = table.stem.removeprefix("scaling-")
            title = f"{feed}: route endpoint, 1x to {max(results)}x trips"
            scaling_chart(results, title, chart)
        else:
            repeat = re.search(r"median of (\d+) interleaved runs", text)
            title = f"{table.stem} feed" + (f", median of {repeat[1]} runs" if repeat else "")
            results_chart(parse_results(text), title, chart)
        written.append(chart)
    return written
