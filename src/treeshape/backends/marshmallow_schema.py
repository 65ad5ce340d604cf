"""The marshmallow backend: a shape tree as nested marshmallow ``Schema`` classes.

One class per distinct sub-tree, memoized on the tree, so the same sub-shape reached from two
shapes is the same class. Classes are not put in marshmallow's global class registry
(``register = False``): nesting uses class objects, and a registry entry per shape made at run
time would never be freed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma

from ..errors import NotLoadedError
from ..naming import class_name
from ..spec.computed import value_reader
from ..sql.counting import count_attribute
from ..tree import RelationNode, ShapeNode, memoize_class
from .converter import TYPE_MAPPING, ShapeConverter

__all__ = ["ComputedShapeSchema", "KeyList", "KeyTuple", "ShapeSchema", "schema_class"]


class ShapeSchema(ma.Schema):
    """Base of every generated schema: reads loaded state, never lazy-loads.

    ``get_attribute`` is marshmallow's documented hook for reading values from an object.
    """

    TYPE_MAPPING = {**ma.Schema.TYPE_MAPPING, **TYPE_MAPPING}

    class Meta:
        register = False

    __treeshape_shape__: ShapeNode
    __treeshape_state_keys__: frozenset[str] = frozenset()
    # A count's hidden attribute -> the name errors give it (``journeys_count``).
    __treeshape_labels__: dict[str, str] = {}

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        state = getattr(obj, "__dict__", None)
        if (
            state is not None
            and attr in self.__treeshape_state_keys__
            and ("_sa_instance_state" in state)
        ):
            try:
                return state[attr]
            except KeyError:
                label = self.__treeshape_labels__.get(attr, attr)
                raise NotLoadedError(type(obj).__name__, label) from None
        return super().get_attribute(obj, attr, default)


class ComputedShapeSchema(ShapeSchema):
    """The base of a generated schema whose node has fields that are not state: computed,
    hybrids, properties (a separate class, so that schemas without any pay no lookup per
    attribute)."""

    __treeshape_computed__: dict[str, Callable[[Any], Any]] = {}
    # Hybrids and bare properties, and the relationships checked before they run
    # (`ShapeNode.guarded_relations`).
    __treeshape_undeclared__: frozenset[str] = frozenset()
    __treeshape_guarded__: tuple[str, ...] = ()

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        compute = self.__treeshape_computed__.get(attr)
        if compute is not None:
            return compute(obj)
        if attr in self.__treeshape_undeclared__:
            state = getattr(obj, "__dict__", None)
            if state is not None and "_sa_instance_state" in state:
                for name in self.__treeshape_guarded__:
                    if name not in state:
                        raise NotLoadedError(type(obj).__name__, name)
        return super().get_attribute(obj, attr, default)


class KeyList(ma.fields.List):  # type: ignore[type-arg]
    """A collection rendered as its targets' keys: reads each target's loaded key state."""

    def __init__(self, inner: Any, keys: list[str], **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.keys = keys

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        if len(self.keys) == 1:
            key = self.keys[0]
            items = [x.__dict__[key] for x in value]
        else:
            items = [tuple(x.__dict__[k] for k in self.keys) for x in value]
            result = super()._serialize(items, attr, obj, **kwargs)
            return [list(item) for item in result] if result is not None else None
        return super()._serialize(items, attr, obj, **kwargs)


class KeyTuple(ma.fields.Tuple):
    """A composite many-to-one key read from the parent's foreign key columns."""

    def __init__(self, inner: Any, locals_: list[str], **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.locals_ = locals_

    def get_value(
        self, obj: Any, attr: Any, accessor: Any = None, default: Any = ma.missing
    ) -> Any:
        state = obj.__dict__
        try:
            values = tuple(state[k] for k in self.locals_)
        except KeyError as missing:
            raise NotLoadedError(type(obj).__name__, str(missing.args[0])) from None
        return None if None in values else values

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        result = super()._serialize(value, attr, obj, **kwargs)
        return None if result is None else list(result)


def _ids_field(converter: ShapeConverter, rel: RelationNode) -> ma.fields.Field[Any]:
    """The field of a relationship rendered as ids: the key's own field type, or a list."""
    key_fields = [converter.field_for_shape_field(f) for f in rel.child.fields]
    names = [f.name for f in rel.child.fields]
    if rel.many:
        inner: Any = key_fields[0] if len(key_fields) == 1 else ma.fields.Tuple(key_fields)
        return KeyList(inner, names, dump_only=True)
    locals_ = list(rel.id_locals)
    if len(locals_) == 1:
        field = converter.field_for_shape_field(rel.child.fields[0])
        field.attribute = locals_[0]
        field.allow_none = rel.info.nullable
        field.dump_only = True
        return field
    return KeyTuple(key_fields, locals_, dump_only=True, allow_none=rel.info.nullable)


@memoize_class
def schema_class(node: ShapeNode) -> type[ShapeSchema]:
    """The marshmallow ``Schema`` subclass for ``node``."""
    converter = ShapeConverter(schema_cls=ShapeSchema)
    attrs: dict[str, Any] = {}
    for info in node.fields:
        attrs[info.name] = converter.field_for_shape_field(info)
    state_keys = set(node.state_keys)
    labels: dict[str, str] = {}
    for rel in node.relations:
        if rel.render == "ids":
            attrs[rel.name] = _ids_field(converter, rel)
        elif rel.render == "objects":
            attrs[rel.name] = ma.fields.Nested(
                schema_class(rel.child),
                many=rel.many,
                allow_none=rel.info.nullable,
                dump_only=rel.info.viewonly,
            )
        if rel.options.count is not None:
            attribute = count_attribute(rel)
            attrs[rel.options.count] = ma.fields.Integer(dump_only=True, attribute=attribute)
            state_keys.add(attribute)
            labels[attribute] = rel.options.count
    # The output keys are the tree's (`ShapeNode.keys`): marshmallow's data_key says so.
    for name, key in node.keys.items():
        if key != name:
            attrs[name].data_key = key
    attrs["__treeshape_shape__"] = node
    attrs["__treeshape_computed__"] = {
        f.name: value_reader(f, missing=NotLoadedError)
        for f in node.fields
        if f.computed is not None
    }
    if node.guarded_relations:
        attrs["__treeshape_undeclared__"] = frozenset(
            f.name for f in node.fields if not f.loaded_from_state and f.computed is None
        )
        attrs["__treeshape_guarded__"] = node.guarded_relations
    attrs["__treeshape_state_keys__"] = frozenset(state_keys)
    attrs["__treeshape_labels__"] = labels
    attrs["__module__"] = "treeshape.generated"
    attrs["__doc__"] = f"marshmallow schema of the shape {node.info.name}{node.describe()}."
    name = class_name(node) + "Schema"
    attrs["__qualname__"] = name
    computed = attrs["__treeshape_computed__"] or node.guarded_relations
    base = ComputedShapeSchema if computed else ShapeSchema
    return type(name, (base,), attrs)
