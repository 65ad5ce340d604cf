"""Every column type gives the same JSON in every backend, nullable and not.

The database tests run on SQLite and PostgreSQL (``core_db``); PostgreSQL-only types are in
``tests/core/test_pg_types.py``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.core.conftest import CoreDb
from tests.factories import make_gadget
from tests.models import GADGET_COLUMNS, Gadget, LineKind

COMPUTED = ["label_length", "double_count", "summary"]
everything = ts.shape(Gadget, fields=GADGET_COLUMNS + COMPUTED)


def all_backends(shape: ts.Shape, objs: list[Any]) -> list[Any]:
    return [
        shape.dump(objs, many=True),
        orjson.loads(shape.dump_json(objs, many=True)),
        shape.marshmallow_schema(many=True).dump(objs),
        [shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs],
    ]


def test_every_type_nullable_and_not(core_db: CoreDb) -> None:
    core_db.clean()
    with Session(core_db.engine) as session:
        session.add_all([make_gadget(1, nulls=False), make_gadget(2, nulls=True)])
        session.commit()
    with Session(core_db.engine) as session:
        stmt = select(Gadget).options(*everything.loader_options()).order_by(Gadget.gadget_id)
        outputs = all_backends(everything, list(session.scalars(stmt)))
    assert all(out == outputs[0] for out in outputs)
    full, empty = outputs[0]
    assert full["price"] == "1234.500" and full["price_opt"] == "-0.010"
    assert full["uid"] == "00000000-0000-0000-0000-000000000001"
    assert full["at"] == "2024-03-01T12:30:45.000120"
    assert full["day"] == "2024-02-29" and full["clock"] == "23:59:59"
    assert full["clock_opt"] == "00:00:00.000001"
    assert full["kind"] == "tram" and full["kind_opt"] == "rail"
    assert full["flag"] is True and full["flag_opt"] is False
    assert full["data"] == {"a": [1, 2.5, None, "x"], "b": {"c": True}}
    assert full["label_length"] == len(full["label"])
    assert full["double_count"] == 6 and full["summary"] == full["label"] + " x3"
    assert "secret" not in full
    assert all(empty[f"{name}_opt"] is None for name in ("uid", "price", "day", "at", "kind"))
    assert empty["data_opt"] is None


def test_decimal_nan_and_infinity_in_every_backend() -> None:
    """PostgreSQL's numeric holds NaN and infinities: every backend writes them as strings."""
    shape = ts.shape(Gadget, fields=["gadget_id", "price", "price_opt"])
    gadget = Gadget(
        gadget_id=1, price=decimal.Decimal("NaN"), price_opt=decimal.Decimal("-Infinity")
    )
    outputs = all_backends(shape, [gadget])
    assert outputs == [[{"gadget_id": 1, "price": "NaN", "price_opt": "-Infinity"}]] * 4


def test_types_in_the_generated_classes() -> None:
    model = everything.pydantic_model
    fields = model.model_fields
    assert fields["price"].annotation is decimal.Decimal
    assert fields["price_opt"].annotation == decimal.Decimal | None
    assert fields["uid"].annotation is uuid.UUID
    assert fields["at"].annotation is dt.datetime
    assert fields["kind"].annotation is LineKind
    assert fields["double_count"].annotation is int
    assert fields["summary"].annotation is str
    schema = everything.json_schema()
    props = schema["properties"]
    assert props["price"]["type"] == "string"  # Decimal serializes as a string
    assert props["at"]["format"] == "date-time"
    assert props["kind_opt"]["anyOf"][1] == {"type": "null"}
    assert set(schema["required"]) == set(GADGET_COLUMNS + COMPUTED)
    ma_fields = everything.marshmallow_schema._declared_fields  # type: ignore[attr-defined]
    assert type(ma_fields["price"]).__name__ == "JsonDecimal"
    assert ma_fields["price_opt"].allow_none and not ma_fields["price"].allow_none
    assert ma_fields["summary"].dump_only and ma_fields["label_length"].dump_only


def test_marshmallow_load_validates_like_sqlalchemy_schema() -> None:
    schema = ts.shape(Gadget, fields=["gadget_id", "label", "kind", "count"]).marshmallow_schema()
    errors = schema.validate({"gadget_id": 1, "label": "x" * 201, "kind": "nope", "count": "a"})
    assert "Longer than maximum length 200" in errors["label"][0]
    assert "kind" in errors and "count" in errors
    assert schema.validate({"gadget_id": 1, "label": "ok", "kind": "tram", "count": 2}) == {}


aware = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    timezones=st.sampled_from(
        [
            dt.UTC,
            dt.timezone(dt.timedelta(hours=5, minutes=30)),
            dt.timezone(-dt.timedelta(hours=3)),
        ]
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False),
        st.datetimes(),
        aware,
        st.dates(),
        st.times(),
        st.uuids(),
        st.sampled_from(list(LineKind)),
    )
)
def test_value_conversion_matches_pydantic(value: Any) -> None:
    from treeshape.values import converter_for

    convert = converter_for(type(value))
    assert convert is not None
    assert convert(value) == to_jsonable_python(value)


@pytest.mark.parametrize("nulls", [True, False])
def test_gadget_property_round_trip(core_db: CoreDb, nulls: bool) -> None:
    core_db.clean()
    with Session(core_db.engine) as session:
        session.add(make_gadget(7, nulls=nulls))
        session.commit()
    with Session(core_db.engine) as session:
        obj = session.scalars(select(Gadget).options(*everything.loader_options())).one()
        outputs = all_backends(everything, [obj])
        assert all(out == outputs[0] for out in outputs)


@pytest.mark.parametrize(
    "value",
    [b"bytes", dt.timedelta(days=1, seconds=5), {"nested": [dt.date(2020, 1, 2)]}],
)
def test_values_without_a_converter_of_their_own_follow_pydantic(value: Any) -> None:
    from treeshape.values import to_json_value

    # Bytes as hex: Pydantic's ``ser_json_bytes="hex"``, the convention of every backend.
    assert to_json_value(value) == to_jsonable_python(value, bytes_mode="hex")
