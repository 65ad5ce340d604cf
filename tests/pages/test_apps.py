"""``GET /routes`` and ``GET /stops`` in both apps, four ways, on SQLite and PostgreSQL: walks
along the ``Link`` header, totals, bad page parameters, statements per page, OpenAPI."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import orjson
import pytest
from examples.transit import endpoints

from tests.web.conftest import SAMPLE_FEED
from tests.web.expected import FeedBodies

from .conftest import Client, Reply

SAMPLE = FeedBodies(SAMPLE_FEED)
LINK = re.compile(r'<([^>]*)>; rel="(first|prev|next)"')


def links(reply: Reply) -> dict[str, str]:
    found = dict((rel, url) for url, rel in LINK.findall(reply.headers.get("link", "")))
    # Nothing else in the header: every part is one of the three links.
    assert len(reply.headers["link"].split(", ")) == len(found)
    return found


def ok(client: Client, url: str) -> tuple[list[Any], Reply]:
    reply = client.get(url)
    assert reply.status == 200, reply.body
    body = orjson.loads(reply.body)
    assert isinstance(body, list)
    return body, reply


def walk(client: Client, url: str, rel: str = "next") -> list[Any]:
    """Every row, following ``rel`` links from ``url``."""
    rows: list[Any] = []
    while True:
        body, reply = ok(client, url)
        rows = rows + body if rel == "next" else body + rows
        found = links(reply)
        if rel not in found:
            return rows
        assert body, "a link leads away from a page with rows"
        url = found[rel]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_cursor_walks_both_lists(client: Client, limit: int) -> None:
    assert walk(client, f"/routes?limit={limit}") == SAMPLE.route_list()
    assert walk(client, f"/stops?limit={limit}") == SAMPLE.stop_list()


@pytest.mark.parametrize("sort", ["-route_short_name", "route_type,-route_long_name", "-route_id"])
def test_sorted_walks_forward_and_back(client: Client, sort: str) -> None:
    whole, _ = ok(client, f"/routes?sort={sort}&limit=1000")
    assert sorted(whole, key=lambda r: r["route_id"]) == SAMPLE.route_list()
    forward = walk(client, f"/routes?sort={sort}&limit=2")
    assert forward == whole
    # From the last page back along prev: the same rows, each once.
    url = f"/routes?sort={sort}&limit=2"
    while True:
        _, reply = ok(client, url)
        found = links(reply)
        if "next" not in found:
            break
        url = found["next"]
    assert walk(client, url, "prev") == whole


def test_offset_pages_and_total(client: Client) -> None:
    routes = SAMPLE.route_list()
    body, reply = ok(client, "/routes?limit=2&offset=1&total=true")
    assert body == routes[1:3]
    assert reply.headers["x-total-count"] == str(len(routes))
    found = links(reply)
    assert dict(parse_qsl(urlsplit(found["prev"]).query)) == {"limit": "2", "total": "true"}
    assert dict(parse_qsl(urlsplit(found["next"]).query))["offset"] == "3"
    assert urlsplit(found["first"]).path == "/routes"
    assert "x-total-count" not in client.get("/routes").headers


def test_links_keep_the_narrowing(client: Client) -> None:
    body, reply = ok(client, "/routes?include=&fields[Route]=route_id&limit=1")
    assert body == [{"route_id": SAMPLE.route_list()[0]["route_id"]}]
    query = dict(parse_qsl(urlsplit(links(reply)["next"]).query, keep_blank_values=True))
    assert query["include"] == "" and query["fields[Route]"] == "route_id"
    assert query["limit"] == "1" and "after" in query


def _problem(client: Client, url: str) -> tuple[str, str]:
    reply = client.get(url)
    assert reply.status == 400, (url, reply.body)
    assert reply.statements == 0  # refused before any query
    body = orjson.loads(reply.body)
    if client.name.startswith("flask"):
        (error,) = body["errors"]
        return error["parameter"], error["detail"]
    (error,) = body["detail"]
    assert error["loc"][0] == "query"
    return error["loc"][1], error["msg"]


def test_bad_cursors_are_400(client: Client) -> None:
    _, reply = ok(client, "/routes?limit=1")
    cursor = dict(parse_qsl(urlsplit(links(reply)["next"]).query))["after"]
    body, tag = cursor.split(".")
    edited = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + tag
    for bad in [edited, "nonsense", f"{body}.{tag[:-2]}", "a.b.c", "é"]:
        parameter, detail = _problem(client, f"/routes?after={quote(bad)}")
        assert parameter == "after" and "not a cursor this endpoint gave out" in detail
    # A cursor made for another sort, or for the other list, is refused too.
    assert _problem(client, f"/routes?sort=-route_id&after={cursor}")[0] == "after"
    assert _problem(client, f"/stops?after={cursor}")[0] == "after"


@pytest.mark.parametrize(
    ("query", "parameter", "words"),
    [
        ("limit=0", "limit", "from 1 to 1000"),
        ("limit=1001", "limit", "from 1 to 1000"),
        ("offset=-1", "offset", "from 0 to"),
        ("limit=1&limit=2", "limit", "more than once"),
        ("sort=route_nmae", "sort", "Did you mean 'route_long_name'"),
        ("sort=route_desc", "sort", "Sortable fields"),
        ("total=yes", "total", "true or false"),
        ("offset=1&after=x.y", "offset", "cannot be combined"),
    ],
)
def test_bad_page_parameters_are_400(
    client: Client, query: str, parameter: str, words: str
) -> None:
    found, detail = _problem(client, f"/routes?{query}")
    assert found == parameter and words in detail


@pytest.mark.parametrize(
    ("url", "statements"),
    [
        ("/routes?limit=2", 2),  # routes with trips_count, their agencies
        ("/routes?limit=2&total=true", 3),  # and the count
        ("/routes?limit=2&include=", 1),
        ("/stops?limit=2&offset=1", 1),  # no parent station among them
    ],
)
def test_statements_per_page(client: Client, url: str, statements: int) -> None:
    _, reply = ok(client, url)
    assert reply.statements == statements
    if "next" in links(reply):
        assert client.get(links(reply)["next"]).statements == statements


def test_both_apps_answer_alike(clients: dict[str, Client]) -> None:
    for url in ["/routes?limit=2&sort=-route_type", "/stops?limit=3&offset=2&total=true"]:
        replies = [c.get(url) for c in clients.values()]
        assert len({r.body for r in replies}) == 1
        assert len({r.headers["link"] for r in replies}) == 1
        assert len({r.headers.get("x-total-count") for r in replies}) == 1


@pytest.mark.parametrize("path", ["/routes", "/stops"])
def test_openapi_documents_the_page(clients: dict[str, Client], path: str) -> None:
    endpoint = endpoints.ROUTE_LIST if path == "/routes" else endpoints.STOP_LIST
    documents = [orjson.loads(clients[n].get("/openapi.json").body) for n in ("flask", "fastapi")]
    for document in documents:
        operation = document["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        for name in ("limit", "offset", "after", "before", "sort", "total"):
            assert params[name]["schema"] == endpoint.parameter_schema(name), name
            assert params[name]["description"] == endpoint.describe(name)
        assert params["limit"]["schema"]["maximum"] == 1000
        headers = operation["responses"]["200"]["headers"]
        assert set(headers) == {"Link", "X-Total-Count"}
        assert "rel=" in headers["Link"]["description"]
        assert "400" in operation["responses"]
