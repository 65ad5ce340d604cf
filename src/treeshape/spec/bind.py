"""Bind a parsed spec to SQLAlchemy mappers, producing a validated `ShapeNode` tree.

Every way a spec can be wrong is caught here, at definition time, with a message naming the
model, the full dotted path and the closest valid names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..errors import SpecError, did_you_mean, name_list, safe_repr
from ..inspection import FieldInfo, ModelInfo, RelationInfo, attribute_note, model_info
from ..tree import (
    DEFAULT_NAMING,
    KeyStyle,
    Naming,
    ReadTree,
    RelationNode,
    RelationOptions,
    ShapeNode,
    output_keys,
)
from .computed import bind_computed
from .options import resolve
from .parse import SpecEntry, parse

__all__ = [
    "FieldsArg",
    "NamesArg",
    "bind",
    "check_model",
    "check_relation",
    "check_style",
    "field_infos",
    "relation_or_error",
    "resolve_fields",
]

FieldsArg = Iterable[str] | Mapping[Any, Iterable[str]] | None
NamesArg = Mapping[str, str] | Mapping[Any, Mapping[str, str]] | None


def bind(
    model: Any,
    specs: tuple[Any, ...],
    fields: FieldsArg,
    name: str | None,
    computed: Any = None,
    key_style: KeyStyle | None = None,
    names: NamesArg = None,
) -> ShapeNode:
    """The shape tree for ``shape(model, *specs, fields=fields, name=name, computed=...,
    key_style=..., names=...)``."""
    info = model_info(model)
    if name is not None and (not isinstance(name, str) or not name.isidentifier()):
        raise SpecError(
            f"name= for a shape of {info.name} must be a Python identifier such as "
            f"'RouteDetail', got {safe_repr(name)}."
        )
    check_style(info.name, key_style)
    root = parse(info.name, specs)
    check_model(info, "")
    selectable: dict[type, ModelInfo] = {}
    composed: dict[type, ModelInfo] = {}
    _check_structure(info, root, selectable, composed)
    selection = resolve_fields(info, fields, selectable, composed)
    extra: tuple[FieldInfo, ...] = ()
    if computed is not None:
        extra = _add_computed(info, computed, selection, selectable, composed)
    # Computed fields are outputs too: names= may rename them.
    computed_names = {
        model: {f.name for f in chosen if f.computed is not None}
        for model, chosen in selection.items()
    }
    computed_names.setdefault(info.model, set()).update(f.name for f in extra)
    renames = _resolve_names(info, names, selectable, composed, computed_names)
    node = _build(info, root, selection, key_style, renames)
    if extra:
        # A root that is a composed shape (``shape(Trip, trip_brief, computed=...)``): its
        # fields, then the computed ones.
        _check_taken(info, node.fields, extra)
        _check_output_keys(info, node.fields + extra, node.relations)
        naming = _naming(info, node.fields + extra, node.relations, node.naming, "")
        node = ShapeNode.make(info, node.fields + extra, node.relations, naming=naming)
    if computed is not None:
        for path, sub in node.walk():
            _check_reads(sub, sub.reads, path)
    _check_one_list_per_relationship(node)
    if name is not None and name != node.name:
        node = ShapeNode.make(node.info, node.fields, node.relations, name, node.naming)
    return node


def check_style(model_name: str, key_style: Any) -> None:
    """`SpecError` unless ``key_style`` is ``None`` or a hashable callable."""
    if key_style is None:
        return
    if not callable(key_style):
        raise SpecError(
            f"key_style= for a shape of {model_name} must be a callable from attribute name to "
            f"output key, such as pydantic.alias_generators.to_camel, got "
            f"{type(key_style).__name__} {safe_repr(key_style)}."
        )
    try:
        hash(key_style)
    except TypeError:
        raise SpecError(
            f"key_style= for a shape of {model_name} must be hashable (it is part of the "
            f"shape's identity); use a function, got {type(key_style).__name__}."
        ) from None


def _resolve_names(
    root: ModelInfo,
    names: NamesArg,
    selectable: Mapping[type, ModelInfo],
    composed: Mapping[type, ModelInfo],
    computed_names: Mapping[type, set[str]],
) -> dict[type, tuple[tuple[str, str], ...]]:
    """``names=`` as sorted ``(attribute, key)`` pairs per model, every name checked.

    ``{"stop_name": "name"}`` renames the root model's outputs; ``{Stop: {...}}`` (or
    ``{"Stop": {...}}``) those of every node of that model the spec builds (composed shapes
    keep their own names, as they keep their fields).
    """
    if names is None:
        return {}
    if not isinstance(names, Mapping):
        raise SpecError(
            f"names= for {root.name} must be a mapping of attribute name to output key, or of "
            f"model to such a mapping, got {type(names).__name__} {safe_repr(names)}."
        )
    values = list(names.values())
    if values and all(isinstance(v, Mapping) for v in values):
        items: list[tuple[Any, Any]] = list(names.items())
    elif all(isinstance(v, str) for v in values):
        items = [(root.model, names)]
    else:
        raise SpecError(
            f"names= for {root.name} mixes output keys and per-model mappings: give "
            f"{{'attribute': 'key'}} for {root.name}, or {{Model: {{'attribute': 'key'}}}}."
        )
    by_name = {m.__name__: i for m, i in selectable.items()}
    resolved: dict[type, tuple[tuple[str, str], ...]] = {}
    for key, mapping in items:
        info = _model_for_key(key, root, selectable, by_name, composed, "names=")
        if info.model in resolved:
            raise SpecError(f"names= names the model {info.name} twice.")
        pairs: list[tuple[str, str]] = []
        for attribute, output in mapping.items():
            if not isinstance(attribute, str) or not isinstance(output, str) or not output:
                raise SpecError(
                    f"names= for {info.name} maps attribute names to non-empty output keys, "
                    f"got {safe_repr(attribute)}: {safe_repr(output)}."
                )
            valid = [
                *info.field_names(),
                *sorted(computed_names.get(info.model, ())),
                *info.relationships,
            ]
            if attribute not in valid:
                raise SpecError(
                    f"names= for {info.name} renames {attribute!r}, which is no field or "
                    f"relationship of {info.name}.{did_you_mean(attribute, valid)} Fields and "
                    f"relationships of {info.name}: {name_list(valid)}."
                )
            pairs.append((attribute, output))
        resolved[info.model] = tuple(sorted(pairs))
    return resolved


def _check_structure(
    info: ModelInfo,
    entry: SpecEntry,
    selectable: dict[type, ModelInfo],
    composed: dict[type, ModelInfo],
) -> None:
    """Validate every relationship name and composed shape; collect the models reached."""
    for node in entry.shapes:
        if node.model is not info.model:
            rel_text = f"at {entry.path!r}" if entry.path else "at the root"
            raise SpecError(
                f"The shape given {rel_text} is a shape of {node.info.name}, but {rel_text} "
                f"the model is {info.name}."
            )
        for _, sub in node.walk():
            composed.setdefault(sub.model, sub.info)
    if not entry.shapes:
        selectable.setdefault(info.model, info)
    for rel_name, child in entry.children.items():
        rel = relation_or_error(info, rel_name, child.first_leaf_path(), last=not child.children)
        check_relation(info, rel, child.path)
        target = model_info(rel.target)
        check_model(target, child.path)
        _check_structure(target, child, selectable, composed)


def _check_one_list_per_relationship(node: ShapeNode) -> None:
    """Refuse one collection loaded at two places with different rows or order.

    The ORM keeps one list per object and relationship: an object reached at both places (a
    path that comes back through the same relationship) would show one place's rows at the
    other, silently, in every backend but ``fetch``.
    """
    # By the mapped property: a subclass shares its base's, and so do its objects' lists.
    seen: dict[Any, tuple[str, RelationOptions]] = {}
    for path, sub in node.walk():
        for rel in sub.relations:
            if not (rel.many and rel.loads):
                continue
            rows = replace(rel.options, count=None, ids=False, on_missing="error")
            where = f"{path}.{rel.name}" if path else rel.name
            first_path, first_rows = seen.setdefault(rel.info.prop, (where, rows))
            if first_rows != rows:
                raise SpecError(
                    f"{rel.info.model.__name__}.{rel.name} is loaded at {first_path!r} "
                    f"({first_rows.describe() or 'as mapped'}) and at {where!r} "
                    f"({rows.describe() or 'as mapped'}): the ORM keeps one list per object, so "
                    f"an object reached at both places could not show both. Give both places "
                    f"the same order_by, limit, offset and where."
                )


def check_model(info: ModelInfo, path: str) -> None:
    """Refuse a model no output can serve exactly: concrete table inheritance, whose rows the
    ORM reads from a UNION of tables that `fetch` cannot select from the same way."""
    if info.inheritance != "concrete":
        return
    where = f"at include path {path!r}" if path else "as the root"
    table = getattr(info.mapper.local_table, "name", info.name)
    raise SpecError(
        f"{info.name} ({where}) is mapped with concrete table inheritance: its rows come from "
        f"several tables (a polymorphic UNION), which treeshape cannot load, serialize and fetch "
        f"alike. Shape a class mapped on one table instead, e.g. a plain mapped class on "
        f"{table!r} for this endpoint."
    )


def check_relation(info: ModelInfo, rel: RelationInfo, path: str) -> None:
    """Refuse a relationship whose attribute is not a loadable list or object: a dynamic or
    write-only query, or a set or dict collection (no order all backends and fetch share)."""
    where = f"{info.name}.{rel.name} (include path {path!r})"
    target = rel.target.__name__
    declare = (
        f"Declare a loadable relationship for the endpoint beside it, e.g. "
        f"`{rel.name}_list: Mapped[list[{target}]] = relationship(viewonly=True, "
        f"order_by=...)` (with the same primaryjoin), and include that"
    )
    if rel.lazy in ("dynamic", "write_only"):
        raise SpecError(
            f"{where} is lazy={rel.lazy!r}: it is a query, not an attribute a loader can fill, "
            f"so no shape can load it. {declare}."
        )
    if rel.collection in ("set", "dict", "other"):
        kind = {"set": "a set", "dict": "a dict", "other": "a custom"}[rel.collection]
        raise SpecError(
            f"{where} is {kind} collection (collection_class): its order is not the "
            f"relationship's order_by, so dump and fetch could not agree on the list. {declare}."
        )


def relation_or_error(info: ModelInfo, name: str, path: str, *, last: bool) -> RelationInfo:
    """``info``'s relationship ``name``, or a `SpecError` saying what ``path`` got wrong."""
    rel = info.relationships.get(name)
    if rel is not None:
        return rel
    if info.field(name) is not None:
        if last:
            raise SpecError(
                f"Include path {path!r} ends at {info.name}.{name}, which is a field, not a "
                f"relationship: list fields with fields={{'{info.name}': [..., {name!r}]}}. "
                f"Relationships of {info.name}: {name_list(info.relationships)}."
            )
        raise SpecError(
            f"Include path {path!r} goes through {info.name}.{name}, which is a field, not a "
            f"relationship; only relationships can be followed. Relationships of "
            f"{info.name}: {name_list(info.relationships)}."
        )
    if name in info.subclass_relationships:
        subclass, identity = info.subclass_relationships[name]
        raise SpecError(
            f"{info.name} has no relationship {name!r} (in include path {path!r}): only its "
            f"subclass {subclass.__name__} (polymorphic identity {identity!r}) has it, and a "
            f"shape of {info.name} follows the same relationships for every row. Shape "
            f"{subclass.__name__} (or a relationship to it) to include {name!r}. Relationships "
            f"of {info.name}: {name_list(info.relationships)}."
        )
    raise SpecError(
        f"{info.name} has no relationship {name!r} (in include path {path!r})."
        f"{did_you_mean(name, info.relationships)} Relationships of {info.name}: "
        f"{name_list(info.relationships)}."
    )


def resolve_fields(
    root: ModelInfo,
    fields: FieldsArg,
    selectable: Mapping[type, ModelInfo],
    composed: Mapping[type, ModelInfo] | None = None,
    computed: Mapping[type, Mapping[str, FieldInfo]] | None = None,
) -> dict[type, tuple[FieldInfo, ...]]:
    """Turn ``fields=`` into field infos per model, checking every model and field name.

    ``selectable`` are the models whose field set ``fields`` may choose; ``composed`` the models
    present only inside composed shapes (which keep their own fields), for a precise error;
    ``computed`` the computed fields a narrowing may name, per model.
    """
    if fields is None:
        return {}
    if isinstance(fields, str | bytes):
        raise SpecError(
            f"fields= for {root.name} must be a list of field names or a mapping of model to "
            f"field names, not a string: did you mean fields=[{safe_repr(fields)}]?"
        )
    items: list[tuple[Any, Any]]
    if isinstance(fields, Mapping):
        items = list(fields.items())
    elif isinstance(fields, Iterable):
        items = [(root.model, list(fields))]
    else:
        raise SpecError(
            f"fields= for {root.name} must be a list of field names or a mapping of model to "
            f"field names, got {type(fields).__name__} {safe_repr(fields)}."
        )
    by_name = {m.__name__: i for m, i in selectable.items()}
    ambiguous = _ambiguous_names(selectable)
    resolved: dict[type, tuple[FieldInfo, ...]] = {}
    for key, names in items:
        if isinstance(key, str) and key in ambiguous:
            raise SpecError(
                f"fields= names the model {key!r}, but this shape of {root.name} has several "
                f"models of that name ({', '.join(ambiguous[key])}): pass the class itself "
                f"as the key, e.g. fields={{{ambiguous[key][0].rsplit('.', 1)[-1]}: [...]}} "
                f"with the class imported from {ambiguous[key][0].rsplit('.', 1)[0]}."
            )
        info = _model_for_key(key, root, selectable, by_name, composed or {})
        if info.model in resolved:
            raise SpecError(f"fields= names the model {info.name} twice.")
        resolved[info.model] = field_infos(info, names, (computed or {}).get(info.model))
    return resolved


def _add_computed(
    root: ModelInfo,
    computed: Any,
    selection: dict[type, tuple[FieldInfo, ...]],
    selectable: Mapping[type, ModelInfo],
    composed: Mapping[type, ModelInfo],
) -> tuple[FieldInfo, ...]:
    """Add ``computed=`` to the field selection: after the model's fields, in the order given.

    ``computed`` maps output names to `Computed` for the root model, or models (classes or
    names) to such mappings, as ``fields=`` does. Returns the root's computed fields when the
    root is a composed shape (whose fields the selection does not choose), else ``()``.
    """
    if not isinstance(computed, Mapping):
        raise SpecError(
            f"computed= for {root.name} must be a mapping of output names to ts.computed(...) "
            f"(or of models to such mappings), got {type(computed).__name__} "
            f"{safe_repr(computed)}."
        )
    per_model: list[tuple[ModelInfo, Any]]
    if all(isinstance(value, Mapping) for value in computed.values()) and computed:
        by_name = {m.__name__: i for m, i in selectable.items()}
        per_model = [
            (
                root
                if key is root.model or key == root.name
                else _model_for_key(key, root, selectable, by_name, composed, "computed="),
                value,
            )
            for key, value in computed.items()
        ]
    else:
        per_model = [(root, computed)]
    root_extra: tuple[FieldInfo, ...] = ()
    for info, declared in per_model:
        added = bind_computed(info, declared)
        if info.model not in selectable:
            root_extra = added  # only the root gets here: the others are checked above
            continue
        base = selection.get(info.model, info.default_fields)
        _check_taken(info, base, added)
        selection[info.model] = base + added
    return root_extra


def _check_taken(
    info: ModelInfo, fields: tuple[FieldInfo, ...], added: tuple[FieldInfo, ...]
) -> None:
    taken = {f.name for f in fields}
    for f in added:
        if f.name in taken:
            raise SpecError(
                f"{info.name}.{f.name} is both a field of the shape and in computed=; list it "
                f"once (a computed field is output without naming it in fields=)."
            )


def _check_reads(node: ShapeNode, reads: ReadTree, path: str) -> None:
    """A read through a relationship the shape filters or cuts would see only those rows: the
    function's value would silently depend on the window. Refuse it."""
    for key, sub in reads:
        rel = node.relation(key)
        if rel is None:
            continue
        if rel.options.where or rel.options.windowed:
            where = f"{path}.{key}" if path else key
            raise SpecError(
                f"A computed field of {node.info.name} reads {where!r}, which this shape "
                f"includes with where=/limit=/offset= ({rel.options.describe()}): the function "
                f"would see only those rows. Include the relationship without them, or compute "
                f"from what the shape outputs."
            )
        if sub:
            _check_reads(rel.child, sub, f"{path}.{key}" if path else key)


def _ambiguous_names(models: Iterable[type]) -> dict[str, list[str]]:
    """Class names that more than one of ``models`` has (two modules or registries), each with
    the qualified names of its classes: a string key cannot tell them apart."""
    qualified: dict[str, list[str]] = {}
    for model in models:
        qualified.setdefault(model.__name__, []).append(f"{model.__module__}.{model.__qualname__}")
    return {name: sorted(paths) for name, paths in qualified.items() if len(paths) > 1}


def _model_for_key(
    key: Any,
    root: ModelInfo,
    selectable: Mapping[type, ModelInfo],
    by_name: Mapping[str, ModelInfo],
    composed: Mapping[type, ModelInfo],
    arg: str = "fields=",
) -> ModelInfo:
    if isinstance(key, str):
        found = by_name.get(key)
        if found is not None:
            return found
        composed_names = {m.__name__ for m in composed}
        if key in composed_names:
            raise SpecError(_composed_message(key, arg))
        raise SpecError(
            f"{arg} names the model {safe_repr(key)}, which is not in this shape of {root.name}."
            f"{did_you_mean(key, by_name)} Models in this shape: {name_list(sorted(by_name))}."
        )
    if isinstance(key, type):
        if key in selectable:
            return selectable[key]
        if key in composed:
            raise SpecError(_composed_message(key.__name__, arg))
        raise SpecError(
            f"{arg} names the model {key.__name__}, which is not in this shape of "
            f"{root.name}. Models in this shape: {name_list(sorted(by_name))}."
        )
    raise SpecError(
        f"{arg} keys must be model classes or model names, got {type(key).__name__} "
        f"{safe_repr(key)}."
    )


def _composed_message(model_name: str, arg: str = "fields=") -> str:
    return (
        f"{arg} names {model_name}, but every {model_name} in this shape comes from a "
        f"composed shape, which keeps its own fields; "
        + (
            "declare the computed field in that shape instead."
            if arg == "computed="
            else "narrow or redefine that shape instead."
        )
    )


def field_infos(
    info: ModelInfo, names: Any, computed: Mapping[str, FieldInfo] | None = None
) -> tuple[FieldInfo, ...]:
    """The `FieldInfo` of each name, in the order given; `SpecError` for any bad name.

    ``computed``: the computed fields the names may also be (a shape's, when narrowing it).
    """
    computed = computed or {}
    if isinstance(names, str | bytes) or not isinstance(names, Iterable):
        raise SpecError(
            f"The fields of {info.name} must be a list of field names, got "
            f"{type(names).__name__} {safe_repr(names)}."
        )
    result: list[FieldInfo] = []
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise SpecError(
                f"The fields of {info.name} must be strings, got {type(name).__name__} "
                f"{safe_repr(name)}."
            )
        if name in seen:
            raise SpecError(f"The field {info.name}.{name} is listed twice in fields=.")
        seen.add(name)
        if name in info.relationships:
            raise SpecError(
                f"{info.name}.{name} is a relationship, not a field: include it with a path "
                f"such as {name!r} instead of listing it in fields=."
            )
        found = computed.get(name) or info.field(name)
        if found is None and name in info.subclass_fields:
            subclass, identity = info.subclass_fields[name]
            raise SpecError(
                f"{info.name} has no field {name!r}: only its subclass {subclass.__name__} "
                f"(polymorphic identity {identity!r}) has it, and a shape of {info.name} "
                f"outputs the same fields for every row. Shape {subclass.__name__} (or a "
                f"relationship to it) to output {name!r}. Fields of {info.name}: "
                f"{name_list(info.field_names())}."
            )
        if found is None:
            known = [*info.field_names(), *(n for n in computed if n not in info.field_names())]
            note = attribute_note(info.model, name)
            if note:
                raise SpecError(f"{info.name}.{name} cannot be a field.{note}")
            raise SpecError(
                f"{info.name} has no field {safe_repr(name)}."
                f"{did_you_mean(name, known)} "
                f"Fields of {info.name}: {name_list(known)}."
            )
        if found.private:
            raise SpecError(
                f"{info.name}.{name} is private (its column has "
                f"info={{'treeshape_private': True}}) and cannot be in any shape."
            )
        result.append(found)
    return tuple(result)


def _child_node(
    rel: RelationInfo,
    entry: SpecEntry,
    options: RelationOptions,
    selection: Mapping[type, tuple[FieldInfo, ...]],
    style: KeyStyle | None,
    renames: Mapping[type, tuple[tuple[str, str], ...]],
) -> ShapeNode:
    """The target's node; for ids or a count only, just its primary key (nothing else is read)."""
    target = model_info(rel.target)
    if options.ids or not options.embed:
        keys = tuple(target.columns[key] for key in target.primary_key)
        return ShapeNode.make(target, keys, ())
    return _build(target, entry, selection, style, renames)


def _naming(
    info: ModelInfo,
    fields: tuple[FieldInfo, ...],
    relations: tuple[RelationNode, ...],
    naming: Naming,
    path: str,
) -> Naming:
    """``naming`` checked for this node: every key a non-empty string, no key twice."""
    where = f"at {path!r}" if path else "at the root"
    seen: dict[str, str] = {}
    attributes = [f.name for f in fields]
    for rel in relations:
        attributes += rel.outputs
    for attribute in attributes:
        try:
            key: Any = naming.key(attribute)
        except Exception as error:
            raise SpecError(
                f"The key_style of {info.name} {where} failed on {attribute!r}: "
                f"{type(error).__name__}: {error}."
            ) from error
        if not isinstance(key, str) or not key:
            raise SpecError(
                f"The key_style of {info.name} {where} gave {safe_repr(key)} for {attribute!r}; "
                f"an output key is a non-empty string."
            )
    for attribute, key in output_keys(fields, relations, naming):
        if not key.isprintable() or "\\" in key:
            # Keys are SQL string literals in fetch's JSON statements, where MySQL reads a
            # backslash as an escape: refused rather than quoted per dialect.
            raise SpecError(
                f"The output key {key!r} of {info.name}.{attribute} {where} has a backslash or "
                f"a non-printable character; output keys are printable text without '\\'."
            )
        if key in seen:
            raise SpecError(
                f"Two outputs of {info.name} {where} have the output key {key!r}: "
                f"{seen[key]!r} and {attribute!r}. Give one of them another name with "
                f"names={{{attribute!r}: '...'}} (ts.include(name='...') for a relationship)."
            )
        seen[key] = attribute
    return naming


def _inherit(node: ShapeNode, style: KeyStyle | None, path: str) -> ShapeNode:
    """A composed shape under a composing shape's key style: the style applies to every node
    of it that sets none (a shape with its own style keeps it, and so do the nodes below)."""
    if style is None or node.naming.style is not None:
        return node
    relations = tuple(
        RelationNode(
            rel.info, _inherit(rel.child, style, f"{path}.{rel.name}".lstrip(".")), rel.options
        )
        for rel in node.relations
    )
    naming = Naming(style, node.naming.renames)
    return ShapeNode.make(
        node.info,
        node.fields,
        relations,
        node.name,
        _naming(node.info, node.fields, relations, naming, path),
    )


def _check_output_keys(
    info: ModelInfo, fields: tuple[FieldInfo, ...], relations: tuple[RelationNode, ...]
) -> None:
    """Counts add keys to the output: none may collide with a field or relationship key."""
    seen = {f.name for f in fields}
    for rel in relations:
        for key in rel.outputs:
            if key in seen or (key != rel.name and key in info.relationships):
                raise SpecError(
                    f"The output key {key!r} of {info.name} is used twice (a count named like a "
                    f"field or relationship); name the count with count='...'."
                )
            seen.add(key)


def _build(
    info: ModelInfo,
    entry: SpecEntry,
    selection: Mapping[type, tuple[FieldInfo, ...]],
    style: KeyStyle | None = None,
    renames: Mapping[type, tuple[tuple[str, str], ...]] | None = None,
) -> ShapeNode:
    renames = renames or {}
    shapes = entry.shapes
    if len(shapes) == 1 and not entry.children:
        return _inherit(shapes[0], style, entry.path)
    if shapes:
        field_sets = {node.fields for node in shapes}
        if len(field_sets) > 1:
            where = f"at {entry.path!r}" if entry.path else "at the root"
            raise SpecError(
                f"Shapes of {info.name} with different fields meet {where}: "
                f"{' vs '.join(sorted(str(list(n.field_names)) for n in shapes))}. "
                f"Compose one shape there."
            )
        namings = {node.naming for node in shapes}
        if len(namings) > 1:
            where = f"at {entry.path!r}" if entry.path else "at the root"
            raise SpecError(
                f"Shapes of {info.name} with different key styles or names meet {where}; "
                f"compose shapes that name their outputs alike there."
            )
        fields = shapes[0].fields
        naming = shapes[0].naming
        if naming.style is None and style is not None:
            naming = Naming(style, naming.renames)
    else:
        fields = selection.get(info.model, info.default_fields)
        naming = Naming(style, renames.get(info.model, ()))
        if naming == DEFAULT_NAMING:
            naming = DEFAULT_NAMING
    style = naming.style
    # Relationships: those of the composed shapes, merged with those the spec names here.
    merged: dict[str, tuple[RelationInfo, SpecEntry, RelationOptions]] = {}
    for node in shapes:
        for rel in node.relations:
            _, sub, options = merged.get(rel.name, (rel.info, SpecEntry(""), rel.options))
            if options != rel.options:
                raise SpecError(
                    f"Composed shapes disagree on the options of {info.name}.{rel.name}."
                )
            sub.shapes.append(rel.child)
            merged[rel.name] = (rel.info, sub, options)
    for rel_name, child_entry in entry.children.items():
        rel_info = info.relationships[rel_name]
        target = model_info(rel_info.target)
        has_subtree = bool(child_entry.children or child_entry.shapes)
        options = resolve(
            info, rel_info, target, child_entry.options, child_entry.path, has_subtree=has_subtree
        )
        if rel_name in merged:
            _, sub, composed_options = merged[rel_name]
            if options.is_default:
                options = composed_options
            elif not composed_options.is_default and composed_options != options:
                raise SpecError(
                    f"The options of {info.name}.{rel_name} at {child_entry.path!r} differ from "
                    f"those of the composed shape there ({composed_options.describe()}); give "
                    f"them once."
                )
            child_entry.shapes.extend(sub.shapes)
            merged[rel_name] = (rel_info, child_entry, options)
        else:
            merged[rel_name] = (rel_info, child_entry, options)
    relations = tuple(
        RelationNode(
            rel_info, _child_node(rel_info, sub, options, selection, style, renames), options
        )
        for rel_info, sub, options in merged.values()
    )
    _check_output_keys(info, fields, relations)
    naming = _naming(info, fields, relations, naming, entry.path)
    return ShapeNode.make(info, fields, relations, naming=naming)
