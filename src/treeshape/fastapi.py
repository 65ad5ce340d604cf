"""FastAPI helpers: a dependency that narrows an endpoint's shape, and a treeshape response.

::

    from treeshape.fastapi import ShapeResponse, narrowed
    from treeshape.web import EndpointShape

    ROUTE = EndpointShape(route_detail)

    @app.get("/routes/{route_id}", response_model=route_detail.pydantic_model)
    def get_route(route_id: str, shape: Shape = Depends(narrowed(ROUTE))) -> Response:
        route = ...  # select(Route).options(*shape.loader_options())
        return ShapeResponse(shape, route)

``response_model`` makes ``/docs`` show the declared nested structure; returning a `Response`
means FastAPI does not validate or serialize again: treeshape's dumper already did, once.
The dependency declares ``include``, every ``fields[Model]`` and the endpoint's ``page[...]`` and
``sort[...]`` as query parameters, so they
appear in the OpenAPI document, but it reads the raw query string itself: FastAPI would keep
only the last of a repeated parameter, and we must report the repeat.

One status for every bad query parameter: ``init_app(app)`` answers FastAPI's own validation
of query parameters (``limit: int = Query(ge=1)``) with a 400 as well, in the same body as ours
(FastAPI's ``detail`` list), so that ``?limit=0`` and ``?include=nope`` get the same status,
as they do in `treeshape.flask`. Invalid bodies, path parameters and headers keep FastAPI's
422. `QUERY_ERROR_RESPONSE` documents the 400 with its schema (`QueryErrorBody`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, core_schema

from .shape import Shape
from .web import EndpointShape, ListEndpoint, Page, PageQuery, QueryError

__all__ = [
    "QUERY_ERROR_RESPONSE",
    "PageResponse",
    "QueryErrorBody",
    "QueryProblem",
    "ShapeResponse",
    "init_app",
    "list_responses",
    "narrowed",
    "paged",
    "query_error",
]


class QueryProblem(BaseModel):
    """One bad query parameter, as FastAPI reports a validation error."""

    loc: list[str | int]
    """``["query", parameter name]``."""
    msg: str
    """What is wrong and what would be valid."""
    type: str
    """``value_error`` for ours; FastAPI's own error type for the others."""
    input: Any = None
    """The offending value, cut to 80 characters in ours."""
    ctx: dict[str, Any] | None = None
    """``allowed`` (the valid names) and ``limit`` (``{name, value}``) in ours."""


class QueryErrorBody(BaseModel):
    """The body of a 400: every bad query parameter of the request."""

    detail: list[QueryProblem]


QUERY_ERROR_RESPONSE: dict[int | str, dict[str, Any]] = {
    400: {
        "model": QueryErrorBody,
        "description": "Invalid query parameters (include, fields, page, sort, or the "
        "application's own), every one of them listed.",
    }
}
"""For a route's ``responses=``: documents the 400 the dependency may answer, with its body."""


def init_app(app: FastAPI) -> None:
    """Answer an invalid query parameter that FastAPI validates itself with a 400, like ours.

    Only for requests whose every validation error is in the query; anything else (a body,
    a path parameter, a header) keeps FastAPI's 422.
    """
    app.add_exception_handler(RequestValidationError, _validation_error)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if errors and all(tuple(error.get("loc", ()))[:1] == ("query",) for error in errors):
        return JSONResponse(status_code=400, content={"detail": jsonable_encoder(errors)})
    return await request_validation_exception_handler(request, exc)


def query_error(error: QueryError) -> HTTPException:
    """A 400 whose body reads like FastAPI's own validation errors (``loc``, ``msg``, ``type``)."""
    detail = []
    for problem in error.problems:
        ctx: dict[str, Any] = {"allowed": list(problem.allowed)}
        if problem.limit is not None:
            ctx["limit"] = {"name": problem.limit[0], "value": problem.limit[1]}
        detail.append(
            {
                "loc": ["query", problem.parameter],
                "msg": problem.detail,
                "type": "value_error",
                "input": problem.value,
                "ctx": ctx,
            }
        )
    return HTTPException(status_code=400, detail=detail)


def _documented_as(schema: dict[str, Any]) -> type:
    """A ``str`` type whose JSON Schema is ``schema``: FastAPI accepts any text (our checks
    answer a 400 in our format, where FastAPI would answer a 422) and documents the real type."""

    class Text(str):
        @classmethod
        def __get_pydantic_core_schema__(
            cls, source: Any, handler: GetCoreSchemaHandler
        ) -> CoreSchema:
            return core_schema.str_schema()

        @classmethod
        def __get_pydantic_json_schema__(
            cls, core: CoreSchema, handler: GetJsonSchemaHandler
        ) -> dict[str, Any]:
            return dict(schema)

    return Text


def narrowed(endpoint: EndpointShape) -> Callable[..., Shape]:
    """A dependency returning the shape the request asks for, or raising a 400."""

    def dependency(request: Request, **_declared: str | None) -> Shape:
        try:
            return endpoint.from_query(request.query_params.multi_items())
        except QueryError as exc:
            raise query_error(exc) from None

    return _declare(dependency, endpoint, Shape)


def paged(endpoint: ListEndpoint) -> Callable[..., PageQuery]:
    """A dependency returning the page the request asks for (`treeshape.web.PageQuery`:
    ``.load(session)`` or ``.fetch(session)`` runs it), or raising a 400; it declares
    ``limit``, ``offset``, ``after``, ``before``, ``sort`` (and ``total``) with the narrowing
    parameters. Answer with `PageResponse`; document with `list_responses`."""

    def dependency(request: Request, **_declared: str | None) -> PageQuery:
        try:
            return endpoint.from_query(request.query_params.multi_items(), path=request.url.path)
        except QueryError as exc:
            raise query_error(exc) from None

    return _declare(dependency, endpoint, PageQuery)


def list_responses(endpoint: ListEndpoint) -> dict[int | str, dict[str, Any]]:
    """For a list route's ``responses=``: the 200's ``Link`` (and ``X-Total-Count``) headers
    and the 400 (`QUERY_ERROR_RESPONSE`)."""
    return {200: {"headers": endpoint.response_headers()}, **QUERY_ERROR_RESPONSE}


def _declare(
    dependency: Callable[..., Any], endpoint: EndpointShape | ListEndpoint, returns: type
) -> Callable[..., Any]:
    # Declared only for the OpenAPI document (and /docs forms); the values are read from
    # the raw query string.
    parameters = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    for index, name in enumerate(endpoint.parameter_names):
        schema = endpoint.parameter_schema(name)
        query: Any = Query(None, alias=name, title=name, description=endpoint.describe(name))
        # Validated as any string (our own checks answer the 400), documented with its real
        # schema (page[...] parameters are integers with their bounds, the others text with
        # a pattern of the declared names). No line of this comment may start with "type:",
        # which Python's parser (and so Sphinx) reads as a type comment.
        annotation: Any = _documented_as(schema)
        parameters.append(
            inspect.Parameter(
                f"p{index}", inspect.Parameter.KEYWORD_ONLY, default=query, annotation=annotation
            )
        )
    signature = inspect.Signature(parameters, return_annotation=returns)
    dependency.__signature__ = signature  # type: ignore[attr-defined]
    return dependency


class ShapeResponse(Response):
    """``obj`` serialized by ``shape`` (compiled dumper, orjson), without revalidation."""

    media_type = "application/json"

    def __init__(self, shape: Shape, obj: Any, *, many: bool = False, status_code: int = 200):
        super().__init__(content=shape.dump_json(obj, many=many), status_code=status_code)


class PageResponse(Response):
    """A `treeshape.web.Page` as a JSON array, with its ``Link`` (and ``X-Total-Count``)
    headers."""

    media_type = "application/json"

    def __init__(self, page: Page, *, status_code: int = 200):
        super().__init__(content=page.json(), status_code=status_code, headers=page.headers())
