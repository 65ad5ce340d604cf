"""Sphinx configuration for the treeshape documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (warnings are errors).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The library (editable install or not) and the transit example, for autodoc.
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import treeshape  # noqa: E402

project = "treeshape"
author = "treeshape developers"
copyright = "treeshape developers"
release = treeshape.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated", "examples", "Thumbs.db", ".DS_Store"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Docstrings write `Shape` for a cross-reference, as the code's comments do.
default_role = "py:obj"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_preserve_defaults = True

html_theme = "furo"
html_title = f"treeshape {release}"
html_static_path: list[str] = []
pygments_style = "sphinx"
pygments_dark_style = "monokai"


# -- the benchmark results, for performance.md ------------------------------------------------
# `python -m benchmarks` writes benchmarks/results/<feed>.md (+ .png) and scaling-<feed>.md.
# They are gathered into _generated/benchmark-results.md, which performance.md includes; where
# nothing has been measured yet, that file says so instead of failing the build.

NOT_MEASURED = (
    "*Not yet measured.* Run `python -m benchmarks` from the repository root and rebuild the\n"
    "documentation: the tables and charts it writes to `benchmarks/results/` appear here.\n"
)


def benchmark_results() -> str:
    results = ROOT / "benchmarks" / "results"
    generated = HERE / "_generated"
    generated.mkdir(exist_ok=True)
    parts: list[str] = []
    for name in ("cairns", "nyc", "scaling-cairns", "scaling-nyc"):
        table = results / f"{name}.md"
        if not table.is_file():
            continue
        lines = table.read_text(encoding="utf-8").splitlines()
        if lines and lines[0].startswith("# "):
            lines[0] = "### " + lines[0][2:]
        parts.append("\n".join(lines))
        chart = results / f"{name}.png"
        if chart.is_file():
            shutil.copyfile(chart, generated / chart.name)
            parts.append(f"```{{image}} /_generated/{chart.name}\n:alt: {name} chart\n```")
    text = "\n\n".join(parts) + "\n" if parts else NOT_MEASURED
    target = generated / "benchmark-results.md"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return text


benchmark_results()
