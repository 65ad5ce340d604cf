"""The catalog's ``Item`` (one of two classes of that name in the registry)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tests.models_b.same_name_base import Base


class Item(Base):
    __tablename__ = "mb_catalog_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("mb_order.id"))
    title: Mapped[str] = mapped_column(sa.String(40))
    price: Mapped[int]
