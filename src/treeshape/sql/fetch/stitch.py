"""The Core strategy's rows -> documents code, generated per level of a plan and ``exec``-ed.

A level's rows become documents in one loop per level, written for that level: each row is
unpacked into locals and its document is one dict display in output order (fields, converted
where their type needs it, then the placeholders of relationships, counts and ids), then placed
under its parent. Generic closures over ``(name, index, converter)`` lists paid, per row, a
call, a ``zip``, a loop per placeholder kind and an ``itemgetter`` per key; on the transit
route (4,788 stop_times) that was most of the Python time of a ``fetch``.

What the loop keeps is only what the levels below need: the documents and their rows (for the
many-to-one lookups below, which read the rows' foreign keys), a key -> document index (for the
collections below), or nothing (a leaf collection appends each document to its parent and
forgets it). A collection whose rows can repeat (a target under several parents, through a
secondary) and that has levels below builds each distinct target once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Entry", "Stitch", "StitchSpec", "stitcher"]

Entry = tuple[str, Literal["field", "many", "one", "value", "ids"], Any]
"""A document key, its kind and its data: ``field`` (column index, converter or ``None``),
``many`` (``[]``), ``one`` (``None``), ``value`` (column index, as fetched), ``ids`` (column
indices and converters of a many-to-one's foreign key)."""

Stitch = Callable[..., tuple[list[Any], list[Any], dict[Any, Any], dict[Any, Any]]]
"""``stitch(rows)`` (roots, lookups) or ``stitch(rows, parents)`` (collections, ``parents``
the key -> document index of the level above): the documents kept, their rows, the key ->
document index and, for a lookup, the remote key -> document index (empty where unused)."""


@dataclass
class StitchSpec:
    """What one level's loop writes (see the module doc)."""

    mode: Literal["root", "grouped", "lookup"]
    width: int
    """Columns per row."""
    entries: list[Entry]
    key: tuple[int, ...]
    """The column indices of the level's primary key."""
    keep: bool = False
    """Keep the documents and their rows (the level has levels below)."""
    index: bool = False
    """Build the key -> document index (the level has collections below)."""
    parent: tuple[int, ...] = ()
    """A collection's columns holding its parent's key."""
    remote: tuple[int, ...] = ()
    """A lookup's columns its parents' foreign keys name."""
    name: str = ""
    """A collection's output key in its parent."""
    many: bool = True
    dedupe: bool = False
    """A collection's rows may repeat a target (under several parents)."""
    ids: tuple[tuple[int, ...], list[Any]] | None = None
    """A collection rendered as ids: the key's columns and converters."""
    constants: dict[str, Any] = field(default_factory=dict)


def _tuple(indices: Sequence[int]) -> str:
    """The key of the given columns, as ``operator.itemgetter`` gives it (a scalar alone)."""
    if len(indices) == 1:
        return f"c{indices[0]}"
    return "(" + ", ".join(f"c{i}" for i in indices) + ")"


def _converted(spec: StitchSpec, index: int, convert: Any) -> str:
    if convert is None:
        return f"c{index}"
    name = f"v{len(spec.constants)}"
    spec.constants[name] = convert
    return f"(c{index} if c{index} is None else {name}(c{index}))"


def _key_value(spec: StitchSpec, indices: Sequence[int], converters: Sequence[Any]) -> str:
    """A key as output: converted, a list for a composite key, ``None`` if any part is."""
    if len(indices) == 1:
        return _converted(spec, indices[0], converters[0])
    parts = [_converted(spec, i, c) for i, c in zip(indices, converters, strict=True)]
    tests = " or ".join(f"c{i} is None" for i in indices)
    return f"(None if {tests} else [{', '.join(parts)}])"


def _document(spec: StitchSpec) -> str:
    items = []
    for key, kind, data in spec.entries:
        if kind == "field":
            value = _converted(spec, data[0], data[1])
        elif kind == "many":
            value = "[]"
        elif kind == "one":
            value = "None"
        elif kind == "value":
            value = f"c{data}"
        else:
            value = _key_value(spec, *data)
        items.append(f"{key!r}: {value}")
    return "{" + ", ".join(items) + "}"


def _source(spec: StitchSpec) -> list[str]:
    unpack = ", ".join(f"c{i}" for i in range(spec.width)) + ("," if spec.width == 1 else "")
    doc = _document(spec)
    key = _tuple(spec.key)
    head = [
        "def stitch(rows, parents=None):",
        "    docs, drows, by_key, by_remote = [], [], {}, {}",
    ]
    loop = ["    for row in rows:", f"        {unpack} = row"]
    if spec.mode == "root":
        body = [f"        doc = {doc}", "        docs.append(doc)"]
        if spec.index:
            body.append(f"        by_key[{key}] = doc")
        return [*head, *loop, *body, "    return docs, rows, by_key, by_remote"]
    if spec.mode == "lookup":
        body = [f"        doc = by_remote[{_tuple(spec.remote)}] = {doc}"]
        if spec.keep:
            body.append("        docs.append(doc)")
        if spec.index:
            body.append(f"        by_key[{key}] = doc")
        return [*head, *loop, *body, "    return docs, rows, by_key, by_remote"]
    parent = _tuple(spec.parent)
    value = "doc" if spec.ids is None else _key_value(spec, *spec.ids)
    if spec.many:
        head.append(f"    put = {{k: p[{spec.name!r}].append for k, p in parents.items()}}")
        place = [f"        put[{parent}]({value})"]
    else:
        place = [
            f"        p = parents[{parent}]",
            f"        if p[{spec.name!r}] is None:",
            f"            p[{spec.name!r}] = {value}",
        ]
    if not spec.keep:
        make = [] if spec.ids is not None else [f"        doc = {doc}"]
        return [*head, *loop, *make, *place, "    return docs, drows, by_key, by_remote"]
    if spec.dedupe:
        make = [
            f"        key = {key}",
            "        doc = by_key.get(key)",
            "        if doc is None:",
            f"            doc = by_key[key] = {doc}",
            "            docs.append(doc)",
            "            drows.append(row)",
        ]
        return [*head, *loop, *make, *place, "    return docs, drows, by_key, by_remote"]
    # Every row is a distinct document: the rows themselves are the documents' rows.
    make = [f"        doc = {doc}", "        docs.append(doc)"]
    if spec.index:
        make.append(f"        by_key[{key}] = doc")
    return [*head, *loop, *make, *place, "    return docs, rows, by_key, by_remote"]


def stitcher(spec: StitchSpec, title: str) -> Stitch:
    """The generated loop of ``spec``; ``title`` names the level in tracebacks.

    The file name is the title alone, not a number per plan: CPython keeps every distinct code
    file name for the life of the process, and a server builds a plan per narrowing it sees.
    """
    text = "\n".join(_source(spec)) + "\n"
    filename = f"<treeshape core stitch: {title}>"
    namespace: dict[str, Any] = dict(spec.constants)
    exec(compile(text, filename, "exec"), namespace)
    function: Stitch = namespace["stitch"]
    function.__doc__ = text  # the generated source, for debugging
    return function
