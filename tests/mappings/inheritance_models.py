"""The three inheritance kinds as SQLAlchemy's own examples write them, plus collection classes.

Joined (``Company`` -> ``Person`` <- ``Engineer``, ``Manager``, as in SQLAlchemy's
``examples/inheritance/joined.py``), the same with ``with_polymorphic="*"`` (``Project`` ->
``Member`` <- ``Lead``), single-table (``Shop`` -> ``Worker`` <- ``Cashier``, ``Cook``) and
concrete (``Zoo`` -> ``Animal`` <- ``Cat``, with ``ConcreteBase``; ``Vehicle`` with
``AbstractConcreteBase``). Relationships point at bases and subclasses, as collections and as
many-to-ones, from plain classes and from subclasses; ``Company.badges`` is a set and
``Company.offices`` a keyed dict (refused), beside their list forms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import Engine, ForeignKey, String, update
from sqlalchemy.ext.declarative import AbstractConcreteBase, ConcreteBase
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.collections import attribute_keyed_dict

__all__ = [
    "Animal",
    "Badge",
    "Car",
    "Cashier",
    "Cat",
    "Company",
    "Cook",
    "Engineer",
    "InheritanceBase",
    "Lead",
    "Machine",
    "Manager",
    "Member",
    "Office",
    "Person",
    "Project",
    "Shop",
    "Truck",
    "Vehicle",
    "Worker",
    "World",
    "Zoo",
    "build_world",
    "clean_world",
]


class InheritanceBase(DeclarativeBase):
    pass


# -- joined table inheritance ------------------------------------------------------------------


class Company(InheritanceBase):
    __tablename__ = "company"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("manager.id", use_alter=True))
    employees: Mapped[list[Person]] = relationship(
        back_populates="company", order_by="Person.id", foreign_keys="Person.company_id"
    )
    engineers: Mapped[list[Engineer]] = relationship(
        viewonly=True, order_by="Engineer.id", foreign_keys="Person.company_id"
    )
    chief: Mapped[Manager | None] = relationship(foreign_keys=[chief_id], post_update=True)
    badges: Mapped[set[Badge]] = relationship()
    badge_list: Mapped[list[Badge]] = relationship(viewonly=True, order_by="Badge.id")
    offices: Mapped[dict[str, Office]] = relationship(collection_class=attribute_keyed_dict("city"))
    office_list: Mapped[list[Office]] = relationship(viewonly=True, order_by="Office.id")


class Person(InheritanceBase):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))
    name: Mapped[str] = mapped_column(String(50))
    type: Mapped[str] = mapped_column(String(50))
    company: Mapped[Company | None] = relationship(
        back_populates="employees", foreign_keys=[company_id]
    )
    __mapper_args__ = {"polymorphic_identity": "person", "polymorphic_on": "type"}


class Engineer(Person):
    __tablename__ = "engineer"
    id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    status: Mapped[str | None] = mapped_column(String(30))
    primary_language: Mapped[str | None] = mapped_column(String(30))
    machines: Mapped[list[Machine]] = relationship(order_by="Machine.id")
    __mapper_args__ = {"polymorphic_identity": "engineer"}


class Manager(Person):
    __tablename__ = "manager"
    id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    manager_name: Mapped[str | None] = mapped_column(String(30))
    __mapper_args__ = {"polymorphic_identity": "manager"}


class Machine(InheritanceBase):
    __tablename__ = "machine"
    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("engineer.id"))
    label: Mapped[str] = mapped_column(String(30))
    engineer: Mapped[Engineer] = relationship(back_populates="machines")


class Badge(InheritanceBase):
    __tablename__ = "badge"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    code: Mapped[str] = mapped_column(String(10))


class Office(InheritanceBase):
    __tablename__ = "office"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    city: Mapped[str] = mapped_column(String(30))


# -- joined, loaded with_polymorphic ------------------------------------------------------------


class Project(InheritanceBase):
    __tablename__ = "project"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    members: Mapped[list[Member]] = relationship(back_populates="project", order_by="Member.id")
    leads: Mapped[list[Lead]] = relationship(viewonly=True, order_by="Lead.id")


class Member(InheritanceBase):
    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    role: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str | None] = mapped_column(String(30))
    project: Mapped[Project] = relationship(back_populates="members")
    __mapper_args__ = {
        "polymorphic_identity": "member",
        "polymorphic_on": "role",
        "with_polymorphic": "*",
    }


class Lead(Member):
    __tablename__ = "lead"
    id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    budget: Mapped[int | None]
    __mapper_args__ = {"polymorphic_identity": "lead"}


# -- single table inheritance ------------------------------------------------------------------


class Shop(InheritanceBase):
    __tablename__ = "shop"
    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(30))
    head_cook_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id", use_alter=True))
    workers: Mapped[list[Worker]] = relationship(
        back_populates="shop", order_by="Worker.id", foreign_keys="Worker.shop_id"
    )
    cashiers: Mapped[list[Cashier]] = relationship(
        viewonly=True, order_by="Cashier.id", foreign_keys="Worker.shop_id"
    )
    head_cook: Mapped[Cook | None] = relationship(foreign_keys=[head_cook_id], post_update=True)


class Worker(InheritanceBase):
    __tablename__ = "worker"
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"))
    name: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))
    shop: Mapped[Shop | None] = relationship(back_populates="workers", foreign_keys=[shop_id])
    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "worker"}


class Cashier(Worker):
    till: Mapped[int | None] = mapped_column(nullable=True)
    __mapper_args__ = {"polymorphic_identity": "cashier"}


class Cook(Worker):
    station: Mapped[str | None] = mapped_column(String(20), nullable=True)
    __mapper_args__ = {"polymorphic_identity": "cook"}


# -- concrete table inheritance (refused) --------------------------------------------------------


class Zoo(InheritanceBase):
    __tablename__ = "zoo"
    id: Mapped[int] = mapped_column(primary_key=True)
    animals: Mapped[list[Animal]] = relationship(order_by="Animal.id")
    cats: Mapped[list[Cat]] = relationship(viewonly=True, order_by="Cat.id")


class Animal(ConcreteBase, InheritanceBase):
    __tablename__ = "animal"
    id: Mapped[int] = mapped_column(primary_key=True)
    zoo_id: Mapped[int] = mapped_column(ForeignKey("zoo.id"))
    name: Mapped[str] = mapped_column(String(30))
    __mapper_args__ = {"polymorphic_identity": "animal", "concrete": True}


class Cat(Animal):
    __tablename__ = "cat"
    id: Mapped[int] = mapped_column(primary_key=True)
    zoo_id: Mapped[int] = mapped_column(ForeignKey("zoo.id"))
    name: Mapped[str] = mapped_column(String(30))
    lives: Mapped[int]
    __mapper_args__ = {"polymorphic_identity": "cat", "concrete": True}


class Vehicle(AbstractConcreteBase, InheritanceBase):
    strict_attrs = True
    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(10))


class Car(Vehicle):
    __tablename__ = "car"
    seats: Mapped[int]
    __mapper_args__ = {"polymorphic_identity": "car", "concrete": True}


class Truck(Vehicle):
    __tablename__ = "truck"
    load: Mapped[int]
    __mapper_args__ = {"polymorphic_identity": "truck", "concrete": True}


# -- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """How many rows of each kind; ``seed`` picks parents, nulls and subclasses."""

    companies: int = 2
    people: int = 7
    machines: int = 4
    projects: int = 2
    members: int = 5
    shops: int = 2
    workers: int = 7
    seed: int = 0


def clean_world(engine: Engine) -> None:
    """Empty every table; the two use_alter keys first, as they make a cycle of tables."""
    with engine.begin() as conn:
        conn.execute(update(Company).values(chief_id=None))
        conn.execute(update(Shop).values(head_cook_id=None))
        for table in reversed(InheritanceBase.metadata.sorted_tables):
            conn.execute(table.delete())


def build_world(session: Session, spec: World) -> None:
    """Rows of every non-concrete model, with every subclass, NULL parents and empty parents."""
    rng = random.Random(spec.seed)
    companies = [Company(id=i + 1, name=f"c{i % 2}") for i in range(spec.companies)]
    session.add_all(companies)
    people: list[Person] = []
    for i in range(spec.people):
        kind = rng.choice((Person, Engineer, Manager))
        company_id = rng.choice([None, *(c.id for c in companies)]) if companies else None
        extra = {}
        if kind is Engineer:
            extra = {"status": rng.choice((None, "active")), "primary_language": "py"}
        elif kind is Manager:
            extra = {"manager_name": rng.choice((None, f"m{i}"))}
        people.append(kind(id=i + 1, name=f"p{i % 3}", company_id=company_id, **extra))
    session.add_all(people)
    engineers = [p for p in people if isinstance(p, Engineer)]
    managers = [p for p in people if isinstance(p, Manager)]
    for i in range(spec.machines if engineers else 0):
        session.add(Machine(id=i + 1, engineer=rng.choice(engineers), label=f"m{i % 2}"))
    for i, company in enumerate(companies):
        company.chief = rng.choice([None, *managers])
        session.add(Badge(id=2 * i + 1, company_id=company.id, code=f"b{i}"))
        session.add(Office(id=i + 1, company_id=company.id, city=f"city{i}"))
    projects = [Project(id=i + 1, title=f"t{i}") for i in range(spec.projects)]
    session.add_all(projects)
    for i in range(spec.members if projects else 0):
        kind = rng.choice((Member, Lead))
        extra = {"budget": rng.choice((None, 10 * i))} if kind is Lead else {}
        project = rng.choice(projects)
        session.add(kind(id=i + 1, project=project, handle=rng.choice((None, "h")), **extra))
    shops = [Shop(id=i + 1, city=f"s{i % 2}") for i in range(spec.shops)]
    session.add_all(shops)
    workers: list[Worker] = []
    for i in range(spec.workers):
        kind = rng.choice((Worker, Cashier, Cook))
        extra = {}
        if kind is Cashier:
            extra = {"till": rng.choice((None, i))}
        elif kind is Cook:
            extra = {"station": rng.choice((None, "grill"))}
        shop_id = rng.choice([None, *(s.id for s in shops)]) if shops else None
        workers.append(kind(id=i + 1, name=f"w{i % 3}", shop_id=shop_id, **extra))
    session.add_all(workers)
    cooks = [w for w in workers if isinstance(w, Cook)]
    for shop in shops:
        shop.head_cook = rng.choice([None, *cooks])
    session.commit()
