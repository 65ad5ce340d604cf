"""Flask helpers: narrow an endpoint's shape from the request, answer 400s, document it.

A list endpoint (`treeshape.web.ListEndpoint`) answers a page: ``page_from_request(ROUTES)``
reads ``limit``, ``offset``, ``after``, ``before``, ``sort``, ``total`` along with the
narrowing, ``.load(session)`` runs it, and ``page_response(page)`` sends the array with its
``Link`` header (see `treeshape.web.listing` for the convention).

::

    from treeshape.flask import init_app, json_response, shape_from_request
    from treeshape.web import EndpointShape

    ROUTE = EndpointShape(route_detail)
    init_app(app)  # QueryError -> a JSON 400

    @app.get("/routes/<route_id>")
    def get_route(route_id):
        shape = shape_from_request(ROUTE)  # raises QueryError before any query
        route = session.scalars(select(Route).options(*shape.loader_options())...).one()
        return json_response(shape, route)

Error bodies follow flask-smorest's convention (``code``, ``status``, ``message``, ``errors``),
so an app using flask-smorest or webargs answers every 400 in one format. One status for
every bad query parameter: raise `QueryError` for the application's own (``limit``) too, and
it is the same 400 with the same body. The schemas are marshmallow schemas, so apispec's
``MarshmallowPlugin`` documents them, the error body included (`QueryErrorBodySchema`): see
`openapi_operation`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from marshmallow import Schema, fields

from .shape import Shape
from .web import EndpointShape, ListEndpoint, Page, PageQuery, QueryError

__all__ = [
    "QueryErrorBodySchema",
    "QueryLimitSchema",
    "QueryProblemSchema",
    "error_response",
    "init_app",
    "json_response",
    "openapi_operation",
    "page_from_request",
    "page_response",
    "shape_from_request",
]


class QueryLimitSchema(Schema):
    """The `Limits` bound a request exceeded."""

    name = fields.String(required=True)
    value = fields.Integer(required=True)


class QueryProblemSchema(Schema):
    """One bad query parameter (`treeshape.web.Problem`)."""

    parameter = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "At most 80 characters."})
    detail = fields.String(required=True, metadata={"description": "What would be valid."})
    allowed = fields.List(fields.String(), required=True)
    limit = fields.Nested(QueryLimitSchema)


class QueryErrorBodySchema(Schema):
    """The body of a 400: every bad query parameter of the request."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.List(fields.Nested(QueryProblemSchema), required=True)


def shape_from_request(endpoint: EndpointShape) -> Shape:
    """The shape the current request asks for; raises `QueryError` if it does not fit."""
    return endpoint.from_query(request.args.items(multi=True))


def page_from_request(endpoint: ListEndpoint) -> PageQuery:
    """The page the current request asks for; raises `QueryError` if it does not fit."""
    return endpoint.from_query(request.args.items(multi=True), path=request.path)


def page_response(page: Page, *, status: int = 200) -> Response:
    """``page`` as a JSON array, with its ``Link`` (and ``X-Total-Count``) headers."""
    response = Response(page.json(), status=status, mimetype="application/json")
    response.headers.update(page.headers())
    return response


def error_response(error: QueryError) -> tuple[Response, int]:
    """A 400 naming every offending parameter and what it allows."""
    body = {
        "code": 400,
        "status": "Bad Request",
        "message": "Invalid query parameters.",
        "errors": [problem.as_dict() for problem in error.problems],
    }
    return jsonify(body), 400


def init_app(app: Flask) -> None:
    """Register the JSON 400 handler for `QueryError`."""
    app.register_error_handler(QueryError, error_response)


def json_response(shape: Shape, obj: Any, *, many: bool = False, status: int = 200) -> Response:
    """``obj`` serialized by ``shape`` (its compiled dumper, orjson), as a JSON response."""
    return Response(shape.dump_json(obj, many=many), status=status, mimetype="application/json")


def openapi_operation(
    endpoint: EndpointShape | ListEndpoint, *, summary: str, many: bool = False, **extra: Any
) -> dict[str, Any]:
    """An OpenAPI operation for ``spec.path(operations={"get": ...})`` with apispec.

    The 200 response references the declared shape's marshmallow schema (apispec's
    ``MarshmallowPlugin`` turns it and every nested schema into components); the query
    parameters document ``include``, each ``fields[Model]`` and the endpoint's ``page[...]``
    (integers, with their bounds) and ``sort[...]`` with what they allow. A `ListEndpoint`
    adds ``limit``, ``offset``, ``after``, ``before``, ``sort`` (and ``total``), answers an
    array, and documents the ``Link`` (and ``X-Total-Count``) headers of its 200.
    """
    schema: Any = endpoint.shape.marshmallow_schema
    ok: dict[str, Any] = {"description": "OK"}
    if isinstance(endpoint, ListEndpoint):
        many = True
        ok["headers"] = endpoint.response_headers()
    if many:
        schema = {"type": "array", "items": schema}
    parameters = [
        {
            "in": "query",
            "name": name,
            "required": False,
            "schema": endpoint.parameter_schema(name),
            "description": endpoint.describe(name),
        }
        for name in endpoint.parameter_names
    ]
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [*extra.pop("parameters", []), *parameters],
        "responses": {
            "200": {**ok, "content": {"application/json": {"schema": schema}}},
            "400": {
                "description": "Invalid query parameters (include, fields, page, sort, or the "
                "application's own), every one of them listed.",
                "content": {"application/json": {"schema": QueryErrorBodySchema}},
            },
            **extra.pop("responses", {}),
        },
    }
    operation.update(extra)
    return operation
