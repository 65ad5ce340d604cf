"""What both apps serve besides the API: ``/`` (what is here) and ``/docs`` (Swagger UI).

The example promises to run offline, so ``/docs`` loads Swagger UI from the files the
``flask-swagger-ui`` package ships (the Swagger UI 5 distribution, which reads OpenAPI 3.1;
the package follows Swagger UI's releases), served by the app itself under `STATIC_PREFIX`.
The Flask app uses the package's blueprint, the FastAPI app FastAPI's own
``get_swagger_ui_html`` with these files: neither page references another host, and
`SWAGGER_UI_PARAMETERS` turns off the one thing Swagger UI would fetch from outside (the
validator badge).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import flask_swagger_ui  # type: ignore[import-untyped]

__all__ = [
    "DOCS_PATH",
    "ENDPOINTS",
    "OPENAPI_PATH",
    "STATIC_DIR",
    "STATIC_PREFIX",
    "SWAGGER_UI_PARAMETERS",
    "TITLE",
    "index_page",
]

TITLE = "treeshape transit example"
DOCS_PATH = "/docs"
OPENAPI_PATH = "/openapi.json"
STATIC_PREFIX = DOCS_PATH
"""Where both apps serve the Swagger UI files (``/docs/swagger-ui.css``, ...), as the Flask
blueprint does."""
STATIC_DIR = Path(flask_swagger_ui.__file__).parent / "dist"
"""The packaged Swagger UI distribution."""
SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    "validatorUrl": None,  # no badge from the public validator: nothing leaves the machine
    "oauth2RedirectUrl": f"{DOCS_PATH}/oauth2-redirect.html",  # relative: no host in the page
}

ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("/routes", "routes, each with its agency and trips_count (limit, offset or cursors, sort)"),
    ("/stops", "stops (limit, offset or cursors, sort)"),
    ("/routes/{route_id}", "a route with its trips' timetables"),
    ("/stops/{stop_id}", "a stop with the trips that call at it and its next departures"),
    ("/trips/{trip_id}", "a trip with its route and its stops' ids"),
    ("/trips/{trip_id}/stop_times", "a trip's stop_times with their stops"),
)
"""What ``/`` lists: paths without a parameter are links."""


def index_page(*, framework: str, title: str = TITLE) -> str:
    """``/``: what this server is, a link to the docs, the OpenAPI document and each endpoint."""
    items = []
    for path, what in ENDPOINTS:
        shown = html.escape(path)
        label = f'<a href="{shown}">{shown}</a>' if "{" not in path else f"<code>{shown}</code>"
        items.append(f"<li>{label}: {html.escape(what)}</li>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f"<p>Served by the {html.escape(framework)} app. "
        f'<a href="{DOCS_PATH}">Interactive API docs</a> '
        f'(the <a href="{OPENAPI_PATH}">OpenAPI document</a>).</p>\n'
        "<p>Every endpoint accepts <code>?include=</code> and <code>?fields[Model]=</code> "
        "to narrow its document.</p>\n"
        f"<ul>\n{chr(10).join(items)}\n</ul>\n</body>\n</html>\n"
    )
