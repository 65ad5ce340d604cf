"""`Shape.load`: create, replace and patch, on_missing, references, errors, statement counts.

Each test runs on SQLite and on PostgreSQL. Statement counts are exact: the reads `load`
issues (the existing tree, one statement per relationship; the referenced rows, one per
referenced model; one per unique column set, here the invoice's ``number``; the root's key on
create), whatever the body's size.
"""

from __future__ import annotations

import dataclasses
import decimal
import typing
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import Db
from tests.statements import StatementCounter

from .models import Adjustment, Invoice, InvoiceLine, Memo, invoice_in, invoice_shape, line_in
from .test_agreement import given_values


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "number": "INV-1",
        "customer": 1,
        "tags": [2, 1],
        "status": "sent",
        "issued": "2024-02-29",
        "total": "12.50",
        "lines": [
            {"quantity": 2, "product": "A", "adjustments": [{"seq": 1, "reason": "promo"}]},
            {"quantity": 1, "product": "B", "discount": 0.5},
        ],
        "memos": [{"text": "first"}, {"text": "second"}],
    }
    base.update(changes)
    return base


def read(session: Session, shape: ts.Shape = invoice_in, number: str = "INV-1") -> dict[str, Any]:
    stmt = select(Invoice).where(Invoice.number.startswith(number))
    invoice = session.scalars(stmt.options(*shape.loader_options())).one()
    result: dict[str, Any] = shape.dump(invoice)
    return result


def create(db: Db, data: dict[str, Any] | None = None, shape: ts.Shape = invoice_in) -> int:
    with Session(db.engine) as session:
        invoice = shape.load(data or body(), session=session)
        session.commit()
        return int(invoice.invoice_id)


def test_create_writes_the_whole_tree_in_four_reads(db: Db) -> None:
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        invoice = invoice_in.load(body(), session=session)
        # customer, tags and products: one statement per referenced model; the unique number
        assert counter.count == 4
        assert invoice in session.new and not session.dirty
        session.commit()
    with Session(db.engine) as session:
        got = read(session)
    assert got["number"] == "INV-1" and got["customer"] == 1
    assert got["tags"] == [1, 2]  # the relationship's own order
    assert got["status"] == "sent" and got["paid"] is False and got["issued"] == "2024-02-29"
    assert got["total"] == "12.50"
    assert [(x["quantity"], x["product"], x["discount"]) for x in got["lines"]] == [
        (2, "A", None),
        (1, "B", 0.5),
    ]
    assert got["lines"][0]["adjustments"] == [{"seq": 1, "reason": "promo"}]
    assert [m["text"] for m in got["memos"]] == ["first", "second"]


def test_create_reads_are_bounded_by_the_shape_not_the_body(db: Db) -> None:
    many = [
        {"quantity": i, "product": "ABC"[i % 3], "adjustments": [{"seq": j} for j in range(5)]}
        for i in range(60)
    ]
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        invoice_in.load(body(lines=many), session=session)
        assert counter.count == 4
        session.commit()
    with Session(db.engine) as session:
        assert session.scalar(select(func.count()).select_from(Adjustment)) == 300


def test_replace_matches_children_by_key_updates_adds_and_deletes(db: Db) -> None:
    invoice_id = create(db)
    with Session(db.engine) as session:
        before = read(session)
    first, second = before["lines"]
    new = body(
        invoice_id=invoice_id,
        number="INV-1b",
        customer=2,
        tags=[3],
        lines=[
            {**first, "quantity": 5, "adjustments": [{"seq": 2, "reason": None}]},
            {"quantity": 7, "product": "C", "adjustments": []},
        ],
        memos=[before["memos"][1]],
    )
    with Session(db.engine) as session:
        invoice = session.get(Invoice, invoice_id)
        with StatementCounter(db.engine) as counter:
            invoice_in.load(new, session=session, instance=invoice)
            # lines, their adjustments, memos; customers, tags, products; tags' membership;
            # the unique number
            assert counter.count == 8
        session.commit()
    with Session(db.engine) as session:
        after = read(session)
        orphans = session.scalars(select(Memo).where(Memo.invoice_id.is_(None))).all()
        assert [m.text for m in orphans] == ["first"]  # unlinked, not deleted
        assert session.get(InvoiceLine, second["line_id"]) is None  # deleted
    assert after["number"] == "INV-1b" and after["customer"] == 2 and after["tags"] == [3]
    assert after["lines"][0]["line_id"] == first["line_id"]
    assert after["lines"][0]["quantity"] == 5
    assert after["lines"][0]["adjustments"] == [{"seq": 2, "reason": None}]
    assert after["lines"][1]["quantity"] == 7 and after["lines"][1]["line_id"] > second["line_id"]
    assert after["memos"] == [before["memos"][1]]
    # a replace is the whole document: what the body leaves out gets its create value
    assert after["note"] is None and after["status"] == "sent"


def test_replace_resets_left_out_fields(db: Db) -> None:
    invoice_id = create(db, body(note="keep?", status="paid"))
    with Session(db.engine) as session:
        current = read(session)
        del current["note"], current["status"], current["issued"]
        invoice_in.load(current, session=session, instance=session.get(Invoice, invoice_id))
        session.commit()
        after = read(session)
    assert after["note"] is None and after["issued"] is None
    assert after["status"] == "draft"  # the column's default


def test_patch_is_a_merge_patch(db: Db) -> None:
    invoice_id = create(db, body(note="hello"))
    with Session(db.engine) as session:
        before = read(session)
        invoice = session.get(Invoice, invoice_id)
        with StatementCounter(db.engine) as counter:
            invoice_in.load(
                {"note": None, "total": "3.10"}, session=session, instance=invoice, partial=True
            )
            assert counter.count == 0  # no relationship and no reference in the body
        session.commit()
        after = read(session)
    assert after == {**before, "note": None, "total": "3.10"}


def test_patch_replaces_a_collection_it_gives(db: Db) -> None:
    invoice_id = create(db)
    with Session(db.engine) as session:
        before = read(session)
        invoice = session.get(Invoice, invoice_id)
        keep = before["lines"][1]
        invoice_in.load({"lines": [keep]}, session=session, instance=invoice, partial=True)
        session.commit()
        after = read(session)
    assert after == {**before, "lines": [keep]}


@pytest.mark.parametrize(
    ("on_missing", "kept", "exists"),
    [("delete", 1, False), ("keep", 2, True)],
)
def test_on_missing(db: Db, on_missing: str, kept: int, exists: bool) -> None:
    shape = invoice_shape(lines=on_missing)
    invoice_id = create(db, shape=shape)
    with Session(db.engine) as session:
        before = read(session, shape)
        data = {**before, "lines": [before["lines"][0]]}
        shape.load(data, session=session, instance=session.get(Invoice, invoice_id))
        session.commit()
        after = read(session, shape)
        gone = session.get(InvoiceLine, before["lines"][1]["line_id"])
    assert len(after["lines"]) == kept
    assert (gone is not None) is exists


def test_on_missing_error_refuses_and_names_the_keys(db: Db) -> None:
    shape = invoice_shape(lines="error")
    invoice_id = create(db, shape=shape)
    with Session(db.engine) as session:
        before = read(session, shape)
        data = {**before, "lines": [before["lines"][0]]}
        with pytest.raises(ts.InputError) as info:
            shape.load(data, session=session, instance=session.get(Invoice, invoice_id))
        assert not session.new and not session.dirty and not session.deleted
    (error,) = info.value.errors
    assert error["loc"] == ("lines",) and error["type"] == "missing_children"
    assert str(before["lines"][1]["line_id"]) in error["msg"]


def test_every_problem_at_once_and_the_session_untouched(db: Db) -> None:
    other = create(db, body(number="OTHER"))
    with Session(db.engine) as session:
        other_line = read(session, number="OTHER")["lines"][0]["line_id"]
    invoice_id = create(db)
    with Session(db.engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None and other
        bad = body(
            invoice_id=invoice_id + 100,
            customer=99,
            tags=[1, 42],
            lines=[
                {"line_id": other_line, "quantity": 1, "product": "A", "adjustments": []},
                {"quantity": 1, "product": "ZZZ", "adjustments": [{"seq": 1}, {"seq": 1}]},
            ],
            memos=[],
        )
        with StatementCounter(db.engine) as counter, pytest.raises(ts.InputError) as info:
            invoice_in.load(bad, session=session, instance=invoice)
        assert not any(
            s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            for s in counter.statements
        )
        assert not session.new and not session.dirty and not session.deleted
    found = {(e["loc"], e["type"]) for e in info.value.errors}
    assert found == {
        (("invoice_id",), "identity_changed"),
        (("customer",), "not_found"),
        (("tags", 1), "not_found"),
        (("lines", 0, "line_id"), "not_a_child"),
        (("lines", 1, "product"), "not_found"),
        (("lines", 1, "adjustments", 1, "seq"), "duplicate_key"),
    }
    with Session(db.engine) as session:
        assert read(session)["lines"][0]["quantity"] == 2  # nothing was written


def test_validation_errors_carry_json_paths(db: Db) -> None:
    data = body(number="x" * 17, status="lost", extra=1)
    data["lines"][1]["quantity"] = "1"
    del data["customer"]
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        with pytest.raises(ts.InputError) as info:
            invoice_in.load(data, session=session)
        assert counter.count == 0
    assert {(e["loc"], e["type"]) for e in info.value.errors} == {
        (("number",), "string_too_long"),
        (("status",), "enum"),
        (("extra",), "extra_forbidden"),
        (("lines", 1, "quantity"), "int_type"),
        (("customer",), "missing"),
    }


def test_generated_keys_are_not_accepted_on_create(db: Db) -> None:
    data = body(invoice_id=5)
    data["lines"][0]["line_id"] = 3
    with Session(db.engine) as session, pytest.raises(ts.InputError) as info:
        invoice_in.load(data, session=session)
    assert {e["loc"] for e in info.value.errors} == {("invoice_id",), ("lines", 0, "line_id")}


def test_a_foreign_key_column_written_directly_must_match_a_row(db: Db) -> None:
    shape = ts.shape(
        InvoiceLine, {"product": ts.include(ids=True)}, fields=["line_id", "invoice_id", "quantity"]
    )
    invoice_id = create(db)
    with Session(db.engine) as session, pytest.raises(ts.InputError) as info:
        shape.load({"invoice_id": 999, "quantity": 1, "product": "A"}, session=session)
    assert [(e["loc"], e["type"]) for e in info.value.errors] == [(("invoice_id",), "not_found")]
    with Session(db.engine) as session:
        line = shape.load(
            {"invoice_id": invoice_id, "quantity": 1, "product": "A"}, session=session
        )
        session.commit()
        assert line.invoice_id == invoice_id


def test_natural_key_of_an_existing_root_is_an_error(db: Db) -> None:
    from .models import Product

    shape = ts.shape(Product)
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        with pytest.raises(ts.InputError) as info:
            shape.load({"sku": "A", "title": "again"}, session=session)
        assert counter.count == 1
    assert info.value.errors[0]["loc"] == ("sku",)
    assert info.value.errors[0]["type"] == "already_exists"


def test_load_checks_its_arguments(db: Db) -> None:
    with Session(db.engine) as session:
        with pytest.raises(TypeError, match="instance="):
            invoice_in.load({}, session=session, partial=True)
        with pytest.raises(TypeError, match="Invoice objects"):
            invoice_in.load({}, session=session, instance=object())
        with pytest.raises(TypeError, match="Session"):
            invoice_in.load({}, session=object())
        with pytest.raises(ValueError, match="'create' \\(POST\\)"):
            invoice_in.input_model("post")  # type: ignore[arg-type]


class _Text(str):
    """A str subclass: Pydantic's strict text takes it, so the NUL check must see it."""


def _memo_create(text: str) -> Any:
    """A memo as an instance of its create model (what FastAPI hands on), inside a body."""
    memos = invoice_in.input_model("create").model_fields["memos"].annotation
    return typing.get_args(memos)[0](text=text)


_NUL_BODIES: list[tuple[Callable[[], Any], bool]] = [
    # (the body, whether validation refuses a NUL in it)
    (body, False),
    (lambda: body(note="a\x00b"), True),
    (lambda: body(memos=[{"text": "fine"}, {"text": "x\x00"}]), True),
    (
        lambda: body(
            lines=[{"quantity": 1, "product": "A", "adjustments": [{"seq": 1, "reason": "\x00"}]}]
        ),
        True,
    ),
    (lambda: body(note="\\x00"), False),  # four characters: no NUL
    (lambda: body(note=_Text("sub\x00class")), True),
    (lambda: body(note="a\nb\x00"), True),
    (lambda: body(memos=[{"text": "x" * 60 + "\x00"}]), False),  # too long: that error only
    (lambda: body(note="a\ud800\x00"), False),  # a lone surrogate is no valid text
    (lambda: body(note="a\x00b", total=decimal.Decimal("1.5")), True),
    (lambda: body(note="a\x00b", tags={2, 1}), True),
    (lambda: {**body(note="a\x00b"), 7: "a key that is no string"}, True),
    (lambda: body(memos=[_memo_create("fine")]), False),
    (lambda: body(note="a\x00b", memos=[_memo_create("fine")]), True),
    # a NUL where text is not valid anyway, or in an unknown key's value: no NUL error
    (lambda: body(customer="1\x00"), False),
    (lambda: body(product="\x00"), False),
    # what the twin's dictionaries must refuse as the models do, at every level
    (lambda: body(lines=[{"quantity": 1, "product": "A", "bogus": 1}]), False),
    (lambda: body(memos=[{"text": "x\x00", "memo": 1}]), True),
    (lambda: body(lines=[{"quantity": 1}]), False),
    (lambda: body(lines=({"quantity": 1, "product": "A"},)), False),
    (lambda: body(note=None, paid=None), False),
]


@pytest.mark.parametrize("index", range(len(_NUL_BODIES)))
def test_load_validates_as_the_input_model(index: int) -> None:
    """`load` validates with the input model's twin that refuses NUL by a pattern first: every
    body gets `validate`'s verdict, the same errors or the same given values."""
    from treeshape.write.load import _models, _validate

    node = invoice_in.__treeshape_node__
    make, refused = _NUL_BODIES[index]

    def verdict(run: Callable[[], Any]) -> Any:
        try:
            return given_values(run())
        except ts.InputError as exc:
            return exc.errors

    model, twin, _ = _models(node, "create", ts.write.DEFAULT_LIMITS)
    expected = verdict(lambda: ts.write.validate(node, make(), "create"))
    assert verdict(lambda: _validate(model, twin, make(), ts.write.DEFAULT_LIMITS)) == expected
    nul_errors = isinstance(expected, list) and any(e["type"] == "string_nul" for e in expected)
    assert nul_errors == refused


# Body keys Pydantic cannot take as attributes: aliases of ``field_...`` attributes.
invoice_aliased = ts.shape(
    Invoice,
    {"customer": ts.include(ids=True), "lines": ts.include(line_in, on_missing="delete")},
    fields=invoice_in.fields,
    names={"note": "schema", "number": "model_number"},
)


def _aliased(**changes: Any) -> dict[str, Any]:
    given = {k: v for k, v in body(**changes).items() if k not in ("tags", "memos", "number")}
    return {"model_number": "INV-A", "schema": "aliased", **given}


@pytest.mark.parametrize(
    "make",
    [
        _aliased,
        lambda: {**_aliased(), "field_schema": "both spellings"},
        lambda: {k: v for k, v in _aliased().items() if k != "schema"} | {"field_schema": "x"},
        lambda: _aliased(schema="\x00"),
        lambda: _aliased(schema=None),
    ],
)
def test_aliased_keys_validate_as_the_input_model(db: Db, make: Callable[[], Any]) -> None:
    """The twin takes and refuses aliased keys as the input model does, and `load` writes
    what the body gives under them."""
    from treeshape.write.load import _models, _validate

    node = invoice_aliased.__treeshape_node__
    model, twin, _ = _models(node, "create", ts.write.DEFAULT_LIMITS)

    def verdict(run: Callable[[], Any]) -> Any:
        try:
            return given_values(run())
        except ts.InputError as exc:
            return exc.errors

    expected = verdict(lambda: ts.write.validate(node, make(), "create"))
    assert verdict(lambda: _validate(model, twin, make(), ts.write.DEFAULT_LIMITS)) == expected
    if isinstance(expected, list):
        return
    with Session(db.engine) as session:
        invoice = invoice_aliased.load(make(), session=session)
        session.commit()
        assert invoice.number == "INV-A" and invoice.note == expected["field_schema"]
        assert [line.quantity for line in invoice.lines] == [2, 1]


def test_parse_sets_every_item_field(db: Db) -> None:
    """`_Run._items` stores an `Item`'s fields one by one (no __init__ frame per object):
    each field is set, the matching ones still empty."""
    from treeshape.write.load import Item, _models, _Run, _validate

    node = invoice_in.__treeshape_node__
    model, twin, _ = _models(node, "create", ts.write.DEFAULT_LIMITS)
    value = _validate(model, twin, body(), ts.write.DEFAULT_LIMITS)
    assert value.__class__ is dict  # the twin's
    plan = model.__treeshape_plan__
    assert plan is not None
    with Session(db.engine) as session:
        root = _Run(session, node).parse(plan, model, value)
    lines = root.child_list("lines")
    items = [root, *lines, *root.child_list("memos")]
    items += [a for line in lines for a in line.child_list("adjustments")]
    assert len(items) == 6
    for item in items:
        values = {f.name: getattr(item, f.name) for f in dataclasses.fields(Item)}
        assert values["match"] is None and values["removed"] is None
        assert values["mode"] == "create"
    assert [i.index for i in lines] == [0, 1]
    assert [i.up for i in lines] == [root, root]
    assert root.up is None and root.index is None and root.name is None
    assert lines[0].values == {"quantity": 2} and lines[0].refs == {"product": ("A",)}
