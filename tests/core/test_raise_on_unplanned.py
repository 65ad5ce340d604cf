"""What `Shape.loader_options` does with what the shape does not load: raise on access at every
level by default (one top-level ``raiseload("*")``), or, with ``raise_on_unplanned=False``,
leave it to the mapping, in the same statements for the shape's tree. Exact statement counts."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

import treeshape as ts
from tests.models import Journey, Line
from tests.statements import StatementCounter

detail = ts.shape(Line, "journeys.calls.place")
PLACES = ts.computed(
    lambda line: len({call.place_id for journey in line.journeys for call in journey.calls}),
    type=int,
    reads=["journeys.calls"],
)
counted = ts.shape(Line, fields=["line_id"], computed={"place_count": PLACES})


def load_line(
    session: Session, statements: StatementCounter, shape: ts.Shape, **options: bool
) -> Line:
    statements.reset()
    line = session.scalars(select(Line).options(*shape.loader_options(**options))).one()
    return line


def test_unplanned_relationships_raise_at_every_level(
    network: Session, statements: StatementCounter
) -> None:
    line = load_line(network, statements, detail)
    assert statements.count == 4  # lines, journeys, calls, places
    journey = line.journeys[0]
    call = journey.calls[0]
    place = call.place
    unplanned = [
        (lambda: line.operator, "Line.operator"),
        # many-to-ones whose target is in the session: raised all the same
        (lambda: journey.line, "Journey.line"),
        (lambda: call.journey, "Call.journey"),
        (lambda: place.children, "Place.children"),
        (lambda: place.calls, "Place.calls"),
    ]
    for access, name in unplanned:
        with pytest.raises(InvalidRequestError, match=rf"'{name}' is not available"):
            access()
    assert statements.count == 4


def test_below_a_computed_fields_reads_too(network: Session, statements: StatementCounter) -> None:
    line = load_line(network, statements, counted)
    assert statements.count == 3  # lines, journeys, calls (read, not output)
    call = line.journeys[0].calls[0]
    with pytest.raises(InvalidRequestError, match=r"'Call.place' is not available"):
        _ = call.place
    with pytest.raises(InvalidRequestError, match=r"'Journey.line' is not available"):
        _ = line.journeys[0].line
    assert statements.count == 3


def test_opted_out_the_same_statements_load_the_same_tree(
    network: Session, statements: StatementCounter
) -> None:
    line = load_line(network, statements, detail)
    expected = detail.dump_json(line)
    network.expunge_all()
    line = load_line(network, statements, detail, raise_on_unplanned=False)
    assert statements.count == 4
    assert detail.dump_json(line) == expected
    assert detail.dump(line) == detail.pydantic_model.model_validate(line).model_dump(mode="json")
    assert statements.count == 4
    network.expunge_all()
    line = load_line(network, statements, counted, raise_on_unplanned=False)
    assert statements.count == 3
    assert counted.dump(line) == {"line_id": 1, "place_count": 6}  # places 1-6
    assert statements.count == 3


def test_opted_out_unplanned_relationships_load_as_the_mapping_says(
    network: Session, statements: StatementCounter
) -> None:
    line = load_line(network, statements, detail, raise_on_unplanned=False)
    journey = line.journeys[0]
    call = journey.calls[0]
    place = call.place
    statements.reset()
    # many-to-ones to objects in the session: from the identity map, no statement
    assert journey.line is line
    assert call.journey is journey
    assert statements.count == 0
    # the others lazy-load, one statement each
    assert line.operator is not None
    assert line.operator.operator_id == line.operator_id
    assert statements.count == 1
    assert [c.place_id for c in place.calls] == [place.place_id] * len(place.calls)
    assert statements.count == 2


def test_opted_out_columns_left_out_are_deferred(
    network: Session, statements: StatementCounter
) -> None:
    brief = ts.shape(Journey, fields=["journey_id"])
    journey = network.scalars(select(Journey).options(*brief.loader_options())).first()
    assert journey is not None
    with pytest.raises(InvalidRequestError, match=r"'Journey.headsign' is not available"):
        _ = journey.headsign
    network.expunge_all()
    stmt = select(Journey).options(*brief.loader_options(raise_on_unplanned=False))
    journey = network.scalars(stmt).first()
    assert journey is not None
    statements.reset()
    assert (journey.journey_id, journey.service_date.year) == (1, 2024)
    assert statements.count == 1  # a column left out: loaded on access, on its own
    assert journey.headsign is None
    assert statements.count == 2


def test_each_form_is_built_once_per_tree() -> None:
    options = detail.loader_options(raise_on_unplanned=False)
    assert detail.loader_options(raise_on_unplanned=False) is options
    assert detail.loader_options() is detail.loader_options()
    assert detail.loader_options() != options
    assert len(detail.loader_options()) == len(options) + 1  # the top-level raiseload("*")
