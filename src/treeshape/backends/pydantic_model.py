"""The Pydantic backend: a shape tree as nested Pydantic 2 ``BaseModel`` classes.

One class per distinct sub-tree, memoized on the tree, named readably and uniquely so that a
FastAPI OpenAPI document shows ``RouteWithTrips``, not ``__main____Stop__1``.
"""

from __future__ import annotations

import decimal
import keyword
import re
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Annotated, Any, ClassVar, Optional, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)
from pydantic.config import ExtraValues
from pydantic_core import SchemaValidator

from ..compat import validator_without_reuse
from ..errors import NotLoadedError
from ..inspection import HIDDEN_PREFIX, FieldInfo
from ..naming import class_name
from ..spec.computed import value_reader
from ..sql.counting import count_attribute
from ..tree import RelationNode, ShapeNode, memoize, memoize_class

__all__ = ["ShapeModel", "model_class", "tree_checker", "unchecked_validator"]


class ShapeModel(BaseModel):
    """Base of every generated model: validates from ORM objects, never lazy-loads them.

    A before-validator checks that every attribute the model reads is loaded; Pydantic's
    ``from_attributes`` would otherwise call ``getattr`` and trigger a lazy load. Wherever
    Pydantic validates the class (``TypeAdapter``, FastAPI, a field of another model), that
    check runs once per object. ``model_validate`` on a tree of ORM objects checks the whole
    tree first, in one walk, then validates with a copy of the schema that has no per-object
    checks: Pydantic calling into Python once per object is what made a generated model
    ~15% slower than a hand-written one.
    """

    # ``serialize_by_alias``: a field renamed for Pydantic (see `_attribute_names`) dumps under
    # its own key; no other field has an alias. ``ser_json_bytes``: bytes as hex, the one
    # convention of every backend (`treeshape.values`).
    model_config = ConfigDict(
        from_attributes=True,
        serialize_by_alias=True,
        validate_by_name=True,
        ser_json_bytes="hex",
    )

    __treeshape_state_keys__: ClassVar[frozenset[str]] = frozenset()
    # A count's hidden attribute -> the name errors give it (``journeys_count``).
    __treeshape_labels__: ClassVar[dict[str, str]] = {}
    __treeshape_node__: ClassVar[ShapeNode | None] = None

    @model_validator(mode="before")
    @classmethod
    def _require_loaded(cls, data: Any) -> Any:
        # The body is one C-level subset test in the common case (``dict_keys >= frozenset``).
        try:
            state = data.__dict__
        except AttributeError:
            return data
        keys = cls.__treeshape_state_keys__
        if state.keys() >= keys or "_sa_instance_state" not in state:
            return data
        labels = cls.__treeshape_labels__
        missing = min(labels.get(k, k) for k in keys.difference(state))
        raise NotLoadedError(type(data).__name__, missing)

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        # ``cls.__dict__``: a user's subclass of a generated model validates the usual way.
        node: ShapeNode | None = cls.__dict__.get("__treeshape_node__")
        if (
            node is not None
            and (by_alias is not False or by_name is True)  # else Pydantic's error, below
            and "_sa_instance_state" in getattr(obj, "__dict__", ())
            and tree_checker(node)(obj)
        ):
            instance: Self = unchecked_validator(node).validate_python(
                obj,
                strict=strict,
                extra=extra,
                from_attributes=from_attributes,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )
            return instance
        return super().model_validate(
            obj,
            strict=strict,
            extra=extra,
            from_attributes=from_attributes,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )


class _WithDerived:
    """An object seen with the values no attribute holds (computed fields, composite ids) as
    attributes, for ``from_attributes``.

    ``__dict__`` is the object's own, so `ShapeModel._require_loaded` checks the real state.
    """

    __slots__ = ("_obj", "_values")

    def __init__(self, obj: Any, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_values", values)

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        state: dict[str, Any] = object.__getattribute__(self, "_obj").__dict__
        return state

    def __getattr__(self, name: str) -> Any:
        values: dict[str, Any] = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        return getattr(object.__getattribute__(self, "_obj"), name)


def _derived_validator(node: ShapeNode) -> Any:
    """A wrap validator giving ``from_attributes`` the values no attribute holds: ``node``'s
    computed fields (`value_reader`: reads checked, the function called, the type checked)
    and the ids of a many-to-one with a composite key (its foreign-key columns read together
    from the parent's state, never the relationship attribute)."""
    readers: list[tuple[str, Callable[[Any], Any]]] = [
        (f.name, value_reader(f, missing=NotLoadedError))
        for f in node.fields
        if f.computed is not None
    ]
    readers += [
        (_composite_ids_name(rel), _composite_ids_reader(rel))
        for rel in node.relations
        if rel.render == "ids" and not rel.many and len(rel.id_locals) > 1
    ]
    if not readers:
        return None

    def with_derived(cls: Any, data: Any, handler: Any) -> Any:
        if isinstance(data, Mapping | BaseModel) or not hasattr(data, "__dict__"):
            return handler(data)
        return handler(_WithDerived(data, {name: read(data) for name, read in readers}))

    return model_validator(mode="wrap")(with_derived)


def _composite_ids_name(rel: RelationNode) -> str:
    """What `_derived_validator` names a composite many-to-one's key (hidden, so that it
    cannot meet an output key)."""
    return f"{HIDDEN_PREFIX}ids_{rel.name}"


def _composite_ids_reader(rel: RelationNode) -> Callable[[Any], Any]:
    locals_ = list(rel.id_locals)

    def read(obj: Any) -> Any:
        state = obj.__dict__
        try:
            values = [state[local] for local in locals_]
        except KeyError as missing:
            raise NotLoadedError(type(obj).__name__, str(missing.args[0])) from None
        return None if None in values else tuple(values)

    return read


@memoize
def tree_checker(node: ShapeNode) -> Callable[[Any], bool]:
    """Whether an object tree has loaded everything ``model_class(node)`` reads, in one walk.

    Generated code: nested loops over the loaded collections, one C-level ``itemgetter`` of the
    state keys per object (a third of the cost of ``dict_keys >= frozenset``). It only answers
    yes or no: on anything unexpected (a missing key, a dict where an object was expected) the
    caller validates with the per-object checks, which raise the precise `NotLoadedError` or
    Pydantic's own error.
    """
    namespace: dict[str, Any] = {}
    lines = ["def check(obj):", "    try:", "        state0 = obj.__dict__"]
    _emit_check(node, "state0", 2, 0, lines, namespace)
    lines += ["    except (AttributeError, KeyError, TypeError):", "        return False"]
    lines.append("    return True")
    text = "\n".join(lines)
    exec(compile(text, f"<treeshape check {node.info.name}>", "exec"), namespace)
    check: Callable[[Any], bool] = namespace["check"]
    return check


# Python refuses more than 20 statically nested blocks; deeper sub-trees get their own function.
_INLINE_DEPTH = 8


def _emit_check(
    node: ShapeNode, state: str, indent: int, depth: int, lines: list[str], ns: dict[str, Any]
) -> None:
    pad = "    " * indent
    keys = sorted(model_class(node).__treeshape_state_keys__)
    if keys:
        getter = f"get{len(ns)}"
        ns[getter] = itemgetter(*keys)
        lines.append(f"{pad}{getter}({state})")
    for rel in node.relations:
        if rel.render != "objects":
            continue
        item, child_state = f"item{depth + 1}", f"state{depth + 1}"
        if depth + 1 >= _INLINE_DEPTH:
            function = f"subtree{len(ns)}"
            ns[function] = tree_checker(rel.child)
            inner = [f"if not {function}({item}):", "    return False"]
        else:
            inner = [f"{child_state} = {item}.__dict__"]
        if rel.many:
            lines.append(f"{pad}for {item} in {state}[{rel.name!r}]:")
        else:
            lines.append(f"{pad}{item} = {state}[{rel.name!r}]")
            lines.append(f"{pad}if {item} is not None:")
        lines += [f"{pad}    {line}" for line in inner]
        if depth + 1 < _INLINE_DEPTH:
            _emit_check(rel.child, child_state, indent + 1, depth + 1, lines, ns)


@memoize
def unchecked_validator(node: ShapeNode) -> SchemaValidator:
    """``model_class(node)``'s validator without the per-object ``_require_loaded`` calls, for
    trees that `tree_checker` has passed. It builds instances of the same classes."""
    schema = _without_checks(model_class(node).__pydantic_core_schema__)
    # Reusing the classes' own validators would bring the checks back (`compat`).
    validator: SchemaValidator = validator_without_reuse(schema, _model_classes(schema))
    return validator


def _model_classes(schema: Any) -> list[type[BaseModel]]:
    found: dict[int, type[BaseModel]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "model":
                found[id(value["cls"])] = value["cls"]
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(schema)
    return list(found.values())


def _without_checks(schema: Any) -> Any:
    """A copy of a core schema with every ``_require_loaded`` before-validator unwrapped."""
    if isinstance(schema, dict):
        if schema.get("type") == "function-before":
            function = schema["function"].get("function")
            if getattr(function, "__func__", None) is _REQUIRE_LOADED:
                return _without_checks(schema["schema"])
        return {key: _without_checks(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_without_checks(item) for item in schema]
    return schema


_REQUIRE_LOADED = ShapeModel._require_loaded.__func__


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


def _ids_definition(rel: RelationNode) -> tuple[Any, dict[str, Any]]:
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

        return Annotated[list[key], BeforeValidator(keys_of)], {}
    locals_ = list(rel.id_locals)
    annotation: Any = Optional[key] if rel.info.nullable else key  # noqa: UP045
    if len(locals_) == 1:
        return annotation, {"validation_alias": AliasChoices(locals_[0], rel.name)}
    # A composite foreign key: the columns read together (`_composite_ids_reader`).
    return annotation, {"validation_alias": AliasChoices(_composite_ids_name(rel), rel.name)}


@memoize_class
def model_class(node: ShapeNode) -> type[ShapeModel]:
    """The Pydantic model class for ``node``."""
    definitions: dict[str, tuple[Any, dict[str, Any]]] = {}
    for info in node.fields:
        extra: dict[str, Any] = {}
        if info.doc:
            extra["description"] = info.doc
        if isinstance(info.python_type, type) and issubclass(info.python_type, decimal.Decimal):
            # PostgreSQL's numeric holds NaN and +-Infinity, and the other backends dump them
            # ("NaN", "Infinity"); Pydantic would refuse them by default.
            extra["allow_inf_nan"] = True
        definitions[info.name] = (_annotation(info), extra)
    state_keys = set(node.state_keys)
    labels: dict[str, str] = {}
    for rel in node.relations:
        if rel.render == "ids":
            definitions[rel.name] = _ids_definition(rel)
        elif rel.render == "objects":
            child: Any = model_class(rel.child)
            annotation: Any
            if rel.many:
                annotation = list[child]
            elif rel.info.nullable:
                annotation = Optional[child]  # noqa: UP045
            else:
                annotation = child
            definitions[rel.name] = (annotation, {})
        if rel.options.count is not None:
            attribute = count_attribute(rel)
            definitions[rel.options.count] = (
                int,
                {"validation_alias": AliasChoices(attribute, rel.options.count)},
            )
            state_keys.add(attribute)
            labels[attribute] = rel.options.count
    fields: dict[str, Any] = {}
    for key, attribute_name in _attribute_names(list(definitions)).items():
        annotation, kwargs = definitions[key]
        output = node.key(key)
        if attribute_name != key or output != key:
            # The attribute is not a name Pydantic allows for a field (``_private``,
            # ``model_config``, ``schema``, ``json``, ...), or the tree gives it another output
            # key (`ShapeNode.keys`): the field validates from the attribute or the output key
            # and dumps under the output key.
            existing = kwargs.get("validation_alias")
            choices = list(existing.choices) if existing is not None else [key]
            if output not in choices:
                choices.append(output)
            kwargs = {**kwargs, "validation_alias": AliasChoices(*choices)}
            kwargs["serialization_alias"] = output
        fields[attribute_name] = (annotation, Field(..., **kwargs))
    name = class_name(node)
    validator = _derived_validator(node)
    model: type[ShapeModel] = create_model(
        name,
        __base__=ShapeModel,
        __module__="treeshape.generated",
        __doc__=f"Pydantic model of the treeshape shape {node.info.name}{node.describe()}.",
        __validators__={"_treeshape_derived": validator} if validator is not None else None,
        **fields,
    )
    model.__treeshape_state_keys__ = frozenset(state_keys)
    model.__treeshape_labels__ = labels
    model.__treeshape_node__ = node
    return model


def _attribute_names(keys: list[str]) -> dict[str, str]:
    """Each output key's attribute name on the model: the key itself where Pydantic allows it,
    else a name like it (``_note`` -> ``note``, ``schema`` -> ``schema_``, ``model_config`` ->
    ``field_model_config``), unique among the model's keys."""
    taken = set(keys)
    names: dict[str, str] = {}
    for key in keys:
        if _allowed(key):
            names[key] = key
            continue
        candidate = key.lstrip("_") or "field"
        if not candidate.isidentifier() or candidate.startswith("model_"):
            candidate = "field_" + re.sub(r"\W", "_", candidate)
        while candidate in taken or not _allowed(candidate):
            candidate += "_"
        taken.add(candidate)
        names[key] = candidate
    return names


def _allowed(name: str) -> bool:
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith(("_", "model_"))
        and name not in _BASE_MODEL_NAMES
    )


# BaseModel's methods and attributes (``json``, ``copy``, ``schema``, ...) and ours: a field of
# the same name would shadow them, or Pydantic refuses it.
_BASE_MODEL_NAMES = frozenset(dir(ShapeModel))
