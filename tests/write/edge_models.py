"""Models for the write edge cases: unique columns, composite foreign keys, one-to-one children.

* ``Depot``: a composite natural key (``region``, ``code``), which ``Member`` references with a
  composite foreign key written directly as two columns (``depot_region``, ``depot_code``), or
  set by embedding the members in their depot (``depot_in``);
* ``Member``: a generated key, a unique column (``email``), a composite unique constraint
  (``region``, ``handle``) and three one-to-one (``uselist=False``) children:
* ``Card``: a one-to-one with its own generated key and a unique number;
* ``Bio``: a one-to-one whose primary key is the foreign key to its member (no key of its own
  in a body: the member names it);
* ``Locker``: a one-to-one with a nullable foreign key (``on_missing="unlink"``);
* ``Roster`` and its ``Shift`` children: text compared case-insensitively on every database
  (SQLite's NOCASE, PostgreSQL's citext, MariaDB's default collation), a unique name, and
  unique constraints that include the foreign key the parent sets (``UNIQUE(roster_id,
  position)``, ``UNIQUE(roster_id, code)``).

Own metadata and class names, so that no other test's tables or generated names meet them.
"""

from __future__ import annotations

from sqlalchemy import DDL, ForeignKey, ForeignKeyConstraint, String, UniqueConstraint, event
from sqlalchemy.dialects.postgresql import CITEXT
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import treeshape as ts

__all__ = [
    "Bio",
    "Card",
    "Depot",
    "EdgeBase",
    "Locker",
    "Member",
    "Roster",
    "Shift",
    "card_in",
    "depot_in",
    "member_in",
    "member_shape",
    "roster_in",
]


class EdgeBase(DeclarativeBase):
    pass


# PostgreSQL's case-insensitive text type is an extension (trusted: any database owner).
event.listen(
    EdgeBase.metadata,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS citext").execute_if(dialect="postgresql"),
)


class Depot(EdgeBase):
    __tablename__ = "e_depot"

    region: Mapped[str] = mapped_column(String(4), primary_key=True)
    code: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(20))

    members: Mapped[list[Member]] = relationship(order_by="Member.member_id")


class Member(EdgeBase):
    __tablename__ = "e_member"
    __table_args__ = (
        UniqueConstraint("region", "handle"),
        ForeignKeyConstraint(["depot_region", "depot_code"], ["e_depot.region", "e_depot.code"]),
    )

    member_id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(40), unique=True)
    region: Mapped[str] = mapped_column(String(4))
    handle: Mapped[str | None] = mapped_column(String(20))
    depot_region: Mapped[str | None] = mapped_column(String(4))
    depot_code: Mapped[int | None] = mapped_column()

    card: Mapped[Card | None] = relationship(back_populates="member")
    bio: Mapped[Bio | None] = relationship(cascade="all, delete-orphan")
    locker: Mapped[Locker | None] = relationship()


class Card(EdgeBase):
    __tablename__ = "e_card"

    card_id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("e_member.member_id"), unique=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)

    member: Mapped[Member] = relationship(back_populates="card")


class Bio(EdgeBase):
    __tablename__ = "e_bio"

    member_id: Mapped[int] = mapped_column(ForeignKey("e_member.member_id"), primary_key=True)
    text: Mapped[str] = mapped_column(String(40))


class Locker(EdgeBase):
    __tablename__ = "e_locker"

    locker_id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("e_member.member_id"))
    label: Mapped[str] = mapped_column(String(10))


card_in = ts.shape(Card, fields=["card_id", "number"])


def member_shape(card: str = "delete", bio: str = "delete", locker: str = "unlink") -> ts.Shape:
    """The member input shape with the given ``on_missing`` per one-to-one child."""
    return ts.shape(
        Member,
        {
            "card": ts.include(card_in, on_missing=card),
            "bio": ts.include(ts.shape(Bio, fields=["text"]), on_missing=bio),
            "locker": ts.include(
                ts.shape(Locker, fields=["locker_id", "label"]), on_missing=locker
            ),
        },
        fields=["member_id", "email", "region", "handle", "depot_region", "depot_code"],
    )


member_in = member_shape()
"""The shape the edge tests write with, and read back with."""

depot_in = ts.shape(
    Depot,
    {"members": ts.include(ts.shape(Member, fields=["member_id", "email", "region", "handle"]))},
    fields=["region", "code", "name"],
)
"""A depot with its members embedded: the composite foreign key is set by the relationship."""


CASELESS = (
    String(20)
    .with_variant(String(20, collation="NOCASE"), "sqlite")
    .with_variant(CITEXT(), "postgresql")
)
"""Text equal regardless of case on every database (MariaDB: its default collation)."""


class Roster(EdgeBase):
    __tablename__ = "e_roster"

    roster_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(CASELESS, unique=True)

    shifts: Mapped[list[Shift]] = relationship(
        order_by="Shift.shift_id", cascade="all, delete-orphan"
    )


class Shift(EdgeBase):
    __tablename__ = "e_shift"
    __table_args__ = (
        UniqueConstraint("roster_id", "position"),
        UniqueConstraint("roster_id", "code"),
    )

    shift_id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("e_roster.roster_id"))
    position: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(CASELESS)


roster_in = ts.shape(
    Roster,
    {
        "shifts": ts.include(
            ts.shape(Shift, fields=["shift_id", "position", "code"]), on_missing="delete"
        )
    },
    fields=["roster_id", "name"],
)
"""A roster with its shifts: each shift's unique sets include the roster_id it is given."""
