"""Every error of both example apps is JSON in its framework's format (issues #17.7, #19.1,
#19.6, #19.7): unknown paths (404), wrong methods (405, ``Allow`` kept), server errors (500),
ids with a NUL byte (the same 404 as any unknown id, on SQLite and PostgreSQL), and a 404
echoes at most 80 characters of the id it was given."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from examples.transit import fastapi_app, flask_app, queries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.conftest import Api, _serve_fastapi, _serve_flask

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DETAIL_URLS = [
    ("/routes/{}", "route"),
    ("/stops/{}", "stop"),
    ("/trips/{}", "trip"),
    ("/trips/{}/stop_times", "trip"),
]


def message(api: Api, body: dict[str, Any]) -> str:
    text: str = body["message"] if api.framework == "flask" else body["detail"]
    return text


@pytest.mark.parametrize(("template", "what"), DETAIL_URLS)
@pytest.mark.parametrize("key", ["a%00b", "%00", "AB%00", "x%00" + "y" * 100])
def test_nul_in_a_path_parameter_is_a_404(api: Api, template: str, what: str, key: str) -> None:
    """PostgreSQL text cannot hold NUL (psycopg refuses to send it: a 500 before); no row can
    match, so it is the 404 of any unknown id, and costs no statement."""
    answer = api.get(template.format(key))
    assert answer.status == 404, answer.body
    assert answer.content_type.startswith("application/json")
    assert message(api, answer.json()).startswith(f"No {what} with {what}_id '")
    assert answer.statements == 0


@pytest.mark.parametrize(("template", "what"), DETAIL_URLS)
def test_404_echoes_at_most_80_characters(api: Api, template: str, what: str) -> None:
    key = "N" * 5000
    answer = api.get(template.format(key))
    assert answer.status == 404
    text = message(api, answer.json())
    assert f"'{'N' * 80}'" in text
    assert "N" * 81 not in text
    assert "5000 characters" in text
    assert len(answer.body) < 300


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.text(min_size=1, max_size=200).filter(lambda k: "/" not in k and k.strip(".")))
def test_any_unknown_id_is_a_short_json_404(sqlite_sample_apis: dict[str, Api], key: str) -> None:
    """Whatever the id (NUL, control characters, any length), an unknown one is a JSON 404
    whose message quotes at most 80 of its characters."""
    for name in ("flask", "fastapi"):
        api = sqlite_sample_apis[name]
        answer = api.get("/routes/" + quote(key, safe=""))
        if answer.status == 200:  # an existing route's id
            continue
        assert answer.status == 404, (name, key, answer.body)
        text = message(api, answer.json())
        assert text.startswith("No route with route_id ")
        quoted = text.removeprefix("No route with route_id ")
        assert len(quoted) <= len(repr(key[:80])) + len("... (cut: 200 characters).")


@pytest.mark.parametrize("url", ["/nope", "/routes/AB/nope", "/docs/nope.js"])
def test_unknown_path_is_a_json_404(api: Api, url: str) -> None:
    answer = api.get(url)
    assert answer.status == 404
    assert answer.content_type.startswith("application/json")
    assert message(api, answer.json())


def test_unknown_trip_stop_times_is_404_not_an_empty_list(api: Api) -> None:
    answer = api.get("/trips/nope/stop_times")
    assert answer.status == 404
    assert message(api, answer.json()) == "No trip with trip_id 'nope'."


@pytest.fixture(scope="module")
def servers(sqlite_sample_db: str) -> Iterator[dict[str, str]]:
    """Both apps over HTTP (for methods the `Api` fixtures do not send)."""
    flask_server = _serve_flask(flask_app.create_app(sqlite_sample_db))
    fast_server = _serve_fastapi(fastapi_app.create_app(sqlite_sample_db))
    yield {"flask": next(flask_server), "fastapi": next(fast_server)}
    for server in (flask_server, fast_server):
        next(server, None)


@pytest.mark.parametrize("app", ["flask", "fastapi"])
@pytest.mark.parametrize("url", ["/routes", "/routes/AB", "/trips/AB1/stop_times"])
def test_wrong_method_is_a_json_405_with_allow(servers: dict[str, str], app: str, url: str) -> None:
    response = httpx.delete(servers[app] + url, timeout=20)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    assert "GET" in response.headers["allow"].split(", ")
    body = response.json()
    if app == "flask":
        assert (body["code"], body["status"]) == (405, "Method Not Allowed")
    else:
        assert body == {"detail": "Method Not Allowed"}


def _boom(*_args: Any) -> Any:
    raise RuntimeError("secret internals")


@pytest.mark.parametrize("app", ["flask", "fastapi"])
def test_server_error_is_json_and_says_nothing_of_the_cause(
    sqlite_sample_db: str, monkeypatch: pytest.MonkeyPatch, app: str
) -> None:
    monkeypatch.setattr(queries, "route", _boom)
    if app == "flask":
        response: Any = flask_app.create_app(sqlite_sample_db).test_client().get("/routes/AB")
        status, body, kind = response.status_code, response.data, response.content_type
    else:
        client = TestClient(fastapi_app.create_app(sqlite_sample_db), raise_server_exceptions=False)
        response = client.get("/routes/AB")
        status, body, kind = (
            response.status_code,
            response.content,
            response.headers["content-type"],
        )
    assert status == 500
    assert kind.startswith("application/json")
    assert b"secret" not in body
    assert orjson.loads(body)
