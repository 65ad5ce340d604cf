"""Readable, unique, deterministic names for generated classes.

OpenAPI tools (apispec, FastAPI) name schema components after classes, so a generated class
must read like a hand-written one (``RouteWithTrips``) and no two different trees may share a
name in one process. The first tree to claim a name keeps it; a different tree that would get
the same name gets a suffix derived from its canonical description, stable across runs.
"""

from __future__ import annotations

import hashlib
import threading
import weakref

from .errors import SpecError
from .tree import CLASS_MEMO_KEYS, ShapeNode, _generate_lock, memoize

_claimed: weakref.WeakValueDictionary[str, ShapeNode] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def base_name(node: ShapeNode) -> str:
    """``Route``, ``RouteWithTrips``, ``RouteWithTripsAndAgency``; or the shape's own name."""
    if node.name:
        return node.name
    if not node.relations:
        return node.info.name
    return node.info.name + "With" + "And".join(_camel(rel.name) for rel in node.relations)


def claim_names(node: ShapeNode) -> None:
    """Reserve the class names of a declared shape's whole tree, in declaration order.

    Called when a shape is defined, so the shapes an app declares get the plain names before
    any narrowing made at request time does. `SpecError` if an explicit ``name=`` is taken.
    """
    if node.name is not None:
        with _generate_lock, _lock:
            holder = _claimed.get(node.name)
            if holder is not None and holder is not node:
                if holder.name is not None or _has_classes(holder):
                    raise SpecError(
                        f"The name {node.name!r} is already used by another shape "
                        f"({holder.info.name}{holder.describe()}); class names must be unique."
                    )
                # An explicit name outranks a derived one whose classes do not exist yet:
                # the unnamed tree will derive another name when its classes are made.
                holder.memo.pop(_CLASS_NAME_KEY, None)
            _claimed[node.name] = node
    for _, sub in node.walk():
        class_name(sub)


_CLASS_NAME_KEY = "treeshape.naming.class_name"


def _has_classes(node: ShapeNode) -> bool:
    return any(key in node.memo for key in CLASS_MEMO_KEYS)


@memoize
def class_name(node: ShapeNode) -> str:
    """The unique class name of this tree in this process."""
    name = base_name(node)
    with _lock:
        holder = _claimed.get(name)
        if holder is None or holder is node:
            _claimed[name] = node
            return name
        digest = hashlib.sha1(
            f"{node.info.model.__module__}.{node.info.name}{node.describe()}".encode()
        ).hexdigest()[:6]
        unique = candidate = f"{name}_{digest}"
        count = 1
        while (holder := _claimed.get(candidate)) is not None and holder is not node:
            count += 1  # only when an explicit name= took this very name
            candidate = f"{unique}_{count}"
        _claimed[candidate] = node
        return candidate
