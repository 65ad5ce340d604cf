"""The framework-free core of the web integrations: ``?include=`` and ``?fields[Model]=``.

An endpoint declares one shape; a request may only narrow it, JSON:API style:

* ``include`` absent: the full declared shape; ``include=`` (empty): no relationships;
  ``include=trips,trips.stop_times``: exactly those paths and their prefixes;
* ``fields[Trip]=trip_id,trip_headsign``: exactly those fields of every ``Trip`` in the response.

Anything else that looks like one of these parameters is an error, never ignored: a client that
typed ``field[Stop]`` or repeated ``include`` deserves to know, not to get a silently different
document. Every problem is collected (not just the first) into one `QueryError`, which the Flask
and FastAPI modules turn into a 400 in their framework's own format. Nothing here touches the
database, so a bad request costs no query.

Request parameters are untrusted input that turns into schemas and queries, so `Limits`
bounds what one request may ask (include depth, number of paths, parameter length, number of
fields) before any narrowing work, and the narrowed shapes live in a bounded LRU cache.

`treeshape.flask` and `treeshape.fastapi` are thin adapters over `EndpointShape`; any other
framework needs only ``EndpointShape.from_query(list_of_name_value_pairs)``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import SpecError, did_you_mean, name_list
from .inspection import ModelInfo
from .narrowing import narrow_node
from .shape import Shape

__all__ = ["DEFAULT_LIMITS", "EndpointShape", "Limits", "Narrowing", "Problem", "QueryError"]

INCLUDE = "include"
_FIELDS = re.compile(r"fields\[(?P<model>[^\]]*)\]\Z")
# Names a client may have meant as ours: `includes`, `field[Stop]`, `Fields[Stop]`, `fields`,
# `include[]`; an application's own `include_deleted` or `fieldset` stays its own business.
_LOOKS_OURS = re.compile(r"(includes?|fields?)(\[.*)?\Z", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_VALUE_CHARS = re.compile(r"[A-Za-z0-9_.,]*\Z")
_SHOWN = 80  # characters of an offending value echoed back in an error
_MAX_PROBLEMS = 20  # problems reported per request: the error body stays small whatever is sent


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask of an endpoint; exceeding one is a 400 naming it.

    An endpoint's declared shape already bounds what a request can get; these bound how much
    work and memory a request can make us spend finding out (parsing, validating, building and
    caching a narrowed shape), and how much of a hostile value an error echoes. The defaults
    are generous for any hand-written shape; pass ``EndpointShape(shape, limits=Limits(...))``
    to tighten or widen them per endpoint.
    """

    max_depth: int = 8
    """Relationships deep one ``include`` path may go (``a.b.c`` is 3)."""
    max_paths: int = 32
    """Comma-separated paths in ``include``."""
    max_length: int = 1024
    """Characters in one of our parameters' values (and names)."""
    max_fields: int = 128
    """Distinct field names over every ``fields[...]`` parameter of one request."""

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_paths", "max_length", "max_fields"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}.")


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: which parameter, its value, why, and what is allowed."""

    parameter: str
    value: str
    detail: str
    allowed: tuple[str, ...] = ()
    limit: tuple[str, int] | None = None
    """``(name, value)`` of the `Limits` bound the request exceeded, if that is the problem."""

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "parameter": self.parameter,
            "value": self.value,
            "detail": self.detail,
            "allowed": list(self.allowed),
        }
        if self.limit is not None:
            body["limit"] = {"name": self.limit[0], "value": self.limit[1]}
        return body


class QueryError(ValueError):
    """The ``include``/``fields[...]`` parameters of a request do not fit the endpoint."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        problems = list(problems)
        if len(problems) > _MAX_PROBLEMS:
            more = len(problems) - _MAX_PROBLEMS + 1
            problems[_MAX_PROBLEMS - 1 :] = [
                Problem("", "", f"... and {more} more problems, not shown; fix these first.")
            ]
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.parameter}: {p.detail}" for p in self.problems))


@dataclass(frozen=True)
class Narrowing:
    """A request's parsed narrowing: hashable, so narrowed shapes can be cached on it."""

    include: tuple[str, ...] | None = None
    """Dotted paths; ``None`` when ``include`` was absent (keep every declared path)."""
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``(model name, field names)`` pairs, sorted by model name."""


def _shown(text: str) -> str:
    """``text`` as echoed back in an error: long values cut short."""
    if len(text) > _SHOWN:
        return text[:_SHOWN] + f"... ({len(text)} characters)"
    return text


def _model_of(parameter: str) -> str:
    """``Stop`` for ``fields[Stop]``."""
    return parameter[len("fields[") : -1]


class EndpointShape:
    """An endpoint's declared shape, and the narrowings requests may ask of it.

    Narrowed shapes are cached per distinct narrowing in a bounded LRU cache
    (``cache_size`` entries), so a busy endpoint narrows, validates and generates its dumper
    once per distinct query, and a client cycling through narrowings cannot grow memory: an
    evicted shape's tree and generated classes are freed with it (nodes are interned weakly).
    ``limits`` bounds each request (`Limits`); ``max_length`` is a shortcut for its
    ``max_length``.
    """

    def __init__(
        self,
        shape: Shape,
        *,
        limits: Limits = DEFAULT_LIMITS,
        cache_size: int = 256,
        max_length: int | None = None,
    ) -> None:
        if max_length is not None:
            limits = replace(limits, max_length=max_length)
        self.shape = shape
        self.limits = limits
        self.paths: tuple[str, ...] = tuple(shape.paths)
        self.depth = max((p.count(".") + 1 for p in self.paths), default=0)
        # Field names per model, in mapper order: the union over every place the model appears.
        names: dict[str, set[str]] = {}
        infos: dict[str, ModelInfo] = {}
        for _, node in shape.node.walk():
            infos.setdefault(node.info.name, node.info)
            names.setdefault(node.info.name, set()).update(node.field_names)
        self.models: dict[str, tuple[str, ...]] = {
            model: tuple(sorted(names[model], key=info.position)) for model, info in infos.items()
        }
        self._narrow = functools.lru_cache(maxsize=cache_size)(self._narrow_uncached)

    def __repr__(self) -> str:
        return f"<EndpointShape {self.shape!r}>"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """``include`` and one ``fields[Model]`` per model of the shape."""
        return (INCLUDE, *(f"fields[{model}]" for model in self.models))

    def describe(self, parameter: str) -> str:
        """A human description of ``parameter`` for API documentation (OpenAPI)."""
        if parameter == INCLUDE:
            return (
                "Comma-separated relationship paths to include, among: "
                f"{name_list(self.paths)}. Absent: all of them; empty: none."
            )
        model = _model_of(parameter)
        return (
            f"Comma-separated fields of every {model} in the response, among: "
            f"{name_list(self.models[model])}. Absent: all of them."
        )

    def cache_info(self) -> Any:
        """The LRU cache's statistics (``functools`` ``CacheInfo``)."""
        return self._narrow.cache_info()

    # -- the request path ---------------------------------------------------------------------

    def from_query(self, params: Iterable[tuple[str, str]]) -> Shape:
        """The shape a request's query parameters ask for; `QueryError` if they do not fit.

        ``params`` are every ``(name, value)`` pair of the query string, repeats included
        (``request.args.items(multi=True)``, ``request.query_params.multi_items()``);
        parameters that are not ours and do not look like ours are left to the application.
        """
        return self.narrow(self.parse(params))

    def parse(self, params: Iterable[tuple[str, str]]) -> Narrowing:
        """Check the form of our parameters and collect them; `QueryError` for bad ones."""
        problems: list[Problem] = []
        include: tuple[str, ...] | None = None
        fields: dict[str, tuple[str, ...]] = {}
        seen: set[str] = set()
        for name, value in params:
            if not self._is_ours(name):
                continue
            if len(name) > self.limits.max_length:
                what = f"The parameter name is {len(name)} characters long"
                problems.append(self._limit_problem(name, "", (), "max_length", what))
                continue
            parameter = self._check_name(name, problems)
            if parameter is None:
                continue
            if parameter in seen:
                problems.append(
                    Problem(
                        _shown(name),
                        _shown(value),
                        f"{name} is given more than once; give it once, with comma-separated "
                        "values.",
                    )
                )
                continue
            seen.add(parameter)
            allowed = self.paths if parameter == INCLUDE else self.models[_model_of(parameter)]
            if not self._check_value(name, value, allowed, problems):
                continue
            if parameter == INCLUDE:
                paths = self._parse_include(value, problems)
                if paths is not None:
                    include = paths
            else:
                names = self._parse_fields(parameter, value, problems)
                if names is not None:
                    fields[_model_of(parameter)] = names
        self._check_field_count(fields, problems)
        if problems:
            raise QueryError(problems)
        return Narrowing(include, tuple(sorted(fields.items())))

    def narrow(self, narrowing: Narrowing) -> Shape:
        """The declared shape narrowed as asked (cached); `QueryError` if it does not fit."""
        if narrowing == Narrowing():
            return self.shape
        return self._narrow(narrowing)

    # -- checks -------------------------------------------------------------------------------

    def _is_ours(self, name: str) -> bool:
        # Fold accents away first, so that `inclüde` is reported rather than ignored.
        folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        return _LOOKS_OURS.match(folded) is not None

    def _check_name(self, name: str, problems: list[Problem]) -> str | None:
        """The canonical parameter name, or ``None`` after recording why it is not one."""
        if name == INCLUDE:
            return name
        match = _FIELDS.match(name)
        if match is not None and match["model"] in self.models:
            return name
        allowed = self.parameter_names
        if match is not None:
            model = match["model"]
            detail = (
                f"There is no model {_shown(model)!r} in this endpoint's response."
                f"{did_you_mean(model, self.models)} Sparse fieldsets here: "
                f"{name_list(allowed[1:])}."
            )
        else:
            detail = (
                f"Unknown parameter {_shown(name)!r}.{did_you_mean(name, allowed)} This endpoint "
                f"narrows its response with: {name_list(allowed)}."
            )
        problems.append(Problem(_shown(name), "", detail, allowed))
        return None

    def _check_value(
        self, name: str, value: str, allowed: tuple[str, ...], problems: list[Problem]
    ) -> bool:
        if len(value) > self.limits.max_length:
            what = f"The value is {len(value)} characters long"
            problems.append(self._limit_problem(name, value, allowed, "max_length", what))
            return False
        detail = ""
        if not value.isascii():
            detail = "The value contains non-ASCII characters; names are ASCII."
        elif not _VALUE_CHARS.match(value):
            bad = sorted({c for c in value if not _VALUE_CHARS.match(c)})
            detail = (
                f"The value contains {', '.join(repr(c) for c in bad)}; only names "
                "(letters, digits, '_'), '.' between path segments and ',' between items."
            )
        if detail:
            problems.append(Problem(name, _shown(value), detail, allowed))
        return not detail

    def _parse_include(self, value: str, problems: list[Problem]) -> tuple[str, ...] | None:
        if value == "":
            return ()
        allowed = self.paths
        count = value.count(",") + 1
        if count > self.limits.max_paths:
            problems.append(
                self._limit_problem(
                    INCLUDE, value, allowed, "max_paths", f"The include lists {count} paths"
                )
            )
            return None
        found: list[str] = []
        for path in value.split(","):
            detail = ""
            segments = path.split(".")
            if not path:
                detail = "An empty path (a stray comma)."
            elif "" in segments:
                detail = (
                    f"The path {path!r} has an empty segment; join relationship names with "
                    "single dots, e.g. 'trips.stop_times'."
                )
            elif not all(_IDENTIFIER.match(s) for s in segments):
                detail = f"The path {path!r} has a segment that is not a relationship name."
            elif len(segments) > self.depth:
                detail = (
                    f"The path {_shown(path)!r} is {len(segments)} relationships deep; this "
                    f"endpoint's paths are at most {self.depth} deep."
                )
            elif len(segments) > self.limits.max_depth:
                problems.append(
                    self._limit_problem(
                        INCLUDE,
                        value,
                        allowed,
                        "max_depth",
                        f"The path {_shown(path)!r} is {len(segments)} relationships deep",
                    )
                )
                return None
            if detail:
                problems.append(
                    Problem(
                        INCLUDE, _shown(value), f"{detail} Paths: {name_list(allowed)}.", allowed
                    )
                )
                return None
            found.append(path)
        return tuple(found)

    def _parse_fields(
        self, parameter: str, value: str, problems: list[Problem]
    ) -> tuple[str, ...] | None:
        model = _model_of(parameter)
        allowed = self.models[model]
        names = value.split(",")
        detail = ""
        if value == "":
            detail = (
                f"List at least one field of {model}; to leave {model} out, narrow include instead."
            )
        elif "" in names:
            detail = "An empty field name (a stray comma)."
        elif not all(_IDENTIFIER.match(n) for n in names):
            detail = "Field names are names, not paths."
        elif len(set(names)) != len(names):
            detail = "A field is listed twice."
        if detail:
            problems.append(
                Problem(
                    parameter, _shown(value), f"{detail} Fields: {name_list(allowed)}.", allowed
                )
            )
            return None
        return tuple(names)

    # -- limits -------------------------------------------------------------------------------

    def _limit_problem(
        self, parameter: str, value: str, allowed: tuple[str, ...], limit: str, what: str
    ) -> Problem:
        """A `Problem` saying which of `Limits` ``what`` exceeds, and its value."""
        bound: int = getattr(self.limits, limit)
        return Problem(
            _shown(parameter),
            _shown(value),
            f"{what}; this endpoint allows at most {bound} (limit {limit}={bound}).",
            allowed,
            (limit, bound),
        )

    def _check_field_count(
        self, fields: dict[str, tuple[str, ...]], problems: list[Problem]
    ) -> None:
        """Distinct field names over every ``fields[...]``: one problem on the last of them."""
        total = sum(len(set(names)) for names in fields.values())
        if total > self.limits.max_fields and fields:
            model, names = list(fields.items())[-1]
            problems.append(
                self._limit_problem(
                    f"fields[{model}]",
                    ",".join(names),
                    self.models[model],
                    "max_fields",
                    f"The fields[...] parameters list {total} distinct fields",
                )
            )

    def _narrow_uncached(self, narrowing: Narrowing) -> Shape:
        """Validate ``narrowing`` against the shape, parameter by parameter, then narrow."""
        node = self.shape.node
        problems: list[Problem] = []
        included = node
        if narrowing.include is not None:
            try:
                included = narrow_node(node, narrowing.include, None)
            except SpecError as exc:
                problems.append(
                    Problem(INCLUDE, _shown(",".join(narrowing.include)), str(exc), self.paths)
                )
        present = {sub.info.name for _, sub in included.walk()}
        for model, names in narrowing.fields:
            parameter = f"fields[{model}]"
            value = _shown(",".join(names))
            allowed = self.models[model]
            if model not in present:
                problems.append(
                    Problem(
                        parameter,
                        value,
                        f"No {model} is in the response with include="
                        f"{','.join(narrowing.include or ())!r}, so {parameter} would have no "
                        f"effect: include a path that reaches {model}, or leave {parameter} out.",
                        allowed,
                    )
                )
                continue
            try:
                narrow_node(node, None, {model: names})
            except SpecError as exc:
                problems.append(Problem(parameter, value, str(exc), allowed))
        if problems:
            raise QueryError(problems)
        return Shape(narrow_node(node, narrowing.include, dict(narrowing.fields) or None))
