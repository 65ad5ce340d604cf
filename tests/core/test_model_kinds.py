"""Any declarative flavour works: classic Column, imperative mapping, SQLModel, plus batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import Column, ForeignKey, Integer, String, Table, create_engine, select
from sqlalchemy.orm import Session, declarative_base, registry, relationship
from sqlmodel import SQLModel

import treeshape as ts
from tests.core.sqlmodel_models import Hero, Team
from tests.statements import StatementCounter

ClassicBase = declarative_base()


class Author(ClassicBase):  # type: ignore[valid-type,misc]
    __tablename__ = "author"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)
    books = relationship("Book", back_populates="author", order_by="Book.id")


class Book(ClassicBase):  # type: ignore[valid-type,misc]
    __tablename__ = "book"
    id = Column(Integer, primary_key=True)
    title = Column(String(100))
    author_id = Column(ForeignKey("author.id"), nullable=False)
    author = relationship(Author, back_populates="books")


def all_backends_agree(shape: ts.Shape, objs: list[object]) -> list[dict[str, object]]:
    dumped = shape.dump(objs, many=True)
    assert shape.marshmallow_schema(many=True).dump(objs) == dumped
    assert [shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs] == dumped
    return dumped  # type: ignore[no-any-return]


def test_classic_column_models() -> None:
    engine = create_engine("sqlite://")
    ClassicBase.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Author(id=1, name="Ann", books=[Book(id=1, title="A"), Book(id=2, title=None)]))
        session.commit()
        shape = ts.shape(Author, "books.author", fields={"Author": ["name"]})
        authors = session.scalars(select(Author).options(*shape.loader_options())).all()
        assert all_backends_agree(shape, list(authors)) == [
            {
                "name": "Ann",
                "books": [
                    {"id": 1, "title": "A", "author_id": 1, "author": {"name": "Ann"}},
                    {"id": 2, "title": None, "author_id": 1, "author": {"name": "Ann"}},
                ],
            }
        ]
        model = shape.pydantic_model
        book_model = model.model_fields["books"].annotation.__args__[0]  # type: ignore[union-attr]
        assert book_model.model_fields["title"].annotation == Optional[str]  # noqa: UP045
        assert book_model.model_fields["author_id"].annotation is int


@dataclass
class Shelf:
    id: int
    label: str


@dataclass
class Slot:
    id: int
    shelf_id: int
    position: int


def test_imperative_mapping() -> None:
    reg = registry()
    shelf = Table(
        "shelf", reg.metadata, Column("id", Integer, primary_key=True), Column("label", String)
    )
    slot = Table(
        "slot",
        reg.metadata,
        Column("id", Integer, primary_key=True),
        Column("shelf_id", ForeignKey("shelf.id")),
        Column("position", Integer, nullable=False),
    )
    reg.map_imperatively(
        Shelf, shelf, properties={"slots": relationship(Slot, order_by=slot.c.position)}
    )
    reg.map_imperatively(Slot, slot)
    engine = create_engine("sqlite://")
    reg.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Shelf(id=1, label="top"))
        session.add_all([Slot(id=i, shelf_id=1, position=10 - i) for i in range(1, 4)])
        session.commit()
    with Session(engine) as session:
        shape = ts.shape(Shelf, "slots")
        shelves = session.scalars(select(Shelf).options(*shape.loader_options())).all()
        assert all_backends_agree(shape, list(shelves)) == [
            {
                "id": 1,
                "label": "top",
                "slots": [
                    {"id": 3, "shelf_id": 1, "position": 7},
                    {"id": 2, "shelf_id": 1, "position": 8},
                    {"id": 1, "shelf_id": 1, "position": 9},
                ],
            }
        ]
    reg.dispose()


def test_sqlmodel_table_models_replace_public_with_models() -> None:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[Team.__table__, Hero.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        team = Team(id=1, name="Preventers")
        session.add(team)
        session.add_all(
            [Hero(id=1, name="Rusty", age=48, team=team), Hero(id=2, name="Dive", team=team)]
        )
        session.commit()
    # TeamPublicWithHeroes and HeroPublicWithTeam, without writing either class.
    team_with_heroes = ts.shape(Team, "heroes")
    hero_with_team = ts.shape(Hero, "team")
    with Session(engine) as session:
        teams = session.scalars(select(Team).options(*team_with_heroes.loader_options())).all()
        assert all_backends_agree(team_with_heroes, list(teams)) == [
            {
                "id": 1,
                "name": "Preventers",
                "heroes": [
                    {"id": 1, "name": "Rusty", "age": 48, "team_id": 1},
                    {"id": 2, "name": "Dive", "age": None, "team_id": 1},
                ],
            }
        ]
    with Session(engine) as session:
        heroes = session.scalars(
            select(Hero).options(*hero_with_team.loader_options()).order_by(Hero.id)
        ).all()
        dumped = all_backends_agree(hero_with_team, list(heroes))
        assert dumped[1]["team"] == {"id": 1, "name": "Preventers"}


def test_selectin_batches_of_500_parents() -> None:
    engine = create_engine("sqlite://")
    ClassicBase.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Author(id=i, name=f"a{i}") for i in range(1, 1202)])
        session.add_all([Book(id=i, title="t", author_id=i) for i in range(1, 1202)])
        session.commit()
    shape = ts.shape(Author, "books")
    with Session(engine) as session, StatementCounter(engine) as counter:
        authors = session.scalars(select(Author).options(*shape.loader_options())).all()
        assert counter.count == 1 + 3  # 1,201 parents: three selectin batches of up to 500
        assert len(shape.dump(authors, many=True)) == 1201
        assert counter.count == 4
