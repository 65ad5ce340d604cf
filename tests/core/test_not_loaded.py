"""Objects loaded without the shape's loader options: an error naming the path, no query."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, selectinload

import treeshape as ts
from tests.models import Journey, Line
from tests.statements import StatementCounter

detail = ts.shape(Line, "journeys.calls.place")


def test_dump_names_the_unloaded_path_and_does_not_query(
    network: Session, statements: StatementCounter
) -> None:
    line = network.scalars(select(Line).options(selectinload(Line.journeys))).one()
    statements.reset()
    with pytest.raises(ts.NotLoadedError) as info:
        detail.dump(line)
    assert info.value.path == "journeys.calls"
    assert "Journey.calls is not loaded at path 'journeys.calls'" in str(info.value)
    assert "loader_options()" in str(info.value)
    assert statements.count == 0


def test_unloaded_column_is_an_error_too(network: Session, statements: StatementCounter) -> None:
    brief = ts.shape(Line, fields=["line_id"])
    line = network.scalars(select(Line).options(*brief.loader_options())).one()
    statements.reset()
    with pytest.raises(ts.NotLoadedError, match=r"Line.name is not loaded"):
        ts.shape(Line, fields=["line_id", "name"]).dump(line)
    assert statements.count == 0


def test_marshmallow_and_pydantic_raise_instead_of_querying(
    network: Session, statements: StatementCounter
) -> None:
    line = network.scalars(select(Line)).one()
    statements.reset()
    with pytest.raises(ts.NotLoadedError, match=r"Line.journeys is not loaded"):
        detail.marshmallow_schema().dump(line)
    with pytest.raises(ts.NotLoadedError, match=r"Line.journeys is not loaded"):
        detail.pydantic_model.model_validate(line)
    assert statements.count == 0


def test_nested_unloaded_in_marshmallow_and_pydantic(
    network: Session, statements: StatementCounter
) -> None:
    line = network.scalars(select(Line).options(selectinload(Line.journeys))).one()
    statements.reset()
    with pytest.raises(ts.NotLoadedError, match=r"Journey.calls is not loaded"):
        detail.marshmallow_schema().dump(line)
    with pytest.raises(ts.NotLoadedError, match=r"Journey.calls is not loaded"):
        detail.pydantic_model.model_validate(line)
    assert statements.count == 0


def test_loader_options_make_other_relationships_raise(network: Session) -> None:
    journey = network.scalars(
        select(Journey).options(*ts.shape(Journey, "calls").loader_options())
    ).first()
    assert journey is not None
    with pytest.raises(
        InvalidRequestError, match=r"'Journey.line' is not available due to lazy='raise'"
    ):
        _ = journey.line
    with pytest.raises(InvalidRequestError, match=r"'Call.place' is not available"):
        _ = journey.calls[0].place
    network.expunge_all()
    brief = ts.shape(Journey, fields=["journey_id"])
    journey = network.scalars(select(Journey).options(*brief.loader_options())).first()
    assert journey is not None
    with pytest.raises(InvalidRequestError, match=r"'Journey.headsign' is not available"):
        _ = journey.headsign
