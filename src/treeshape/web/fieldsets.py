"""Sparse fieldsets over a shape tree: what ``fields[Model]`` may name, and the narrowing.

A model's outputs, as ``fields[Model]`` names them, are everything it outputs that is not an
embedded object: its fields, the counts of its relationships (``trips_count``) and its id
lists (``stops``). Embedded relationships are ``include``'s business. Only the models the
response embeds as objects have a ``fields[...]`` parameter: a model present only as a count
or as ids has nothing a fieldset could change, and a parameter that would have no effect is
refused like any other, never advertised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..tree import RelationNode, ShapeNode

__all__ = ["Outputs", "embedded_nodes", "outputs_of", "select_outputs"]


@dataclass(frozen=True)
class Outputs:
    """Per model name: what ``fields[Model]`` may name, and its embedded relationships."""

    names: dict[str, tuple[str, ...]]
    """Fields, counts and id lists, in mapper order (the union over every occurrence)."""
    relations: dict[str, frozenset[str]]
    """Embedded relationships (``include``'s to narrow, not ``fields``')."""


def embedded_nodes(node: ShapeNode) -> Iterator[ShapeNode]:
    """``node`` and every node below it that the response embeds as objects."""
    yield node
    for rel in node.relations:
        if rel.render == "objects":
            yield from embedded_nodes(rel.child)


def _extra(rel: RelationNode) -> tuple[str, ...]:
    """The outputs of ``rel`` that a fieldset names: its count, its id list."""
    keys: tuple[str, ...] = (rel.name,) if rel.render == "ids" else ()
    if rel.options.count is not None:
        keys += (rel.options.count,)
    return keys


def outputs_of(root: ShapeNode) -> Outputs:
    """The `Outputs` of every model ``root`` embeds."""
    fields: dict[str, dict[str, int]] = {}
    extras: dict[str, dict[str, int]] = {}
    relations: dict[str, set[str]] = {}
    for node in embedded_nodes(root):
        info = node.info
        found = fields.setdefault(info.name, {})
        for name in node.field_names:
            found[name] = info.position(name)
        extra = extras.setdefault(info.name, {})
        for rel in node.relations:
            for key in _extra(rel):
                extra.setdefault(key, info.position(rel.name))
            if rel.render == "objects":
                relations.setdefault(info.name, set()).add(rel.name)
    # Fields first, then counts and id lists: the order of the response's keys.
    names = {
        model: (
            *sorted(found, key=found.__getitem__),
            *sorted(extras[model], key=extras[model].__getitem__),
        )
        for model, found in fields.items()
    }
    return Outputs(names, {m: frozenset(relations.get(m, ())) for m in names})


def select_outputs(node: ShapeNode, selection: Mapping[str, frozenset[str]]) -> ShapeNode:
    """``node`` with every embedded node of a model in ``selection`` keeping only the named
    outputs (fields, counts, id lists); the tree is otherwise unchanged (same node if so)."""
    names = selection.get(node.info.name)
    fields = node.fields if names is None else tuple(f for f in node.fields if f.name in names)
    relations: list[RelationNode] = []
    for rel in node.relations:
        options = rel.options
        if names is not None:
            main = rel.render == "objects" or (rel.render == "ids" and rel.name in names)
            count = options.count is not None and options.count in names
            if not main and not count:
                continue
            if not main:
                options = dataclasses.replace(options, embed=False, ids=False)
            elif not count:
                options = dataclasses.replace(options, count=None)
        child = select_outputs(rel.child, selection) if rel.render == "objects" else rel.child
        relations.append(type(rel)(rel.info, child, options))
    if fields == node.fields and tuple(relations) == node.relations:
        return node  # unchanged: keep the node, and with it its name and generated classes
    return ShapeNode.make(node.info, fields, tuple(relations))
