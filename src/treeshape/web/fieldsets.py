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
    "fieldset_names",
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


def fieldset_names(root: ShapeNode) -> dict[type, str]:
    """The name of each embedded model in ``fields[...]``: its class name, or, for classes of
    the same name from different modules or registries (two ``Item`` models), the class name
    behind as much of its module path as tells them apart (``fields[shop.Item]``,
    ``fields[warehouse.Item]``), so that one parameter never stands for two models."""
    by_name: dict[str, list[type]] = {}
    for node in embedded_nodes(root):
        models = by_name.setdefault(node.info.model.__name__, [])
        if node.info.model not in models:
            models.append(node.info.model)
    labels: dict[type, str] = {}
    for name, models in by_name.items():
        if len(models) == 1:
            labels[models[0]] = name
            continue
        paths = [(*m.__module__.split("."), *m.__qualname__.split(".")) for m in models]
        for length in range(2, max(map(len, paths)) + 1):
            tried = [".".join(path[-length:]) for path in paths]
            if len(set(tried)) == len(tried):
                break
        else:  # the same module and qualified name (classes made in a loop): numbered
            tried = [f"{'.'.join(path)}.{i}" for i, path in enumerate(paths, 1)]
        labels.update(zip(models, tried, strict=True))
    return labels


def outputs_of(root: ShapeNode, labels: Mapping[type, str] | None = None) -> Outputs:
    """The `Outputs` of every model ``root`` embeds, by their `fieldset_names` (``labels``,
    computed on ``root`` when not given)."""
    labels = fieldset_names(root) if labels is None else labels
    fields: dict[str, dict[str, int]] = {}
    extras: dict[str, dict[str, int]] = {}
    relations: dict[str, set[str]] = {}
    for node in embedded_nodes(root):
        info = node.info
        label = labels[info.model]
        found = fields.setdefault(label, {})
        for name in node.field_names:
            found.setdefault(node.key(name), info.position(name))
        extra = extras.setdefault(label, {})
        for rel in node.relations:
            for key in _extra(rel):
                extra.setdefault(node.key(key), info.position(rel.name))
            if rel.render == "objects":
                relations.setdefault(label, set()).add(node.key(rel.name))
    # Fields first, then counts and id lists: the order of the response's keys.
    names = {
        model: (
            *sorted(found, key=found.__getitem__),
            *sorted(extras[model], key=extras[model].__getitem__),
        )
        for model, found in fields.items()
    }
    return Outputs(names, {m: frozenset(relations.get(m, ())) for m in names})


def select_outputs(
    node: ShapeNode,
    selection: Mapping[str, frozenset[str]],
    labels: Mapping[type, str] | None = None,
) -> ShapeNode:
    """``node`` with every embedded node of a model in ``selection`` (by its `fieldset_names`,
    ``labels``) keeping only the outputs named by their output keys (fields, counts, id lists);
    the tree is otherwise unchanged (same node if so)."""
    labels = fieldset_names(node) if labels is None else labels
    names = selection.get(labels[node.info.model])
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
        child = (
            select_outputs(rel.child, selection, labels) if rel.render == "objects" else rel.child
        )
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
