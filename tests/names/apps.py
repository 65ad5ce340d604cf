"""A Flask app and a FastAPI app over the test models, serving camelCase shapes: one read
endpoint narrowed by request parameters, one create endpoint with a camelCase body."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI
from flask import Flask
from pydantic.alias_generators import to_camel
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.models import Call, Journey, Line
from treeshape import fastapi as ts_fastapi
from treeshape import flask as ts_flask
from treeshape.web import EndpointShape
from treeshape.write import fastapi as write_fastapi
from treeshape.write import flask as write_flask

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

call_brief = ts.shape(Call, fields=["sequence", "place_id", "arrives"])  # inherits the style
line_detail = ts.shape(
    Line,
    {"journeys": ts.include({"calls": call_brief}, name="trips")},
    key_style=to_camel,
    names={Journey: {"headsign": "destination"}},
    name="NamesLineDetail",
)
LINE = EndpointShape(
    line_detail,
    max_page={"journeys": 10},  # declared as the models name them; requests say page[trips]
    sortable={"journeys": ["headsign", "service_date", "journey_id"]},
)
journey_in = ts.shape(
    Journey,
    {"calls": ts.include(call_brief, on_missing="delete")},
    fields=["line_id", "headsign", "service_date"],
    key_style=to_camel,
    name="NamesJourney",
)

Get = Callable[[str], tuple[int, Any]]
Post = Callable[[str, Any], tuple[int, Any]]


def _line(session: Session, shape: ts.Shape, line_id: int) -> Any:
    stmt = select(Line).where(Line.line_id == line_id).options(*shape.loader_options())
    return session.scalars(stmt).one()


def flask_app(engine: Engine) -> Flask:
    app = Flask(__name__)
    ts_flask.init_app(app)
    write_flask.init_app(app)

    @app.get("/lines/<int:line_id>")
    def get_line(line_id: int) -> Any:
        shape = ts_flask.shape_from_request(LINE)
        with Session(engine) as session:
            return ts_flask.json_response(shape, _line(session, shape, line_id))

    @app.post("/journeys")
    def create_journey() -> Any:
        body = write_flask.body_from_request(journey_in, "create")
        with Session(engine) as session:
            journey = journey_in.load(body, session=session)
            session.commit()
            return {"journeyId": journey.journey_id}, 201

    del get_line, create_journey
    return app


def fastapi_app(engine: Engine) -> FastAPI:
    app = FastAPI()
    ts_fastapi.init_app(app)

    @app.get("/lines/{line_id}", response_model=LINE.shape.pydantic_model)
    def get_line(
        line_id: int, shape: Annotated[ts.Shape, Depends(ts_fastapi.narrowed(LINE))]
    ) -> ts_fastapi.ShapeResponse:
        with Session(engine) as session:
            return ts_fastapi.ShapeResponse(shape, _line(session, shape, line_id))

    @app.post("/journeys", status_code=201)
    def create_journey(
        body: Annotated[Any, Depends(write_fastapi.write_body(journey_in, "create"))],
    ) -> dict[str, int]:
        with Session(engine) as session:
            try:
                journey = journey_in.load(body, session=session)
            except ts.InputError as error:
                raise write_fastapi.input_error(error) from None
            session.commit()
            return {"journeyId": journey.journey_id}

    del get_line, create_journey
    return app


def clients(engine: Engine) -> dict[str, tuple[Get, Post]]:
    """Each app's GET and POST: (status, parsed JSON body)."""
    flask_client = flask_app(engine).test_client()
    fastapi_client = TestClient(fastapi_app(engine))

    def flask_get(url: str) -> tuple[int, Any]:
        answer = flask_client.get(url)
        return answer.status_code, orjson.loads(answer.data)

    def flask_post(url: str, body: Any) -> tuple[int, Any]:
        answer = flask_client.post(url, json=body)
        return answer.status_code, orjson.loads(answer.data)

    def fastapi_get(url: str) -> tuple[int, Any]:
        answer = fastapi_client.get(url)
        return answer.status_code, answer.json()

    def fastapi_post(url: str, body: Any) -> tuple[int, Any]:
        answer = fastapi_client.post(url, json=body)
        return answer.status_code, answer.json()

    return {"flask": (flask_get, flask_post), "fastapi": (fastapi_get, fastapi_post)}


def openapi(engine: Engine) -> dict[str, Any]:
    return TestClient(fastapi_app(engine)).get("/openapi.json").json()
