"""Parse the include spec language into an unbound tree of relationship names.

Accepted, freely mixed and merged:

* dotted paths, one or more, each possibly comma-separated: ``"trips.stop_times.stop, agency"``;
* nested mappings: ``{"trips": {"stop_times": {"stop": {}}}}``; a value may be ``{}``,
  ``None`` or ``True`` (a leaf), a mapping, a dotted-path string or a list of them relative to
  the key, or a `Shape` (composition); keys may themselves be dotted paths;
* `Shape` objects: at a relationship, the sub-tree is that shape; at the top, merged in;
* relationship options (`treeshape.options`), per relationship node, in either form:
  ``{"stop_times": ts.include("stop", order_by="-departure_time", limit=5)}`` (a mapping value:
  the sub-spec and the options) or, on any path segment, ``name(option,option=value)``:
  ``"stop_times(order_by=-departure_time,limit=5).stop"``. Options: ``order_by`` (column names
  joined by ``+``, ``-`` for descending), ``limit`` and ``offset`` (per parent), ``count`` (bare,
  or ``count=key``), ``ids``, ``embed=false``; filters (``where=``) only through `include`, so
  they are never parsed from text. The same relationship may get options in one place only
  (or identical ones).

Parsing checks only the form of the spec; `binding` checks it against the models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError, safe_repr
from ..tree import ShapeNode
from .options import Include, RawOptions, merge, parse_option_text

__all__ = ["MAX_DEPTH", "MAX_NESTING", "SpecEntry", "parse", "shape_node_of"]

MAX_DEPTH = 32
"""Deepest relationship nesting a spec may have; deeper is almost surely a runaway spec."""
MAX_NESTING = 2 * MAX_DEPTH
"""Deepest nesting of lists and mappings in a spec (lists add no relationship depth)."""


@dataclass
class SpecEntry:
    """A node of the unbound tree: included relationships by name, and a composed shape."""

    path: str
    children: dict[str, SpecEntry] = field(default_factory=dict)
    shapes: list[ShapeNode] = field(default_factory=list)
    options: RawOptions | None = None

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
    elif isinstance(spec, Include):
        if not entry.path:
            raise SpecError(
                f"include(...) for {model_name} stands at the root; it gives a relationship's "
                f"options, so use it as a value of an include mapping: {{'trips': include(...)}}."
            )
        entry.options = merge(model_name, entry.path, entry.options, spec.options)
        _check_container(model_name, entry, spec, active)  # include(include(...)) nests too
        active.add(id(spec))
        try:
            _add(model_name, entry, spec.spec, active=active, depth=depth)
        finally:
            active.discard(id(spec))
    elif isinstance(spec, str):
        _add_paths(model_name, entry, spec, depth)
    elif isinstance(spec, Mapping):
        _add_mapping(model_name, entry, spec, active=active, depth=depth)
    elif isinstance(spec, list | tuple):
        _check_container(model_name, entry, spec, active)
        active.add(id(spec))
        try:
            for item in spec:
                _add(model_name, entry, item, active=active, depth=depth)
        finally:
            active.discard(id(spec))
    elif spec is None or spec is True:
        return
    else:
        where = f" at {entry.path!r}" if entry.path else ""
        raise SpecError(
            f"Invalid include spec for {model_name}{where}: {type(spec).__name__} "
            f"{safe_repr(spec)}. "
            f"A spec is a dotted path string, a mapping of relationship names, a Shape, "
            f"or a list of these."
        )


def _check_container(model_name: str, entry: SpecEntry, spec: Any, active: set[int]) -> None:
    """Refuse a list that contains itself, and lists (or ``include()``) nested without bound.

    Mappings add a relationship per level, so `MAX_DEPTH` bounds them; lists add none, so
    ``[[[...]]]`` 10,000 deep would otherwise recurse until ``RecursionError``.
    """
    where = entry.path or "(root)"
    if id(spec) in active:
        raise SpecError(
            f"The include spec for {model_name} contains itself at {where!r}: a list or mapping "
            f"cannot hold itself. Spell out the levels you want, e.g. 'parent.parent'."
        )
    if len(active) >= MAX_NESTING:
        raise SpecError(
            f"The include spec for {model_name} nests lists and mappings more than "
            f"{MAX_NESTING} deep at {where!r}."
        )


def _add_paths(model_name: str, entry: SpecEntry, text: str, depth: int) -> None:
    if not text.strip():
        where = f" under {entry.path!r}" if entry.path else ""
        raise SpecError(f"Empty include path for {model_name}{where}: {safe_repr(text)}.")
    for raw_path in _split(model_name, text, ","):
        path = raw_path.strip()
        if not path:
            raise SpecError(
                f"Empty include path in {safe_repr(text)} for {model_name}: remove the extra comma."
            )
        _add_segments(model_name, entry, path, _split(model_name, path, "."), depth)


def _split(model_name: str, text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside parentheses (options may hold commas)."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
            if depth > 1:
                raise SpecError(f"Nested parentheses in include path {text!r} for {model_name}.")
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SpecError(f"Unbalanced ')' in include path {text!r} for {model_name}.")
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise SpecError(f"Unclosed '(' in include path {text!r} for {model_name}.")
    parts.append(text[start:])
    return parts


def _add_segments(
    model_name: str, entry: SpecEntry, path: str, segments: list[str], depth: int
) -> SpecEntry:
    full_path = _join(entry.path, path)
    if depth + len(segments) > MAX_DEPTH:
        raise SpecError(
            f"Include path {safe_repr(full_path)} for {model_name} nests deeper than "
            f"{MAX_DEPTH} relationships."
        )
    for segment in segments:
        if not segment:
            raise SpecError(
                f"Empty segment in include path {safe_repr(full_path)} for {model_name}: "
                f"paths are relationship names joined by single dots, e.g. 'trips.stop_times'."
            )
        if segment != segment.strip():
            raise SpecError(
                f"Include path {safe_repr(full_path)} for {model_name} has white space "
                f"in the segment {safe_repr(segment)}. Did you mean {segment.strip()!r}?"
            )
        options: RawOptions | None = None
        if "(" in segment:
            name, _, rest = segment.partition("(")
            if not rest.endswith(")") or not name:
                raise SpecError(
                    f"Include path {full_path!r} for {model_name}: options follow a relationship "
                    f"name in parentheses, e.g. 'stop_times(order_by=-departure_time,limit=5)', "
                    f"got the segment {segment!r}."
                )
            options = parse_option_text(model_name, full_path, rest[:-1])
            segment = name
        entry = entry.child(segment)
        if options is not None:
            entry.options = merge(model_name, entry.path, entry.options, options)
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
                    f"Include mapping for {model_name} has a non-string key {safe_repr(key)} "
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
                    f"Include mapping for {model_name} has {safe_repr(key)}: False at "
                    f"{entry.path or '(root)'!r}; leave the key out to exclude a relationship."
                )
            segments = _split(model_name, key, ".")
            child = _add_segments(model_name, entry, key, segments, depth)
            _add(model_name, child, value, active=active, depth=depth + len(segments))
    finally:
        active.discard(id(spec))
