"""An independent reference for what a shape's output and statement count must be.

Written without treeshape's internals: it walks the spec with ``getattr`` on objects loaded
through ``loader_options()`` and converts values with Pydantic's own ``to_jsonable_python`` (bytes
as hex, the convention treeshape documents: Pydantic's ``ser_json_bytes="hex"``).
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import inspect

Tree = dict[str, "Tree"]


def paths_to_tree(paths: list[str]) -> Tree:
    tree: Tree = {}
    for path in paths:
        node = tree
        for name in path.split("."):
            node = node.setdefault(name, {})
    return tree


def reference_dump(
    obj: Any,
    tree: Tree,
    fields: dict[str, list[str]],
    default_fields: dict[str, list[str]],
    *,
    model: type | None = None,
) -> dict[str, Any]:
    """The JSON-ready dict of ``obj``: fields in mapper order, then relationships.

    ``model`` is the class the shape declares at this place (the root's model, a relationship's
    target): its fields are output, also for a row that is an instance of a subclass.
    """
    declared = model if model is not None else type(obj)
    mapper = inspect(declared)
    model_name = declared.__name__
    names = fields.get(model_name, default_fields[model_name])
    order = {key: i for i, key in enumerate(mapper.attrs.keys())}
    out: dict[str, Any] = {}
    for name in sorted(names, key=lambda n: order.get(n, len(order))):
        out[name] = to_jsonable_python(getattr(obj, name), bytes_mode="hex")
    for name in sorted(tree, key=lambda n: order[n]):
        value = getattr(obj, name)
        target = mapper.relationships[name].mapper.class_
        if isinstance(value, list):
            out[name] = [
                reference_dump(v, tree[name], fields, default_fields, model=target) for v in value
            ]
        else:
            out[name] = (
                None
                if value is None
                else reference_dump(value, tree[name], fields, default_fields, model=target)
            )
    return out


def planned_statements(roots: list[Any], tree: Tree) -> int:
    """1 for the roots, plus one per relationship level that has something to load.

    SQLAlchemy's selectin loader issues no statement for a level with no parents, nor for a
    many-to-one whose parents all have a NULL foreign key.
    """
    count = 1

    def level(parents: list[Any], sub: Tree) -> None:
        nonlocal count
        for name, child_tree in sub.items():
            if not parents:
                continue
            prop = inspect(type(parents[0])).relationships[name]
            if prop.direction.name == "MANYTOONE":
                keys = [
                    tuple(
                        getattr(p, inspect(type(p)).get_property_by_column(c).key)
                        for c in prop.local_columns
                    )
                    for p in parents
                ]
                if all(None in key for key in keys):
                    continue
            count += 1
            children: dict[int, Any] = {}
            for parent in parents:
                value = getattr(parent, name)
                for child in value if isinstance(value, list) else [value]:
                    if child is not None:
                        children[id(child)] = child
            level(list(children.values()), child_tree)

    level(roots, tree)
    return count
