"""Which columns `loader_options()` loads: exactly the shape's, whether or not it names them
with ``load_only`` (left out when it would change nothing, see `_loads_every_column`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    column_property,
    deferred,
    mapped_column,
    query_expression,
    relationship,
)

import treeshape as ts
from tests.statements import StatementCounter


class Base(DeclarativeBase):
    pass


class Shelf(Base):
    __tablename__ = "shelf"
    shelf_id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str]
    books: Mapped[list[Book]] = relationship(back_populates="shelf", order_by="Book.book_id")


class Book(Base):
    __tablename__ = "book"
    book_id: Mapped[int] = mapped_column(primary_key=True)
    shelf_id: Mapped[int] = mapped_column(ForeignKey("shelf.shelf_id"))
    title: Mapped[str]
    blurb: Mapped[str] = deferred(mapped_column(String))
    shelf: Mapped[Shelf] = relationship(back_populates="books")


class Box(Base):
    """A model with an expression the default field set leaves out, and a query expression."""

    __tablename__ = "box"
    box_id: Mapped[int] = mapped_column(primary_key=True)
    width: Mapped[int] = mapped_column()
    double_width: Mapped[int] = column_property(width * 2)
    score: Mapped[int | None] = query_expression()


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Shelf(shelf_id=1, label="A", books=[Book(book_id=1, title="T", blurb="B")]))
        session.add(Box(box_id=1, width=3))
        session.commit()
    with Session(engine) as session:
        yield session


def test_every_column_is_loaded_and_relationships_still_raise(db: Session) -> None:
    shape = ts.shape(Shelf, "books", fields={Book: ["book_id", "shelf_id", "title", "blurb"]})
    with StatementCounter(db.get_bind()) as statements:  # type: ignore[arg-type]
        shelf = db.scalars(select(Shelf).options(*shape.loader_options())).one()
        assert statements.count == 2
        book = shelf.books[0]
        # the deferred column is output, so loaded with the rest: no query on access
        assert (shelf.label, book.title, book.blurb) == ("A", "T", "B")
        assert statements.count == 2
        assert shape.dump(shelf)["books"] == [
            {"book_id": 1, "shelf_id": 1, "title": "T", "blurb": "B"}
        ]
        with pytest.raises(InvalidRequestError, match=r"'Book.shelf' is not available"):
            _ = book.shelf
        assert statements.count == 2


def test_columns_outside_the_shape_raise(db: Session) -> None:
    shape = ts.shape(Shelf, "books", fields={Book: ["book_id", "shelf_id", "title"]})
    shelf = db.scalars(select(Shelf).options(*shape.loader_options())).one()
    with pytest.raises(InvalidRequestError, match=r"'Book.blurb' is not available"):
        _ = shelf.books[0].blurb


def test_expressions_outside_the_shape_raise(db: Session) -> None:
    shape = ts.shape(Box)
    assert set(shape.dump(db.get(Box, 1))) == {"box_id", "width"}
    db.expunge_all()
    box = db.scalars(select(Box).options(*shape.loader_options())).one()
    assert (box.box_id, box.width) == (1, 3)
    with pytest.raises(InvalidRequestError, match=r"'Box.double_width' is not available"):
        _ = box.double_width
    with pytest.raises(InvalidRequestError, match=r"'Box.score' is not available"):
        _ = box.score
