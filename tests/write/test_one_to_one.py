"""One-to-one (``uselist=False``) children: create, replace and patch, on SQLite and PostgreSQL.

A member has a card (its own generated key), a bio (keyed by the member's key: no key in a
body) and a locker (nullable foreign key, ``on_missing="unlink"``). A one-to-one child given
without its key is the parent's existing child, if it has one; ``null`` removes it by its
``on_missing``; a replace must give it (like a collection); a patch merges into it, and a patch
that creates it must carry what a create needs. Statement counts are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import BOTH, Db, database
from tests.statements import StatementCounter
from treeshape.write import marshmallow_errors

from .edge_models import Bio, Card, EdgeBase, Locker, Member, member_in, member_shape


@pytest.fixture(scope="module", params=BOTH)
def odb(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, EdgeBase.metadata) as db:
        yield db


@pytest.fixture
def db(odb: Db) -> Db:
    odb.clean()
    return odb


FULL = {
    "email": "a@x",
    "region": "N",
    "card": {"number": "C1"},
    "bio": {"text": "hello"},
    "locker": {"label": "L1"},
}


def create(db: Db, data: dict[str, Any] | None = None, shape: ts.Shape = member_in) -> int:
    with Session(db.engine) as session:
        member = shape.load(data or FULL, session=session)
        session.commit()
        return int(member.member_id)


def read(db: Db, member_id: int, shape: ts.Shape = member_in) -> dict[str, Any]:
    with Session(db.engine) as session:
        stmt = select(Member).where(Member.member_id == member_id)
        result: dict[str, Any] = shape.dump(
            session.scalars(stmt.options(*shape.loader_options())).one()
        )
        return result


def load(
    db: Db,
    member_id: int,
    data: dict[str, Any],
    *,
    partial: bool = False,
    shape: ts.Shape = member_in,
) -> int:
    """Replace (or patch) member ``member_id`` with ``data`` and commit; the reads it cost."""
    with Session(db.engine) as session:
        member = session.get(Member, member_id)
        with StatementCounter(db.engine) as counter:
            member_in.load(data, session=session, instance=member, partial=partial)
        session.commit()
        return counter.count


def without_keys(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the generated keys (member_id, card_id, locker_id)."""
    result = {k: v for k, v in data.items() if k != "member_id"}
    for name, key in (("card", "card_id"), ("locker", "locker_id")):
        if isinstance(result.get(name), dict):
            result[name] = {k: v for k, v in result[name].items() if k != key}
    return result


def test_create_with_one_to_one_children(db: Db) -> None:
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        member_in.load(FULL, session=session)
        assert counter.count == 2  # the unique email and card number
        session.commit()
    (member_id,) = Session(db.engine).scalars(select(Member.member_id)).all()
    got = read(db, member_id)
    assert without_keys(got) == {"handle": None, "depot_region": None, "depot_code": None, **FULL}


def test_replace_updates_the_existing_children_in_place(db: Db) -> None:
    member_id = create(db)
    before = read(db, member_id)
    new = {
        **FULL,
        "card": {"number": "C2"},  # no key: the member's existing card
        "bio": {"text": "changed"},
        "locker": {"locker_id": before["locker"]["locker_id"], "label": "L2"},
    }
    # card, bio and locker (one statement each); the unique email and card number
    assert load(db, member_id, new) == 5
    after = read(db, member_id)
    assert after["card"] == {"card_id": before["card"]["card_id"], "number": "C2"}
    assert after["bio"] == {"text": "changed"}
    assert after["locker"] == {"locker_id": before["locker"]["locker_id"], "label": "L2"}
    with Session(db.engine) as session:
        assert len(session.scalars(select(Card)).all()) == 1
        assert len(session.scalars(select(Locker)).all()) == 1


def test_replace_with_null_follows_on_missing(db: Db) -> None:
    member_id = create(db)
    before = read(db, member_id)
    load(db, member_id, {**FULL, "card": None, "bio": None, "locker": None})
    assert read(db, member_id) == {**before, "card": None, "bio": None, "locker": None}
    with Session(db.engine) as session:
        assert session.scalars(select(Card)).all() == []  # "delete"
        assert session.scalars(select(Bio)).all() == []  # "delete"
        (locker,) = session.scalars(select(Locker)).all()  # "unlink"
        assert locker.member_id is None and locker.label == "L1"


def test_replace_must_give_each_one_to_one_child(db: Db) -> None:
    member_id = create(db)
    data = {"email": "a@x", "region": "N", "card": None}
    expected = {(("bio",), "missing"), (("locker",), "missing")}
    with pytest.raises(ma.ValidationError) as refused:
        member_in.input_schema("replace")().load(data)
    assert {(e["loc"], e["type"]) for e in marshmallow_errors(refused.value.messages)} == expected
    with Session(db.engine) as session, pytest.raises(ts.InputError) as info:
        member_in.load(data, session=session, instance=session.get(Member, member_id))
    assert {(e["loc"], e["type"]) for e in info.value.errors} == expected


def test_on_missing_error_keeps_the_child(db: Db) -> None:
    strict = member_shape(card="error", bio="error", locker="error")
    member_id = create(db, shape=strict)
    card_id = read(db, member_id, strict)["card"]["card_id"]
    with Session(db.engine) as session:
        with pytest.raises(ts.InputError) as info:
            strict.load(
                {**FULL, "card": None, "bio": None, "locker": None},
                session=session,
                instance=session.get(Member, member_id),
            )
        assert not session.new and not session.dirty and not session.deleted
    found = {e["loc"]: e["msg"] for e in info.value.errors}
    assert set(found) == {("card",), ("bio",), ("locker",)}
    assert f"card_id {card_id}" in found[("card",)] and "the existing Bio;" in found[("bio",)]
    assert {e["type"] for e in info.value.errors} == {"missing_children"}


def test_patch_merges_into_the_existing_child(db: Db) -> None:
    member_id = create(db)
    before = read(db, member_id)
    # the card (one statement) and the card number's unique check
    assert load(db, member_id, {"card": {"number": "C7"}}, partial=True) == 2
    assert read(db, member_id) == {**before, "card": {**before["card"], "number": "C7"}}
    assert load(db, member_id, {"bio": {}}, partial=True) == 1  # the bio; nothing to write
    assert read(db, member_id) == {**before, "card": {**before["card"], "number": "C7"}}


def test_a_patch_that_creates_a_child_needs_what_a_create_needs(db: Db) -> None:
    member_id = create(db, {"email": "a@x", "region": "N"})
    with Session(db.engine) as session:
        member = session.get(Member, member_id)
        with pytest.raises(ts.InputError) as info:
            member_in.load(
                {"card": {}, "bio": {}, "locker": {"label": "L"}},
                session=session,
                instance=member,
                partial=True,
            )
        assert not session.new and not session.dirty
    assert {(e["loc"], e["type"]) for e in info.value.errors} == {
        (("card", "number"), "missing"),
        (("bio", "text"), "missing"),
    }
    load(db, member_id, {"card": {"number": "C3"}, "bio": {"text": "t"}}, partial=True)
    got = read(db, member_id)
    assert got["card"]["number"] == "C3" and got["bio"] == {"text": "t"} and got["locker"] is None


def test_a_key_of_another_parents_child_is_refused(db: Db) -> None:
    create(db)
    other = create(db, {**FULL, "email": "b@x", "card": {"number": "C2"}})
    theirs = read(db, other)
    mine = create(db, {**FULL, "email": "c@x", "card": {"number": "C3"}})
    data = {
        **FULL,
        "email": "c@x",
        "card": {"card_id": theirs["card"]["card_id"], "number": "C9"},
        "locker": {"locker_id": theirs["locker"]["locker_id"], "label": "L"},
    }
    with Session(db.engine) as session, pytest.raises(ts.InputError) as info:
        member_in.load(data, session=session, instance=session.get(Member, mine))
    assert {(e["loc"], e["type"]) for e in info.value.errors} == {
        (("card", "card_id"), "not_a_child"),
        (("locker", "locker_id"), "not_a_child"),
    }
    assert read(db, other) == theirs


CHILDREN = st.fixed_dictionaries(
    {
        "card": st.none() | st.builds(lambda n: {"number": f"C{n}"}, st.integers(0, 99)),
        "bio": st.none()
        | st.builds(
            # Text a column can store: no NUL, no lone surrogate (input models refuse both).
            lambda t: {"text": t},
            st.text(
                st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=40
            ),
        ),
        "locker": st.none() | st.builds(lambda t: {"label": t}, st.text("abc", max_size=10)),
    }
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=CHILDREN, second=CHILDREN, partial=st.booleans())
def test_create_then_replace_or_patch_reads_back(
    odb: Db, first: dict[str, Any], second: dict[str, Any], partial: bool
) -> None:
    """Create with some children, replace or patch with others: the read shape's dump is the
    body (generated keys aside), and an existing card keeps its key."""
    odb.clean()
    base = {"email": "a@x", "region": "N"}
    member_id = create(odb, {**base, **first})
    assert without_keys(read(odb, member_id)) == {
        "handle": None,
        "depot_region": None,
        "depot_code": None,
        **base,
        **first,
    }
    card_before = read(odb, member_id)["card"]
    load(odb, member_id, second if partial else {**base, **second}, partial=partial)
    after = read(odb, member_id)
    expected = dict(second)
    if partial:
        # a patch merges into an existing child: the bio's and locker's text stay as given
        for name in ("card", "bio", "locker"):
            if second[name] is not None and first[name] is not None:
                expected[name] = {**first[name], **second[name]}
    assert {k: v for k, v in without_keys(after).items() if k in expected} == expected
    if card_before is not None and second["card"] is not None:
        assert after["card"]["card_id"] == card_before["card_id"]
    with Session(odb.engine) as session:
        assert len(session.scalars(select(Card)).all()) == (second["card"] is not None)
        assert len(session.scalars(select(Bio)).all()) == (second["bio"] is not None)
