"""Joined, single-table and concrete inheritance as roots, targets and collections (issue 13.2).

Joined and single-table hierarchies work in every backend, with and without
``with_polymorphic``: a shape of a base outputs the base's fields for every row (whatever its
subclass), a shape of a subclass its own fields and only its rows. A subclass-only field on a
base's shape is refused, naming the subclass and its polymorphic identity. A per-parent
``limit`` on a base whose subclasses have tables of their own needs ``with_polymorphic`` (else
refused). Concrete inheritance is refused wherever it appears.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

import treeshape as ts
from tests.agreement import assert_backends_agree, column_names
from tests.core.reference import Tree, paths_to_tree
from tests.databases import Db
from tests.mappings.inheritance_models import (
    Animal,
    Car,
    Cashier,
    Cat,
    Company,
    Cook,
    Engineer,
    Lead,
    Machine,
    Manager,
    Member,
    Person,
    Project,
    Shop,
    Vehicle,
    Worker,
    World,
    Zoo,
    build_world,
    clean_world,
)

MODELS = (Company, Person, Engineer, Manager, Machine, Project, Member, Lead, Shop, Worker)
DEFAULTS = column_names(*MODELS, Cashier, Cook)


def fill(db: Db, world: World | None = None) -> None:
    clean_world(db.engine)
    with Session(db.engine) as session:
        build_world(session, world or World())


def agree(db: Db, shape: ts.Shape, tree: Tree, **kwargs: Any) -> list[dict[str, Any]]:
    fields = kwargs.pop("fields", {})
    return assert_backends_agree(db.engine, shape, tree, fields=fields, defaults=DEFAULTS, **kwargs)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("root", [Person, Engineer, Manager, Member, Lead, Worker, Cashier, Cook])
def test_roots(world_db: Db, root: type, seed: int) -> None:
    """Base roots list every row with the base's fields; subclass roots only their rows."""
    fill(world_db, World(seed=seed))
    docs = agree(world_db, ts.shape(root), {}, statements=1)
    keys = set(DEFAULTS[root.__name__])
    assert all(set(doc) == keys for doc in docs)


def test_base_root_outputs_base_fields_for_subclass_rows(world_db: Db) -> None:
    fill(world_db, World(people=9, seed=4))
    docs = agree(world_db, ts.shape(Person), {})
    assert {doc["type"] for doc in docs} == {"person", "engineer", "manager"}
    assert all("primary_language" not in doc and "manager_name" not in doc for doc in docs)
    engineers = agree(world_db, ts.shape(Engineer), {})
    assert [d["id"] for d in engineers] == [d["id"] for d in docs if d["type"] == "engineer"]


def test_roots_with_criteria(world_db: Db) -> None:
    fill(world_db, World(seed=5))
    agree(world_db, ts.shape(Person), {}, criteria=[Person.name == "p1"])
    agree(world_db, ts.shape(Engineer), {}, criteria=[Engineer.status.is_(None)])
    agree(world_db, ts.shape(Cook), {}, criteria=[Cook.name != "w0"])
    agree(world_db, ts.shape(Worker), {}, criteria=[Worker.kind == "cashier"])


@pytest.mark.parametrize(
    ("root", "paths", "statements"),
    [
        (Company, ["employees"], 2),
        (Company, ["engineers.machines"], 3),
        (Company, ["chief"], None),
        (Company, ["employees.company.chief"], None),
        (Engineer, ["machines.engineer.company"], None),
        (Machine, ["engineer.company.engineers"], None),
        (Project, ["members.project", "leads"], 4),
        (Shop, ["workers", "cashiers", "head_cook"], None),
        (Shop, ["cashiers.shop.head_cook"], None),
        (Cook, ["shop.workers"], None),
        (Worker, ["shop.cashiers"], None),
    ],
)
@pytest.mark.parametrize("seed", [0, 3])
def test_targets_and_collections(
    world_db: Db, root: type, paths: list[str], statements: int | None, seed: int
) -> None:
    """Bases and subclasses as collections and many-to-ones, each level one statement."""
    fill(world_db, World(seed=seed))
    agree(world_db, ts.shape(root, *paths), paths_to_tree(paths), statements=statements)


@pytest.mark.parametrize(
    ("root", "rel", "fields"),
    [
        (Company, "engineers", {}),  # a joined subclass without subclasses of its own
        (Project, "members", {}),  # a joined base loaded with_polymorphic
        (Project, "leads", {}),
        (Shop, "workers", {}),  # a single-table base
        (Shop, "cashiers", {"Cashier": ["id", "till"]}),  # a single-table subclass
    ],
)
@pytest.mark.parametrize("window", [{"limit": 1}, {"limit": 1, "offset": 1}])
def test_per_parent_limits(
    world_db_all: Db, root: type, rel: str, fields: dict[str, list[str]], window: dict[str, int]
) -> None:
    world_db = world_db_all
    fill(world_db, World(people=20, members=16, workers=20, seed=6))
    full = agree(world_db, ts.shape(root, rel, fields=fields), {rel: {}}, fields=fields)
    start = window.get("offset", 0)
    expected = [{**doc, rel: doc[rel][start : start + window["limit"]]} for doc in full]
    assert any(len(doc[rel]) > start + window["limit"] for doc in full)  # the window cuts
    shape = ts.shape(root, {rel: ts.include(**window)}, fields=fields)
    agree(world_db, shape, {rel: {}}, fields=fields, statements=2, expected=expected)


@pytest.mark.parametrize(
    ("root", "spec", "model"),
    [
        (Company, {"employees": ts.include(limit=2)}, "Person"),
        (Company, {"employees": ts.include(offset=1)}, "Person"),
        (Machine, {"engineer": {"company": {"employees": ts.include(limit=1)}}}, "Person"),
    ],
)
def test_limit_on_a_joined_base_without_with_polymorphic_is_refused(
    root: type, spec: dict[str, Any], model: str
) -> None:
    with pytest.raises(ts.SpecError) as error:
        ts.shape(root, spec)
    message = str(error.value)
    assert f"limit and offset on {model}, whose subclasses map tables of their own" in message
    assert "employees" in message and "with_polymorphic" in message


@pytest.mark.parametrize(
    ("model", "fields", "subclass", "identity"),
    [
        (Person, ["id", "primary_language"], "Engineer", "engineer"),
        (Person, ["manager_name"], "Manager", "manager"),
        (Member, ["budget"], "Lead", "lead"),
        (Worker, ["id", "station"], "Cook", "cook"),
    ],
)
def test_subclass_only_fields_are_refused(
    model: type, fields: list[str], subclass: str, identity: str
) -> None:
    with pytest.raises(ts.SpecError) as error:
        ts.shape(model, fields=fields)
    assert str(error.value).startswith(
        f"{model.__name__} has no field {fields[-1]!r}: only its subclass {subclass} "
        f"(polymorphic identity {identity!r}) has it"
    )
    assert f"Shape {subclass} (or a relationship to it)" in str(error.value)


def test_subclass_only_field_under_a_relationship_is_refused() -> None:
    with pytest.raises(ts.SpecError, match=r"Person has no field 'status': only its subclass"):
        ts.shape(Company, "employees", fields={Person: ["id", "status"]})


@pytest.mark.parametrize(
    ("root", "path", "model"),
    [(Person, "machines", "Person"), (Company, "employees.machines", "Person")],
)
def test_subclass_only_relationships_are_refused(root: type, path: str, model: str) -> None:
    with pytest.raises(ts.SpecError) as error:
        ts.shape(root, path)
    assert str(error.value).startswith(
        f"{model} has no relationship 'machines' (in include path {path!r}): only its subclass "
        f"Engineer (polymorphic identity 'engineer') has it"
    )


def test_subclass_fields_through_the_subclass(world_db: Db) -> None:
    """What the refusal suggests: shape the subclass (here a relationship to it)."""
    fill(world_db, World(seed=2))
    fields = {"Engineer": ["id", "primary_language", "status"]}
    docs = agree(
        world_db, ts.shape(Company, "engineers", fields=fields), {"engineers": {}}, fields=fields
    )
    assert any(doc["engineers"] for doc in docs)


CONCRETE = "is mapped with concrete table inheritance"


@pytest.mark.parametrize(
    ("model", "spec", "where"),
    [
        (Animal, (), "Animal (as the root)"),
        (Cat, (), "Cat (as the root)"),
        (Car, (), "Car (as the root)"),
        (Zoo, ("animals",), "Animal (at include path 'animals')"),
        (Zoo, ("cats",), "Cat (at include path 'cats')"),
        (Zoo, ({"animals": ts.include(limit=1)},), "Animal (at include path 'animals')"),
    ],
)
def test_concrete_inheritance_is_refused(model: type, spec: tuple[Any, ...], where: str) -> None:
    with pytest.raises(ts.SpecError) as error:
        ts.shape(model, *spec)
    assert str(error.value).startswith(f"{where} {CONCRETE}")
    assert "Shape a class mapped on one table instead" in str(error.value)


def test_abstract_concrete_base_is_refused() -> None:
    with pytest.raises(ts.SpecError, match=rf"Vehicle \(as the root\) {CONCRETE}"):
        ts.shape(Vehicle)
