"""The generated Pydantic model checks a loaded tree once, then validates at hand-written speed.

``model_validate`` on ORM objects walks the tree once (`tree_checker`) and validates with a
schema that has no per-object Python check; everywhere else (``TypeAdapter``, a field of a
user's model, dict input) the per-object check runs. Both paths give the same instances and the
same errors.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest
from pydantic import BaseModel, PydanticUserError, TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload

import treeshape as ts
from tests.factories import NetworkSpec, build_network
from tests.models import Call, Journey, Line, Place
from tests.statements import StatementCounter
from treeshape.backends.pydantic_model import ShapeModel

detail = ts.shape(Line, "operator,journeys.calls.place")
model = detail.pydantic_model


@pytest.fixture
def network(session: Session) -> Session:
    build_network(session, NetworkSpec(lines=3, journeys_per_line=3, calls_per_journey=4))
    session.expunge_all()
    return session


@contextmanager
def counting_checks() -> Iterator[list[int]]:
    """How many times the per-object check (``ShapeModel._require_loaded``) runs."""
    code = ShapeModel._require_loaded.__func__.__code__
    calls = [0]

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code is code:
            calls[0] += 1

    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(None)


def loaded_lines(session: Session) -> list[Line]:
    return list(session.scalars(select(Line).options(*detail.loader_options())))


def test_model_validate_checks_the_tree_without_a_call_per_object(network: Session) -> None:
    lines = loaded_lines(network)
    with counting_checks() as fast:
        validated = [model.model_validate(line) for line in lines]
    with counting_checks() as per_object:
        adapted = TypeAdapter(list[model]).validate_python(lines)  # type: ignore[valid-type]
    assert fast == [0]
    # One check per line, operator, journey, call and place reached through the tree.
    objects = sum(
        1
        + (line.operator is not None)
        + sum(1 + 2 * len(journey.calls) for journey in line.journeys)
        for line in lines
    )
    assert per_object == [objects]
    assert validated == adapted
    assert [v.model_dump(mode="json") for v in validated] == detail.dump(lines, many=True)
    # The same classes at every level, whichever path built them.
    journey_model = type(validated[0].journeys[0])
    assert journey_model is type(adapted[0].journeys[0])
    assert type(validated[0].journeys[0].calls[0]) is type(adapted[0].journeys[0].calls[0])


UNLOADED: dict[str, tuple[list[Any], str]] = {
    "root relationship": ([selectinload(Line.operator)], "Line.journeys"),
    "second level": (
        [selectinload(Line.operator), selectinload(Line.journeys)],
        "Journey.calls",
    ),
    "third level": (
        [selectinload(Line.operator), selectinload(Line.journeys).selectinload(Journey.calls)],
        "Call.place",
    ),
    "deferred column": (
        [
            selectinload(Line.operator),
            selectinload(Line.journeys)
            .selectinload(Journey.calls)
            .options(defer(Call.dwell), selectinload(Call.place)),
        ],
        "Call.dwell",
    ),
}


@pytest.mark.parametrize("case", list(UNLOADED))
def test_an_unloaded_attribute_anywhere_is_an_error_on_both_paths(
    network: Session, statements: StatementCounter, case: str
) -> None:
    options, missing = UNLOADED[case]
    lines = list(network.scalars(select(Line).options(*options)))
    statements.reset()
    with pytest.raises(ts.NotLoadedError, match=rf"{missing} is not loaded"):
        model.model_validate(lines[0])
    with pytest.raises(ts.NotLoadedError, match=rf"{missing} is not loaded"):
        TypeAdapter(list[model]).validate_python(lines)  # type: ignore[valid-type]
    assert statements.count == 0


def test_a_subclass_of_a_generated_model_builds_itself(network: Session) -> None:
    class LineWithNote(model):  # type: ignore[valid-type, misc]
        note: str = "hand-written"

    line = loaded_lines(network)[0]
    validated = LineWithNote.model_validate(line)
    assert type(validated) is LineWithNote
    assert validated.note == "hand-written"
    assert validated.model_dump(mode="json") == {**detail.dump(line), "note": "hand-written"}


def test_a_field_of_a_users_model_is_checked_per_object(
    network: Session, statements: StatementCounter
) -> None:
    class Page(BaseModel):
        items: list[model]  # type: ignore[valid-type]

    lines = list(network.scalars(select(Line).options(selectinload(Line.operator))))
    statements.reset()
    with pytest.raises(ts.NotLoadedError, match=r"Line.journeys is not loaded"):
        Page.model_validate({"items": lines})
    assert statements.count == 0


def test_dict_and_plain_object_input_validate_as_before(network: Session) -> None:
    line = loaded_lines(network)[0]
    document = detail.dump(line)
    assert model.model_validate(document).model_dump(mode="json") == document
    assert model.model_validate_json(detail.dump_json(line)).model_dump(mode="json") == document


def test_pydantics_own_argument_errors_are_kept(network: Session) -> None:
    line = loaded_lines(network)[0]
    with pytest.raises(PydanticUserError, match="by_alias"):
        model.model_validate(line, by_alias=False, by_name=False)


def test_the_fast_path_honours_validation_arguments(network: Session) -> None:
    line = loaded_lines(network)[0]
    strict = model.model_validate(line, strict=True, context={"request": 1})
    assert strict == model.model_validate(detail.dump(line))


def test_a_tree_deeper_than_the_inlined_walk(
    session: Session, statements: StatementCounter
) -> None:
    # The walk inlines 8 levels and calls a function per deeper sub-tree (Python allows only
    # 20 nested blocks); a chain of 12 places crosses that boundary.
    for place_id in range(1, 13):
        session.add(Place(place_id=place_id, name=f"P{place_id}", parent_id=place_id - 1 or None))
    session.commit()
    session.expunge_all()
    chain = ts.shape(Place, ".".join(["children"] * 11))
    root = session.scalars(
        select(Place).where(Place.place_id == 1).options(*chain.loader_options())
    ).one()
    statements.reset()
    with counting_checks() as fast:
        validated = chain.pydantic_model.model_validate(root)
    assert fast == [0]
    assert validated.model_dump(mode="json") == chain.dump(root)
    deeper = ts.shape(Place, ".".join(["children"] * 12))
    with pytest.raises(ts.NotLoadedError, match=r"Place.children is not loaded"):
        deeper.pydantic_model.model_validate(root)
    assert statements.count == 0
