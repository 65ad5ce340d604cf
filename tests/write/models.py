"""Models for the write tests: every kind of key, reference and child a body can meet.

* ``Invoice``: a generated key, a natural unique number, a NOT NULL reference written by key
  (``customer``), a many-to-many by keys (``tags``), an enum with a default, a server
  default, a decimal with precision, a nullable date;
* ``InvoiceLine``: embedded children with generated keys, each referencing a ``Product`` by
  its natural key, each with its own children:
* ``Adjustment``: a natural composite key that contains the parent's (like a GTFS stop_time);
* ``Memo``: children with a nullable foreign key (``on_missing="unlink"``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Enum,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import treeshape as ts


class Base(DeclarativeBase):
    pass


class Status(enum.Enum):
    DRAFT = "draft"
    SENT = "sent"
    PAID = "paid"


class Customer(Base):
    __tablename__ = "w_customer"

    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class Product(Base):
    __tablename__ = "w_product"

    sku: Mapped[str] = mapped_column(String(12), primary_key=True)
    title: Mapped[str] = mapped_column(String(60))


class Tag(Base):
    __tablename__ = "w_tag"

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(20))


invoice_tag = Table(
    "w_invoice_tag",
    Base.metadata,
    Column("invoice_id", ForeignKey("w_invoice.invoice_id"), primary_key=True),
    Column("tag_id", ForeignKey("w_tag.tag_id"), primary_key=True),
)


class Invoice(Base):
    __tablename__ = "w_invoice"

    invoice_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("w_customer.customer_id"))
    status: Mapped[Status] = mapped_column(Enum(Status), default=Status.DRAFT)
    paid: Mapped[bool] = mapped_column(Boolean, server_default=false())
    issued: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(80))
    total: Mapped[decimal.Decimal | None] = mapped_column(Numeric(8, 2))

    customer: Mapped[Customer] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=invoice_tag, order_by=Tag.tag_id)
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.line_id"
    )
    memos: Mapped[list[Memo]] = relationship(order_by="Memo.memo_id")


class InvoiceLine(Base):
    __tablename__ = "w_invoice_line"

    line_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("w_invoice.invoice_id"))
    sku: Mapped[str] = mapped_column(ForeignKey("w_product.sku"))
    quantity: Mapped[int] = mapped_column(Integer)
    discount: Mapped[float | None] = mapped_column(Float)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    adjustments: Mapped[list[Adjustment]] = relationship(order_by="Adjustment.seq")


class Adjustment(Base):
    __tablename__ = "w_adjustment"

    line_id: Mapped[int] = mapped_column(ForeignKey("w_invoice_line.line_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reason: Mapped[str | None] = mapped_column(String(30))


class Memo(Base):
    __tablename__ = "w_memo"

    memo_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("w_invoice.invoice_id"))
    text: Mapped[str] = mapped_column(String(50))


adjustment_in = ts.shape(Adjustment, fields=["seq", "reason"])
line_in = ts.shape(
    InvoiceLine,
    {
        "product": ts.include(ids=True),
        "adjustments": ts.include(adjustment_in, on_missing="delete"),
    },
    fields=["line_id", "quantity", "discount"],
)
memo_in = ts.shape(Memo, fields=["memo_id", "text"])
invoice_in = ts.shape(
    Invoice,
    {
        "customer": ts.include(ids=True),
        "tags": ts.include(ids=True),
        "lines": ts.include(line_in, on_missing="delete"),
        "memos": ts.include(memo_in, on_missing="unlink"),
    },
    fields=["invoice_id", "number", "status", "paid", "issued", "note", "total"],
)
"""The shape the tests write with, and read back with (its dump is a body)."""


def invoice_shape(**on_missing: str) -> ts.Shape:
    """``invoice_in`` with other ``on_missing`` for ``lines`` (and ``memos``)."""
    return ts.shape(
        Invoice,
        {
            "customer": ts.include(ids=True),
            "tags": ts.include(ids=True),
            "lines": ts.include(line_in, on_missing=on_missing.get("lines", "delete")),
            "memos": ts.include(memo_in, on_missing=on_missing.get("memos", "unlink")),
        },
        fields=["invoice_id", "number", "status", "paid", "issued", "note", "total"],
    )
