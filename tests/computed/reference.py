"""The tests' own reference for shapes with computed fields, written without treeshape.

The objects are loaded with a hand-written ``selectinload`` chain over the include tree joined
with what the chosen computed fields read (the models are ``lazy="raise"``: a chain that misses
a read fails), and each document is built with ``getattr``, the declared functions and
Pydantic's ``to_jsonable_python``: columns in mapper order, computed fields in the order given,
then relationships in mapper order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, selectinload

from tests.computed.models import COMPUTED, READS
from tests.core.reference import Tree, paths_to_tree, planned_statements
from tests.statements import StatementCounter

__all__ = ["Chosen", "load_tree", "reference_documents"]

Chosen = Mapping[str, list[str]]
"""Per model name, the computed fields a shape outputs (in order)."""


def _merge(into: Tree, extra: Tree) -> None:
    for name, sub in extra.items():
        _merge(into.setdefault(name, {}), sub)


def load_tree(model: type, tree: Tree, chosen: Chosen) -> Tree:
    """``tree`` with, at each node, the paths its model's chosen computed fields read (and what
    the models those reads reach read in turn, when they are in the tree too)."""
    result: Tree = {}
    for name in chosen.get(model.__name__, []):
        _merge(result, paths_to_tree(READS[model.__name__][name]))
    relationships = inspect(model).relationships
    for name, sub in tree.items():
        child = relationships[name].mapper.class_
        _merge(result.setdefault(name, {}), load_tree(child, sub, chosen))
    return result


def _options(model: type, tree: Tree, path: Any = None) -> list[Any]:
    options = []
    for name, sub in tree.items():
        attribute = getattr(model, name)
        loader = selectinload(attribute) if path is None else path.selectinload(attribute)
        child = inspect(model).relationships[name].mapper.class_
        options.append(loader)
        options += _options(child, sub, loader)
    return options


def _document(
    obj: Any, tree: Tree, fields: Mapping[str, list[str]], chosen: Chosen, columns: Any
) -> dict[str, Any]:
    model = type(obj)
    mapper = inspect(model)
    order = {key: i for i, key in enumerate(mapper.attrs.keys())}
    out: dict[str, Any] = {}
    for name in sorted(fields.get(model.__name__, columns[model.__name__]), key=order.get):
        out[name] = to_jsonable_python(getattr(obj, name))
    for name in chosen.get(model.__name__, []):
        out[name] = to_jsonable_python(COMPUTED[model.__name__][name].func(obj))
    for name in sorted(tree, key=lambda n: order[n]):
        value = getattr(obj, name)
        if isinstance(value, list):
            out[name] = [_document(v, tree[name], fields, chosen, columns) for v in value]
        else:
            out[name] = (
                None if value is None else _document(value, tree[name], fields, chosen, columns)
            )
    return out


def reference_documents(
    engine: Engine,
    model: type,
    tree: Tree,
    fields: Mapping[str, list[str]],
    chosen: Chosen,
    columns: Mapping[str, list[str]],
) -> tuple[list[dict[str, Any]], int]:
    """The expected documents of every root (primary-key order) and the number of statements
    a load of the tree and its reads takes (`planned_statements`)."""
    loads = load_tree(model, tree, chosen)
    with Session(engine) as session, StatementCounter(engine):
        stmt = select(model).options(*_options(model, loads))
        roots = session.scalars(stmt.order_by(*inspect(model).primary_key)).all()
        docs = [_document(o, tree, fields, chosen, columns) for o in roots]
        return docs, planned_statements(list(roots), loads)
