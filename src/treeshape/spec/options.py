"""Per-relationship options: ordering, per-parent limits, counts, filters, ids.

Two spellings, the same meaning (see `treeshape.spec` for where they go)::

    ts.shape(Stop, {"stop_times": ts.include("trip", order_by="departure_time", limit=5)})
    ts.shape(Stop, "stop_times(order_by=departure_time,limit=5).trip")

`include()` is the Python form: any option, including filters (``where=``), which take Python
values or SQLAlchemy expressions and therefore have no string form, so no filter is ever built
from text. The string form ``name(option,option=value,...)`` on any path segment takes
``order_by`` (fields joined by ``+``, ``-`` for descending: ``order_by=-departure_time+stop_id``),
``limit``, ``offset``, ``count`` (bare for ``<name>_count``, or ``count=key``), ``ids``,
``embed=false`` and ``name=key`` (the relationship's output key).

Parsing (`RawOptions`) checks the form only; `resolve` checks the options against the
relationship when the shape is bound, and yields the hashable `RelationOptions` of the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from ..errors import SpecError, did_you_mean, name_list, safe_repr
from ..inspection import ModelInfo, RelationInfo
from ..tree import RelationOptions

__all__ = [
    "OPTION_NAMES",
    "ColumnIs",
    "Criterion",
    "Expression",
    "Function",
    "Include",
    "RawOptions",
    "include",
    "merge",
    "parse_option_text",
    "resolve",
]

OPTION_NAMES = (
    "order_by",
    "limit",
    "offset",
    "where",
    "count",
    "ids",
    "embed",
    "on_missing",
    "name",
)
"""Every option `include()` takes; the string form takes all but ``where``."""

_STRING_OPTIONS = tuple(name for name in OPTION_NAMES if name != "where")
_UNSET: Any = object()


# -- criteria ------------------------------------------------------------------------------------


class Criterion:
    """One filter of a relationship's target rows, as SQL on a given entity (class or alias).

    Subclasses are hashable, because options live in the interned tree: column comparisons by
    value, SQLAlchemy expressions and callables by identity (two equal-looking expressions are
    different criteria; define them once, at module level, as shapes are).
    """

    def clause(self, entity: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def matches(self, obj: Any) -> bool:
        """The criterion in Python, for tests' references (column criteria only)."""
        raise NotImplementedError


@dataclass(frozen=True)
class ColumnIs(Criterion):
    """``column = value`` (``IS NULL`` for ``None``), or ``column IN values`` for a tuple."""

    name: str
    value: Any

    def clause(self, entity: Any) -> Any:
        column = getattr(entity, self.name)
        if self.value is None:
            return column.is_(None)
        if isinstance(self.value, tuple):
            return column.in_(self.value)
        return column == self.value

    def describe(self) -> str:
        return f"{self.name}:{self.value!r}"

    def matches(self, obj: Any) -> bool:
        value = getattr(obj, self.name)
        if isinstance(self.value, tuple):
            return value in self.value
        return bool(value == self.value) if self.value is not None else value is None


@dataclass(frozen=True, eq=False)
class Expression(Criterion):
    """A SQLAlchemy expression on the target class, adapted to aliases; hashed by identity."""

    expression: Any

    def clause(self, entity: Any) -> Any:
        insp: Any = sa_inspect(entity)
        if getattr(insp, "is_aliased_class", False):
            return ClauseAdapter(insp.selectable).traverse(self.expression)
        return self.expression

    def describe(self) -> str:
        return f"<{self.expression}>"


@dataclass(frozen=True, eq=False)
class Function(Criterion):
    """A callable ``entity -> expression`` (the target class or an alias of it); by identity."""

    function: Callable[[Any], Any]

    def clause(self, entity: Any) -> Any:
        return self.function(entity)

    def describe(self) -> str:
        return f"<{getattr(self.function, '__qualname__', 'function')}>"


# -- the raw, unbound options --------------------------------------------------------------------


@dataclass(frozen=True)
class RawOptions:
    """Options as written, before they meet the relationship; ``_UNSET`` where not given."""

    given: tuple[tuple[str, Any], ...]
    source: str
    """How the user wrote them, for error messages."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.given)


@dataclass(frozen=True)
class Include:
    """What `include()` returns: a sub-spec and the options of the relationship it stands at."""

    spec: Any
    options: RawOptions = field(default_factory=lambda: RawOptions((), "include()"))


def include(
    spec: Any = None,
    *,
    order_by: str | Iterable[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    where: Any = None,
    count: bool | str = False,
    ids: bool = False,
    embed: bool = True,
    on_missing: str = "error",
    name: str | None = None,
) -> Include:
    """A relationship's sub-spec with options, as a value of an include mapping.

    ``order_by``: target column names, ``-name`` for descending; overrides the relationship's
    order (the target's primary key breaks ties). ``limit``/``offset``: per parent, in SQL.
    ``where``: ``{"column": value}`` (``None`` for IS NULL, a list/tuple/set for IN), a
    SQLAlchemy expression on the target class, a callable ``entity -> expression`` (works on
    aliases as well), or a list of these. ``count``: also output the number of (filtered)
    rows per parent, as ``<relationship>_count`` or the key given. ``ids``: output the
    target's primary key(s) instead of objects. ``embed=False``: output the count only.
    ``on_missing``: what a replace (`Shape.load`) does with existing children its body leaves
    out: ``"error"`` (the default), ``"delete"``, ``"unlink"`` or ``"keep"``. ``name``: the
    relationship's output key (and request and body key) instead of the one its parent's
    naming gives (see ``shape(key_style=..., names=...)``).

    ::

        ts.shape(Stop, {"stop_times": ts.include("trip", order_by="departure_time", limit=5)})
        ts.shape(Stop, "stop_times(order_by=departure_time,limit=5).trip")  # the same shape

    The string form takes every option but ``where``. Only collections take options other
    than ``ids``; options are checked when the shape is defined (`SpecError`).
    """
    given: list[tuple[str, Any]] = []
    if order_by is not None:
        given.append(("order_by", order_by))
    if limit is not None:
        given.append(("limit", limit))
    if offset != 0:
        given.append(("offset", offset))
    if where is not None:
        given.append(("where", where))
    if count is not False:
        given.append(("count", count))
    if ids is not False:
        given.append(("ids", ids))
    if embed is not True:
        given.append(("embed", embed))
    if on_missing != "error":
        given.append(("on_missing", on_missing))
    if name is not None:
        given.append(("name", name))
    return Include(spec, RawOptions(tuple(given), "include(...)"))


def parse_option_text(model_name: str, path: str, text: str) -> RawOptions:
    """The options of a path segment ``name(text)``; `SpecError` naming the path if malformed."""
    given: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise SpecError(
                f"Empty option in {path!r} for {model_name}: options are comma-separated, e.g. "
                f"'stop_times(order_by=-departure_time,limit=5)'. Options: "
                f"{name_list(_STRING_OPTIONS)}."
            )
        key, eq, value = item.partition("=")
        key = key.strip()
        value = value.strip()
        if key not in _STRING_OPTIONS:
            hint = (
                " Filters (where=) have no string form: use ts.include(..., where=...)."
                if key == "where"
                else did_you_mean(key, _STRING_OPTIONS)
            )
            raise SpecError(
                f"Unknown option {key!r} in include path {path!r} for {model_name}.{hint} "
                f"Options: {name_list(_STRING_OPTIONS)}."
            )
        if key in seen:
            raise SpecError(f"The option {key!r} is given twice in include path {path!r}.")
        seen.add(key)
        parsed: Any
        if key in ("limit", "offset"):
            if not eq or not value.isdigit():
                raise SpecError(
                    f"{key}= in include path {path!r} for {model_name} must be a non-negative "
                    f"integer, got {value!r}."
                )
            parsed = int(value)
        elif key == "order_by":
            parsed = tuple(part.strip() for part in value.split("+"))
        elif key == "count":
            parsed = value if eq else True
        elif key in ("on_missing", "name"):
            parsed = value
        else:  # ids, embed
            if eq and value.lower() not in ("true", "false"):
                raise SpecError(f"{key}= in include path {path!r} must be true or false.")
            parsed = (value.lower() == "true") if eq else True
        given.append((key, parsed))
    return RawOptions(tuple(given), f"({text})")


def merge(
    model_name: str, path: str, first: RawOptions | None, second: RawOptions | None
) -> RawOptions | None:
    """One relationship's options written in two places: fine if equal or only once."""
    if first is None or not first.given:
        return second if second is not None else first
    if second is None or not second.given:
        return first
    one, two = _comparable(first), _comparable(second)
    if one == two:
        return first
    differences = [
        f"{key} is {_shown_option(one.get(key, _UNSET))} in one and "
        f"{_shown_option(two.get(key, _UNSET))} in the other"
        for key in dict.fromkeys([*one, *two])
        if one.get(key, _UNSET) != two.get(key, _UNSET)
    ]
    raise SpecError(
        f"The relationship at {path!r} in the shape of {model_name} is given two different "
        f"sets of options, {first.source} and {second.source}: {'; '.join(differences)}. "
        f"Give its options once, or the same in both places."
    )


def _comparable(raw: RawOptions) -> dict[str, Any]:
    """Options as given, with an ``order_by`` of one name (``"body"``, as ``include`` takes
    it) equal to the same name in a list or in text (``("body",)``)."""
    given = raw.as_dict()
    order_by = given.get("order_by")
    if isinstance(order_by, str):
        given["order_by"] = (order_by,)
    elif isinstance(order_by, list):
        given["order_by"] = tuple(order_by)
    return given


def _shown_option(value: Any) -> str:
    return "not given" if value is _UNSET else safe_repr(value)


# -- binding -------------------------------------------------------------------------------------


def _check_window(rel: RelationInfo, target: ModelInfo, where_text: str) -> None:
    """Refuse a per-parent window the loaders cannot compute exactly."""
    if not rel.equality_join:
        raise SpecError(
            f"{where_text}: limit and offset need a join by column equality to number each "
            f"parent's rows; this relationship joins by a custom condition (e.g. LIKE). Drop "
            f"limit/offset here, or include a relationship joined by a foreign key."
        )
    if target.joined_subclasses and not target.loads_subclasses:
        raise SpecError(
            f"{where_text}: limit and offset on {target.name}, whose subclasses map tables of "
            f"their own, need those loaded in the same query: add "
            f"__mapper_args__ = {{'with_polymorphic': '*'}} to {target.name}, or drop "
            f"limit/offset here."
        )


def resolve(
    parent: ModelInfo,
    rel: RelationInfo,
    target: ModelInfo,
    raw: RawOptions | None,
    path: str,
    *,
    has_subtree: bool,
) -> RelationOptions:
    """The validated `RelationOptions` of ``rel`` at ``path``; `SpecError` for any misuse."""
    if raw is None or not raw.given:
        return RelationOptions()
    given = raw.as_dict()
    where_text = f"{parent.name}.{rel.name} (include path {path!r})"
    if not rel.uselist:
        allowed = {"ids", "on_missing", "name"}
        bad = sorted(set(given) - allowed)
        if bad:
            raise SpecError(
                f"{where_text} is a single object, not a collection: "
                f"{name_list(bad)} {'applies' if len(bad) == 1 else 'apply'} only to "
                f"collections. A single relationship takes: {name_list(sorted(allowed))}."
            )
    order_by = _order_by(target, given.get("order_by"), where_text)
    limit = _non_negative(given.get("limit"), "limit", where_text, allow_none=True)
    offset = _non_negative(given.get("offset", 0), "offset", where_text, allow_none=False)
    where = _criteria(target, given.get("where"), where_text)
    ids = _flag(given.get("ids", False), "ids", where_text)
    embed = _flag(given.get("embed", True), "embed", where_text)
    count = _count_name(rel, given.get("count", False), where_text)
    on_missing = _on_missing(rel, given.get("on_missing", "error"), where_text)
    name = given.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise SpecError(
            f"name= of {where_text} is the relationship's output key: a non-empty string, "
            f"got {safe_repr(name)}."
        )
    if name is not None and not embed:
        raise SpecError(
            f"{where_text}: embed=False outputs only the count, so name= has no effect; name "
            f"the count with count='...' instead."
        )
    if ids:
        if has_subtree:
            raise SpecError(
                f"{where_text} is rendered as ids, so it cannot have its own fields or nested "
                f"relationships; drop ids=True or the sub-spec."
            )
        if not rel.uselist and (rel.direction != "many_to_one" or rel.secondary):
            raise SpecError(
                f"{where_text}: ids on a single object need a many-to-one relationship (its "
                f"foreign key holds the id); this one is {rel.direction}."
            )
    if limit is not None or offset:
        _check_window(rel, target, where_text)
    if not embed:
        if count is None:
            raise SpecError(
                f"{where_text}: embed=False outputs nothing without count; add count=True."
            )
        if ids or has_subtree or order_by or limit is not None or offset:
            raise SpecError(
                f"{where_text}: embed=False outputs only the count, so ids, order_by, limit, "
                f"offset and a sub-spec have no effect; remove them."
            )
    return RelationOptions(
        order_by=order_by,
        limit=limit,
        offset=offset,
        where=where,
        count=count,
        ids=ids,
        embed=embed,
        on_missing=on_missing,
        name=name,
    )


ON_MISSING = ("error", "delete", "unlink", "keep")
"""The values of ``on_missing=``."""


def _on_missing(rel: RelationInfo, value: Any, where_text: str) -> str:
    if value not in ON_MISSING:
        raise SpecError(
            f"on_missing= of {where_text} must be one of {name_list(repr(v) for v in ON_MISSING)}"
            f", got {safe_repr(value)}."
        )
    if value != "error" and (rel.direction != "one_to_many" or rel.secondary):
        raise SpecError(
            f"on_missing= of {where_text}: only an embedded one-to-many or one-to-one "
            f"relationship has children a replace can leave out; this one is {rel.direction}."
        )
    return str(value)


def _order_by(target: ModelInfo, value: Any, where_text: str) -> tuple[tuple[str, bool], ...]:
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items:
        raise SpecError(f"order_by= of {where_text} is empty.")
    columns = [n for n, f in target.columns.items() if not f.private]
    result: list[tuple[str, bool]] = []
    for item in items:
        if not isinstance(item, str):
            raise SpecError(
                f"order_by= of {where_text} takes column names ('-name' for descending), got "
                f"{type(item).__name__} {item!r}."
            )
        descending = item.startswith("-")
        name = item[1:] if descending else item
        if name not in columns:
            raise SpecError(
                f"order_by= of {where_text}: {target.name} has no column {name!r}."
                f"{did_you_mean(name, columns)} Columns of {target.name}: {name_list(columns)}."
            )
        if any(name == n for n, _ in result):
            raise SpecError(f"order_by= of {where_text} names {name!r} twice.")
        result.append((name, descending))
    return tuple(result)


def _non_negative(value: Any, name: str, where_text: str, *, allow_none: bool) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"{name}= of {where_text} must be a non-negative int, got {value!r}.")
    return value


def _flag(value: Any, name: str, where_text: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{name}= of {where_text} must be True or False, got {value!r}.")
    return value


def _count_name(rel: RelationInfo, value: Any, where_text: str) -> str | None:
    if value is False:
        return None
    if value is True:
        return f"{rel.name}_count"
    if isinstance(value, str) and value.isidentifier():
        return value
    raise SpecError(
        f"count= of {where_text} must be True (for '{rel.name}_count') or an identifier naming "
        f"the output key, got {value!r}."
    )


def _criteria(target: ModelInfo, value: Any, where_text: str) -> tuple[Criterion, ...]:
    if value is None:
        return ()
    items = list(value) if isinstance(value, list | tuple) else [value]
    result: list[Criterion] = []
    for item in items:
        if isinstance(item, Criterion):
            result.append(item)
        elif isinstance(item, Mapping):
            for name, wanted in item.items():
                result.append(_column_criterion(target, name, wanted, where_text))
        elif isinstance(item, ColumnElement) or hasattr(item, "__clause_element__"):
            result.append(Expression(item))
        elif callable(item):
            result.append(Function(item))
        else:
            raise SpecError(
                f"where= of {where_text} takes a mapping of column to value, a SQLAlchemy "
                f"expression, a callable (entity -> expression) or a list of these; got "
                f"{type(item).__name__} {item!r}."
            )
    return tuple(result)


def _column_criterion(target: ModelInfo, name: Any, wanted: Any, where_text: str) -> ColumnIs:
    columns = [n for n, f in target.columns.items() if not f.private]
    if not isinstance(name, str) or name not in columns:
        raise SpecError(
            f"where= of {where_text}: {target.name} has no column {name!r}."
            f"{did_you_mean(str(name), columns)} Columns of {target.name}: {name_list(columns)}."
        )
    if isinstance(wanted, list | tuple | set | frozenset):
        values = tuple(sorted(wanted, key=repr)) if isinstance(wanted, set | frozenset) else wanted
        wanted = tuple(values)
    try:
        hash(wanted)
    except TypeError:
        raise SpecError(
            f"where= of {where_text}: the value for {name!r} must be a hashable constant, got "
            f"{type(wanted).__name__}."
        ) from None
    return ColumnIs(name, wanted)
