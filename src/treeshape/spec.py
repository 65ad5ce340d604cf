"""Parse the include spec language into an unbound tree of relationship names.

Accepted, freely mixed and merged:

* dotted paths, one or more, each possibly comma-separated: ``"trips.stop_times.stop, agency"``;
* nested mappings: ``{"trips": {"stop_times": {"stop": {}}}}``; a value may be ``{}``,
  ``None`` or ``True`` (a leaf), a mapping, a dotted-path string or a list of them relative to
  the key, or a `Shape` (composition); keys may themselves be dotted paths;
* `Shape` objects: at a relationship, the sub-tree is that shape; at the top, merged in.

Parsing checks only the form of the spec; `binding` checks it against the models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError
from .tree import ShapeNode

MAX_DEPTH = 32
"""Deepest relationship nesting a spec may have; deeper is almost surely a runaway spec."""


@dataclass
class SpecEntry:
    """A node of the unbound tree: included relationships by name, and a composed shape."""

    path: str
    children: dict[str, SpecEntry] = field(default_factory=dict)
    shapes: list[ShapeNode] = field(default_factory=list)

    def first_leaf_path(self) -> str:
        """A complete path through this entry, for error messages: 'a.b' not just 'a'."""
        entry = self
        while entry.children:
            entry = next(iter(entry.children.values()))
        return entry.path

    def child(self, name: str) -> SpecEntry:
        entry = self.children.get(name)
        if entry is None:
            entry = self.children[name] = SpecEntry(_join(self.path, name))
        return entry


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def shape_node_of(value: Any) -> ShapeNode | None:
    """The node of a `Shape` (or a node itself); ``None`` for anything else."""
    if isinstance(value, ShapeNode):
        return value
    node = getattr(value, "__treeshape_node__", None)
    return node if isinstance(node, ShapeNode) else None


def parse(model_name: str, specs: tuple[Any, ...]) -> SpecEntry:
    """Parse ``shape()``'s positional specs for a root model into one merged `SpecEntry`."""
    root = SpecEntry("")
    for spec in specs:
        _add(model_name, root, spec, active=set(), depth=0)
    return root


def _add(model_name: str, entry: SpecEntry, spec: Any, *, active: set[int], depth: int) -> None:
    node = shape_node_of(spec)
    if node is not None:
        entry.shapes.append(node)
    elif isinstance(spec, str):
        _add_paths(model_name, entry, spec, depth)
    elif isinstance(spec, Mapping):
        _add_mapping(model_name, entry, spec, active=active, depth=depth)
    elif isinstance(spec, list | tuple):
        for item in spec:
            _add(model_name, entry, item, active=active, depth=depth)
    elif spec is None or spec is True:
        return
    else:
        where = f" at {entry.path!r}" if entry.path else ""
        raise SpecError(
            f"Invalid include spec for {model_name}{where}: {type(spec).__name__} {spec!r}. "
            f"A spec is a dotted path string, a mapping of relationship names, a Shape, "
            f"or a list of these."
        )


def _add_paths(model_name: str, entry: SpecEntry, text: str, depth: int) -> None:
    if not text.strip():
        where = f" under {entry.path!r}" if entry.path else ""
        raise SpecError(f"Empty include path for {model_name}{where}: {text!r}.")
    for raw_path in text.split(","):
        path = raw_path.strip()
        if not path:
            raise SpecError(
                f"Empty include path in {text!r} for {model_name}: remove the extra comma."
            )
        _add_segments(model_name, entry, path, path.split("."), depth)


def _add_segments(
    model_name: str, entry: SpecEntry, path: str, segments: list[str], depth: int
) -> SpecEntry:
    full_path = _join(entry.path, path)
    if depth + len(segments) > MAX_DEPTH:
        raise SpecError(
            f"Include path {full_path!r} for {model_name} nests deeper than "
            f"{MAX_DEPTH} relationships."
        )
    for segment in segments:
        if not segment:
            raise SpecError(
                f"Empty segment in include path {full_path!r} for {model_name}: "
                f"paths are relationship names joined by single dots, e.g. 'trips.stop_times'."
            )
        if segment != segment.strip():
            raise SpecError(
                f"Include path {full_path!r} for {model_name} has white space "
                f"in the segment {segment!r}. Did you mean {segment.strip()!r}?"
            )
        entry = entry.child(segment)
    return entry


def _add_mapping(
    model_name: str,
    entry: SpecEntry,
    spec: Mapping[Any, Any],
    *,
    active: set[int],
    depth: int,
) -> None:
    if id(spec) in active:
        raise SpecError(
            f"The include mapping for {model_name} contains itself at {entry.path or '(root)'!r}: "
            f"a cycle without a depth bound. Spell out the levels you want, e.g. "
            f"'parent.parent'."
        )
    active.add(id(spec))
    try:
        for key, value in spec.items():
            if not isinstance(key, str):
                raise SpecError(
                    f"Include mapping for {model_name} has a non-string key {key!r} "
                    f"({type(key).__name__}) at {entry.path or '(root)'!r}: keys are "
                    f"relationship names."
                )
            if not key:
                raise SpecError(
                    f"Include mapping for {model_name} has an empty key at "
                    f"{entry.path or '(root)'!r}: keys are relationship names."
                )
            if value is False:
                raise SpecError(
                    f"Include mapping for {model_name} has {key!r}: False at "
                    f"{entry.path or '(root)'!r}; leave the key out to exclude a relationship."
                )
            segments = key.split(".")
            child = _add_segments(model_name, entry, key, segments, depth)
            _add(model_name, child, value, active=active, depth=depth + len(segments))
    finally:
        active.discard(id(spec))
