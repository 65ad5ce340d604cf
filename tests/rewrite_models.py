"""Many-to-many relationships for the membership rewrite (`treeshape.secondary`), both ways.

``RwPost`` reaches ``RwTag`` through secondaries that prove a pair is listed at most once (the
rewrite to ``tag IN (SELECT ...)`` applies) and through secondaries or join conditions that do
not (the rewrite must be refused: a tag listed twice for a post is output twice, as selectin
loading does). `REWRITTEN` and `KEPT` name them; `fill` writes pairs into every secondary.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["KEPT", "REWRITTEN", "RewriteBase", "RwPost", "RwTag", "fill"]


class RewriteBase(DeclarativeBase):
    pass


def _pairs(name: str, *extra: Column[object] | Index | UniqueConstraint) -> Table:
    return Table(
        name,
        RewriteBase.metadata,
        Column("post_id", ForeignKey("rw_post.id"), nullable=False),
        Column("tag_id", ForeignKey("rw_tag.id"), nullable=False),
        *extra,
    )


keyed = Table(
    "rw_keyed",
    RewriteBase.metadata,
    Column("post_id", ForeignKey("rw_post.id"), primary_key=True),
    Column("tag_id", ForeignKey("rw_tag.id"), primary_key=True),
)
unique_pair = _pairs(
    "rw_unique",
    Column("id", Integer, primary_key=True),
    UniqueConstraint("post_id", "tag_id"),
)
indexed = _pairs("rw_indexed")
Index("ix_rw_indexed_pair", indexed.c.tag_id, indexed.c.post_id, unique=True)
loose = _pairs("rw_loose")
surrogate = _pairs("rw_surrogate", Column("id", Integer, primary_key=True))
wide = _pairs("rw_wide", Column("note", Integer, nullable=False))
wide.append_constraint(UniqueConstraint("post_id", "tag_id", "note"))
partial = _pairs("rw_partial", Column("active", Boolean, nullable=False))
Index(
    "ix_rw_partial_active_pair",
    partial.c.post_id,
    partial.c.tag_id,
    unique=True,
    sqlite_where=partial.c.active,
    postgresql_where=partial.c.active,
)
either = Table(
    "rw_either",
    RewriteBase.metadata,
    Column("post_id", ForeignKey("rw_post.id"), nullable=False),
    Column("alt_post_id", ForeignKey("rw_post.id"), nullable=False),
    Column("tag_id", ForeignKey("rw_tag.id"), nullable=False),
    UniqueConstraint("post_id", "tag_id"),
)

distinct_pairs = select(loose.c.post_id, loose.c.tag_id).distinct().subquery("rw_distinct_pairs")
distinct_filtered = (
    select(loose.c.post_id, loose.c.tag_id)
    .where(loose.c.tag_id != 2)
    .distinct()
    .subquery("rw_distinct_filtered")
)
distinct_joined = (
    select(loose.c.post_id, wide.c.tag_id)
    .select_from(loose.join(wide, loose.c.tag_id == wide.c.note))
    .distinct()
    .subquery("rw_distinct_joined")
)
distinct_wide = (
    select(wide.c.post_id, wide.c.tag_id, wide.c.note).distinct().subquery("rw_distinct_wide")
)
distinct_limited = (
    select(loose.c.post_id, loose.c.tag_id)
    .distinct()
    .order_by(loose.c.post_id, loose.c.tag_id)
    .limit(3)
    .subquery("rw_distinct_limited")
)
distinct_computed = (
    select(loose.c.post_id, (loose.c.tag_id + 0).label("tag_id"))
    .distinct()
    .subquery("rw_distinct_computed")
)
plain_select = select(loose.c.post_id, loose.c.tag_id).subquery("rw_plain_select")


def _m2m(secondary: Table) -> Any:
    """A viewonly many-to-many to `RwTag` through ``secondary``, in tag order."""
    return relationship("RwTag", secondary=secondary, viewonly=True, order_by="RwTag.id")


class RwTag(RewriteBase):
    __tablename__ = "rw_tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(10))


class RwPost(RewriteBase):
    __tablename__ = "rw_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column()

    # Provably one row per (post, tag): rewritten to a membership test.
    keyed_tags: Mapped[list[RwTag]] = _m2m(keyed)
    unique_tags: Mapped[list[RwTag]] = _m2m(unique_pair)
    indexed_tags: Mapped[list[RwTag]] = _m2m(indexed)
    distinct_tags: Mapped[list[RwTag]] = relationship(
        secondary=distinct_pairs,
        primaryjoin=lambda: RwPost.id == distinct_pairs.c.post_id,
        secondaryjoin=lambda: RwTag.id == distinct_pairs.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )
    filtered_distinct_tags: Mapped[list[RwTag]] = relationship(
        secondary=distinct_filtered,
        primaryjoin=lambda: RwPost.id == distinct_filtered.c.post_id,
        secondaryjoin=lambda: RwTag.id == distinct_filtered.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )
    joined_distinct_tags: Mapped[list[RwTag]] = relationship(
        secondary=distinct_joined,
        primaryjoin=lambda: RwPost.id == distinct_joined.c.post_id,
        secondaryjoin=lambda: RwTag.id == distinct_joined.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )

    # A pair may be listed twice: the join must stay.
    loose_tags: Mapped[list[RwTag]] = _m2m(loose)
    surrogate_tags: Mapped[list[RwTag]] = _m2m(surrogate)
    wide_tags: Mapped[list[RwTag]] = _m2m(wide)
    either_tags: Mapped[list[RwTag]] = relationship(
        secondary=either,
        primaryjoin=lambda: or_(RwPost.id == either.c.post_id, RwPost.id == either.c.alt_post_id),
        secondaryjoin=lambda: RwTag.id == either.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )
    earlier_tags: Mapped[list[RwTag]] = relationship(
        secondary=keyed,
        primaryjoin=lambda: RwPost.id >= keyed.c.post_id,
        secondaryjoin=lambda: RwTag.id == keyed.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )
    wide_distinct_tags: Mapped[list[RwTag]] = relationship(
        secondary=distinct_wide,
        primaryjoin=lambda: RwPost.id == distinct_wide.c.post_id,
        secondaryjoin=lambda: RwTag.id == distinct_wide.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )
    plain_select_tags: Mapped[list[RwTag]] = relationship(
        secondary=plain_select,
        primaryjoin=lambda: RwPost.id == plain_select.c.post_id,
        secondaryjoin=lambda: RwTag.id == plain_select.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )

    # Refused although the rows are unique: proving it would take more than the rewrite knows.
    narrowed_tags: Mapped[list[RwTag]] = relationship(
        secondary=keyed,
        primaryjoin=lambda: and_(RwPost.id == keyed.c.post_id, keyed.c.tag_id != 3),
        secondaryjoin=lambda: RwTag.id == keyed.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )
    limited_distinct_tags: Mapped[list[RwTag]] = relationship(
        secondary=distinct_limited,
        primaryjoin=lambda: RwPost.id == distinct_limited.c.post_id,
        secondaryjoin=lambda: RwTag.id == distinct_limited.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )
    computed_distinct_tags: Mapped[list[RwTag]] = relationship(
        secondary=distinct_computed,
        primaryjoin=lambda: RwPost.id == distinct_computed.c.post_id,
        secondaryjoin=lambda: RwTag.id == distinct_computed.c.tag_id,
        viewonly=True,
        order_by=lambda: RwTag.id,
    )
    ordered_by_secondary_tags: Mapped[list[RwTag]] = relationship(
        secondary=keyed, viewonly=True, order_by=keyed.c.tag_id.desc()
    )

    # A unique index over only some rows (``WHERE active``) proves nothing about the others.
    partial_tags: Mapped[list[RwTag]] = _m2m(partial)


# Posts of one group, through a DISTINCT select of the parent's own table: the membership test
# must select from the subquery itself (the rows under its DISTINCT would be correlated to the
# parent's table).
group_members = (
    select(RwPost.__table__.c.group_id, RwPost.__table__.c.id)
    .distinct()
    .subquery("rw_group_members")
)
RwPost.group_peers = relationship(
    RwPost,
    secondary=group_members,
    primaryjoin=RwPost.group_id == group_members.c.group_id,
    secondaryjoin=RwPost.id == group_members.c.id,
    viewonly=True,
    order_by=RwPost.id,
)

REWRITTEN = (
    "keyed_tags",
    "unique_tags",
    "indexed_tags",
    "distinct_tags",
    "filtered_distinct_tags",
    "joined_distinct_tags",
)
"""Relationships whose membership test is provably the join's rows."""
KEPT = (
    "loose_tags",
    "surrogate_tags",
    "wide_tags",
    "either_tags",
    "earlier_tags",
    "wide_distinct_tags",
    "plain_select_tags",
    "narrowed_tags",
    "limited_distinct_tags",
    "computed_distinct_tags",
    "ordered_by_secondary_tags",
)
"""Relationships that must keep the join (all but `partial_tags`, tested on its own)."""


def fill(
    conn: Connection,
    *,
    posts: int,
    tags: int,
    pairs: Iterable[tuple[int, int]],
) -> None:
    """``posts`` posts (in groups of two), ``tags`` tags, and ``pairs`` (duplicates included)
    written into every secondary: once each where the secondary's key forbids a repeat, with a
    new note (`wide`), an inactive copy (`partial`) or a swapped alternative (`either`) else."""
    pairs = list(pairs)
    unique = sorted(set(pairs))
    conn.execute(insert(RwPost), [{"id": p, "group_id": p // 2} for p in range(1, posts + 1)])
    conn.execute(insert(RwTag), [{"id": t, "name": f"t{t}"} for t in range(1, tags + 1)])
    rows = [{"post_id": p, "tag_id": t} for p, t in pairs]
    once = [{"post_id": p, "tag_id": t} for p, t in unique]
    if once:
        for table in (keyed, unique_pair, indexed):
            conn.execute(insert(table), once)
        conn.execute(insert(partial), [{**row, "active": True} for row in once])
        conn.execute(
            insert(either),
            [{**row, "alt_post_id": posts + 1 - row["post_id"]} for row in once],
        )
    if rows:
        for table in (loose, surrogate):
            conn.execute(insert(table), rows)
        conn.execute(insert(wide), [{**row, "note": n} for n, row in enumerate(rows)])
    seen: set[tuple[int, int]] = set()
    repeats = []
    for pair in pairs:
        if pair in seen:
            repeats.append({"post_id": pair[0], "tag_id": pair[1], "active": False})
        seen.add(pair)
    if repeats:
        conn.execute(insert(partial), repeats)
