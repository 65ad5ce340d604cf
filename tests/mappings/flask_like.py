"""A stand-in for Flask-SQLAlchemy's ``db`` object, so models read as in its tutorials.

``db.Model`` is a fresh declarative base per instance (one metadata per test module, like one
app), and ``db.Column``, ``db.relationship``, ``db.Integer``... are SQLAlchemy's own names, as
Flask-SQLAlchemy proxies them. Table names are given explicitly (Flask-SQLAlchemy derives them
from the class name; the mapping is the same).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy
import sqlalchemy.orm
from sqlalchemy.orm import DeclarativeBase

__all__ = ["SQLAlchemyStandIn"]


class SQLAlchemyStandIn:
    """``db = SQLAlchemyStandIn()``; ``class User(db.Model): id = db.Column(db.Integer, ...)``."""

    def __init__(self) -> None:
        class Model(DeclarativeBase):
            pass

        self.Model: Any = Model
        self.metadata = Model.metadata

    def __getattr__(self, name: str) -> Any:
        for module in (sqlalchemy, sqlalchemy.orm):
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(name)
