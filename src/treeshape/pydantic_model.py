"""The Pydantic backend: a shape tree as nested Pydantic 2 ``BaseModel`` classes.

One class per distinct sub-tree, memoized on the tree, named readably and uniquely so that a
FastAPI OpenAPI document shows ``RouteWithTrips``, not ``__main____Stop__1``.
"""

from __future__ import annotations

import decimal
from typing import Annotated, Any, ClassVar, Optional

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)

from .counting import count_attribute
from .dumper import ids_locals
from .errors import NotLoadedError
from .inspection import FieldInfo
from .naming import class_name
from .tree import RelationNode, ShapeNode, memoize


class ShapeModel(BaseModel):
    """Base of every generated model: validates from ORM objects, never lazy-loads them.

    A before-validator checks that every attribute the model reads is loaded; Pydantic's
    ``from_attributes`` would otherwise call ``getattr`` and trigger a lazy load.
    """

    model_config = ConfigDict(from_attributes=True)

    __treeshape_state_keys__: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _require_loaded(cls, data: Any) -> Any:
        # Runs once per object, so the body is one C-level subset test in the common case
        # (``dict_keys >= frozenset``). What it still costs (~10% of validating the transit
        # route from attributes) is Pydantic calling into Python once per object.
        try:
            state = data.__dict__
        except AttributeError:
            return data
        keys = cls.__treeshape_state_keys__
        if state.keys() >= keys or "_sa_instance_state" not in state:
            return data
        raise NotLoadedError(type(data).__name__, min(keys.difference(state)))


def _annotation(info: FieldInfo) -> Any:
    python_type = info.python_type if isinstance(info.python_type, type) else Any
    if python_type is Any:
        return Any
    return Optional[python_type] if info.nullable else python_type  # noqa: UP045


def _key_annotation(rel: RelationNode) -> Any:
    annotations = [_annotation(f) for f in rel.child.fields]
    if len(annotations) == 1:
        return annotations[0]
    return tuple[tuple(annotations)]  # type: ignore[misc]


def _ids_definition(rel: RelationNode) -> tuple[Any, Any]:
    """A relationship rendered as ids: the key type, or a list of it; read from loaded state."""
    key: Any = _key_annotation(rel)
    names = [f.name for f in rel.child.fields]
    if rel.many:

        def keys_of(value: Any) -> Any:
            if not isinstance(value, list | tuple) or not value or isinstance(value[0], dict):
                return value
            if not hasattr(value[0], "__dict__"):
                return value
            if len(names) == 1:
                return [x.__dict__[names[0]] for x in value]
            return [tuple(x.__dict__[n] for n in names) for x in value]

        return Annotated[list[key], BeforeValidator(keys_of)], Field(...)
    locals_ = ids_locals(rel)
    annotation: Any = Optional[key] if rel.info.nullable else key  # noqa: UP045
    if len(locals_) == 1:
        return annotation, Field(..., validation_alias=AliasChoices(locals_[0], rel.name))
    # A composite foreign key: read the columns together, from the parent's state.
    return annotation, Field(..., validation_alias=AliasChoices(rel.name))


@memoize
def model_class(node: ShapeNode) -> type[ShapeModel]:
    """The Pydantic model class for ``node``."""
    definitions: dict[str, Any] = {}
    for info in node.fields:
        extra: dict[str, Any] = {}
        if info.doc:
            extra["description"] = info.doc
        if isinstance(info.python_type, type) and issubclass(info.python_type, decimal.Decimal):
            # PostgreSQL's numeric holds NaN and +-Infinity, and the other backends dump them
            # ("NaN", "Infinity"); Pydantic would refuse them by default.
            extra["allow_inf_nan"] = True
        definitions[info.name] = (_annotation(info), Field(..., **extra))
    state_keys = {f.name for f in node.fields if f.loaded_from_state}
    for rel in node.relations:
        if rel.options.embed and rel.options.ids:
            definitions[rel.name] = _ids_definition(rel)
            state_keys |= {rel.name} if rel.many else set(ids_locals(rel))
        elif rel.options.embed:
            state_keys.add(rel.name)
            child: Any = model_class(rel.child)
            annotation: Any
            if rel.many:
                annotation = list[child]
            elif rel.info.nullable:
                annotation = Optional[child]  # noqa: UP045
            else:
                annotation = child
            definitions[rel.name] = (annotation, Field(...))
        if rel.options.count is not None:
            attribute = count_attribute(rel)
            definitions[rel.options.count] = (
                int,
                Field(..., validation_alias=AliasChoices(attribute, rel.options.count)),
            )
            state_keys.add(attribute)
    name = class_name(node)
    model: type[ShapeModel] = create_model(
        name,
        __base__=ShapeModel,
        __module__="treeshape.generated",
        __doc__=f"Pydantic model of the treeshape shape {node.info.name}{node.describe()}.",
        **definitions,
    )
    model.__treeshape_state_keys__ = frozenset(state_keys)
    return model
