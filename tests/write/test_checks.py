"""What `load` checks before a flush could fail: unique columns, composite foreign keys written
directly, and references to rows pending in the session.

On SQLite, PostgreSQL and MariaDB: a unique check compares values the database's way, so on
MariaDB's default (case-insensitive) collation ``A@X`` takes ``a@x``. Statement counts are exact:
one statement per unique column set and per referenced model, whatever the body's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import ALL, Db, database
from tests.statements import StatementCounter

from .edge_models import Card, Depot, EdgeBase, Member, depot_in, member_in


@pytest.fixture(scope="module", params=ALL)
def edb(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, EdgeBase.metadata) as db:
        yield db


def seed(db: Db) -> int:
    """Depots N/1 and S/2, and member 'a@x' (region N, handle h) with card C1; its key."""
    db.clean()
    with Session(db.engine) as session:
        session.add_all([Depot(region="N", code=1), Depot(region="S", code=2)])
        member = member_in.load(
            {"email": "a@x", "region": "N", "handle": "h", "card": {"number": "C1"}},
            session=session,
        )
        session.commit()
        return int(member.member_id)


@pytest.fixture
def db(edb: Db) -> Db:
    return edb


def errors(exc: pytest.ExceptionInfo[ts.InputError]) -> set[tuple[Any, str]]:
    return {(e["loc"], e["type"]) for e in exc.value.errors}


def attempt(
    db: Db, data: dict[str, Any], *, patch: int | None = None, pending: Any = None
) -> tuple[set[tuple[Any, str]], int]:
    """Load ``data`` (a create, or a patch of member ``patch``); its errors and reads."""
    with Session(db.engine) as session:
        if pending is not None:
            session.add(pending)
        instance = session.get(Member, patch) if patch is not None else None
        with StatementCounter(db.engine) as counter:
            try:
                member_in.load(data, session=session, instance=instance, partial=patch is not None)
            except ts.InputError as exc:
                assert not session.dirty and not session.deleted
                assert set(session.new) == ({pending} if pending is not None else set())
                return {(e["loc"], e["type"]) for e in exc.errors}, counter.count
        session.commit()  # the flush the checks stand for: it must not fail
        return set(), counter.count


def test_unique_columns_are_checked_before_the_flush(db: Db) -> None:
    seed(db)
    found, reads = attempt(
        db, {"email": "a@x", "region": "N", "handle": "h", "card": {"number": "C1"}}
    )
    # email, region/handle and the card's number: one statement per unique column set
    assert reads == 3
    assert found == {
        (("email",), "already_exists"),
        (("region",), "already_exists"),
        (("card", "number"), "already_exists"),
    }
    assert attempt(db, {"email": "b@x", "region": "N", "handle": "h2"}) == (set(), 2)
    # NULLs never collide (region/handle with no handle is not checked)
    assert attempt(db, {"email": "c@x", "region": "N"}) == (set(), 1)
    assert attempt(db, {"email": "d@x", "region": "N"}) == (set(), 1)


def test_a_unique_value_may_stay_on_its_own_row(db: Db) -> None:
    member_id = seed(db)
    # a patch that repeats the member's own values, and one that changes the card's number
    assert attempt(db, {"email": "a@x", "handle": "h"}, patch=member_id) == (set(), 2)
    assert attempt(db, {"card": {"number": "C9"}}, patch=member_id) == (set(), 2)
    with Session(db.engine) as session:
        assert session.scalar(select(Card.number)) == "C9"


def test_a_patch_takes_a_value_from_another_row(db: Db) -> None:
    seed(db)
    with Session(db.engine) as session:
        other = member_in.load({"email": "b@x", "region": "S", "handle": "h"}, session=session)
        session.commit()
        other_id = other.member_id
    # handle 'h' alone is checked with the region the row keeps (S): its own; region N is not
    assert attempt(db, {"handle": "h"}, patch=other_id) == (set(), 1)
    found, reads = attempt(db, {"region": "N"}, patch=other_id)
    assert found == {(("region",), "already_exists")} and reads == 1


def test_duplicates_within_the_body(db: Db) -> None:
    seed(db)
    body = {
        "region": "E",
        "code": 5,
        "members": [
            {"email": "n@x", "region": "N", "handle": "k"},
            {"email": "m@x", "region": "N", "handle": "k"},
            {"email": "n@x", "region": "S"},
            {"email": "a@x", "region": "S"},
        ],
    }
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        with pytest.raises(ts.InputError) as info:
            depot_in.load(body, session=session)
        # the depot's key, then email and region/handle
        assert counter.count == 3
        assert not session.new
    assert errors(info) == {
        (("members", 1, "region"), "duplicate_value"),
        (("members", 2, "email"), "duplicate_value"),
        (("members", 3, "email"), "already_exists"),
    }
    assert "members.0" in info.value.errors[0]["msg"] or "members.0" in str(info.value)


def test_one_statement_per_unique_set_whatever_the_body_size(db: Db) -> None:
    seed(db)
    members = [{"email": f"m{i}@x", "region": "N", "handle": f"k{i}"} for i in range(600)]
    members[599]["email"] = "a@x"
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        with pytest.raises(ts.InputError) as info:
            depot_in.load({"region": "E", "code": 5, "members": members}, session=session)
        assert counter.count == 3  # the depot's key, email, region/handle
    assert errors(info) == {(("members", 599, "email"), "already_exists")}


def test_a_value_pending_from_an_earlier_load(db: Db) -> None:
    seed(db)
    with Session(db.engine) as session:
        member_in.load({"email": "x@x", "region": "N"}, session=session)
        with pytest.raises(ts.InputError) as info:
            member_in.load({"email": "x@x", "region": "S"}, session=session)
        assert len(session.new) == 1
    assert errors(info) == {(("email",), "already_exists")}
    assert "pending" in info.value.errors[0]["msg"]


def test_unique_values_compare_as_the_database_does(db: Db) -> None:
    seed(db)
    found, _ = attempt(db, {"email": "A@X", "region": "N"})
    if db.kind == "mariadb":
        # the server's default collation folds case: the flush would fail, so load refuses
        assert found == {(("email",), "already_exists")}
    else:
        assert found == set()


def test_composite_foreign_keys_are_checked_as_a_whole(db: Db) -> None:
    member_id = seed(db)
    # N/2 and S/1 each have a column that exists alone: the pair names no depot
    found, reads = attempt(
        db, {"email": "b@x", "region": "N", "depot_region": "N", "depot_code": 2}
    )
    assert found == {(("depot_region",), "not_found")} and reads == 2
    assert attempt(db, {"email": "b@x", "region": "N", "depot_region": "S", "depot_code": 2}) == (
        set(),
        2,
    )
    # a patch of one column is checked with the row's other column
    assert attempt(db, {"depot_region": "N", "depot_code": 1}, patch=member_id) == (set(), 1)
    found, reads = attempt(db, {"depot_code": 2}, patch=member_id)
    assert found == {(("depot_code",), "not_found")} and reads == 1
    # a NULL column: the constraint does not apply (MATCH SIMPLE), nothing to read
    assert attempt(db, {"depot_region": None}, patch=member_id) == (set(), 0)


def test_references_to_pending_rows(db: Db) -> None:
    seed(db)
    # a depot added to the session and not flushed is a valid target, without a read
    found, reads = attempt(
        db,
        {"email": "p@x", "region": "N", "depot_region": "Q", "depot_code": 9},
        pending=Depot(region="Q", code=9),
    )
    assert found == set() and reads == 1  # the email's unique check only
    with Session(db.engine) as session:
        assert session.get(Depot, ("Q", 9)) is not None
    # a pending member holding the email: the flush would fail
    found, _ = attempt(
        db, {"email": "p2@x", "region": "N"}, pending=Member(email="p2@x", region="Z")
    )
    assert found == {(("email",), "already_exists")}


def test_references_to_rows_the_session_deletes(db: Db) -> None:
    seed(db)
    with Session(db.engine) as session:
        session.delete(session.get(Depot, ("S", 2)))
        with pytest.raises(ts.InputError) as info:
            member_in.load(
                {"email": "b@x", "region": "N", "depot_region": "S", "depot_code": 2},
                session=session,
            )
        assert errors(info) == {(("depot_region",), "not_found")}


def test_the_root_key_of_a_pending_row(db: Db) -> None:
    seed(db)
    shape = ts.shape(Depot, fields=["region", "code", "name"])
    with Session(db.engine) as session:
        session.add(Depot(region="W", code=3))
        with StatementCounter(db.engine) as counter, pytest.raises(ts.InputError) as info:
            shape.load({"region": "W", "code": 3}, session=session)
        assert counter.count == 0
    assert errors(info) == {((), "already_exists")}


EMAILS = st.lists(st.sampled_from(["a@x", "b@x", "c@x", "d@x"]), min_size=1, max_size=4)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(emails=EMAILS, taken=st.sets(st.sampled_from(["a@x", "b@x", "c@x"]), max_size=2))
def test_unique_verdict_matches_the_database(edb: Db, emails: list[str], taken: set[str]) -> None:
    """``load`` refuses a set of members exactly when inserting them would break the
    unique constraint: checked against the database itself (IntegrityError or not)."""
    edb.clean()
    with Session(edb.engine) as session:
        session.add_all([Member(email=e, region="T") for e in sorted(taken)])
        session.commit()
    refused = False
    with Session(edb.engine) as session:
        try:
            for email in emails:
                member_in.load({"email": email, "region": "N"}, session=session)
        except ts.InputError:
            refused = True
        session.rollback()
    with Session(edb.engine) as session:
        session.add_all([Member(email=e, region="N") for e in emails])
        try:
            session.commit()
            fails = False
        except IntegrityError:
            fails = True
    assert refused == fails
    with Session(edb.engine) as session:
        assert session.scalar(select(func.count()).select_from(Member)) == len(taken) + (
            0 if fails else len(emails)
        )


DEPOTS = [("N", 1), ("S", 2)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    region=st.none() | st.sampled_from(["N", "S", "W"]),
    code=st.none() | st.sampled_from([1, 2, 3]),
)
def test_composite_foreign_key_verdict(edb: Db, region: str | None, code: int | None) -> None:
    """A member's depot columns are refused exactly when both are set and name no depot; on
    PostgreSQL and MariaDB, which enforce the constraint, exactly when the insert would fail."""
    seed(edb)
    data = {"email": "z@x", "region": "N", "depot_region": region, "depot_code": code}
    found, _ = attempt(edb, data)
    dangling = region is not None and code is not None and (region, code) not in DEPOTS
    assert found == ({(("depot_region",), "not_found")} if dangling else set())
    if edb.kind != "sqlite":
        with Session(edb.engine) as session:
            session.add(Member(email="y@x", region="N", depot_region=region, depot_code=code))
            try:
                session.commit()
                refused = False
            except IntegrityError:
                refused = True
        assert refused == dangling


def test_nul_in_text_is_refused_everywhere(db: Db) -> None:
    """PostgreSQL cannot store U+0000 in text: every database refuses it before any statement,
    in both input frameworks, and the input model's JSON Schema says so."""
    seed(db)
    body = {"email": "n\x00@x", "region": "N", "card": {"number": "C\x00"}}
    found, reads = attempt(db, body)
    assert found == {(("email",), "string_nul"), (("card", "number"), "string_nul")}
    assert reads == 0
    model = member_in.input_model("create")
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    assert {(e["loc"], e["type"]) for e in info.value.errors()} == found
    with pytest.raises(ma.ValidationError) as mm_info:
        member_in.input_schema("create")().load(body)
    assert set(mm_info.value.messages) == {"email", "card"}
    assert model.model_json_schema()["properties"]["email"]["pattern"] == "^[^\\u0000]*$"
