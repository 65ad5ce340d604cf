"""One registry for `same_name_catalog` and `same_name_stock`, which each declare an ``Item``."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
