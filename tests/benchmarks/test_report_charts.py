"""The report's tables read back into results, the charts drawn from them, and where a quick
run writes (never over the committed results)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.__main__ import QUICK_DIR, RESULTS_DIR, parse_args
from benchmarks.harness import REQUEST, SERIALIZE, CaseResult
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import report

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz _+()", min_size=1, max_size=20).map(
    lambda s: "c" + s.strip()
)
millis = st.floats(min_value=0.01, max_value=5000, allow_nan=False).map(lambda ms: ms / 1000)


def _results(draw: st.DrawFn, n_scales: int) -> dict[int, list[CaseResult]]:
    cases = draw(st.lists(names, min_size=1, max_size=8, unique=True))
    statements = [draw(st.integers(0, 9)) for _ in cases]
    scales = [2**i for i in range(n_scales)]
    return {
        s: [
            CaseResult(name, SERIALIZE if n == 0 else REQUEST, [draw(millis)], n)
            for name, n in zip(cases, statements, strict=True)
        ]
        for s in scales
    }


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_scales=st.integers(1, 5))
def test_scaling_table_reads_back(data: st.DataObject, n_scales: int) -> None:
    results = data.draw(st.composite(lambda draw: _results(draw, n_scales))())
    parsed = report.parse_scaling(report.scaling_table(results, "d", 3))
    assert sorted(parsed) == sorted(results)
    for scale, rows in results.items():
        got = parsed[scale]
        assert [(r.name, r.group, r.statements) for r in got] == [
            (r.name, r.group, r.statements) for r in rows
        ]
        for mine, theirs in zip(got, rows, strict=True):
            # The table rounds to 3 significant digits or 2 decimals.
            assert mine.median == pytest.approx(theirs.median, rel=5e-3, abs=6e-6)


def test_results_table_reads_back_and_redraws(tmp_path: Path) -> None:
    workload = report.ParsedWorkload("route", "route 1: 2 trips")
    results = [
        CaseResult("marshmallow (hand)", SERIALIZE, [0.1308], 0),
        CaseResult("treeshape fetch", REQUEST, [0.0372], 1, matches_reference=False),
    ]
    table = report.results_table(workload, results, memory=False)  # type: ignore[arg-type]
    ((parsed_workload, parsed),) = report.parse_results(table)
    assert parsed_workload == workload
    assert [(r.name, r.group, r.statements, r.matches_reference) for r in parsed] == [
        ("marshmallow (hand)", SERIALIZE, 0, True),
        ("treeshape fetch", REQUEST, 1, False),
    ]
    assert [r.median for r in parsed] == pytest.approx([0.1308, 0.0372])
    (tmp_path / "feed.md").write_text("# feed\n\nmedian of 5 interleaved runs.\n\n" + table)
    scaling = {s: [CaseResult("a (hand)", SERIALIZE, [s / 1000], 0)] for s in (1, 2)}
    (tmp_path / "scaling-feed.md").write_text(report.scaling_table(scaling, "d", 1))
    written = report.redraw(tmp_path)
    assert written == [tmp_path / "feed.png", tmp_path / "scaling-feed.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_a_text_without_a_table_is_refused() -> None:
    with pytest.raises(ValueError, match="no results table"):
        report.parse_results("# nothing here\n")
    with pytest.raises(ValueError, match="no scaling table"):
        report.parse_scaling("| a | b |\n")


def test_a_panel_never_has_more_series_than_colours(tmp_path: Path) -> None:
    results = {1: [CaseResult(f"case {i}", REQUEST, [0.001], 1) for i in range(11)]}
    with pytest.raises(ValueError, match="11 request cases: a panel shows at most 10"):
        report.scaling_chart(results, "t", tmp_path / "x.png")


def test_quick_runs_write_outside_the_committed_results() -> None:
    assert parse_args(["--quick"]).out == QUICK_DIR
    assert not QUICK_DIR.resolve().is_relative_to(RESULTS_DIR.resolve())
    assert parse_args([]).out == RESULTS_DIR
    assert parse_args(["--quick", "--out", "elsewhere"]).out == Path("elsewhere")
