"""``/`` and ``/docs`` of both example apps work offline (issue #17.1): every page and every
asset it references is served by the app itself, and no page names another host."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.web.conftest import Api

WAYS = ["flask", "fastapi", "flask-http", "fastapi-http"]
URL_WITH_HOST = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)  # http://, https://, ws://


def _local(reference: str) -> bool:
    """A reference to this server: no scheme, no ``//host`` (scheme-relative)."""
    return not URL_WITH_HOST.match(reference) and not reference.startswith("//")


class _References(HTMLParser):
    """Every ``src``/``href`` of a page, and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.references += [value for name, value in attrs if name in {"src", "href"} and value]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _parse(body: bytes) -> _References:
    parser = _References()
    parser.feed(body.decode())
    return parser


@pytest.fixture(params=WAYS)
def app(request: pytest.FixtureRequest, sqlite_sample_apis: dict[str, Api]) -> Api:
    """Each app, each way (the pages need no database: SQLite only)."""
    return sqlite_sample_apis[request.param]


def test_docs_page_and_every_asset_are_local(app: Api) -> None:
    page = app.get("/docs")
    assert page.status == 200
    assert page.content_type.startswith("text/html")
    refs = _parse(page.body)
    script = "\n".join(refs.scripts)
    assert "SwaggerUIBundle(" in script  # the page really starts Swagger UI...
    assert re.search(r"""url["']?\s*:\s*["']/openapi\.json["']""", script)  # ...on our document
    assert re.search(r'"?validatorUrl"?\s*:\s*null', script)  # no badge from the validator
    assert all(_local(ref) for ref in refs.references), refs.references
    assert not URL_WITH_HOST.search(page.body.decode())  # no other host, not even in a script
    assets = [urljoin("/docs", ref) for ref in refs.references]
    assert {urlsplit(url).path.rsplit("/", 1)[-1] for url in assets} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
    }
    for url in [*assets, "/openapi.json"]:
        answer = app.get(url)
        assert answer.status == 200, url
        assert len(answer.body) > 0, url
    bundle = app.get(next(url for url in assets if url.endswith("swagger-ui-bundle.js")))
    assert bundle.content_type.split(";")[0] in {"application/javascript", "text/javascript"}
    assert b"SwaggerUIBundle" in bundle.body


def test_docs_document_is_one_swagger_ui_reads(app: Api) -> None:
    """Swagger UI 5 (the packaged one) reads OpenAPI 3.1; 4.x would show a blank page."""
    document = app.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    bundle = app.get("/docs/swagger-ui-bundle.js").body
    assert b"isOAS31" in bundle


def test_index_links_docs_and_endpoints(app: Api) -> None:
    page = app.get("/")
    assert page.status == 200
    assert page.content_type.startswith("text/html")
    assert not URL_WITH_HOST.search(page.body.decode())
    links = _parse(page.body).references
    assert all(_local(link) for link in links), links
    assert {"/docs", "/openapi.json", "/routes", "/stops"} <= set(links)
    for link in links:
        answer = app.get(link)
        assert answer.status == 200, link
    text = page.body.decode()
    for path in ("/routes/{route_id}", "/stops/{stop_id}", "/trips/{trip_id}/stop_times"):
        assert path in text
