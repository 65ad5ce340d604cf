"""The shape tree: the one immutable, hashable representation every backend reads.

A `ShapeNode` is a model with the fields it outputs and the relationships it includes; each
`RelationNode` carries the relationship, its options and the child node. Nodes are interned:
equal trees are the same object while any of them is alive. That makes "identical sub-trees give
the same generated class" a plain cache on the node (`memoize`), and lets that cache go away with
the last shape that uses it, so shapes made at run time do not accumulate.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .inspection import FieldInfo, ModelInfo, RelationInfo

__all__ = [
    "CLASS_MEMO_KEYS",
    "DEFAULT_NAMING",
    "KeyStyle",
    "Naming",
    "ReadTree",
    "RelationNode",
    "RelationOptions",
    "Rendering",
    "ShapeNode",
    "memo_lookup",
    "memoize",
    "memoize_class",
    "merge_reads",
    "output_keys",
]

Rendering = Literal["objects", "ids", "none"]

KeyStyle = Callable[[str], str]
"""A key style: attribute name -> output key (e.g. ``pydantic.alias_generators.to_camel``)."""


@dataclass(frozen=True)
class Naming:
    """How a node names its output keys: decided once at bind time, read by every backend.

    ``style`` maps an attribute name to its output key (``None``: the attribute name, and a
    composing shape's style applies); ``renames`` are explicit ``(attribute, key)`` pairs,
    sorted, that win over the style. Part of the interned key, so equal shapes with different
    names are different nodes with different generated classes.
    """

    style: KeyStyle | None = None
    renames: tuple[tuple[str, str], ...] = ()

    def key(self, attribute: str) -> str:
        """The output key of ``attribute`` (a field, relationship or count name)."""
        for name, key in self.renames:
            if name == attribute:
                return key
        return attribute if self.style is None else self.style(attribute)


DEFAULT_NAMING = Naming()


ReadTree = tuple[tuple[str, "ReadTree"], ...]
"""Relationship paths a computed field reads, as a hashable tree sorted by name:
``(("stop_times", (("stop", ()),)),)`` for ``stop_times.stop``."""


def merge_reads(trees: Iterable[ReadTree]) -> ReadTree:
    """The union of read trees."""
    merged: dict[str, list[ReadTree]] = {}
    for tree in trees:
        for key, sub in tree:
            merged.setdefault(key, []).append(sub)
    return tuple((key, merge_reads(subs)) for key, subs in sorted(merged.items()))


@dataclass(frozen=True)
class RelationOptions:
    """How a relationship is rendered and loaded, beyond the mapping's own defaults.

    The default instance means "the relationship as mapped": its own ``order_by``, every row,
    embedded objects. Options are part of the interned tree, so they must hash by value: column
    criteria are plain tuples; SQLAlchemy expressions and callables are wrapped by identity
    (see `treeshape.options.Criterion`). `treeshape.options` parses and validates them.
    """

    order_by: tuple[tuple[str, bool], ...] = ()
    """(field name, descending) pairs overriding the relationship's own order."""
    limit: int | None = None
    """At most this many rows per parent."""
    offset: int = 0
    """Skip this many rows per parent."""
    where: tuple[Any, ...] = ()
    """Criteria on the target rows (`treeshape.options.Criterion` objects), all applied."""
    count: str | None = None
    """The output key of the number of (filtered) target rows per parent; ``None``: no count."""
    ids: bool = False
    """Output the target's primary key (a list of them for collections) instead of objects."""
    embed: bool = True
    """Output the relationship at all; ``False`` with ``count`` outputs the count only."""
    on_missing: str = "error"
    """What a replace does with existing children its body leaves out (`treeshape.write`)."""
    name: str | None = None
    """The relationship's output key (``include(name=...)``); ``None``: the parent's naming."""

    @property
    def is_default(self) -> bool:
        """Whether these are the mapping's own defaults (no option given)."""
        return self == _DEFAULT_OPTIONS

    @property
    def windowed(self) -> bool:
        """Whether rows are cut per parent (``limit``/``offset``): a window function in SQL."""
        return self.limit is not None or self.offset > 0

    @property
    def ordered(self) -> bool:
        """Whether the collection's order is overridden (``order_by``, or a window's order)."""
        return bool(self.order_by) or self.windowed

    def describe(self) -> str:
        """Canonical, process-stable text of the non-default options (for `describe` and names)."""
        parts: list[str] = []
        if self.order_by:
            parts.append("order_by=" + "+".join(("-" if d else "") + n for n, d in self.order_by))
        if self.limit is not None:
            parts.append(f"limit={self.limit}")
        if self.offset:
            parts.append(f"offset={self.offset}")
        for criterion in self.where:
            parts.append(f"where={criterion.describe()}")
        if self.count is not None:
            parts.append(f"count={self.count}")
        if self.ids:
            parts.append("ids")
        if not self.embed:
            parts.append("embed=false")
        if self.on_missing != "error":
            parts.append(f"on_missing={self.on_missing}")
        if self.name is not None:
            parts.append(f"name={self.name}")
        return ",".join(parts)


_DEFAULT_OPTIONS = RelationOptions()


@dataclass(frozen=True)
class RelationNode:
    """An included relationship: the relationship, its options and the shape of its target."""

    info: RelationInfo
    child: ShapeNode
    options: RelationOptions = _DEFAULT_OPTIONS

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def many(self) -> bool:
        return self.info.uselist

    @property
    def render(self) -> Rendering:
        """How the relationship appears under its own name: embedded ``"objects"``, the
        targets' ``"ids"``, or ``"none"`` (not output: a count alone)."""
        if not self.options.embed:
            return "none"
        return "ids" if self.options.ids else "objects"

    @property
    def loads(self) -> bool:
        """Whether rendering needs the related rows loaded (ids of a many-to-one come from the
        parent's foreign key; a count alone is a column of the parent's statement)."""
        return self.render == "objects" or (self.render == "ids" and self.many)

    @functools.cached_property
    def id_locals(self) -> tuple[str, ...]:
        """For ids of a many-to-one: the parent's attributes holding the target's key, in the
        order of the target's key fields."""
        by_target = self.info.foreign_key_by_target_key
        return tuple(by_target[f.name] for f in self.child.fields)

    @functools.cached_property
    def state_keys(self) -> frozenset[str]:
        """The parent's instance-dict keys rendering this relationship reads (counts aside)."""
        if self.render == "none":
            return frozenset()
        if self.render == "ids" and not self.many:
            return frozenset(self.id_locals)
        return frozenset((self.name,))

    @property
    def outputs(self) -> tuple[str, ...]:
        """The attribute names of what this relationship adds to its parent's output, in order
        (the parent's `ShapeNode.key` gives each one's output key)."""
        keys: tuple[str, ...] = (self.info.name,) if self.options.embed else ()
        if self.options.count is not None:
            keys += (self.options.count,)
        return keys


class ShapeNode:
    """A model, the fields it outputs (canonical order) and the relationships it includes.

    Build with `ShapeNode.make`; never mutate. ``memo`` holds the backends' generated objects.
    """

    __slots__ = (
        "__weakref__",
        "_hash",
        "_key",
        "fields",
        "info",
        "keys",
        "memo",
        "name",
        "naming",
        "relations",
    )

    info: ModelInfo
    fields: tuple[FieldInfo, ...]
    relations: tuple[RelationNode, ...]
    name: str | None
    naming: Naming
    keys: dict[str, str]
    """Output key by attribute name, for every field, relationship and count of this node."""
    memo: dict[str, Any]
    _key: tuple[Any, ...]
    _hash: int

    @classmethod
    def make(
        cls,
        info: ModelInfo,
        fields: tuple[FieldInfo, ...],
        relations: tuple[RelationNode, ...],
        name: str | None = None,
        naming: Naming = DEFAULT_NAMING,
    ) -> ShapeNode:
        """The node for this content: an existing equal node if one is alive.

        ``naming`` must already be checked (`output_keys`: unique, non-empty keys).
        """
        fields = tuple(sorted(fields, key=lambda f: info.position(f.name)))
        relations = tuple(sorted(relations, key=lambda r: info.position(r.name)))
        key = (info.model, fields, relations, name, naming)
        with _intern_lock:
            node = _interned.get(key)
            if node is None:
                node = object.__new__(cls)
                node.info = info
                node.fields = fields
                node.relations = relations
                node.name = name
                node.naming = naming
                node.keys = dict(output_keys(fields, relations, naming))
                node.memo = {}
                node._key = key
                node._hash = hash(key)
                _interned[key] = node
            return node

    @property
    def model(self) -> type:
        return self.info.model

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, ShapeNode):
            return NotImplemented
        return self._key == other._key

    def __reduce__(self) -> Any:
        raise TypeError("shape nodes are not picklable; rebuild the shape from its spec")

    def __repr__(self) -> str:
        return f"<ShapeNode {self.info.name} {self.describe()}>"

    def key(self, attribute: str) -> str:
        """The output key of a field, relationship or count of this node."""
        return self.keys[attribute]

    def remake(
        self, fields: tuple[FieldInfo, ...], relations: tuple[RelationNode, ...]
    ) -> ShapeNode:
        """A node like this one (same naming, unnamed) with other fields or relationships."""
        return ShapeNode.make(self.info, fields, relations, naming=self.naming)

    def relation(self, name: str) -> RelationNode | None:
        for rel in self.relations:
            if rel.name == name:
                return rel
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def has_all_columns(self) -> bool:
        return self.fields == self.info.default_fields

    def walk(self, prefix: str = "") -> Iterator[tuple[str, ShapeNode]]:
        """(dotted path, node) for this node and every node below it, depth first."""
        yield prefix, self
        for rel in self.relations:
            yield from rel.child.walk(f"{prefix}.{rel.name}" if prefix else rel.name)

    def paths(self) -> list[str]:
        """The dotted paths of every included relationship, parents first."""
        return [path for path, _ in self.walk() if path]

    def describe(self) -> str:
        """A compact canonical text of the tree, e.g. ``Route(trips(stop_times(stop)))``.

        Stable across processes (no ids or hashes), so it can seed class names.
        """
        parts: list[str] = []
        if not self.has_all_columns:
            parts.append("[" + ",".join(self.field_names) + "]")
        for rel in self.relations:
            text = rel.name
            if not rel.options.is_default:
                text += "{" + rel.options.describe() + "}"
            inner = rel.child.describe()
            parts.append(f"{text}{inner}" if inner != "()" else text)
        renamed = [f"{a}>{k}" for a, k in self.keys.items() if a != k]
        if renamed:
            parts.append("{keys:" + ",".join(renamed) + "}")
        named = f"#{self.name}" if self.name else ""
        return f"{named}({' '.join(parts)})"

    @property
    def state_keys(self) -> frozenset[str]:
        """The instance-dict keys this node's output reads (counts aside: `treeshape.sql.counting`
        names their attributes): its stored fields and what each relationship renders from."""
        keys = self.memo.get("tree.state_keys")
        if keys is None:
            keys = frozenset(f.name for f in self.fields if f.loaded_from_state).union(
                *(rel.state_keys for rel in self.relations)
            )
            self.memo["tree.state_keys"] = keys
        return keys

    @property
    def collection_depth(self) -> int:
        """The most collections on one path down the tree: 0 without any, 2 for a route's
        trips' stop_times. Documents grow with it (rows multiply at each level), which is what
        `treeshape.sql.fetch`'s automatic strategy weighs."""
        depth = self.memo.get("tree.collection_depth")
        if depth is None:
            depths = (int(r.many and r.loads) + r.child.collection_depth for r in self.relations)
            depth = max(depths, default=0)
            self.memo["tree.collection_depth"] = depth
        result: int = depth
        return result

    @property
    def guarded_relations(self) -> tuple[str, ...]:
        """The relationships (instance-dict keys) every backend checks are loaded before this
        node's hybrids and bare properties run; empty when it has none.

        Those fields declare nothing they read: one that reads an included relationship would
        lazy-load it, one query per object, where the shape promises `NotLoadedError` naming
        the path. Checking the relationships first gives that error before any user code runs.
        Fields declared with ``ts.computed`` check their own reads and need nothing here.
        """
        guarded = self.memo.get("tree.guarded_relations")
        if guarded is None:
            undeclared = any(not f.loaded_from_state and f.computed is None for f in self.fields)
            guarded = tuple(rel.name for rel in self.relations if rel.loads) if undeclared else ()
            self.memo["tree.guarded_relations"] = guarded
        result: tuple[str, ...] = guarded
        return result

    @property
    def load_keys(self) -> frozenset[str] | None:
        """The attributes a load of this node's rows needs: output fields, primary key and the
        foreign keys its many-to-one relationships follow; ``None``: every column (a hybrid or
        a property may read any of them)."""
        if "tree.load_keys" not in self.memo:
            keys: frozenset[str] | None = None
            if all(f.loaded_from_state for f in self.fields):
                keys = frozenset([*(f.name for f in self.fields), *self.info.primary_key]).union(
                    *(
                        rel.info.local_column_keys
                        for rel in self.relations
                        if rel.info.direction == "many_to_one"
                    )
                )
            self.memo["tree.load_keys"] = keys
        result: frozenset[str] | None = self.memo["tree.load_keys"]
        return result

    @property
    def reads(self) -> ReadTree:
        """The relationship paths this node's computed fields read (a merged `ReadTree`): the
        loader plan loads them whole, whether or not the shape outputs them."""
        reads = self.memo.get("tree.reads")
        if reads is None:
            reads = merge_reads(f.reads for f in self.fields if f.reads)
            self.memo["tree.reads"] = reads
        result: ReadTree = reads
        return result

    def count_relations(self) -> int:
        return sum(1 + rel.child.count_relations() for rel in self.relations)


def output_keys(
    fields: tuple[FieldInfo, ...], relations: tuple[RelationNode, ...], naming: Naming
) -> list[tuple[str, str]]:
    """``(attribute, output key)`` of a node's outputs, in output order (fields, then each
    relationship and its count): the one place output names are decided."""
    pairs = [(f.name, naming.key(f.name)) for f in fields]
    for rel in relations:
        if rel.options.embed:
            key = rel.options.name if rel.options.name is not None else naming.key(rel.name)
            pairs.append((rel.name, key))
        if rel.options.count is not None:
            pairs.append((rel.options.count, naming.key(rel.options.count)))
    return pairs


_interned: weakref.WeakValueDictionary[tuple[Any, ...], ShapeNode] = weakref.WeakValueDictionary()
_intern_lock = threading.Lock()

# One re-entrant lock for every generator: generating a class generates its children first, and
# concurrent requests for the same new shape must get one class, not two.
_generate_lock = threading.RLock()

T = TypeVar("T")


CLASS_MEMO_KEYS: set[str] = set()
"""Memo keys of the generators that make named classes (`memoize_class`): a tree that has one
of them keeps its class name (`treeshape.naming`)."""


def memoize_class(fn: Callable[[ShapeNode], T]) -> Callable[[ShapeNode], T]:
    """`memoize` for a generator of named classes (Pydantic models, marshmallow schemas)."""
    CLASS_MEMO_KEYS.add(f"{fn.__module__}.{fn.__qualname__}")
    return memoize(fn)


def memo_lookup(node: ShapeNode, key: str, build: Callable[[], T]) -> T:
    """``node.memo[key]``, built by ``build()`` once per node, thread-safely (the one lock
    every generator shares: building a class builds its children first)."""
    try:
        value: T = node.memo[key]
        return value
    except KeyError:
        pass
    with _generate_lock:
        if key not in node.memo:
            node.memo[key] = build()
        value = node.memo[key]
        return value


def memoize(fn: Callable[[ShapeNode], T]) -> Callable[[ShapeNode], T]:
    """Cache ``fn(node)`` on the node: computed once per distinct tree, thread-safely."""
    key = f"{fn.__module__}.{fn.__qualname__}"

    def cached(node: ShapeNode) -> T:
        # The hit inline: it is on every dump call's path, and makes no closure.
        try:
            value: T = node.memo[key]
            return value
        except KeyError:
            return memo_lookup(node, key, lambda: fn(node))

    cached.__name__ = fn.__name__
    cached.__qualname__ = fn.__qualname__
    cached.__doc__ = fn.__doc__
    cached.__wrapped__ = fn  # type: ignore[attr-defined]
    return cached
