"""The documentation builds with warnings as errors, and every example it includes runs.

Each ``docs/examples/*.py`` is what a page shows (through ``literalinclude``); running them
here, against a database imported from the small demo feed, keeps the pages from rotting.
"""

from __future__ import annotations

import importlib
import os
import runpy
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from examples.transit.importer import import_feed

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
SAMPLE_FEED = ROOT / "examples" / "transit" / "data" / "sample_gtfs.zip"
ALL_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.py"))
# Examples that declare models whose class names other tests use too (SQLModel keeps one
# registry per process): run in a fresh interpreter.
ISOLATED = {"migrate_sqlmodel.py"}
# Modules an example needs beyond the 'test' extra.
NEEDS = {"openapi_flask.py": "flask_smorest"}


def _flask_serves(app: Any) -> None:
    """The Flask app the example built answers a route, through its test client."""
    response = app.test_client().get("/routes/AB?include=")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["route_id"] == "AB"


def _fastapi_serves(app: Any) -> None:
    """The FastAPI app the example built answers a route, through Starlette's test client."""
    with warnings.catch_warnings():  # starlette's note about httpx; irrelevant here
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    response = TestClient(app).get("/routes/AB?include=")
    assert response.status_code == 200, response.text
    assert response.json()["route_id"] == "AB"


# The tutorial's apps: what starts the server in their ``__main__``, and a request they answer.
SERVERS: dict[str, tuple[str, Callable[[Any], None]]] = {
    "transit_flask.py": ("flask.Flask.run", _flask_serves),
    "transit_fastapi.py": ("uvicorn.run", _fastapi_serves),
}


@pytest.fixture(scope="module")
def transit_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'transit.sqlite'}"
    import_feed(SAMPLE_FEED, url, progress=False)
    return url


@pytest.fixture
def docs_env(transit_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``$TRANSIT_DB`` set and ``docs/examples`` importable, as the tutorial says to run them."""
    monkeypatch.setenv("TRANSIT_DB", transit_db)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield transit_db


def test_examples_are_found() -> None:
    assert {"transit_shapes.py", "transit_flask.py", "transit_fastapi.py"} <= set(ALL_EXAMPLES)


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_example_runs(name: str, docs_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = EXAMPLES / name
    if name in NEEDS:
        pytest.importorskip(NEEDS[name], reason=f"{NEEDS[name]} is in the 'docs' extra")
    if name in ISOLATED:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(EXAMPLES)])}
        done = subprocess.run(
            [sys.executable, str(path)], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return
    if name in SERVERS:
        # The whole file runs, its ``__main__`` block included, with the server's start recorded
        # instead of serving: it must hand over the app it built, on the tutorial's port.
        target, check = SERVERS[name]
        started: list[tuple[Any, ...]] = []
        monkeypatch.setattr(target, lambda *args, **kwargs: started.append((*args, kwargs)))
        namespace = runpy.run_path(str(path), run_name="__main__")
        check(namespace["app"])
        assert len(started) == 1, started
        *args, kwargs = started[0]
        assert kwargs == {"port": 8000}
        assert args[-1] is namespace["app"]
        return
    runpy.run_path(str(path), run_name="__main__")


TUTORIAL_REQUESTS = [
    "/routes/AB",
    "/routes/AB?include=trips&fields[Trip]=trip_id,trip_headsign",
    "/routes/AB?include=",
    "/stops/BEATTY_AIRPORT",
    "/stops/BEATTY_AIRPORT?fields[Trip]=trip_id",
    "/trips/AB1/stop_times",
    "/trips/AB1/stop_times?include=",
]


def test_tutorial_apps_answer_alike(docs_env: str) -> None:
    """The tutorial's Flask and FastAPI apps give the same bodies, narrowed as the page says."""
    from fastapi.testclient import TestClient

    # The tutorial's modules, importable from docs/examples (see `docs_env`).
    transit_fastapi = importlib.import_module("transit_fastapi")
    transit_flask = importlib.import_module("transit_flask")
    transit_shapes = importlib.import_module("transit_shapes")

    flask_client = transit_flask.app.test_client()
    fastapi_client = TestClient(transit_fastapi.app)
    for url in TUTORIAL_REQUESTS:
        from_flask = flask_client.get(url)
        from_fastapi = fastapi_client.get(url)
        assert from_flask.status_code == from_fastapi.status_code == 200, url
        assert from_flask.get_json() == from_fastapi.json(), url

    route = flask_client.get("/routes/AB").get_json()
    assert route["route_id"] == "AB"
    assert [t["trip_id"] for t in route["trips"]] == ["AB1", "AB2"]
    first_call = route["trips"][0]["stop_times"][0]
    assert set(first_call["stop"]) == set(transit_shapes.stop_summary.fields)

    narrowed = flask_client.get(TUTORIAL_REQUESTS[1]).get_json()
    assert all(set(t) == {"trip_id", "trip_headsign"} for t in narrowed["trips"])

    for app_client in (flask_client, fastapi_client):
        assert app_client.get("/routes/AB?include=agency").status_code == 400
        assert app_client.get("/routes/NOPE").status_code == 404


def test_docs_build(tmp_path: Path) -> None:
    """``sphinx-build -W --keep-going -b html docs docs/_build/html``, into a temporary dir."""
    for module in ("sphinx", "furo", "myst_parser"):
        pytest.importorskip(module, reason=f"{module} is in the 'docs' extra")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    html = tmp_path / "html"
    for page in ("index", "tutorial", "concepts", "api", "performance", "changelog"):
        assert (html / f"{page}.html").is_file(), page
    assert "treeshape.shape" in (html / "api.html").read_text(encoding="utf-8")
