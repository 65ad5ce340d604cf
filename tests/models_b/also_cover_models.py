"""Models for `test_also_cover`, written as real projects write them (a Flask-SQLAlchemy-like
``db.Model`` stand-in, declarative, an imperative mapping)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    column_property,
    deferred,
    mapped_column,
    registry,
    relationship,
    synonym,
)


class _Db:
    """A stand-in for ``flask_sqlalchemy.SQLAlchemy()``: ``db.Model``, ``db.Column``, ..."""

    def __init__(self) -> None:
        class Model(DeclarativeBase):
            pass

        self.Model = Model
        self.Column = sa.Column
        self.Integer = sa.Integer
        self.String = sa.String
        self.ForeignKey = sa.ForeignKey
        self.relationship = relationship


db = _Db()


class Tags(sa.types.TypeDecorator[list[str]]):
    """Tags stored as one comma-separated string (converts in Python)."""

    impl = sa.String(200)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else ",".join(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else [t for t in value.split(",") if t]


class Author(db.Model):
    __tablename__ = "mb_author"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False)
    # synonym: the API name of a column named otherwise
    display = synonym("name")
    posts = db.relationship(
        "Post",
        back_populates="author",
        order_by=lambda: sa.nulls_last(Post.published.desc()),
        passive_deletes=True,
        cascade="all, delete-orphan",
    )
    memberships = db.relationship(
        "Membership", back_populates="author", order_by="Membership.group_id"
    )
    group_names: AssociationProxy[list[str]] = association_proxy("memberships", "group_name")


class Post(db.Model):
    __tablename__ = "mb_post"
    id = db.Column(db.Integer, primary_key=True)
    author_id = db.Column(db.Integer, db.ForeignKey("mb_author.id", ondelete="CASCADE"))
    title = db.Column(db.String(80), nullable=False)
    published = db.Column(sa.DateTime, nullable=True)
    reading_time = db.Column(sa.Interval, nullable=True)
    extra = db.Column(sa.JSON(none_as_null=False), nullable=True)
    tags = db.Column(Tags, nullable=True)
    body = deferred(db.Column(sa.Text, nullable=True))  # large: loaded only when asked
    views = db.Column(db.Integer, server_default=sa.text("0"), nullable=False)
    author = db.relationship("Author", back_populates="posts", lazy="raise")

    @hybrid_property
    def title_length(self) -> int:
        return len(self.title)

    @title_length.inplace.expression
    @classmethod
    def _title_length(cls) -> Any:
        return sa.func.length(cls.title)

    @hybrid_property
    def shout(self) -> str:
        """A hybrid without an expression: Python only."""
        return self.title.upper()


class Group(db.Model):
    __tablename__ = "mb_group"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False)


class Membership(db.Model):
    """An association object with extra columns."""

    __tablename__ = "mb_membership"
    author_id = db.Column(db.Integer, db.ForeignKey("mb_author.id"), primary_key=True)
    group_id = db.Column(db.Integer, db.ForeignKey("mb_group.id"), primary_key=True)
    role = db.Column(db.String(20), nullable=False)
    since = db.Column(sa.Date, nullable=False)
    author = db.relationship("Author", back_populates="memberships")
    group = db.relationship("Group")

    @property
    def group_name(self) -> str:
        return self.group.name


# A correlated count, as column_property docs write it (after both classes exist).
Author.post_count = column_property(
    sa.select(sa.func.count(Post.id))
    .where(Post.author_id == Author.id)
    .correlate_except(Post)
    .scalar_subquery()
)


class Base(DeclarativeBase):
    pass


class Shipment(Base):
    """Composite keys on both sides."""

    __tablename__ = "mb_shipment"
    region: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str | None] = mapped_column(sa.String(40), deferred=True)
    lines: Mapped[list[Line]] = relationship(order_by="Line.position")


class Line(Base):
    __tablename__ = "mb_line"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["region", "shipment_number"], ["mb_shipment.region", "mb_shipment.number"]
        ),
    )
    region: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    shipment_number: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(sa.String(20))


# An imperative (classical) mapping.
imperative = registry(metadata=Base.metadata)
warehouse_table = sa.Table(
    "mb_warehouse",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("city", sa.String(30), nullable=False),
    sa.Column("opened", sa.Date, server_default=sa.text("'2020-01-01'")),
)
bin_table = sa.Table(
    "mb_bin",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("warehouse_id", sa.ForeignKey("mb_warehouse.id"), nullable=False),
    sa.Column("label", sa.String(10), nullable=False),
)


class Warehouse:
    id: int
    city: str
    opened: dt.date | None


class Bin:
    id: int
    warehouse_id: int
    label: str


imperative.map_imperatively(Bin, bin_table)
imperative.map_imperatively(
    Warehouse, warehouse_table, properties={"bins": relationship(Bin, order_by=bin_table.c.id)}
)

__all__ = [
    "Author",
    "Base",
    "Bin",
    "Group",
    "Line",
    "Membership",
    "Post",
    "Shipment",
    "Warehouse",
    "db",
]
