"""marshmallow input schemas of a shape: ``TripCreateSchema`` and friends, for Flask.

The same keys, the same required and nullable rules and the same values as the Pydantic input
models (`treeshape.write.input_model`): each scalar field validates with a ``TypeAdapter`` of
the column's one annotation (`treeshape.write.scalars`) and is an instance of marshmallow's own
field class for its type, so apispec documents it as usual (``maxLength``, ``enum``). Unknown
keys raise; collections check their length before their items, as Pydantic does.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import typing
import uuid
from typing import Any

import marshmallow as ma
from pydantic import TypeAdapter, ValidationError

from ..tree import RelationNode, ShapeNode, memo_lookup
from .limits import DEFAULT_LIMITS, Limits
from .plan import WritePlan, memo_key, write_plan
from .rules import Mode, Slot, check_mode, input_name, slots
from .scalars import key_annotation, scalar_annotation

__all__ = ["InputSchema", "input_schema", "marshmallow_errors"]


class InputSchema(ma.Schema):
    """Base of every generated input schema."""

    class Meta:
        register = False
        unknown = ma.RAISE

    __treeshape_plan__: WritePlan
    __treeshape_mode__: str


class _Adapted:
    """A field whose value is checked and converted by a Pydantic ``TypeAdapter``."""

    adapter: TypeAdapter[Any]

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            return self.adapter.validate_python(value)
        except ValidationError as exc:
            raise ma.ValidationError([e["msg"] for e in exc.errors()]) from None


def _field_base(annotation: Any) -> type[ma.fields.Field[Any]]:
    """marshmallow's own field class for ``annotation``: what apispec documents."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _field_base(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return ma.fields.String
    if origin is tuple:
        return ma.fields.Raw
    if not isinstance(annotation, type):
        return ma.fields.Raw
    for python_type, field_class in _BASES:
        if issubclass(annotation, python_type):
            return field_class
    return ma.fields.Raw


_BASES: tuple[tuple[type, type[ma.fields.Field[Any]]], ...] = (
    (bool, ma.fields.Boolean),
    (enum.Enum, ma.fields.Raw),
    (int, ma.fields.Integer),
    (float, ma.fields.Float),
    (str, ma.fields.String),
    (decimal.Decimal, ma.fields.Decimal),
    (dt.datetime, ma.fields.DateTime),
    (dt.date, ma.fields.Date),
    (dt.time, ma.fields.Time),
    (uuid.UUID, ma.fields.UUID),
)
_adapted_classes: dict[type, type[ma.fields.Field[Any]]] = {}


_adapters: dict[str, TypeAdapter[Any]] = {}


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    """One ``TypeAdapter`` per distinct annotation (building one costs a core schema).

    Keyed by the annotation's text, which names every constraint and (by address) every
    validator function, so equal texts are equal rules.
    """
    key = repr(annotation)
    adapter = _adapters.get(key)
    if adapter is None:
        adapter = _adapters[key] = TypeAdapter(annotation)
    return adapter


def adapted_field(annotation: Any, **kwargs: Any) -> ma.fields.Field[Any]:
    """A marshmallow field validating with ``TypeAdapter(annotation)``."""
    base = _field_base(annotation)
    cls = _adapted_classes.get(base)
    if cls is None:
        cls = type(f"Input{base.__name__}", (_Adapted, base), {})
        _adapted_classes[base] = cls
    metadata = dict(kwargs.pop("metadata", {}))
    metadata.update(_documented(annotation))
    field: Any = cls(metadata=metadata, **kwargs)
    field.adapter = _adapter(annotation)
    return typing.cast(ma.fields.Field[Any], field)


def _documented(annotation: Any) -> dict[str, Any]:
    """OpenAPI keywords of the annotation's constraints, for apispec."""
    found: dict[str, Any] = {}
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        for extra in extras:
            for item in getattr(extra, "metadata", ()):
                if hasattr(item, "max_length") and item.max_length is not None:
                    found["maxLength"] = item.max_length
        if isinstance(base, type) and issubclass(base, enum.Enum):
            found["enum"] = [m.value for m in base]
    elif typing.get_origin(annotation) is typing.Literal:
        found["enum"] = list(typing.get_args(annotation))
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        found["enum"] = [m.value for m in annotation]
    return found


class _Bounded:
    """A collection field that refuses too many items before looking at any of them."""

    max_items: int

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) > self.max_items:
            raise ma.ValidationError(
                f"List should have at most {self.max_items} items, not {len(value)}"
            )
        return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[misc]


class BoundedNested(_Bounded, ma.fields.Nested):  # type: ignore[misc]
    """``Nested(many=True)`` with `Limits.max_items`."""


class BoundedList(_Bounded, ma.fields.List):  # type: ignore[type-arg]
    """``List`` with `Limits.max_items`."""


def input_schema(
    node: ShapeNode,
    mode: Mode,
    *,
    limits: Limits = DEFAULT_LIMITS,
    parent: RelationNode | None = None,
    path: str = "",
) -> type[InputSchema]:
    """The marshmallow schema class of a ``mode`` body for ``node``."""
    mode = check_mode(mode)
    key = memo_key("input_schema", parent, mode, limits)
    return memo_lookup(node, key, lambda: _build(node, mode, limits, parent, path))


def _build(
    node: ShapeNode, mode: Mode, limits: Limits, parent: RelationNode | None, path: str
) -> type[InputSchema]:
    plan = write_plan(node, parent, path)
    attrs: dict[str, Any] = {}
    for slot in slots(plan, mode, root=parent is None):
        attrs[slot.key] = _field(slot, limits)  # body keys in, body keys out
    name = input_name(node, parent, mode, limits) + "Schema"
    attrs["__treeshape_plan__"] = plan
    attrs["__treeshape_mode__"] = mode
    attrs["__module__"] = "treeshape.generated"
    attrs["__qualname__"] = name
    attrs["__doc__"] = f"A {node.info.name} as a {mode} body (generated by treeshape)."
    return type(name, (InputSchema,), attrs)


def _field(slot: Slot, limits: Limits) -> ma.fields.Field[Any]:
    common: dict[str, Any] = {"required": slot.required, "allow_none": slot.nullable}
    if slot.field is not None:
        metadata = {"description": slot.field.info.doc} if slot.field.info.doc else {}
        annotation = scalar_annotation(slot.field.info, slot.field.facts)
        return adapted_field(annotation, metadata=metadata, **common)
    if slot.ref is not None:
        key = adapted_field(key_annotation(slot.ref.key_fields))
        if slot.ref.many:
            field: Any = BoundedList(key, **common)
            field.max_items = limits.max_items
            return typing.cast(ma.fields.Field[Any], field)
        key.required = slot.required
        key.allow_none = slot.nullable
        return key
    assert slot.child is not None and slot.child_mode is not None
    child = input_schema(
        slot.child.rel.child,
        slot.child_mode,
        limits=limits,
        parent=slot.child.rel,
        path=slot.child.plan.path,
    )
    if slot.child.many:
        nested: Any = BoundedNested(child, many=True, **common)
        nested.max_items = limits.max_items
        return typing.cast(ma.fields.Field[Any], nested)
    return ma.fields.Nested(child, **common)


_TYPES = {
    "Missing data for required field.": "missing",
    "Unknown field.": "extra_forbidden",
    "Field may not be null.": "none_forbidden",
    "Invalid input type.": "model_type",
    "Not a valid list.": "list_type",
}


def marshmallow_errors(messages: Any, loc: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """marshmallow's nested error messages as `InputError.errors` (``loc``, ``msg``, ``type``)."""
    found: list[dict[str, Any]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            found += marshmallow_errors(value, loc if key == "_schema" else (*loc, key))
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, str):
                found.append({"loc": loc, "msg": item, "type": _TYPES.get(item, "value_error")})
            else:
                found += marshmallow_errors(item, loc)
    else:
        found.append({"loc": loc, "msg": str(messages), "type": "value_error"})
    return found
