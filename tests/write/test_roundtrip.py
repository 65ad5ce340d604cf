"""Load then dump gives the body back: for every valid body, on SQLite and PostgreSQL.

The shape that writes is also a read shape (references dump as keys), so after ``load`` and a
commit, ``shape.dump`` of the reloaded tree must be the body, generated keys aside: every given
value stored and read back exactly, every child in place, nothing else touched.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import Db
from tests.statements import StatementCounter

from .conftest import seed
from .models import Customer, Invoice, Product, Tag, invoice_in

TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def text(size: int) -> st.SearchStrategy[str]:
    return st.text(TEXT, max_size=size)


def unique_sorted(values: st.SearchStrategy[int], size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(values, max_size=size, unique=True).map(sorted)


adjustments = unique_sorted(st.integers(0, 50), 3).flatmap(
    lambda seqs: st.tuples(*(st.none() | text(30) for _ in seqs)).map(
        lambda reasons: [{"seq": s, "reason": r} for s, r in zip(seqs, reasons, strict=True)]
    )
)
line = st.fixed_dictionaries(
    {
        "quantity": st.integers(-(2**31), 2**31 - 1),
        "product": st.sampled_from("ABC"),
        "discount": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "adjustments": adjustments,
    }
)
fields = {
    "number": text(16),
    "customer": st.sampled_from([1, 2]),
    "tags": unique_sorted(st.sampled_from([1, 2, 3]), 3),
    "status": st.sampled_from(["draft", "sent", "paid"]),
    "paid": st.booleans(),
    "issued": st.none() | st.dates().map(lambda d: d.isoformat()),
    "note": st.none() | text(80),
    "total": st.none()
    | st.decimals(min_value=0, max_value=999999, places=2).map(lambda d: f"{d:.2f}"),
    "lines": st.lists(line, max_size=4),
    "memos": st.lists(st.fixed_dictionaries({"text": text(50)}), max_size=3),
}


def without_ids(document: dict[str, Any]) -> dict[str, Any]:
    result = {k: v for k, v in document.items() if k != "invoice_id"}
    result["lines"] = [{k: v for k, v in x.items() if k != "line_id"} for x in result["lines"]]
    result["memos"] = [{k: v for k, v in x.items() if k != "memo_id"} for x in result["memos"]]
    return result


def dumped(db: Db) -> dict[str, Any]:
    with Session(db.engine) as session:
        stmt = select(Invoice).options(*invoice_in.loader_options())
        document: dict[str, Any] = invoice_in.dump(session.scalars(stmt).one())
        return document


def untouched(db: Db) -> tuple[int, int, int]:
    """The referenced tables' row counts: a body never creates or removes their rows."""
    with Session(db.engine) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(m)) for m in (Customer, Product, Tag)
        )


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(body=st.fixed_dictionaries(fields))
def test_create_then_dump_gives_the_body(wdb: Db, body: dict[str, Any]) -> None:
    seed(wdb)
    with Session(wdb.engine) as session:
        invoice_in.load(body, session=session)
        session.commit()
    assert without_ids(dumped(wdb)) == body
    assert untouched(wdb) == (2, 3, 3)


@SETTINGS
@given(first=st.fixed_dictionaries(fields), second=st.fixed_dictionaries(fields), data=st.data())
def test_replace_then_dump_gives_the_body(
    wdb: Db, first: dict[str, Any], second: dict[str, Any], data: st.DataObject
) -> None:
    seed(wdb)
    with Session(wdb.engine) as session:
        invoice_in.load(first, session=session)
        session.commit()
    before = dumped(wdb)
    # Some existing lines and memos kept (by key, with new values), the rest new or dropped.
    lines = list(second["lines"])
    for old in data.draw(
        st.lists(st.sampled_from(before["lines"]), unique_by=lambda x: x["line_id"])
        if before["lines"]
        else st.just([])
    ):
        lines.insert(
            data.draw(st.integers(0, len(lines))), {**data.draw(line), "line_id": old["line_id"]}
        )
    memos = [
        {"memo_id": m["memo_id"], "text": m["text"]}
        for m in before["memos"]
        if data.draw(st.booleans())
    ] + second["memos"]
    body = {**second, "invoice_id": before["invoice_id"], "lines": lines, "memos": memos}
    with Session(wdb.engine) as session:
        invoice = session.get(Invoice, before["invoice_id"])
        invoice_in.load(body, session=session, instance=invoice)
        session.commit()
    after = dumped(wdb)
    # The relationship's order: by key, so the kept lines first, then the new ones as sent.
    kept = sorted((x for x in lines if "line_id" in x), key=lambda x: x["line_id"])
    expected = {**body, "lines": kept + [x for x in lines if "line_id" not in x]}
    assert without_ids(after) == without_ids(expected)
    assert [x["line_id"] for x in after["lines"]][: len(kept)] == [x["line_id"] for x in kept]
    assert untouched(wdb) == (2, 3, 3)


@SETTINGS
@given(data=st.data())
def test_an_invalid_body_leaves_the_session_as_it_was(wdb: Db, data: st.DataObject) -> None:
    from treeshape.write.plan import write_plan

    from .strategies import bodies

    seed(wdb)
    with Session(wdb.engine) as session:
        invoice_in.load(data.draw(st.fixed_dictionaries(fields)), session=session)
        session.commit()
    before = dumped(wdb)
    mode = data.draw(st.sampled_from(["replace", "patch"]))
    body = data.draw(bodies(write_plan(invoice_in.node), mode))
    with Session(wdb.engine) as session, StatementCounter(wdb.engine) as counter:
        invoice = session.get(Invoice, before["invoice_id"])
        try:
            invoice_in.load(body, session=session, instance=invoice, partial=mode == "patch")
        except ts.InputError as exc:
            assert exc.errors
            assert not session.new and not session.dirty and not session.deleted
            # reads are SELECTs, or a WITH ... SELECT (the unique checks' VALUES list)
            writes = [
                s
                for s in counter.statements
                if not s.lstrip().upper().startswith(("SELECT", "WITH"))
            ]
            assert writes == []
            session.commit()
            assert dumped(wdb) == before
