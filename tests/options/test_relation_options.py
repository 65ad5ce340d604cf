"""Relationship options (issue 7) against a reference computed in Python.

Random orderings, per-parent limits/offsets, column filters, counts and ids on Line.journeys
and Journey.calls: ``dump`` (ORM, loader options), marshmallow, Pydantic, ``dump_json`` and
``fetch`` (both strategies) must all equal the reference; loading costs one statement per
loaded relationship (counts and many-to-one ids cost none), ``fetch`` core the same plus one,
``fetch`` JSON one. Runs on SQLite and PostgreSQL (``core_db``).
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import treeshape as ts
from tests.core.conftest import CoreDb, core_db  # noqa: F401
from tests.factories import NetworkSpec, build_network
from tests.models import Call, Journey, Line
from tests.statements import StatementCounter
from tests.strategies import networks

JOURNEY_ORDER = ["headsign", "departs", "service_date", "journey_id"]
CALL_ORDER = ["arrives", "dwell", "place_id", "sequence"]
JOURNEY_WHERE = [{"headsign": None}, {"headsign": "To 1"}, {"headsign": ("To 1", "To 2")}]
CALL_WHERE = [{"dwell": None}, {"place_id": (1, 2, 3)}]


@st.composite
def relation_options(draw: st.DrawFn, columns: list[str], wheres: list[Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(columns), unique=True, min_size=1, max_size=2))
        options["order_by"] = [("-" if draw(st.booleans()) else "") + n for n in names]
    if draw(st.booleans()):
        options["limit"] = draw(st.integers(0, 4))
    if draw(st.booleans()):
        options["offset"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        options["where"] = draw(st.sampled_from(wheres))
    if draw(st.booleans()):
        options["count"] = True
    return options


def _sorted(items: list[Any], order: list[tuple[str, bool]], pk: list[str]) -> list[Any]:
    """NULLs sort as the largest values, as treeshape asks of every database."""
    result = sorted(items, key=lambda o: tuple(getattr(o, k) for k in pk))
    for name, descending in reversed(order):
        result.sort(
            key=lambda o: (
                (getattr(o, name) is None, getattr(o, name) or 0)
                if getattr(o, name) is None
                else (False, getattr(o, name))
            ),
            reverse=descending,
        )
    return result


def _apply(items: list[Any], options: dict[str, Any], default_order: list[str], pk: list[str]):
    where = options.get("where") or {}
    for name, wanted in where.items():
        if wanted is None:
            items = [o for o in items if getattr(o, name) is None]
        elif isinstance(wanted, tuple):
            items = [o for o in items if getattr(o, name) in wanted]
        else:
            items = [o for o in items if getattr(o, name) == wanted]
    count = len(items)
    names = options.get("order_by")
    if names:
        order = [(n.lstrip("-"), n.startswith("-")) for n in names]
        items = _sorted(items, order, pk)
    else:
        items = sorted(items, key=lambda o: tuple(getattr(o, k) for k in default_order + pk))
    offset = options.get("offset", 0)
    limit = options.get("limit")
    items = items[offset : None if limit is None else offset + limit]
    return items, count


def _columns(obj: Any, names: list[str]) -> dict[str, Any]:
    return {n: to_jsonable_python(getattr(obj, n)) for n in names}


def reference(line: Line, j_opts: dict[str, Any], c_opts: dict[str, Any], place_ids: bool):
    out = _columns(line, ["line_id", "name"])
    out["operator"] = line.operator_id
    journeys, j_count = _apply(list(line.journeys), j_opts, ["journey_id"], ["journey_id"])
    docs = []
    for journey in journeys:
        doc = _columns(journey, ["journey_id", "headsign", "departs"])
        calls, c_count = _apply(
            list(journey.calls), c_opts, ["sequence"], ["journey_id", "sequence"]
        )
        doc["calls"] = []
        for call in calls:
            call_doc = _columns(call, ["sequence", "arrives", "dwell"])
            call_doc["place"] = (
                call.place_id if place_ids else _columns(call.place, ["place_id", "name"])
            )
            doc["calls"].append(call_doc)
        if c_opts.get("count"):
            doc["calls_count"] = c_count
        docs.append(doc)
    out["journeys"] = docs
    if j_opts.get("count"):
        out["journeys_count"] = j_count
    return out


def make_shape(j_opts: dict[str, Any], c_opts: dict[str, Any], place_ids: bool) -> ts.Shape:
    place: Any = ts.include(ids=True) if place_ids else {}
    return ts.shape(
        Line,
        {
            "operator": ts.include(ids=True),
            "journeys": ts.include({"calls": ts.include({"place": place}, **c_opts)}, **j_opts),
        },
        fields={
            "Line": ["line_id", "name"],
            "Journey": ["journey_id", "headsign", "departs"],
            "Call": ["sequence", "arrives", "dwell"],
            **({} if place_ids else {"Place": ["place_id", "name"]}),
        },
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    j_opts=relation_options(JOURNEY_ORDER, JOURNEY_WHERE),
    c_opts=relation_options(CALL_ORDER, CALL_WHERE),
    place_ids=st.booleans(),
    network=networks,
)
def test_options_match_reference(
    core_db: CoreDb,  # noqa: F811
    j_opts: dict[str, Any],
    c_opts: dict[str, Any],
    place_ids: bool,
    network: NetworkSpec,
) -> None:
    core_db.clean()
    engine = core_db.engine
    with Session(engine) as session:
        build_network(session, network)
    shape = make_shape(j_opts, c_opts, place_ids)
    with Session(engine) as session:
        full = select(Line).options(
            selectinload(Line.journeys).selectinload(Journey.calls).selectinload(Call.place)
        )
        expected = [
            reference(line, j_opts, c_opts, place_ids)
            for line in session.scalars(full.order_by(Line.line_id)).all()
        ]
    with Session(engine) as session, StatementCounter(engine) as counter:
        stmt = select(Line).options(*shape.loader_options()).order_by(Line.line_id)
        lines = session.scalars(stmt).all()
        loaded = counter.count
        dumped = shape.dump(lines, many=True)
        assert dumped == expected
        assert orjson.loads(shape.dump_json(lines, many=True)) == expected
        assert shape.marshmallow_schema().dump(lines, many=True) == expected
        assert [
            shape.pydantic_model.model_validate(line).model_dump(mode="json") for line in lines
        ] == expected
        assert counter.count == loaded  # serializing issued nothing
        # roots + journeys + calls (if any journey) + places (if embedded and any call)
        any_journey = any(line.journeys for line in lines)
        any_call = any(j.calls for line in lines for j in line.journeys)
        planned = 1 + (1 if lines else 0) + (1 if any_journey else 0)
        planned += 1 if (any_call and not place_ids) else 0
        assert loaded == planned
    for strategy in ("core", "json"):
        with Session(engine) as session, StatementCounter(engine) as counter:
            assert shape.fetch(session, strategy=strategy) == expected
            if strategy == "json":
                assert counter.count == 1
            else:
                assert counter.count <= 1 + shape.node.count_relations()


def test_string_form_equals_include_form() -> None:
    text = ts.shape(Line, "journeys(order_by=-departs+headsign,limit=2,offset=1,count).calls(ids)")
    mapping = ts.shape(
        Line,
        {
            "journeys": ts.include(
                {"calls": ts.include(ids=True)},
                order_by=["-departs", "headsign"],
                limit=2,
                offset=1,
                count=True,
            )
        },
    )
    assert text == mapping
    assert text.node.describe() == (
        "(journeys{order_by=-departs+headsign,limit=2,offset=1,count=journeys_count}"
        "(calls{ids}([journey_id,sequence])))"
    )
