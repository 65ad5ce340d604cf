"""The dumper: a shape's objects to JSON-ready dicts, reading loaded state only.

Generated once per shape tree. Values come from the instance dict, never through instrumented
attributes, so an attribute that is not loaded raises `NotLoadedError` naming its path instead
of issuing a query. Hybrids and Python properties are read with ``getattr``: they are code the
model author wrote, and loader options make any relationship they touch raise, not load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import NotLoadedError
from .tree import ShapeNode, memoize
from .values import converter_for

ObjectDumper = Callable[[Any], dict[str, Any]]


def _prefixed(error: NotLoadedError, name: str) -> NotLoadedError:
    path = f"{name}.{error.path}" if error.path else name
    return NotLoadedError(error.model_name, error.attribute, path)


@memoize
def object_dumper(node: ShapeNode) -> ObjectDumper:
    """A function turning one object of ``node.model`` into its JSON-ready dict."""
    model_name = node.info.name
    state_fields = [
        (f.name, converter_for(f.python_type)) for f in node.fields if f.loaded_from_state
    ]
    computed_fields = [
        (f.name, converter_for(f.python_type)) for f in node.fields if not f.loaded_from_state
    ]
    order = [f.name for f in node.fields] + [rel.name for rel in node.relations]
    relations = [(rel.name, rel.many, object_dumper(rel.child)) for rel in node.relations]

    def dump(obj: Any) -> dict[str, Any]:
        state = obj.__dict__
        out: dict[str, Any] = {}
        for name, convert in state_fields:
            try:
                value = state[name]
            except KeyError:
                raise NotLoadedError(model_name, name, name) from None
            out[name] = value if convert is None or value is None else convert(value)
        for name, convert in computed_fields:
            value = getattr(obj, name)
            out[name] = value if convert is None or value is None else convert(value)
        for name, many, child in relations:
            try:
                value = state[name]
            except KeyError:
                raise NotLoadedError(model_name, name, name) from None
            try:
                if many:
                    out[name] = [child(item) for item in value]
                else:
                    out[name] = None if value is None else child(value)
            except NotLoadedError as error:
                raise _prefixed(error, name) from None
        if computed_fields:
            return {name: out[name] for name in order}
        return out

    return dump
