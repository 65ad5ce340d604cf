"""Sparse fieldsets over a shape tree: what ``fields[Model]`` may name, and the narrowing.

A model's outputs, as ``fields[Model]`` names them, are everything it outputs that is not an
embedded object: its fields, the counts of its relationships (``trips_count``) and its id
lists (``stops``). Embedded relationships are ``include``'s business. Requests name everything
by its output key (`ShapeNode.keys`: ``fields[Stop]=stopName``, ``include=stopTimes``), so
everything here is in output keys; `output_paths` maps request paths to the tree's. Only the
models the response embeds as objects have a ``fields[...]`` parameter: a model present only as
a count or as ids has nothing a fieldset could change, and a parameter that would have no
effect is refused like any other, never advertised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from ..errors import did_you_mean
from ..tree import RelationNode, ShapeNode

__all__ = [
    "Outputs",
    "attribute_aliases",
    "embedded_nodes",
    "output_paths",
    "outputs_of",
    "select_outputs",
    "suggest",
]


@dataclass(frozen=True)
class Outputs:
    """Per model name: what ``fields[Model]`` may name, and its embedded relationships."""

    names: dict[str, tuple[str, ...]]
    """Output keys of fields, counts and id lists, in mapper order (the union over every
    occurrence)."""
    relations: dict[str, frozenset[str]]
    """Output keys of embedded relationships (``include``'s to narrow, not ``fields``')."""


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
            found.setdefault(node.key(name), info.position(name))
        extra = extras.setdefault(info.name, {})
        for rel in node.relations:
            for key in _extra(rel):
                extra.setdefault(node.key(key), info.position(rel.name))
            if rel.render == "objects":
                relations.setdefault(info.name, set()).add(node.key(rel.name))
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
    """``node`` with every embedded node of a model in ``selection`` keeping only the outputs
    named by their output keys (fields, counts, id lists); the tree is otherwise unchanged
    (same node if so)."""
    names = selection.get(node.info.name)
    key = node.key
    fields = node.fields if names is None else tuple(f for f in node.fields if key(f.name) in names)
    relations: list[RelationNode] = []
    for rel in node.relations:
        options = rel.options
        if names is not None:
            main = rel.render == "objects" or (rel.render == "ids" and key(rel.name) in names)
            count = options.count is not None and key(options.count) in names
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
    return node.remake(fields, tuple(relations))


def output_paths(root: ShapeNode) -> dict[str, str]:
    """Each included relationship's path in output keys (``stopTimes.stop``, what requests
    write) -> its path in attribute names (``stop_times.stop``, what the tree takes), parents
    first."""
    found: dict[str, str] = {}

    def walk(node: ShapeNode, out: str, attr: str) -> None:
        for rel in node.relations:
            # A count alone has no key of its own: its path takes the naming's spelling.
            key = node.keys.get(rel.name) or node.naming.key(rel.name)
            out_path, attr_path = (
                f"{out}.{key}" if out else key,
                f"{attr}.{rel.name}" if attr else rel.name,
            )
            found[out_path] = attr_path
            walk(rel.child, out_path, attr_path)

    walk(root, "", "")
    return found


def attribute_aliases(root: ShapeNode) -> dict[str, str]:
    """Attribute name -> output key of every embedded output that has another key, for
    "Did you mean 'stopName'?" when a request spells a name as the model does."""
    aliases: dict[str, str] = {}
    for node in embedded_nodes(root):
        for attribute, key in node.keys.items():
            if attribute != key:
                aliases.setdefault(attribute, key)
    return aliases


def suggest(name: str, candidates: Iterable[str], aliases: Mapping[str, str]) -> str:
    """`did_you_mean` over the output keys, knowing the other spelling: a name written as
    the model spells it (``stop_name``) suggests its output key (``stopName``) exactly."""
    listed = list(candidates)
    alias = aliases.get(name)
    if alias is not None and alias in listed:
        return f" Did you mean {alias!r}?"
    return did_you_mean(name, listed)
