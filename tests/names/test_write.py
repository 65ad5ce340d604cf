"""Bodies in output keys: for shapes restyled to camelCase (and renamed), the Pydantic input
model and the marshmallow input schema accept and refuse the same bodies, at the same JSON
paths (the body's keys), the model's spelling is an unknown key, and `load` writes what a
snake_case body writes through the plain shape, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic.alias_generators import to_camel
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import BOTH, Db, database
from tests.write.conftest import seed
from tests.write.models import Base, Invoice, invoice_in, line_in, memo_in
from tests.write.strategies import bodies
from tests.write.test_agreement import marshmallow_verdict, pydantic_verdict
from treeshape.write.plan import write_plan

# The write tests' shape, restyled: the composed line and memo shapes inherit the style.
invoice_camel = ts.shape(
    Invoice,
    {
        "customer": ts.include(ids=True),
        "tags": ts.include(ids=True),
        "lines": ts.include(line_in, on_missing="delete"),
        "memos": ts.include(memo_in, on_missing="unlink"),
    },
    fields=invoice_in.fields,
    key_style=to_camel,
    names={"number": "invoiceNumber"},
)
SHAPES = {"invoice": invoice_camel}
# Not the transit example's trip_in restyled: the first tree to make an input class keeps its
# name (TripCreate, StopTimeReplace), and those names belong to the example's own shapes.


@pytest.mark.parametrize("mode", ["create", "replace", "patch"])
@pytest.mark.parametrize("name", sorted(SHAPES))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_verdict_and_paths_in_output_keys(name: str, mode: Any, data: st.DataObject) -> None:
    shape = SHAPES[name]
    body = data.draw(bodies(write_plan(shape.node), mode))
    assert pydantic_verdict(shape, mode, body) == marshmallow_verdict(shape, mode, body)


def test_the_input_classes_show_the_output_keys() -> None:
    keys = list(invoice_camel.input_model("create").model_json_schema()["properties"])
    assert keys == [
        "invoiceNumber",
        "status",
        "paid",
        "issued",
        "note",
        "total",
        "customer",
        "tags",
        "lines",
        "memos",
    ]
    assert list(invoice_camel.input_schema("create")().fields) == keys
    # The attribute spelling is an unknown key to both, reported where it stands.
    body = {"number": "N-1", "customer": 1}
    assert pydantic_verdict(invoice_camel, "create", body) == {("number",), ("invoiceNumber",)}
    assert marshmallow_verdict(invoice_camel, "create", body) == {("number",), ("invoiceNumber",)}


RENAMED = {"number": "invoiceNumber"}


def camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {RENAMED.get(k, to_camel(k)): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def without_ids(value: Any) -> Any:
    """A document without its generated keys (sequences differ between the two writes)."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in GENERATED}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


GENERATED = {"invoice_id", "line_id", "memo_id"}


@pytest.fixture(scope="module", params=BOTH)
def wdb(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        yield db


BODY = {
    "number": "N-1",
    "customer": 1,
    "tags": [1, 3],
    "status": "draft",
    "paid": False,
    "issued": "2024-03-01",
    "note": "n",
    "total": "12.50",
    "lines": [{"product": "A", "quantity": 2, "adjustments": []}],
    "memos": [],
}


def test_load_writes_a_camel_body_as_the_plain_shape_writes_a_snake_one(wdb: Db) -> None:
    written = {}
    for shape, body in ((invoice_in, BODY), (invoice_camel, camel(BODY))):
        seed(wdb)
        with Session(wdb.engine) as session:
            invoice = shape.load(body, session=session)
            session.commit()
            (doc,) = invoice_in.fetch(session, Invoice.invoice_id == invoice.invoice_id)
            written[shape] = without_ids(doc)
    assert written[invoice_in] == written[invoice_camel]
    assert written[invoice_in]["lines"][0]["product"] == "A"
    seed(wdb)
    with Session(wdb.engine) as session:
        wrong = camel({**BODY, "customer": 99})
        with pytest.raises(ts.InputError) as error:
            invoice_camel.load(wrong, session=session)
        assert [e["loc"] for e in error.value.errors] == [("customer",)]
        with pytest.raises(ts.InputError) as error:
            invoice_camel.load(BODY, session=session)  # the model's spelling
        assert [(e["loc"], e["type"]) for e in error.value.errors] == [
            (("invoiceNumber",), "missing"),
            (("number",), "extra_forbidden"),
        ]
