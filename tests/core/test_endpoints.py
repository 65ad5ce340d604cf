"""The three motivating endpoints, on the test transit models.

- GET /lines/{id}: a line with all its journeys, their calls and each call's place;
- GET /places/{id}: a place with every journey calling there (a secondary relationship);
- GET /journeys/{id}/calls: a journey's calls with their places.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.factories import NetworkSpec, build_network
from tests.models import Call, Journey, Line, Place
from tests.statements import StatementCounter

place_brief = ts.shape(Place, fields=["place_id", "name"])
line_detail = ts.shape(Line, {"journeys": {"calls": {"place": place_brief}}})
place_detail = ts.shape(Place, "journeys", fields={Journey: ["journey_id", "headsign"]})
journey_calls = ts.shape(Journey, {"calls": {"place": place_brief}}, fields=["journey_id"])


def load(session: Session, shape: ts.Shape, *criteria: object) -> object:
    return session.scalars(
        select(shape.model).where(*criteria).options(*shape.loader_options())
    ).one()


def test_line_with_journeys_calls_and_places(
    session: Session, statements: StatementCounter
) -> None:
    build_network(session, NetworkSpec(lines=2, journeys_per_line=4, calls_per_journey=5))
    session.expunge_all()
    statements.reset()
    line = load(session, line_detail, Line.line_id == 2)
    assert statements.count == 4  # lines, journeys, calls, places
    document = line_detail.dump(line)
    assert statements.count == 4

    session.expunge_all()
    journeys = session.scalars(
        select(Journey).where(Journey.line_id == 2).order_by(Journey.journey_id)
    ).all()
    assert [j["journey_id"] for j in document["journeys"]] == [j.journey_id for j in journeys]
    for journey_doc, journey in zip(document["journeys"], journeys, strict=True):
        calls = session.scalars(
            select(Call).where(Call.journey_id == journey.journey_id).order_by(Call.sequence)
        ).all()
        assert [c["sequence"] for c in journey_doc["calls"]] == [c.sequence for c in calls]
        for call_doc, call in zip(journey_doc["calls"], calls, strict=True):
            place = session.get(Place, call.place_id)
            assert place is not None
            assert call_doc["place"] == {"place_id": place.place_id, "name": place.name}
    assert document["name"] == "L2"
    assert set(document) == {"line_id", "operator_id", "name", "kind", "fare", "opened", "journeys"}


def test_place_with_every_journey_calling_there(
    session: Session, statements: StatementCounter
) -> None:
    build_network(session, NetworkSpec(lines=3, journeys_per_line=3, calls_per_journey=4, places=5))
    session.expunge_all()
    for place_id in range(1, 6):
        statements.reset()
        place = load(session, place_detail, Place.place_id == place_id)
        assert statements.count == 2
        document = place_detail.dump(place)
        expected_ids = sorted(
            set(session.scalars(select(Call.journey_id).where(Call.place_id == place_id)))
        )
        assert [j["journey_id"] for j in document["journeys"]] == expected_ids
        assert all(set(j) == {"journey_id", "headsign"} for j in document["journeys"])


def test_calls_of_a_journey_with_places(session: Session, statements: StatementCounter) -> None:
    build_network(session, NetworkSpec(calls_per_journey=6, places=4))
    session.expunge_all()
    statements.reset()
    journey = load(session, journey_calls, Journey.journey_id == 1)
    assert statements.count == 3
    document = journey_calls.dump(journey)
    assert list(document) == ["journey_id", "calls"]
    assert [c["sequence"] for c in document["calls"]] == [1, 2, 3, 4, 5, 6]
    # The same place under several calls is the same content every time.
    by_id: dict[int, object] = {}
    for call in document["calls"]:
        assert by_id.setdefault(call["place"]["place_id"], call["place"]) == call["place"]
    # The generated classes agree.
    assert journey_calls.marshmallow_schema().dump(journey) == document
    assert journey_calls.pydantic_model.model_validate(journey).model_dump(mode="json") == document
