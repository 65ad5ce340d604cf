"""Pydantic input models of a shape: ``TripCreate``, ``TripReplace``, ``TripPatch``.

Generated from the write plan and cached on the tree like the output models; extra keys are
forbidden, so a body can only write what the shape declares (mass assignment is impossible by
construction). FastAPI shows them as the request bodies' components.
"""

from __future__ import annotations

import keyword
from typing import Annotated, Any, ClassVar, NotRequired, Optional, Required

from pydantic import BaseModel, ConfigDict, Field, create_model

# Pydantic takes typing's TypedDict from Python 3.12 only.
from typing_extensions import TypedDict

from ..inspection import column_facts
from ..tree import RelationNode, ShapeNode, memo_lookup
from .limits import DEFAULT_LIMITS, Limits
from .plan import WritePlan, memo_key, write_plan
from .rules import Mode, Slot, check_mode, input_name, slots
from .scalars import key_annotation, scalar_annotation, scalar_is_flat

__all__ = ["Extent", "InputModel", "input_model", "nul_pattern_dict", "twin_extent"]


class InputModel(BaseModel):
    """Base of every generated input model: unknown keys are errors, never ignored."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    __treeshape_plan__: ClassVar[WritePlan | None] = None
    __treeshape_mode__: ClassVar[str] = ""
    __treeshape_attributes__: ClassVar[dict[str, str]] = {}
    """Written attribute -> attribute name on this Pydantic model (the body key, or a name
    like it for keys like ``schema``)."""
    __treeshape_children__: ClassVar[dict[str, type[InputModel]]] = {}
    """Child name -> the input model of its items (what a body's child is validated as)."""


def input_model(
    node: ShapeNode,
    mode: Mode,
    *,
    limits: Limits = DEFAULT_LIMITS,
    parent: RelationNode | None = None,
    path: str = "",
) -> type[InputModel]:
    """The Pydantic model of a ``mode`` body for ``node`` (reached through ``parent``)."""
    model: type[InputModel] = _memoized(node, check_mode(mode), limits, parent, path, nul=True)
    return model


def nul_pattern_dict(
    node: ShapeNode,
    mode: Mode,
    *,
    limits: Limits = DEFAULT_LIMITS,
    parent: RelationNode | None = None,
    path: str = "",
) -> Any:
    """`input_model`'s twin for `load`: a ``TypedDict`` of the same keys, types and
    constraints, whose text refuses NUL by Pydantic's own pattern constraint (no Python call
    per string). A body it accepts, `input_model` accepts as the same values, and it gives
    them as plain dictionaries of the keys the body gives (no model instance, no default
    filled in per key left out); it refuses more (instances of `input_model`'s classes), so
    `load` validates with it first and gives what it refuses to `input_model`. It never
    leaves `load`."""
    return _memoized(node, check_mode(mode), limits, parent, path, nul=False)


def _memoized(
    node: ShapeNode,
    mode: Mode,
    limits: Limits,
    parent: RelationNode | None,
    path: str,
    *,
    nul: bool,
) -> Any:
    """The model (or twin ``TypedDict``) `_build` makes, once per (parent, mode, limits) and
    NUL check on ``node``."""
    name = "input_model" if nul else "nul_pattern_dict"
    key = memo_key(name, parent, mode, limits)
    return memo_lookup(node, key, lambda: _build(node, mode, limits, parent, path, nul=nul))


def _drop_default(schema: dict[str, Any]) -> None:
    # An optional key that may not be null: absent means "as it is" or "its default", and
    # the schema must not claim a default of null.
    schema.pop("default", None)


def _build(
    node: ShapeNode,
    mode: Mode,
    limits: Limits,
    parent: RelationNode | None,
    path: str,
    *,
    nul: bool,
) -> Any:
    plan = write_plan(node, parent, path)
    definitions: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    children: dict[str, Any] = {}
    extents: list[Extent | None] = []
    for slot in slots(plan, mode, root=parent is None):
        annotation = _annotation(slot, limits, nul=nul)
        kwargs: dict[str, Any] = {}
        if (slot.child is not None and slot.child.many) or (slot.ref is not None and slot.ref.many):
            kwargs["max_length"] = limits.max_items
        if slot.field is not None and slot.field.info.doc:
            kwargs["description"] = slot.field.info.doc
        # The Pydantic attribute is the body key where Pydantic allows it, so that the body
        # key is the only spelling accepted (validate_by_name would take an attribute too).
        attribute = _attribute(slot.key)
        if attribute != slot.key:
            kwargs["alias"] = slot.key
        attributes[slot.name] = attribute
        if slot.child is not None:
            children[slot.name] = _child(slot, limits, nul=nul)
        if not nul:
            # The twin: the same type and constraints, and a key left out stays out.
            given = Optional[annotation] if slot.nullable else annotation  # noqa: UP045
            if kwargs:
                given = Annotated[given, Field(**kwargs)]
            keys[attribute] = Required[given] if slot.required else NotRequired[given]
            extents.append(_extent(slot, limits))
            continue
        if slot.required:
            required = Optional[annotation] if slot.nullable else annotation  # noqa: UP045
            definitions[attribute] = (required, Field(..., **kwargs))
        elif slot.nullable:
            definitions[attribute] = (Optional[annotation], Field(None, **kwargs))  # noqa: UP045
        else:
            definitions[attribute] = (
                annotation,
                Field(None, json_schema_extra=_drop_default, **kwargs),
            )
    name = input_name(node, parent, mode, limits)
    if not nul:
        typed_dict: Any = TypedDict  # a class made at run time, which mypy cannot follow
        twin = typed_dict(f"{name}Dict", keys)
        twin.__pydantic_config__ = _TWIN_CONFIG
        twin.__treeshape_extent__ = (
            None
            if None in extents
            else (
                1 + sum(e[0] for e in extents if e is not None),
                1 + max((e[1] for e in extents if e is not None), default=0),
            )
        )
        return twin
    model: type[InputModel] = create_model(
        name,
        __base__=InputModel,
        __module__="treeshape.generated",
        __doc__=f"A {node.info.name} as a {mode} body (generated by treeshape).",
        **definitions,
    )
    model.__treeshape_plan__ = plan
    model.__treeshape_mode__ = mode
    model.__treeshape_attributes__ = attributes
    model.__treeshape_children__ = children
    return model


_TWIN_CONFIG = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)
"""`InputModel`'s configuration, for `nul_pattern_dict`'s dictionaries."""


Extent = tuple[int, int]
"""The most a value can count in the body limits' walk: (objects and list items, nesting)."""


def twin_extent(twin: Any) -> Extent | None:
    """The most any body `nul_pattern_dict`'s ``twin`` accepts counts in the body limits' walk
    (`limit_errors`): its objects and list items, and its nesting (the body itself is 1);
    ``None`` if a column takes values of any size (``Any``, a ``Decimal``'s digit tuple)."""
    extent: Extent | None = twin.__treeshape_extent__
    return extent


def _extent(slot: Slot, limits: Limits) -> Extent | None:
    """What one key of a twin counts at most in the limits' walk (its own object counted by
    the caller), by the constraints it validates with: a collection holds ``max_items``."""
    if slot.field is not None:
        return (0, 0) if scalar_is_flat(slot.field.info, slot.field.facts) else None
    items = limits.max_items
    if slot.ref is not None:
        fields = slot.ref.key_fields
        if not all(scalar_is_flat(f, column_facts(f)) for f in fields):
            return None
        if len(fields) > items:
            return None  # never: a key of more columns than a collection's items
        key = (0, 0) if len(fields) == 1 else (len(fields), 1)  # a tuple of its columns
        return (items * (1 + key[0]), 1 + key[1]) if slot.ref.many else key
    child: Extent | None = twin_extent(_child(slot, limits, nul=False))
    if child is None or slot.child is None or not slot.child.many:
        return child
    return items * (1 + child[0]), 1 + child[1]


def _annotation(slot: Slot, limits: Limits, *, nul: bool) -> Any:
    if slot.field is not None:
        return scalar_annotation(slot.field.info, slot.field.facts, nul=nul)
    if slot.ref is not None:
        key = key_annotation(slot.ref.key_fields, nul=nul)
        return list[key] if slot.ref.many else key  # type: ignore[valid-type]
    assert slot.child is not None
    child = _child(slot, limits, nul=nul)
    return list[child] if slot.child.many else child  # type: ignore[valid-type]


def _child(slot: Slot, limits: Limits, *, nul: bool) -> Any:
    """The model (or with ``nul`` false, the twin) of one item of the child ``slot``."""
    assert slot.child is not None and slot.child_mode is not None
    return _memoized(
        slot.child.rel.child,
        slot.child_mode,
        limits,
        slot.child.rel,
        slot.child.plan.path,
        nul=nul,
    )


def _attribute(key: str) -> str:
    if (
        key.isidentifier()
        and not keyword.iskeyword(key)
        and not key.startswith(("_", "model_"))
        and key not in _RESERVED
    ):
        return key
    candidate = "field_" + "".join(c if c.isalnum() else "_" for c in key.lstrip("_"))
    while candidate in _RESERVED:
        candidate += "_"
    return candidate


_RESERVED = frozenset(dir(InputModel))
