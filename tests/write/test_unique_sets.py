"""Unique checks that need the database's comparison or the parent's foreign key.

On SQLite, PostgreSQL and MariaDB, with ``Roster``/``Shift`` (`edge_models`): a roster's name
and each shift's code are compared case-insensitively by every database (NOCASE, citext,
MariaDB's default collation), and a shift's position and code are unique per roster
(``UNIQUE(roster_id, ...)``, the foreign key the roster's relationship sets). ``load`` must
refuse, with the JSON paths and before any write, exactly the bodies whose flush would fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import ALL, Db, database
from tests.statements import StatementCounter

from .edge_models import EdgeBase, Roster, Shift, roster_in


@pytest.fixture(scope="module", params=ALL)
def rdb(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, EdgeBase.metadata) as db:
        yield db


def stored(db: Db, name: str, shifts: list[tuple[int, str]]) -> tuple[int, list[int]]:
    """A roster ``name`` with ``shifts`` (position, code), committed: its key and theirs."""
    with Session(db.engine) as session:
        roster = Roster(name=name, shifts=[Shift(position=p, code=c) for p, c in shifts])
        session.add(roster)
        session.commit()
        return roster.roster_id, [s.shift_id for s in roster.shifts]


def attempt(db: Db, body: dict[str, Any], roster_id: int | None = None) -> tuple[set[Any], int]:
    """Load ``body`` (a create, or a replace of roster ``roster_id``) and commit: its errors
    (loc, type) and the statements it read with; the session is checked unchanged on error."""
    with Session(db.engine) as session:
        instance = session.get(Roster, roster_id) if roster_id is not None else None
        if instance is not None:
            instance.shifts  # noqa: B018 - loaded before counting
        with StatementCounter(db.engine) as counter:
            try:
                roster_in.load(body, session=session, instance=instance)
            except ts.InputError as exc:
                assert not session.new and not session.dirty and not session.deleted
                return {(e["loc"], e["type"]) for e in exc.errors}, counter.count
        session.commit()  # what the checks stand for: this flush must not fail
        return set(), counter.count


def shifts(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"position": p, "code": c} for p, c in pairs]


def test_values_that_differ_in_case_are_given_twice(rdb: Db) -> None:
    rdb.clean()
    found, reads = attempt(rdb, {"name": "R", "shifts": shifts((1, "am"), (2, "pm"), (3, "AM"))})
    # one statement per unique set: the roster's name, the shifts' position and code
    assert reads == 3
    assert found == {(("shifts", 2, "code"), "duplicate_value")}
    with Session(rdb.engine) as session, pytest.raises(ts.InputError) as info:
        roster_in.load({"name": "R", "shifts": shifts((1, "am"), (2, "AM"))}, session=session)
    (error,) = info.value.errors
    assert error["msg"] == (
        "roster_id/code (None, 'AM') is given twice in this body (also at shifts.0); "
        "Shift.roster_id/code is unique."
    )


def test_the_database_itself_refuses_those_values(rdb: Db) -> None:
    """The premise of the test above: each database compares these columns without case."""
    rdb.clean()
    for rows in ([("X", 1, "am"), ("Y", 2, "AM")], [("X", 1, "am"), ("x", 2, "pm")]):
        with Session(rdb.engine) as session:
            roster = Roster(name=rows[0][0], shifts=[Shift(position=rows[0][1], code=rows[0][2])])
            session.add(roster)
            if rows[1][0] == "Y":
                roster.shifts.append(Shift(position=rows[1][1], code=rows[1][2]))
            else:
                session.add(Roster(name=rows[1][0]))
            with pytest.raises(IntegrityError):
                session.commit()


def test_a_stored_value_in_another_case_is_taken(rdb: Db) -> None:
    rdb.clean()
    stored(rdb, "north", [(1, "am")])
    found, reads = attempt(rdb, {"name": "NORTH", "shifts": []})
    assert found == {(("name",), "already_exists")} and reads == 1


def test_a_parent_key_unique_set_within_one_parent(rdb: Db) -> None:
    rdb.clean()
    found, _ = attempt(rdb, {"name": "R", "shifts": shifts((1, "am"), (1, "pm"), (2, "x"))})
    assert found == {(("shifts", 1, "position"), "duplicate_value")}
    # the same positions and codes under two rosters are no conflict
    stored(rdb, "S", [(1, "am"), (2, "pm")])
    assert attempt(rdb, {"name": "T", "shifts": shifts((1, "am"), (2, "pm"))}) == (set(), 3)


def test_a_parent_key_unique_set_against_the_parents_stored_children(rdb: Db) -> None:
    rdb.clean()
    roster_id, (first, second) = stored(rdb, "R", [(1, "am"), (2, "pm")])
    stored(rdb, "Other", [(3, "eve")])
    keep = {"shift_id": first, "position": 1, "code": "am"}
    # the shift at position 2 is left out (deleted at the flush, after the insert): a new
    # shift cannot take its position or its code yet; another roster's 3/eve is no conflict
    body = {
        "name": "R",
        "shifts": [keep, {"position": 2, "code": "PM"}, {"position": 3, "code": "eve"}],
    }
    found, reads = attempt(rdb, body, roster_id)
    assert found == {
        (("shifts", 1, "position"), "already_exists"),
        (("shifts", 1, "code"), "already_exists"),
    }
    assert reads == 3  # the name, position and code (the shifts are loaded)
    # each shift keeping its own values, one changed: nothing taken
    body = {
        "name": "r",
        "shifts": [keep, {"shift_id": second, "position": 2, "code": "late"}],
    }
    assert attempt(rdb, body, roster_id) == (set(), 3)
    with Session(rdb.engine) as session:
        codes = session.scalars(select(Shift.code).order_by(Shift.shift_id)).all()
    assert codes == ["am", "late", "eve"]


POSITIONS = st.lists(
    st.tuples(st.sampled_from([1, 2, 3]), st.sampled_from(["am", "AM", "pm", "eve"])),
    max_size=4,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=POSITIONS, name=st.sampled_from(["R", "r", "Q"]))
def test_refused_exactly_when_the_flush_fails(
    rdb: Db, pairs: list[tuple[int, str]], name: str
) -> None:
    """Against a stored roster 'R' (1/am): ``load`` refuses a new roster exactly when
    inserting the same rows fails on the database, and then nothing is written."""
    rdb.clean()
    stored(rdb, "R", [(1, "am")])

    def fails(roster: Roster) -> bool:
        with Session(rdb.engine) as session:
            session.add(roster)
            try:
                session.flush()
                return False
            except IntegrityError:
                return True
            finally:
                session.rollback()

    # the shifts under a roster of a free name, then the name alone
    expected = fails(Roster(name="free", shifts=[Shift(position=p, code=c) for p, c in pairs]))
    expected = fails(Roster(name=name)) or expected
    found, _ = attempt(rdb, {"name": name, "shifts": shifts(*pairs)})
    assert bool(found) == expected
    with Session(rdb.engine) as session:
        assert session.scalar(select(func.count()).select_from(Roster)) == (1 if found else 2)
