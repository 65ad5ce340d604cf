"""The databases the JSON strategy knows, one module each behind `base.JsonDialect`.

To add a database: write ``dialects/<name>.py`` with a `JsonDialect` subclass (see its
docstring for each method), and list it in `JSON_DIALECTS` under the SQLAlchemy dialect name.
A dialect not listed is served by the Core strategy, which works on any database SQLAlchemy
supports.
"""

from __future__ import annotations

from types import MappingProxyType

from sqlalchemy.engine import Dialect

from .base import JsonDialect
from .mysql import MysqlJson
from .postgresql import PostgresJson
from .sqlite import SqliteJson, sqlite_has_json

__all__ = ["JSON_DIALECTS", "JsonDialect", "json_dialect"]

JSON_DIALECTS: MappingProxyType[str, type[JsonDialect]] = MappingProxyType(
    {"sqlite": SqliteJson, "postgresql": PostgresJson, "mysql": MysqlJson, "mariadb": MysqlJson}
)
"""The JSON strategy's dialects by SQLAlchemy dialect name (read-only)."""


def json_dialect(dialect: Dialect) -> JsonDialect | str:
    """The JSON dialect for ``dialect``, or a sentence saying why it has none."""
    dialect_class = JSON_DIALECTS.get(dialect.name)
    if dialect_class is None:
        return f"the {dialect.name} dialect has no JSON strategy"
    if dialect.name == "sqlite" and not sqlite_has_json():
        return "this SQLite has no JSON functions"
    return dialect_class(dialect)
