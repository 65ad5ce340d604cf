"""Models whose nodes have computed fields and relationships together.

Each model has a column property that is a SQL expression, a hybrid with a SQL expression that
agrees with its Python side, and a Python ``@property``, beside its columns and relationships;
``CpShelf.first_title`` reads an included relationship. Own metadata and class names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ForeignKey, Integer, String, func, select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    column_property,
    mapped_column,
    relationship,
)

__all__ = ["ComputedBase", "CpBook", "CpKeeper", "CpShelf", "LibrarySpec", "build_library"]


class ComputedBase(DeclarativeBase):
    pass


class CpKeeper(ComputedBase):
    __tablename__ = "cp_keeper"

    keeper_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    shelves: Mapped[list[CpShelf]] = relationship(
        back_populates="keeper", order_by="CpShelf.shelf_id"
    )

    name_length = column_property(func.length(name, type_=Integer))

    @hybrid_property
    def rank(self) -> int:
        return self.keeper_id * 10

    @property
    def greeting(self) -> str:
        """A Python-only value: `fetch` cannot compute it."""
        return f"Hello, {self.name}"


class CpShelf(ComputedBase):
    __tablename__ = "cp_shelf"

    shelf_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    capacity: Mapped[int] = mapped_column()
    keeper_id: Mapped[int | None] = mapped_column(ForeignKey("cp_keeper.keeper_id"))

    keeper: Mapped[CpKeeper | None] = relationship(back_populates="shelves")
    books: Mapped[list[CpBook]] = relationship(back_populates="shelf", order_by="CpBook.book_id")

    @hybrid_property
    def spare_slots(self) -> int:
        return self.capacity * 2 + self.shelf_id

    @property
    def summary(self) -> str:
        return f"{self.name}/{self.capacity}"

    @property
    def first_title(self) -> str | None:
        """Reads ``books``: only loaded when the shape includes them."""
        return self.books[0].title if self.books else None


class CpBook(ComputedBase):
    __tablename__ = "cp_book"

    book_id: Mapped[int] = mapped_column(primary_key=True)
    shelf_id: Mapped[int] = mapped_column(ForeignKey("cp_shelf.shelf_id"))
    title: Mapped[str] = mapped_column(String(60))
    pages: Mapped[int | None] = mapped_column()

    shelf: Mapped[CpShelf] = relationship(back_populates="books")

    title_length = column_property(func.length(title, type_=Integer))

    @hybrid_property
    def code(self) -> int:
        return self.shelf_id * 1000 + self.book_id

    @property
    def label(self) -> str:
        return f"{self.title} ({self.pages or 0}p)"


# After both classes: a column property mapped after the relationships (last in mapper order).
CpShelf.book_total = column_property(
    select(func.count(CpBook.book_id))
    .where(CpBook.shelf_id == CpShelf.shelf_id)
    .correlate_except(CpBook)
    .scalar_subquery()
)


@dataclass(frozen=True)
class LibrarySpec:
    keepers: int = 2
    shelves: int = 3
    books_per_shelf: int = 3
    seed: int = 0


def build_library(session: Session, spec: LibrarySpec = LibrarySpec()) -> None:
    """Keepers, shelves (some without a keeper) and books (some shelves empty), then commit."""
    s = spec.seed
    for k in range(spec.keepers):
        session.add(CpKeeper(keeper_id=k + 1, name=f"Keeper {k + s}"))
    book_id = 0
    for h in range(spec.shelves):
        keeper = None if not spec.keepers or (h + s) % 3 == 2 else (h + s) % spec.keepers + 1
        session.add(
            CpShelf(shelf_id=h + 1, name=f"S{h}", capacity=(h * 7 + s) % 11, keeper_id=keeper)
        )
        for b in range((h + s) % (spec.books_per_shelf + 1)):
            book_id += 1
            pages = None if (b + s) % 3 == 0 else 100 * b + s
            session.add(
                CpBook(book_id=book_id, shelf_id=h + 1, title=f"Book {book_id} «{s}»", pages=pages)
            )
    session.commit()
