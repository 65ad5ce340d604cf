"""The marshmallow backend: a shape tree as nested marshmallow ``Schema`` classes.

One class per distinct sub-tree, memoized on the tree, so the same sub-shape reached from two
shapes is the same class. Classes are not put in marshmallow's global class registry
(``register = False``): nesting uses class objects, and a registry entry per shape made at run
time would never be freed.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from .converter import TYPE_MAPPING, ShapeConverter
from .errors import NotLoadedError
from .naming import class_name
from .tree import ShapeNode, memoize

converter_class: type[ShapeConverter] = ShapeConverter
"""The converter used for new schema classes; set to a subclass to change field mapping."""


class ShapeSchema(ma.Schema):
    """Base of every generated schema: reads loaded state, never lazy-loads.

    ``get_attribute`` is marshmallow's documented hook for reading values from an object.
    """

    TYPE_MAPPING = {**ma.Schema.TYPE_MAPPING, **TYPE_MAPPING}

    class Meta:
        register = False

    __treeshape_shape__: ShapeNode
    __treeshape_state_keys__: frozenset[str] = frozenset()

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
                raise NotLoadedError(type(obj).__name__, attr) from None
        return super().get_attribute(obj, attr, default)


@memoize
def schema_class(node: ShapeNode) -> type[ShapeSchema]:
    """The marshmallow ``Schema`` subclass for ``node``."""
    converter = converter_class(schema_cls=ShapeSchema)
    attrs: dict[str, Any] = {}
    for info in node.fields:
        attrs[info.name] = converter.field_for_shape_field(info)
    for rel in node.relations:
        child = schema_class(rel.child)
        attrs[rel.name] = ma.fields.Nested(
            child,
            many=rel.many,
            allow_none=rel.info.nullable,
            dump_only=rel.info.prop.viewonly,
        )
    state_keys = {f.name for f in node.fields if f.loaded_from_state}
    state_keys |= {rel.name for rel in node.relations}
    attrs["__treeshape_shape__"] = node
    attrs["__treeshape_state_keys__"] = frozenset(state_keys)
    attrs["__module__"] = "treeshape.generated"
    attrs["__doc__"] = f"marshmallow schema of the shape {node.info.name}{node.describe()}."
    name = class_name(node) + "Schema"
    attrs["__qualname__"] = name
    return type(name, (ShapeSchema,), attrs)
