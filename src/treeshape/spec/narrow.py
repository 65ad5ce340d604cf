"""Narrowing: a sub-shape of a shape, as JSON:API's ``include`` and sparse fieldsets.

``narrow("trips")`` keeps the trips without their stop_times; ``fields`` keeps exactly the named
fields of a model. A narrowing can only take away: anything outside the shape is a `SpecError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import SpecError, did_you_mean, name_list, safe_repr
from ..inspection import FieldInfo, ModelInfo
from ..tree import ShapeNode
from .bind import FieldsArg, resolve_fields
from .parse import SpecEntry, parse

__all__ = ["narrow_node", "replace_options"]


def narrow_node(
    node: ShapeNode, include: Iterable[str] | None, fields: FieldsArg = None
) -> ShapeNode:
    """``node`` keeping only the ``include`` paths (all when ``None``) and ``fields``."""
    kept: SpecEntry | None = None
    if include is not None:
        include = list(include)
        for path in include:
            if not isinstance(path, str):
                raise SpecError(
                    f"narrow() takes dotted path strings, got {type(path).__name__} "
                    f"{safe_repr(path)}."
                )
        kept = parse(node.info.name, tuple(include)) if include else SpecEntry("")
        _check_inside(node, kept)
    selection = _narrow_fields(node, fields)
    return _rebuild(node, kept, selection)


def _check_inside(node: ShapeNode, entry: SpecEntry) -> None:
    for name, child in entry.children.items():
        if child.options is not None and child.options.given:
            raise SpecError(
                f"Cannot narrow with options at {child.path!r}: a narrowing only keeps paths "
                f"of the shape; options belong in the shape's definition."
            )
        rel = node.relation(name)
        if rel is None:
            paths = node.paths()
            raise SpecError(
                f"Cannot narrow to {child.path!r}: it is outside this shape of "
                f"{node.info.name}.{did_you_mean(name, [r.name for r in node.relations])} "
                f"Paths in this shape: {name_list(paths)}."
            )
        _check_inside(rel.child, child)


def _narrow_fields(node: ShapeNode, fields: FieldsArg) -> dict[type, frozenset[str]]:
    if fields is None:
        return {}
    present: dict[type, ModelInfo] = {}
    allowed: dict[type, set[str]] = {}
    computed: dict[type, dict[str, FieldInfo]] = {}
    for _, sub in node.walk():
        present.setdefault(sub.model, sub.info)
        allowed.setdefault(sub.model, set()).update(sub.field_names)
        for f in sub.fields:
            if f.computed is not None:
                computed.setdefault(sub.model, {})[f.name] = f
    resolved = resolve_fields(node.info, fields, present, computed=computed)
    result: dict[type, frozenset[str]] = {}
    for model, infos in resolved.items():
        for info in infos:
            if info.name not in allowed[model]:
                shown = [n for n in present[model].field_names() if n in allowed[model]]
                shown += [n for n in computed.get(model, {}) if n in allowed[model]]
                raise SpecError(
                    f"Cannot narrow to the field {model.__name__}.{info.name}: it is outside "
                    f"this shape.{did_you_mean(info.name, shown)} Fields of "
                    f"{model.__name__} here: {name_list(shown)}."
                )
        result[model] = frozenset(info.name for info in infos)
    return result


def _rebuild(
    node: ShapeNode, kept: SpecEntry | None, selection: dict[type, frozenset[str]]
) -> ShapeNode:
    fields: tuple[FieldInfo, ...] = node.fields
    names = selection.get(node.model)
    if names is not None:
        fields = tuple(f for f in node.fields if f.name in names)
    relations = []
    for rel in node.relations:
        if kept is not None and rel.name not in kept.children:
            continue
        child_kept = kept.children[rel.name] if kept is not None else None
        relations.append(
            type(rel)(rel.info, _rebuild(rel.child, child_kept, selection), rel.options)
        )
    if fields == node.fields and tuple(relations) == node.relations:
        return node  # unchanged: keep the node, and with it its name and generated classes
    return node.remake(fields, tuple(relations))


def replace_options(node: ShapeNode, changes: Mapping[str, Mapping[str, Any]]) -> ShapeNode:
    """``node`` with the options of the relationship at each dotted path of ``changes`` replaced
    field by field (``{"trips": {"limit": 5, "order_by": (("trip_id", True),)}}``).

    This is how a request's ``page[...]``/``sort[...]`` reach the tree (`treeshape.web`): the
    result is an ordinary interned node, so every backend (loader plan, fetch, dumper,
    generated classes) applies the new order and window with no special case, and equal
    requests share one node. The caller validates the values (a request may only ask what its
    endpoint allows); here a path outside the shape is a `SpecError`.
    """
    if not changes:
        return node
    grouped: dict[str, dict[str, Mapping[str, Any]]] = {}
    for path, values in changes.items():
        head, _, rest = path.partition(".")
        if node.relation(head) is None:
            raise SpecError(
                f"Cannot set options at {path!r}: it is outside this shape of {node.info.name}."
                f"{did_you_mean(head, [r.name for r in node.relations])} Paths in this shape: "
                f"{name_list(node.paths())}."
            )
        grouped.setdefault(head, {})[rest] = values
    relations = []
    for rel in node.relations:
        wanted = grouped.get(rel.name)
        if wanted is None:
            relations.append(rel)
            continue
        options = rel.options
        if "" in wanted:
            options = dataclasses.replace(options, **wanted.pop(""))
        child = replace_options(rel.child, wanted)
        relations.append(type(rel)(rel.info, child, options))
    if tuple(relations) == node.relations:
        return node
    return node.remake(node.fields, tuple(relations))  # unnamed, as `_rebuild`
