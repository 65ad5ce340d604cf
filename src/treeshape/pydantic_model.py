"""The Pydantic backend: a shape tree as nested Pydantic 2 ``BaseModel`` classes.

One class per distinct sub-tree, memoized on the tree, named readably and uniquely so that a
FastAPI OpenAPI document shows ``RouteWithTrips``, not ``__main____Stop__1``.
"""

from __future__ import annotations

import decimal
from typing import Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from .errors import NotLoadedError
from .inspection import FieldInfo
from .naming import class_name
from .tree import ShapeNode, memoize


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
    for rel in node.relations:
        child: Any = model_class(rel.child)
        annotation: Any
        if rel.many:
            annotation = list[child]
        elif rel.info.nullable:
            annotation = Optional[child]  # noqa: UP045
        else:
            annotation = child
        definitions[rel.name] = (annotation, Field(...))
    name = class_name(node)
    model: type[ShapeModel] = create_model(
        name,
        __base__=ShapeModel,
        __module__="treeshape.generated",
        __doc__=f"Pydantic model of the treeshape shape {node.info.name}{node.describe()}.",
        **definitions,
    )
    state_keys = {f.name for f in node.fields if f.loaded_from_state}
    state_keys |= {rel.name for rel in node.relations}
    model.__treeshape_state_keys__ = frozenset(state_keys)
    return model
