"""SQLAlchemy loader options that load exactly a shape's tree, and nothing lazily.

One ``selectinload`` per included relationship (one statement per relationship, batched by
SQLAlchemy in groups of 500 parents), ``load_only`` of the columns the shape outputs plus the
keys that relationship loading needs, and ``raiseload`` for everything else, so an access the
shape did not plan fails loudly instead of issuing a query.

``selectinload`` is used for many-to-one too: a JOIN would widen every parent row and repeat the
target's columns for each parent (the same stop under thousands of stop_times), whereas
selectin fetches each distinct target once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import load_only, raiseload, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from .inspection import ModelInfo
from .tree import ShapeNode, memoize


def _column_keys(info: ModelInfo, columns: Any) -> set[str]:
    keys: set[str] = set()
    for column in columns:
        try:
            keys.add(info.mapper.get_property_by_column(column).key)
        except Exception:  # a column of a secondary table or subquery: not this model's
            continue
    return keys


def _needed_keys(node: ShapeNode, incoming_remote: set[str]) -> set[str] | None:
    """The attribute keys to load for ``node``; ``None`` means "all columns".

    Hybrids and Python properties may read any column, so a node that outputs one loads all.
    """
    if any(not f.loaded_from_state for f in node.fields):
        return None
    keys = {f.name for f in node.fields} | set(node.info.primary_key) | incoming_remote
    for rel in node.relations:
        if rel.info.direction == "many_to_one":
            keys |= _column_keys(node.info, rel.info.prop.local_columns)
    return keys


def _options_for(node: ShapeNode, incoming_remote: set[str]) -> list[Any]:
    options: list[Any] = []
    keys = _needed_keys(node, incoming_remote)
    if keys is not None:
        attrs = [getattr(node.model, key) for key in sorted(keys, key=node.info.position)]
        options.append(load_only(*attrs, raiseload=True))
    for rel in node.relations:
        child_info = rel.child.info
        remote: set[str] = set()
        if rel.info.direction == "one_to_many":
            remote = _column_keys(child_info, rel.info.prop.remote_side)
        loader = selectinload(getattr(node.model, rel.name))
        options.append(loader.options(*_options_for(rel.child, remote)))
    options.append(raiseload("*"))
    return options


@memoize
def loader_options(node: ShapeNode) -> tuple[LoaderOption, ...]:
    """Options for ``select(Model).options(*options)`` that load ``node``'s tree."""
    return tuple(_options_for(node, set()))
