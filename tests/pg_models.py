"""PostgreSQL-only test models: the column types SQLite does not have, or stores as text.

Their own ``DeclarativeBase``, so that ``tests.models``' tables stay creatable on SQLite. A box
holds many values (and a value points back at its box), so that fetch's nested paths
(``json_agg`` for a collection, a scalar subquery for a many-to-one) carry every type too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from sqlalchemy import DateTime, Double, ForeignKey, Integer, Numeric, String, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class PgBase(DeclarativeBase):
    pass


class PgBox(PgBase):
    __tablename__ = "pg_box"

    box_id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    values: Mapped[list[PgValue]] = relationship(back_populates="box", order_by="PgValue.value_id")


class PgValue(PgBase):
    """One column per PostgreSQL type, most of them nullable."""

    __tablename__ = "pg_value"

    value_id: Mapped[int] = mapped_column(primary_key=True)
    box_id: Mapped[int | None] = mapped_column(ForeignKey("pg_box.box_id"))
    amount: Mapped[decimal.Decimal | None] = mapped_column(Numeric(14, 4))
    """numeric with a scale: fixed digits after the point."""
    ratio: Mapped[decimal.Decimal | None] = mapped_column(Numeric)
    """numeric without precision or scale: any number of digits, as stored."""
    real: Mapped[float | None] = mapped_column(Double)
    at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    """timestamp (without time zone)."""
    at_tz: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """timestamptz: read back in the session's time zone."""
    uid: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    pg_uid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    doc: Mapped[Any | None] = mapped_column(JSONB)
    ints: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    texts: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    text: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))

    box: Mapped[PgBox | None] = relationship(back_populates="values")


PG_VALUE_COLUMNS = [
    "value_id",
    "box_id",
    "amount",
    "ratio",
    "real",
    "at",
    "at_tz",
    "uid",
    "pg_uid",
    "doc",
    "ints",
    "texts",
    "text",
    "name",
]
