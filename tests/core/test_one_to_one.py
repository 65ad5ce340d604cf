"""One-to-one (``uselist=False``) relationships at every place of a shape, on every backend.

The four kinds of `tests.one_to_one_models` (referenced side, unique foreign key, shared
primary key, through a keyed secondary) at the root, under collections, under one another and
at the leaves: every backend equals the reference walk, an object or ``null`` under the
relationship's name, loading costs one statement per relationship level, and `fetch` gives the
same documents in both strategies, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect
from sqlalchemy.orm import Session

import treeshape as ts
from tests.agreement import assert_backends_agree, column_names, without_jit
from tests.core.reference import Tree, paths_to_tree
from tests.databases import BOTH, Db, database
from tests.one_to_one_models import (
    OneToOneBase,
    Staff,
    StaffBadge,
    StaffDesk,
    StaffingSpec,
    StaffOffice,
    StaffProfile,
    StaffTeam,
    build_staffing,
)
from tests.strategies import models_in

MODELS: tuple[type, ...] = (Staff, StaffBadge, StaffDesk, StaffProfile, StaffOffice, StaffTeam)
DEFAULTS = column_names(*MODELS)

staffing = st.builds(
    StaffingSpec,
    teams=st.integers(0, 2),
    staff=st.integers(0, 7),
    desks=st.integers(0, 5),
    offices=st.integers(0, 3),
    seed=st.integers(0, 11),
)


@pytest.fixture(scope="module", params=BOTH)
def staff_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    """The one-to-one models' tables on SQLite, then PostgreSQL."""
    with database(request, OneToOneBase.metadata) as db:
        yield without_jit(db)


def fill(db: Db, spec: StaffingSpec) -> None:
    db.clean()
    with Session(db.engine) as session:
        build_staffing(session, spec)


@st.composite
def trees(draw: st.DrawFn, model: type, depth: int) -> Tree:
    """Any of ``model``'s relationships (none for a model without any), down to ``depth``."""
    relationships = inspect(model).relationships
    if depth <= 0 or not relationships:
        return {}
    chosen = draw(st.lists(st.sampled_from(sorted(relationships.keys())), unique=True))
    return {name: draw(trees(relationships[name].mapper.class_, depth - 1)) for name in chosen}


@st.composite
def one_to_one_specs(draw: st.DrawFn) -> tuple[type, Tree, dict[str, list[str]]]:
    """A root among the one-to-one models, a tree up to 3 deep and some field subsets."""
    root = draw(st.sampled_from(MODELS))
    tree = draw(trees(root, 3))
    fields: dict[str, list[str]] = {}
    for model in sorted(models_in(root, tree), key=lambda m: m.__name__):
        if draw(st.booleans()):
            columns = DEFAULTS[model.__name__]
            fields[model.__name__] = draw(st.lists(st.sampled_from(columns), unique=True))
    return root, tree, fields


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=one_to_one_specs(), data=staffing)
def test_random_one_to_one_shapes_agree(
    staff_db: Db, spec: tuple[type, Tree, dict[str, list[str]]], data: StaffingSpec
) -> None:
    root, tree, fields = spec
    fill(staff_db, data)
    shape = ts.shape(root, tree, fields=fields)
    assert_backends_agree(staff_db.engine, shape, tree, fields=fields, defaults=DEFAULTS)


def test_every_kind_at_the_root_and_missing(staff_db: Db) -> None:
    """An employee's four one-to-ones: objects where rows exist, ``null`` where none does."""
    fill(staff_db, StaffingSpec(teams=1, staff=6, desks=3, offices=2, seed=1))
    paths = ["badge", "desk", "profile", "office"]
    shape = ts.shape(Staff, *paths)
    docs = assert_backends_agree(
        staff_db.engine,
        shape,
        paths_to_tree(paths),
        fields={},
        defaults=DEFAULTS,
        statements=5,  # the employees, then one statement per relationship
    )
    for key in paths:
        values = [doc[key] for doc in docs]
        assert None in values, key  # the data has employees without each of them...
        assert any(value is not None for value in values), key  # ...and with
    badged = [doc for doc in docs if doc["badge"] is not None]
    assert all(doc["badge"]["staff_id"] == doc["staff_id"] for doc in badged)
    assert all(doc["profile"]["staff_id"] == doc["staff_id"] for doc in docs if doc["profile"])
    assert all(doc["desk"]["desk_id"] == doc["desk_id"] for doc in docs if doc["desk"])


def test_one_to_ones_under_a_collection_and_under_each_other(staff_db: Db) -> None:
    fill(staff_db, StaffingSpec(teams=2, staff=7, desks=5, offices=3, seed=2))
    paths = ["members.badge.holder.desk.occupant.profile", "members.office"]
    shape = ts.shape(StaffTeam, *paths, fields={"StaffBadge": ["code"], "StaffDesk": ["floor"]})
    assert_backends_agree(
        staff_db.engine,
        shape,
        paths_to_tree(paths),
        fields={"StaffBadge": ["code"], "StaffDesk": ["floor"]},
        defaults=DEFAULTS,
        statements=8,  # teams, members, badges, holders, desks, occupants, profiles, offices
    )


def test_from_the_one_to_one_back_to_a_collection(staff_db: Db) -> None:
    fill(staff_db, StaffingSpec(teams=2, staff=5, desks=4, seed=3))
    paths = ["occupant.team.members.badge"]
    shape = ts.shape(StaffDesk, *paths)
    docs = assert_backends_agree(
        staff_db.engine, shape, paths_to_tree(paths), fields={}, defaults=DEFAULTS
    )
    assert any(doc["occupant"] is None for doc in docs)  # an unoccupied desk is null


def test_ids_of_the_foreign_key_side(staff_db: Db) -> None:
    """``ids`` on the unique foreign key: the desk's key, read from the employee (no load)."""
    fill(staff_db, StaffingSpec(teams=1, staff=5, desks=3, seed=1))
    full = ts.shape(Staff, "desk", fields={"Staff": ["staff_id"], "StaffDesk": ["desk_id"]})
    embedded = assert_backends_agree(
        staff_db.engine,
        full,
        {"desk": {}},
        fields={"Staff": ["staff_id"], "StaffDesk": ["desk_id"]},
        defaults=DEFAULTS,
    )
    expected = [
        {"staff_id": d["staff_id"], "desk": d["desk"] and d["desk"]["desk_id"]} for d in embedded
    ]
    assert None in [d["desk"] for d in expected] and any(d["desk"] for d in expected)
    assert_backends_agree(
        staff_db.engine,
        ts.shape(Staff, {"desk": ts.include(ids=True)}, fields=["staff_id"]),
        {},  # nothing to load: the key is the employee's own column
        fields={},
        defaults=DEFAULTS,
        statements=1,
        expected=expected,
    )


@pytest.mark.parametrize("name", ["badge", "profile", "office"])
def test_ids_of_a_one_to_one_without_the_key_is_a_spec_error(name: str) -> None:
    with pytest.raises(ts.SpecError, match=rf"Staff\.{name} .*ids on a single object need a"):
        ts.shape(Staff, {name: ts.include(ids=True)})


@pytest.mark.parametrize("option", ["count=True", "limit=1", "order_by=code"])
def test_collection_options_on_a_one_to_one_are_spec_errors(option: str) -> None:
    with pytest.raises(ts.SpecError, match=r"Staff\.badge .*is a single object, not a collection"):
        ts.shape(Staff, f"badge({option})")


def test_generated_types_say_object_or_null() -> None:
    shape = ts.shape(Staff, "badge", "profile", "desk", "office", "team")
    props = shape.json_schema()["properties"]
    for name in ("badge", "profile", "desk", "office"):  # the row may not exist
        assert len(props[name]["anyOf"]) == 2 and {"type": "null"} in props[name]["anyOf"], name
    assert "anyOf" not in props["team"]  # team_id is NOT NULL
    holder = ts.shape(StaffBadge, "holder").json_schema()["properties"]["holder"]
    assert "anyOf" not in holder  # staff_id is NOT NULL
    fields = shape.marshmallow_schema().fields
    for name in ("badge", "profile", "desk", "office"):
        assert fields[name].many is False and fields[name].allow_none is True, name  # type: ignore[attr-defined]
    assert fields["team"].allow_none is False


def test_narrowing_to_a_one_to_one(staff_db: Db) -> None:
    fill(staff_db, StaffingSpec(teams=1, staff=4, seed=0))
    shape = ts.shape(Staff, "badge.holder", "desk", fields={"StaffBadge": ["code", "issued"]})
    narrowed = shape.narrow("badge", fields={"StaffBadge": ["code"]})
    assert narrowed == ts.shape(Staff, "badge", fields={"StaffBadge": ["code"]})
    assert_backends_agree(
        staff_db.engine,
        narrowed,
        {"badge": {}},
        fields={"StaffBadge": ["code"]},
        defaults=DEFAULTS,
        statements=2,
    )
