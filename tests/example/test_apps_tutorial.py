"""The tutorial's apps (``docs/examples/transit_flask.py`` and ``transit_fastapi.py``) answer
errors as JSON, like their 400s (issue #17.7): a 404 for an unknown route, stop or trip (not
``200 []`` for an unknown trip's stop_times), a 405 with its ``Allow`` header, never HTML."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from examples.transit.importer import import_feed

from tests.example.conftest import REPO, SAMPLE_FEED

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EXAMPLES = REPO / "docs" / "examples"


def _load(name: str) -> ModuleType:
    """The tutorial module under a name of its own (test_docs imports the same files)."""
    spec = importlib.util.spec_from_file_location(f"_tutorial_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path: Path = tmp_path_factory.mktemp("tutorial") / "transit.sqlite"
    url = f"sqlite:///{path}"
    assert import_feed(SAMPLE_FEED, url, progress=False).ok
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSIT_DB", url)
        patch.syspath_prepend(str(EXAMPLES))
        flask, fast = _load("transit_flask"), _load("transit_fastapi")
    return {"flask": flask.app.test_client(), "fastapi": TestClient(fast.app)}


def _answer(clients: dict[str, Any], app: str, method: str, url: str) -> tuple[int, Any, Any]:
    response = clients[app].open(url, method=method) if app == "flask" else None
    if response is None:
        response = clients[app].request(method, url)
        return response.status_code, response.headers, response.json()
    return response.status_code, response.headers, response.get_json()


@pytest.mark.parametrize("app", ["flask", "fastapi"])
@pytest.mark.parametrize(
    ("url", "what"),
    [("/routes/NOPE", "route"), ("/stops/NOPE", "stop"), ("/trips/NOPE/stop_times", "trip")],
)
def test_unknown_id_is_a_json_404(clients: dict[str, Any], app: str, url: str, what: str) -> None:
    status, headers, body = _answer(clients, app, "GET", url)
    assert status == 404
    assert headers["content-type"].startswith("application/json")
    text = body["message"] if app == "flask" else body["detail"]
    assert text == f"No {what} 'NOPE'"


@pytest.mark.parametrize("app", ["flask", "fastapi"])
def test_known_trip_still_lists_its_stop_times(clients: dict[str, Any], app: str) -> None:
    status, _, body = _answer(clients, app, "GET", "/trips/AB1/stop_times")
    assert status == 200
    assert [call["stop_sequence"] for call in body] == sorted(c["stop_sequence"] for c in body)
    assert len(body) > 0


@pytest.mark.parametrize("app", ["flask", "fastapi"])
def test_unknown_path_and_wrong_method_are_json(clients: dict[str, Any], app: str) -> None:
    status, headers, body = _answer(clients, app, "GET", "/nope")
    assert status == 404 and headers["content-type"].startswith("application/json"), body
    status, headers, body = _answer(clients, app, "DELETE", "/routes/AB")
    assert status == 405 and headers["content-type"].startswith("application/json"), body
    assert "GET" in headers["allow"]
