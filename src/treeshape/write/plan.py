"""The write plan of a shape: what a body may write at each node, checked once per tree.

Everything the input models, the input schemas and `load` share is decided here, from the shape
tree and `treeshape.inspection` only: which fields are writable (columns of the shape, never the
foreign key a parent's relationship sets), which relationships are references by key and which
are embedded children, how children are matched (their primary key without the parent's
columns), and whether the shape can be written at all (`SpecError`, naming the path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from typing import Any

from ..errors import SpecError
from ..inspection import (
    NO_DEFAULT,
    ColumnFacts,
    FieldInfo,
    ForeignKeyFacts,
    ModelInfo,
    RelationFacts,
    column_facts,
    foreign_keys,
    model_info,
    relation_facts,
    unique_keys,
)
from ..tree import RelationNode, ShapeNode, memo_lookup

__all__ = [
    "KEEP",
    "WriteChild",
    "WriteField",
    "WritePlan",
    "WriteRef",
    "memo_key",
    "write_plan",
]

KEEP: Any = object()
"""In `WritePlan.updatable`: a replace that leaves the field out keeps its value."""


@dataclass(frozen=True, eq=False)
class WriteField:
    """A writable column of the shape."""

    name: str
    info: FieldInfo
    facts: ColumnFacts

    @property
    def required_on_create(self) -> bool:
        """NOT NULL without a default: a create must give it."""
        return not self.facts.nullable and not self.facts.has_default


@dataclass(frozen=True, eq=False)
class WriteRef:
    """A relationship written by reference: the key of an existing row (or a list of keys)."""

    name: str
    rel: RelationNode
    target: ModelInfo
    key_fields: tuple[FieldInfo, ...]
    many: bool
    nullable: bool
    local_facts: tuple[ColumnFacts, ...]
    pairs: tuple[tuple[str, str], ...] = ()
    """(parent foreign key attribute, target attribute) of a many-to-one."""

    @property
    def required_on_create(self) -> bool:
        return (
            not self.many and not self.nullable and not any(f.has_default for f in self.local_facts)
        )

    @cached_property
    def group(self) -> tuple[type, tuple[str, ...]]:
        """(target model, its key attributes): how `load` groups the rows it reads."""
        return (self.target.model, self.target.primary_key)

    @cached_property
    def positions(self) -> tuple[tuple[str, int], ...]:
        """(parent foreign key attribute, its position in the target's key) of a
        many-to-one: where each column's value is in a referenced key."""
        return tuple((local, self.target.primary_key.index(remote)) for local, remote in self.pairs)


@dataclass(frozen=True, eq=False)
class WriteChild:
    """An embedded one-to-many or one-to-one relationship: its children are written too."""

    name: str
    rel: RelationNode
    plan: WritePlan
    many: bool
    on_missing: str
    facts: RelationFacts


@dataclass(frozen=True, eq=False)
class WritePlan:
    """One node of the write plan: a model and what a body may write there."""

    node: ShapeNode
    info: ModelInfo
    path: str
    fields: tuple[WriteField, ...]
    refs: tuple[WriteRef, ...]
    children: tuple[WriteChild, ...]
    key: tuple[str, ...]
    """The attributes that name a child among its parent's (the primary key without the
    parent's foreign key columns); the whole primary key at the root."""
    key_generated: bool
    """The key is generated (autoincrement, identity, a default): a create never carries it."""
    key_independent: bool
    """The key does not contain the parent's columns: a new natural key may collide with
    another parent's child (or, at the root, with any row)."""
    foreign_keys: tuple[ForeignKeyFacts, ...] = ()
    """The foreign keys whose every column the body writes directly: their values, taken
    together (composite keys as a whole), must name a row."""
    uniques: tuple[tuple[str, ...], ...] = ()
    """The unique column sets besides the key whose every column the body writes, or the
    parent's relationship sets (``UNIQUE(trip_id, stop_sequence)`` under a trip): a value
    taken by another row, or given twice in the body, is an error before any write."""
    set_by_parent: tuple[tuple[str, str], ...] = ()
    """(attribute, the parent's attribute it takes) of the columns the parent's relationship
    sets (its foreign key), none at the root."""

    def body_key(self, attribute: str) -> str:
        """The key of ``attribute`` in a body: its output key (`ShapeNode.keys`), so a body
        reads like the documents the shape dumps (a generated key outside the shape's fields
        takes the naming's spelling)."""
        return self.node.keys.get(attribute) or self.node.naming.key(attribute)

    def field(self, name: str) -> WriteField | None:
        for item in self.fields:
            if item.name == name:
                return item
        return None

    @cached_property
    def key_of(self) -> Callable[[Any], tuple[Any, ...]]:
        """The `key` of an object of the model, as a tuple (computed once per plan: `load`
        calls it for every existing child it matches)."""
        if not self.key:
            return lambda obj: ()
        if len(self.key) == 1:
            get = attrgetter(self.key[0])
            return lambda obj: (get(obj),)
        return attrgetter(*self.key)  # a tuple for two or more names

    @cached_property
    def key_refs(self) -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
        """(name, `WriteRef.positions`) of the many-to-one references: what a new object
        takes from each referenced key as its foreign key columns."""
        return tuple((ref.name, ref.positions) for ref in self.refs if not ref.many)

    @cached_property
    def many_refs(self) -> tuple[WriteRef, ...]:
        """The many-to-many references: lists of rows set after the object is made."""
        return tuple(ref for ref in self.refs if ref.many)

    @cached_property
    def updatable(self) -> tuple[tuple[str, Any], ...]:
        """The fields an update may write (the key is the identity, never written) and what
        a replace that leaves one out sets it to: what a create would give it (its plain
        default, else NULL when nullable without a default), else `KEEP`."""
        result = []
        for write in self.fields:
            if write.name in self.key:
                continue
            facts = write.facts
            if facts.scalar_default is not NO_DEFAULT:
                reset = facts.scalar_default
            elif facts.nullable and not facts.has_default:
                reset = None
            else:
                reset = KEEP
            result.append((write.name, reset))
        return tuple(result)


def memo_key(kind: str, parent: RelationNode | None, *parts: object) -> str:
    """The key of a generated object in a node's memo: what, through which parent, how."""
    through = ""
    if parent is not None:
        model = parent.info.model
        through = f"{model.__module__}.{model.__qualname__}.{parent.name}"
    return "|".join([f"treeshape.write.{kind}", through, *map(repr, parts)])


def write_plan(node: ShapeNode, parent: RelationNode | None = None, path: str = "") -> WritePlan:
    """The `WritePlan` of ``node`` (reached through ``parent``), cached on the node."""
    key = memo_key("plan", parent, path)
    return memo_lookup(node, key, lambda: _build(node, parent, path))


def _where(info: ModelInfo, path: str, name: str) -> str:
    full = f"{path}.{name}" if path else name
    return f"{info.name}.{name} (at {full!r})"


def _build(node: ShapeNode, parent: RelationNode | None, path: str) -> WritePlan:
    info = node.info
    parent_pairs: tuple[tuple[str, str], ...] = ()
    if parent is not None:
        parent_pairs = relation_facts(parent.info).pairs
    set_by_parent = {child for _, child in parent_pairs}
    refs: list[WriteRef] = []
    children: list[WriteChild] = []
    ref_columns: dict[str, str] = {}
    for rel in node.relations:
        where = _where(info, path, rel.name)
        if not rel.options.embed:
            continue  # a count only: read-only
        facts = relation_facts(rel.info)
        if facts.viewonly:
            raise SpecError(
                f"{where} is a viewonly relationship: it cannot be written. Leave it out of the "
                f"shape you write with (narrow() a read shape, or define an input shape)."
            )
        target = model_info(rel.info.target)
        if rel.options.ids:
            if rel.info.direction == "one_to_many":
                raise SpecError(
                    f"{where}: a one-to-many written by reference would move other parents' "
                    f"children; embed it instead (drop ids=True)."
                )
            local_facts: tuple[ColumnFacts, ...] = ()
            if rel.info.direction == "many_to_one":
                locals_ = [parent_attr for parent_attr, _ in facts.pairs]
                for name in locals_:
                    ref_columns[name] = rel.name
                local_facts = tuple(column_facts(info.columns[n]) for n in locals_)
            refs.append(
                WriteRef(
                    name=rel.name,
                    rel=rel,
                    target=target,
                    key_fields=tuple(target.columns[k] for k in target.primary_key),
                    many=rel.many,
                    nullable=rel.info.nullable,
                    local_facts=local_facts,
                    pairs=facts.pairs if rel.info.direction == "many_to_one" else (),
                )
            )
            continue
        if rel.info.direction != "one_to_many" or rel.info.secondary:
            kind = "many-to-many" if rel.info.secondary else rel.info.direction.replace("_", "-")
            raise SpecError(
                f"{where} is a {kind} relationship and cannot be embedded in a body: write it "
                f"by reference with ts.include(ids=True) (the key of an existing row)."
            )
        if rel.options.windowed or rel.options.where:
            raise SpecError(
                f"{where} has limit, offset or where options: a body replaces the whole "
                f"collection, so write it through a shape without them."
            )
        if rel.options.on_missing == "unlink" and (
            not facts.remote_nullable or facts.delete_orphan
        ):
            raise SpecError(
                f"{where}: on_missing='unlink' sets the children's foreign key to NULL, but "
                f"{target.name}'s foreign key is NOT NULL, part of its primary key or the "
                f"relationship deletes orphans; use 'delete', 'keep' or 'error'."
            )
        if rel.options.on_missing == "keep" and not rel.many:
            raise SpecError(
                f"{where}: on_missing='keep' on a one-to-one would leave the old "
                f"{target.name} linked beside the body's new one, two rows where the "
                f"relationship holds one; use 'delete', 'unlink' or 'error'."
            )
        child_path = f"{path}.{rel.name}" if path else rel.name
        children.append(
            WriteChild(
                name=rel.name,
                rel=rel,
                plan=write_plan(rel.child, rel, child_path),
                many=rel.many,
                on_missing=rel.options.on_missing,
                facts=facts,
            )
        )
    fields: list[WriteField] = []
    for field in node.fields:
        if field.kind != "column" or field.name in set_by_parent:
            continue  # read-only, or set by the parent's relationship
        if field.name in ref_columns:
            raise SpecError(
                f"{_where(info, path, field.name)} is the foreign key of the reference "
                f"{ref_columns[field.name]!r}, which the shape also writes; list one of them."
            )
        fields.append(WriteField(field.name, field, column_facts(field)))
    key = tuple(k for k in info.primary_key if k not in set_by_parent)
    key_generated = any(column_facts(info.columns[k]).generated for k in key)
    writable = {f.name for f in fields}
    for name in key:
        if name not in writable and not key_generated:
            raise SpecError(
                f"{_where(info, path, name)} is part of {info.name}'s primary key, which names "
                f"a row: add it to the shape's fields to write {info.name} objects."
            )
    return WritePlan(
        foreign_keys=tuple(
            fk for fk in foreign_keys(info.model) if writable.issuperset(fk.columns)
        ),
        uniques=tuple(
            names
            for names in unique_keys(info.model)
            if (writable | set_by_parent).issuperset(names)
            # a unique foreign key alone is a one-to-one: one child per parent by construction
            and not set_by_parent.issuperset(names)
            and set(names) != set(key)
        ),
        set_by_parent=tuple((child, parent_attr) for parent_attr, child in parent_pairs),
        node=node,
        info=info,
        path=path,
        fields=tuple(fields),
        refs=tuple(refs),
        children=tuple(children),
        key=key,
        key_generated=key_generated,
        key_independent=not (set(info.primary_key) & set_by_parent),
    )
