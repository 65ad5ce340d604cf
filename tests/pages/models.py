"""Shelves with books: a root with NULLs and ties in its sort keys, and a collection below it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import treeshape as ts
from treeshape.web import ListEndpoint

__all__ = ["BOOKS", "SHELVES", "SHELVES_PLAIN", "Base", "Book", "Shelf", "shelf_list"]


class Base(DeclarativeBase):
    pass


class Shelf(Base):
    __tablename__ = "page_shelf"

    shelf_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # Few distinct values and NULLs: ties and NULLs in every sort.
    rank: Mapped[int | None]
    label: Mapped[str | None] = mapped_column(sa.String(4))
    books: Mapped[list[Book]] = relationship(order_by="Book.book_id")


class Book(Base):
    __tablename__ = "page_book"

    book_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    shelf_id: Mapped[int] = mapped_column(sa.ForeignKey("page_shelf.shelf_id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(8))


shelf_list = ts.shape(Shelf, "books", name="ShelfListItem")

SHELVES = ListEndpoint(
    shelf_list,
    max_limit=7,
    default_limit=3,
    sortable=["rank", "label", "shelf_id"],
    total=True,
    secret=b"tests",
)
"""Sortable by everything, with a total."""

SHELVES_PLAIN = ListEndpoint(ts.shape(Shelf, name="ShelfPlain"), max_limit=5)
"""Nothing sortable (primary-key order), no total."""

BOOKS = ListEndpoint(ts.shape(Book, name="BookItem"), sortable=["title"], secret="other")
