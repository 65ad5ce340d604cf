"""An independent statement of what output names do to a document, for the tests' expectations.

Written without treeshape: a document's keys are renamed by the model's ``names`` first, then by
the key style, at every level of the include tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import inspect

from tests.core.reference import Tree

Style = Callable[[str], str]
Renames = Mapping[str, Mapping[str, str]]
"""Per model name: attribute -> output key."""


def key_of(model: type, attribute: str, style: Style, renames: Renames) -> str:
    explicit = renames.get(model.__name__, {})
    return explicit[attribute] if attribute in explicit else style(attribute)


def renamed(doc: Any, model: type, tree: Tree, style: Style, renames: Renames) -> Any:
    """``doc`` (a document of ``model`` with attribute-named keys) with its output keys."""
    if doc is None:
        return None
    relationships = inspect(model).relationships
    out: dict[str, Any] = {}
    for attribute, value in doc.items():
        if attribute in tree:
            target = relationships[attribute].mapper.class_
            if isinstance(value, list):
                value = [renamed(v, target, tree[attribute], style, renames) for v in value]
            else:
                value = renamed(value, target, tree[attribute], style, renames)
        out[key_of(model, attribute, style, renames)] = value
    return out


def collides(
    model: type,
    tree: Tree,
    fields: Mapping[str, list[str]],
    defaults: Mapping[str, list[str]],
    style: Style,
    renames: Renames,
) -> bool:
    """Whether two outputs of some node of the tree get one key."""
    attributes = [*fields.get(model.__name__, defaults[model.__name__]), *tree]
    keys = [key_of(model, a, style, renames) for a in attributes]
    if len(set(keys)) != len(keys):
        return True
    relationships = inspect(model).relationships
    return any(
        collides(relationships[name].mapper.class_, sub, fields, defaults, style, renames)
        for name, sub in tree.items()
    )
