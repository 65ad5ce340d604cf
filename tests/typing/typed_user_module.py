"""A user's module written as the docs show: it must pass ``mypy --strict`` without ignores.

Checked by ``tests/typing/test_typed_usage.py``; imported there too, so it also runs.
"""

from __future__ import annotations

from typing import Any, assert_type

import orjson
from fastapi import FastAPI
from fastapi.responses import Response
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.factories import build_network
from tests.models import Base, Line

line_brief = ts.shape(Line, fields=["line_id", "name"], name="TypedLineBrief")
line_journeys = ts.shape(Line, "journeys", name="TypedLineJourneys")

app = FastAPI()


@app.get("/lines", response_model=line_brief.pydantic_list_model)
def list_lines() -> Response:
    return Response(b"[]", media_type="application/json")


def documents() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], bytes]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        build_network(session)
        stmt = select(Line).order_by(Line.line_id).options(*line_journeys.loader_options())
        lines = session.scalars(stmt).all()
        one = assert_type(line_journeys.dump(lines[0]), dict[str, Any])
        many = assert_type(line_journeys.dump(lines, many=True), list[dict[str, Any]])
        fetched = assert_type(line_journeys.fetch(session), list[dict[str, Any]])
        with engine.connect() as connection:
            raw: bytes = line_journeys.fetch_json(connection)
    return one, many, fetched, raw


def first_name(document: dict[str, Any]) -> str:
    name = document["name"]
    assert isinstance(name, str)
    return name


def check() -> None:
    one, many, fetched, raw = documents()
    assert many[0] == one
    assert fetched == many == orjson.loads(raw)
    assert first_name(one)
