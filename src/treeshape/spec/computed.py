"""Computed fields: a value computed in Python from an object, with the paths it reads declared.

A ``@property`` that reads a relationship is invisible to the loader plan: nothing loads what it
reads, so it lazy-loads (or raises). A computed field says what it reads::

    first_departure = ts.computed(
        lambda trip: min((st.departure_time for st in trip.stop_times), default=None),
        type=dt.time | None,
        reads=["stop_times"],
        sql=lambda Trip: select(func.min(StopTime.departure_time))
        .where(StopTime.trip_id == Trip.trip_id)
        .scalar_subquery(),
    )
    trip_brief = ts.shape(Trip, fields=["trip_id"], computed={"first_departure": first_departure})

As Blueprinter's ``field ... preload:`` and DRF's ``SerializerMethodField``: the value is the
function of the object, the type is declared (Pydantic's ``computed_field`` return type), and
the loader plan loads the ``reads`` paths (whole objects, since the function may read any of
their columns) without outputting them. `fetch` selects ``sql(Model)`` instead, where given;
without it a shape with the field cannot be fetched (`FetchError` naming it).

Binding (`bind_computed`) checks everything at ``shape()`` time: the name, the type, every read
path against the model's relationships (did-you-mean), and the SQL expression, which is built
once on the model to check that it is SQL and that its type is the declared one. The bound field
is a `FieldInfo` of kind ``"computed"`` among the node's fields, so ordering, narrowing
(``fields[Trip]=first_departure``) and the generated classes treat it as any read-only field;
each backend computes the value with `value_reader`, the one definition of the check and call.
"""

from __future__ import annotations

import datetime as dt
import threading
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from ..errors import NotLoadedError, SpecError, safe_repr
from ..inspection import HIDDEN_PREFIX, FieldInfo, ModelInfo, model_info, python_type_of
from ..tree import ReadTree, merge_reads

__all__ = [
    "Computed",
    "bind_computed",
    "computed",
    "first_unloaded",
    "value_reader",
]


_builtin_type = type  # `computed` takes a parameter named type, as it reads best


@dataclass(frozen=True, eq=False)
class Computed:
    """A declared computed field (see `computed`); bound to a model by ``shape(computed=...)``.

    Compared by identity, like filters given as functions: define it once, at module level,
    and equal shapes using it are the same shape.
    """

    func: Callable[[Any], Any]
    python_type: type
    nullable: bool
    reads: tuple[str, ...]
    sql: Callable[[Any], Any] | None
    doc: str | None
    _bound: dict[tuple[type, str], FieldInfo] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def computed(
    func: Callable[[Any], Any],
    /,
    *,
    type: Any,
    reads: str | Iterable[str] = (),
    sql: Callable[[Any], Any] | None = None,
    doc: str | None = None,
) -> Computed:
    """A computed field for ``shape(..., computed={"name": ts.computed(...)})``.

    ``func(obj)`` returns the value; ``type`` is its type (a class such as ``int``, ``str``,
    ``datetime.time``, an enum, or ``X | None`` when it may be ``None``): every backend outputs
    it as that type, the generated classes declare it (JSON Schema, marshmallow field), and a
    value of another type is a `TypeError` naming the field, never output as it is. ``reads``
    are the include paths the function follows (``["stop_times", "route.agency"]``): the loader
    plan loads them, and dumping refuses (`NotLoadedError`) instead of lazy-loading an object
    that has not loaded them. ``sql(Model)`` returns the same value as a SQL expression on the
    model or an alias of it (a correlated subquery for values of relationships), for `fetch`;
    ``doc`` describes the field in the JSON Schema and OpenAPI.
    """
    if not callable(func):
        raise SpecError(
            f"ts.computed() needs a function of the object as its first argument, got "
            f"{_builtin_type(func).__name__} {safe_repr(func)}."
        )
    python_type, nullable = _declared_type(type)
    if isinstance(reads, str):
        reads = [reads]
    if not isinstance(reads, Iterable):
        raise SpecError(
            f"ts.computed(reads=...) takes include paths such as ['stop_times'], got "
            f"{safe_repr(reads)}."
        )
    paths = tuple(reads)
    for path in paths:
        if not isinstance(path, str) or not path:
            raise SpecError(
                f"ts.computed(reads=...) takes dotted include path strings such as "
                f"'stop_times.stop', got {safe_repr(path)}."
            )
    if sql is not None and not callable(sql):
        raise SpecError(
            f"ts.computed(sql=...) takes a function of the model returning a SQL expression "
            f"(sql=lambda Trip: ...), got {safe_repr(sql)}."
        )
    if doc is not None and not isinstance(doc, str):
        raise SpecError(f"ts.computed(doc=...) takes a string, got {safe_repr(doc)}.")
    return Computed(func, python_type, nullable, paths, sql, doc)


def _declared_type(annotation: Any) -> tuple[type, bool]:
    """``X`` -> (X, False); ``X | None`` / ``Optional[X]`` -> (X, True); else `SpecError`."""
    nullable = False
    inner = annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        inner = args[0] if len(args) == 1 else None
    if not isinstance(inner, type) or inner is type(None) or typing.get_origin(inner):
        raise SpecError(
            f"ts.computed(type=...) must be a class such as int, str or datetime.time, or one "
            f"of them '| None', got {safe_repr(annotation)}: the type is what every backend "
            f"outputs and the generated classes declare."
        )
    return inner, nullable


# -- binding --------------------------------------------------------------------------------------


def bind_computed(info: ModelInfo, declared: Any) -> tuple[FieldInfo, ...]:
    """The fields of ``computed=`` for ``info``'s model, validated; the same objects for the
    same declaration, so that equal shapes intern to one tree."""
    if not isinstance(declared, Mapping):
        raise SpecError(
            f"computed= for {info.name} must be a mapping of output names to ts.computed(...), "
            f"got {_builtin_type(declared).__name__} {safe_repr(declared)}."
        )
    result: list[FieldInfo] = []
    for name, spec in declared.items():
        if not isinstance(spec, Computed):
            raise SpecError(
                f"computed={{{safe_repr(name)}: ...}} of {info.name} must be ts.computed(...), got "
                f"{_builtin_type(spec).__name__} {safe_repr(spec)}."
            )
        _check_name(info, name)
        key = (info.model, name)
        with spec._lock:
            bound = spec._bound.get(key)
            if bound is None:
                bound = spec._bound[key] = _bind_one(info, name, spec)
        result.append(bound)
    return tuple(result)


def _check_name(info: ModelInfo, name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith(HIDDEN_PREFIX):
        raise SpecError(
            f"A computed field of {info.name} needs a Python identifier as its name, such as "
            f"'first_departure', got {safe_repr(name)}."
        )
    taken = info.columns.get(name) or info.expressions.get(name)
    if taken is not None or name in info.relationships:
        what = "relationship" if name in info.relationships else "mapped column attribute"
        raise SpecError(
            f"The computed field {info.name}.{name} has the name of a {what} of {info.name}; "
            f"give it another name (a Python property or hybrid of that name may be replaced)."
        )


def _bind_one(info: ModelInfo, name: str, spec: Computed) -> FieldInfo:
    reads = merge_reads(_read_tree(info, name, path) for path in spec.reads)
    sa_type = None
    if spec.sql is not None:
        sa_type = _sql_type(info, name, spec)
    return FieldInfo(
        model=info.model,
        name=name,
        kind="computed",
        python_type=spec.python_type,
        nullable=spec.nullable,
        sa_type=sa_type,
        doc=spec.doc,
        computed=spec,
        reads=reads,
    )


def _read_tree(info: ModelInfo, name: str, path: str) -> ReadTree:
    from .bind import relation_or_error  # bind imports this module

    if any(c in path for c in "(){}[], "):
        raise SpecError(
            f"The read path {path!r} of the computed field {info.name}.{name} must be a plain "
            f"dotted path of relationships such as 'stop_times.stop' (no options: the function "
            f"sees every related row)."
        )
    segments = path.split(".")
    here = info
    for i, segment in enumerate(segments):
        rel = relation_or_error(here, segment, path, last=i == len(segments) - 1)
        here = model_info(rel.target)
    tree: ReadTree = ()
    for segment in reversed(segments):
        tree = ((segment, tree),)
    return tree


def _sql_type(info: ModelInfo, name: str, spec: Computed) -> Any:
    assert spec.sql is not None
    where = f"The sql= of the computed field {info.name}.{name}"
    try:
        expression = spec.sql(info.model)
    except Exception as error:
        raise SpecError(
            f"{where} fails on the model: {_builtin_type(error).__name__}: {error}. It is "
            f"called with the model class (or an alias of it) and returns a SQL expression."
        ) from error
    clause = getattr(expression, "__clause_element__", None)
    if clause is not None:
        expression = clause()
    if hasattr(expression, "scalar_subquery") and not isinstance(expression, ColumnElement):
        raise SpecError(f"{where} returns a SELECT: end it with .scalar_subquery().")
    if not isinstance(expression, ColumnElement):
        raise SpecError(
            f"{where} must return a SQL expression (a column, func.x(...), a scalar subquery), "
            f"got {_builtin_type(expression).__name__} {safe_repr(expression)}."
        )
    sa_type = expression.type
    if isinstance(sa_type, NullType):
        raise SpecError(
            f"{where} has no SQL type (NullType), so neither fetch nor the database's JSON can "
            f"convert it as {spec.python_type.__name__}: give it one, e.g. func.f(..., "
            f"type_=Integer) or type_coerce(expr, Integer)."
        )
    sql_python = python_type_of(sa_type)
    if isinstance(sql_python, type) and not issubclass(sql_python, spec.python_type):
        raise SpecError(
            f"{where} is of SQL type {sa_type!r} ({sql_python.__name__} in Python), but the "
            f"field is declared {spec.python_type.__name__}: fetch would output another "
            f"value than dump. Declare type={sql_python.__name__} or cast the expression."
        )
    return sa_type


# -- computing ------------------------------------------------------------------------------------


_EXACT_TYPES = frozenset({int, float, str, bool, bytes, dt.date, dt.datetime, dt.time})


def first_unloaded(obj: Any, reads: ReadTree, path: str = "") -> tuple[str, str, str] | None:
    """(model name, attribute, dotted path) of the first read relationship ``obj``'s tree has
    not loaded, or ``None``: reading instance dicts only, so the check itself loads nothing."""
    state = obj.__dict__
    for key, sub in reads:
        here = f"{path}.{key}" if path else key
        try:
            value = state[key]
        except KeyError:
            return (type(obj).__name__, key, here)
        if not sub or value is None:
            continue
        for item in value if isinstance(value, list | tuple | set | frozenset) else (value,):
            found = first_unloaded(item, sub, here)
            if found is not None:
                return found
    return None


def value_reader(info: FieldInfo, *, missing: type[Exception]) -> Callable[[Any], Any]:
    """The value of computed field ``info`` for an object: its reads checked first, the
    function called, the result checked against the declared type.

    ``missing`` is what an unloaded read raises: `NotLoadedError` (naming the path), or
    ``KeyError`` in the compiled dumper, whose slow path then raises the full-path error.
    """
    spec = info.computed
    assert spec is not None
    reads: ReadTree = info.reads
    func = spec.func
    python_type = spec.python_type
    nullable = spec.nullable
    # Builtin scalars and date/time values by exact class: a bool for an int would be true
    # against Pydantic's 1, a datetime for a date a timestamp against a refusal, a str
    # subclass (a StrEnum) a member against a plain string. Other types (enums, Decimal, UUID,
    # a user's class) by isinstance.
    exact = python_type in _EXACT_TYPES
    label = f"{info.model.__name__}.{info.name}"

    def read(obj: Any) -> Any:
        if reads:
            found = first_unloaded(obj, reads)
            if found is not None:
                if missing is NotLoadedError:
                    raise NotLoadedError(found[0], found[1], found[2])
                raise missing(found[1])
        value = func(obj)
        if value is None:
            if nullable:
                return None
        elif _builtin_type(value) is python_type if exact else isinstance(value, python_type):
            return value
        declared = python_type.__name__ + (" | None" if nullable else "")
        raise TypeError(
            f"The computed field {label} returned {_builtin_type(value).__name__} "
            f"{safe_repr(value)}, but it is declared {declared}; return that type (or "
            f"declare the type it returns)."
        )

    return read
