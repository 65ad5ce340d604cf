"""The compiled dumper against an independent walk, the other backends, and its own JSON path.

The reference here shares nothing with treeshape: it reads with ``getattr`` objects loaded
through ``loader_options()`` and converts values with Pydantic's ``to_jsonable_python``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
import zoneinfo
from typing import Any

import orjson
import pydantic_core
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, defer, selectinload

import treeshape as ts
from tests.conftest import memory_engine
from tests.factories import NetworkSpec, build_network
from tests.models import GADGET_COLUMNS, Call, Gadget, Journey, Line, LineKind, Place
from tests.statements import StatementCounter
from tests.strategies import COLUMNS, Spec, networks, specs
from treeshape.backends.dumper import compiled_dumper, reference_dumper


def reference(obj: Any, tree: dict[str, Any], fields: dict[str, list[str]]) -> dict[str, Any]:
    """Fields in mapper order, then relationships in mapper order, by plain attribute access."""
    mapper = inspect(type(obj))
    order = {key: i for i, key in enumerate(mapper.attrs.keys())}
    names = fields.get(type(obj).__name__, COLUMNS[type(obj).__name__])
    out = {n: to_jsonable_python(getattr(obj, n)) for n in sorted(names, key=order.__getitem__)}
    for name in sorted(tree, key=order.__getitem__):
        value = getattr(obj, name)
        if isinstance(value, list):
            out[name] = [reference(item, tree[name], fields) for item in value]
        else:
            out[name] = None if value is None else reference(value, tree[name], fields)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), network=networks)
def test_every_backend_equals_the_reference(spec: Spec, network: NetworkSpec) -> None:
    shape = ts.shape(spec.root, *spec.paths, fields=spec.fields)
    engine = memory_engine()
    try:
        with Session(engine) as session:
            build_network(session, network)
            session.expunge_all()
            objs = session.scalars(select(spec.root).options(*shape.loader_options())).all()
            expected = [reference(obj, spec.tree, spec.fields) for obj in objs]
            assert shape.dump(objs, many=True) == expected
            assert [shape.dump(obj) for obj in objs] == expected
            assert [reference_dumper(shape.node)(obj) for obj in objs] == expected
            assert orjson.loads(shape.dump_json(objs, many=True)) == expected
            assert shape.dump_json(objs, many=True) == orjson.dumps(expected)
            assert shape.marshmallow_schema(many=True).dump(objs) == expected
            model = shape.pydantic_model
            assert [model.model_validate(x).model_dump(mode="json") for x in objs] == expected
    finally:
        engine.dispose()


# -- the many-to-one memo -------------------------------------------------------------------------

repeated = ts.shape(Line, "journeys.calls.place.parent", "journeys.calls.journey", "operator")


@pytest.fixture
def lines(session: Session) -> list[Line]:
    build_network(session, NetworkSpec(journeys_per_line=4, calls_per_journey=6, places=3))
    session.expunge_all()
    return list(session.scalars(select(Line).options(*repeated.loader_options())))


def _places(doc: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["place"] for line in doc for j in line["journeys"] for c in j["calls"]]


def test_memo_gives_the_unmemoized_output(lines: list[Line]) -> None:
    doc = repeated.dump(lines, many=True)
    assert doc == [reference_dumper(repeated.node)(line) for line in lines]
    places = _places(doc)
    assert len(places) > len({p["place_id"] for p in places})  # targets do repeat
    by_id: dict[int, dict[str, Any]] = {}
    for place in places:
        assert by_id.setdefault(place["place_id"], place) == place


def test_dump_output_shares_no_container(lines: list[Line]) -> None:
    """dump() copies repeated targets: mutating one stop of the output touches no other."""
    doc = repeated.dump(lines, many=True)
    places = _places(doc)
    assert len({id(p) for p in places}) == len(places)
    parents = [p["parent"] for p in places if p["parent"] is not None]
    assert parents and len({id(p) for p in parents}) == len(parents)
    journeys = [c["journey"] for line in doc for j in line["journeys"] for c in j["calls"]]
    assert len({id(j) for j in journeys}) == len(journeys)
    before = repeated.dump(lines, many=True)
    places[0]["name"] = "changed"
    places[0].pop("place_id")
    if places[0]["parent"] is not None:
        places[0]["parent"]["name"] = "changed too"
    assert _places(doc)[1:] == _places(before)[1:]


def test_memo_is_per_call(lines: list[Line]) -> None:
    first = repeated.dump(lines[0])
    first["journeys"][0]["calls"][0]["place"]["name"] = "changed"
    assert repeated.dump(lines[0]) == reference_dumper(repeated.node)(lines[0])


def test_json_memo_shares_and_matches(lines: list[Line]) -> None:
    assert repeated.dump_json(lines, many=True) == orjson.dumps(repeated.dump(lines, many=True))
    assert orjson.loads(repeated.dump_json(lines[1])) == repeated.dump(lines[1])


def test_generated_source_is_readable() -> None:
    source = compiled_dumper(repeated.node).__doc__ or ""
    assert "o.__dict__" in source and "getattr" not in source


# -- NotLoadedError at every level ----------------------------------------------------------------

deep = ts.shape(Line, "operator", "journeys.calls.place.parent")
LEVELS = [
    ((), "operator", "Line"),
    ((selectinload(Line.operator),), "journeys", "Line"),
    ((selectinload(Line.operator), selectinload(Line.journeys)), "journeys.calls", "Journey"),
    (
        (selectinload(Line.operator), selectinload(Line.journeys).selectinload(Journey.calls)),
        "journeys.calls.place",
        "Call",
    ),
    (
        (
            selectinload(Line.operator),
            selectinload(Line.journeys).selectinload(Journey.calls).selectinload(Call.place),
        ),
        "journeys.calls.place.parent",
        "Place",
    ),
    (
        (
            selectinload(Line.operator),
            selectinload(Line.journeys)
            .selectinload(Journey.calls)
            .selectinload(Call.place)
            .options(defer(Place.lat), selectinload(Place.parent)),
        ),
        "journeys.calls.place.lat",
        "Place",
    ),
    ((defer(Line.fare),), "fare", "Line"),
]


@pytest.mark.parametrize(("options", "path", "model"), LEVELS)
def test_not_loaded_names_the_full_path(
    session: Session, statements: StatementCounter, options: Any, path: str, model: str
) -> None:
    build_network(session, NetworkSpec(operators=1, lines=2))
    session.expunge_all()
    roots = list(session.scalars(select(Line).options(*options)))
    statements.reset()
    attempts = [
        lambda: deep.dump(roots[0]),
        lambda: deep.dump(roots, many=True),
        lambda: deep.dump_json(roots[0]),
        lambda: deep.dump_json(roots, many=True),
    ]
    for attempt in attempts:
        with pytest.raises(ts.NotLoadedError) as info:
            attempt()
        assert (info.value.path, info.value.model_name) == (path, model)
        assert info.value.attribute == path.rsplit(".", 1)[-1]
        assert f"is not loaded at path {path!r}" in str(info.value)
        assert info.value.__suppress_context__
    assert statements.count == 0


def test_state_is_read_before_properties(session: Session, statements: StatementCounter) -> None:
    """A property reading an unloaded column would query it; the column's error comes first."""
    computed = ts.shape(Gadget, fields=["gadget_id", "label", "summary"])
    session.add(make_gadget_row())
    session.commit()
    session.expunge_all()
    gadget = session.scalars(select(Gadget).options(defer(Gadget.label))).one()
    statements.reset()
    with pytest.raises(ts.NotLoadedError, match=r"Gadget.label is not loaded"):
        computed.dump(gadget)
    assert statements.count == 0


def test_key_error_from_user_code_passes_through() -> None:
    class Odd(Gadget):
        @property
        def boom(self) -> str:
            raise KeyError("from the property")

    odd_shape = ts.shape(Odd, fields=["gadget_id", "boom"])
    odd = Odd(gadget_id=1)
    with pytest.raises(KeyError, match="from the property"):
        odd_shape.dump(odd)


# -- JSON bytes: orjson-native values equal Pydantic's JSON mode ---------------------------------


def make_gadget_row(**values: Any) -> Gadget:
    base: dict[str, Any] = {
        "gadget_id": 1,
        "uid": uuid.UUID(int=1),
        "price": decimal.Decimal("1.500"),
        "weight": 1.5,
        "count": 3,
        "flag": True,
        "label": "x",
        "day": dt.date(2024, 1, 1),
        "at": dt.datetime(2024, 1, 1, 12),
        "clock": dt.time(12),
        "kind": LineKind.BUS,
        "data": {"a": 1},
    }
    base.update({f"{name}_opt": None for name in ("uid", "price", "weight", "count", "flag")})
    base.update({f"{name}_opt": None for name in ("label", "day", "at", "clock", "kind", "data")})
    base.update(values)
    return Gadget(**base)


columns_only = ts.shape(Gadget, fields=GADGET_COLUMNS)
offsets = st.timedeltas(
    min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59)
)
zones = st.one_of(
    st.none(),
    st.just(dt.UTC),
    st.builds(dt.timezone, offsets),
    st.sampled_from([zoneinfo.ZoneInfo(z) for z in ("Europe/London", "Australia/Brisbane")]),
    st.sampled_from([zoneinfo.ZoneInfo(z) for z in ("Europe/Amsterdam", "America/St_Johns")]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    at=st.datetimes(timezones=zones),
    at_opt=st.none() | st.datetimes(timezones=zones),
    clock=st.times(timezones=zones),
    clock_opt=st.none() | st.times(),
    day=st.dates(),
    day_opt=st.none() | st.dates() | st.datetimes(timezones=zones),
    uid=st.uuids(),
    price=st.decimals(allow_nan=False, allow_infinity=False) | st.floats(-1e6, 1e6),
    kind=st.sampled_from(LineKind),
    data=json_values,
    weight=st.floats(allow_nan=False, allow_infinity=False),
)
def test_dump_json_equals_dump_for_every_type(**values: Any) -> None:
    gadget = make_gadget_row(**values)
    dumped = columns_only.dump(gadget)
    assert columns_only.dump_json(gadget) == orjson.dumps(dumped)
    assert orjson.loads(columns_only.dump_json(gadget)) == dumped
    assert dumped == reference_dumper(columns_only.node)(gadget)
    for name in ("at", "at_opt", "clock", "clock_opt", "day", "uid", "kind", "data"):
        assert dumped[name] == to_jsonable_python(values[name]), name


def test_unusual_values_take_the_python_path() -> None:
    class MyDateTime(dt.datetime):
        pass

    class MyUUID(uuid.UUID):
        pass

    gadget = make_gadget_row(
        at=MyDateTime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(seconds=30))),
        day=dt.datetime(2024, 5, 6, 7, tzinfo=dt.UTC),
        uid=MyUUID(int=7),
        price=0.1,
        clock=dt.time(1, 2, 3, tzinfo=dt.UTC),
        kind="bus",
    )
    dumped = columns_only.dump(gadget)
    assert dumped["day"] == "2024-05-06T07:00:00Z"
    assert dumped["price"] == "0.1" and dumped["clock"] == "01:02:03Z" and dumped["kind"] == "bus"
    assert dumped["uid"] == "00000000-0000-0000-0000-000000000007"
    assert columns_only.dump_json(gadget) == orjson.dumps(dumped)
    assert dumped == reference_dumper(columns_only.node)(gadget)


wide_json = st.recursive(
    st.integers() | st.sampled_from([2**64, 2**64 - 1, -(2**63), -(2**63) - 1, 10**40]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(count=st.integers() | st.sampled_from([2**64, -(2**63) - 1]), data=wide_json)
def test_dump_json_writes_integers_of_any_size(count: int, data: Any) -> None:
    # orjson stops at 64 bits; JSON does not, and Pydantic writes such integers whole.
    gadget = make_gadget_row(count=count, data=data)
    dumped = columns_only.dump(gadget)
    body = columns_only.dump_json(gadget)
    assert json.loads(body) == dumped
    assert body == pydantic_core.to_json(dumped)
    assert columns_only.dump_json([gadget, gadget], many=True) == b"[%s,%s]" % (body, body)
