"""Which keys a body may carry at each node, per mode, and which it must.

* ``create`` (POST): every NOT NULL column without a default is required; a generated key is
  refused (the database makes it); collections default to empty.
* ``replace`` (PUT): the whole document, so the same fields are required, and every embedded
  collection and one-to-one child too (leaving one out would silently empty it, ``null``
  removes a one-to-one child); a generated key may name an
  existing child, and the root's key may repeat the instance's own.
* ``patch`` (PATCH, JSON merge patch): every key optional; ``null`` only where the column is
  nullable. A collection given in a patch is replaced as a whole, by the rules of replace; a
  single embedded object is merged (patched) in turn.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..tree import RelationNode, ShapeNode, _generate_lock
from .limits import Limits
from .naming import Claim, claim_input_name
from .plan import WriteChild, WriteField, WritePlan, WriteRef, memo_key

__all__ = ["MODES", "Mode", "Slot", "check_mode", "input_name", "slots"]

Mode = Literal["create", "replace", "patch"]
MODES: tuple[Mode, ...] = ("create", "replace", "patch")


def check_mode(mode: object) -> Mode:
    """``mode`` if it is one of `MODES`; a `ValueError` naming them otherwise."""
    if mode not in MODES:
        raise ValueError(
            f"The input mode must be 'create' (POST), 'replace' (PUT) or 'patch' (PATCH), "
            f"got {mode!r}."
        )
    return mode


@dataclass(frozen=True)
class Slot:
    """One key of a body at one node."""

    name: str
    """The attribute the key writes."""
    required: bool
    nullable: bool
    field: WriteField | None = None
    ref: WriteRef | None = None
    child: WriteChild | None = None
    child_mode: Mode | None = None
    key: str = ""
    """The key in the body: the attribute's output key (`WritePlan.body_key`)."""


def slots(plan: WritePlan, mode: Mode, *, root: bool) -> list[Slot]:
    """The keys a body of ``mode`` may carry at ``plan``'s node, in output order."""
    result: list[Slot] = []
    for field in plan.fields:
        nullable = field.facts.nullable
        if field.name in plan.key and plan.key_generated:
            if mode == "create":
                continue
            result.append(Slot(field.name, False, False, field=field))
        elif field.name in plan.key and root and mode != "create":
            result.append(Slot(field.name, False, False, field=field))
        else:
            required = mode != "patch" and field.required_on_create
            result.append(Slot(field.name, required, nullable, field=field))
    for ref in plan.refs:
        if ref.many:
            result.append(Slot(ref.name, mode == "replace", False, ref=ref))
        else:
            required = mode != "patch" and ref.required_on_create
            result.append(Slot(ref.name, required, ref.nullable, ref=ref))
    for child in plan.children:
        if child.many:
            sub: Mode = "create" if mode == "create" else "replace"
            result.append(Slot(child.name, mode == "replace", False, child=child, child_mode=sub))
        else:
            # Required in a replace like a collection: the whole document, where leaving the
            # child out must not keep or remove it by accident (null removes it).
            result.append(Slot(child.name, mode == "replace", True, child=child, child_mode=mode))
    return [dataclasses.replace(slot, key=plan.body_key(slot.name)) for slot in result]


_SUFFIX = {"create": "Create", "replace": "Replace", "patch": "Patch"}


def input_name(node: ShapeNode, parent: RelationNode | None, mode: Mode, limits: Limits) -> str:
    """The class name of the input model of ``node`` (reached through ``parent``) for ``mode``.

    ``TripCreate``: the shape's own ``name=`` or the model's name, and the mode. Cached on the
    node, so the Pydantic model and the marshmallow schema of one body share it.
    """
    parent_key = f"{parent.info.model.__name__}.{parent.name}" if parent is not None else ""
    key = memo_key("name", parent, mode, limits)
    with _generate_lock:
        claim: Claim | None = node.memo.get(key)
        if claim is None:
            base = (node.name or node.info.name) + _SUFFIX[mode]
            signature = (
                f"{node.info.model.__module__}.{node.info.name}{node.describe()}"
                f"|{parent_key}|{mode}|{limits}"
            )
            claim = claim_input_name(base, signature)
            node.memo[key] = claim
        return claim.name
