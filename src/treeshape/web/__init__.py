"""The framework-free core of the web integrations: ``?include=`` and ``?fields[Model]=``.

An endpoint declares one shape; a request may only narrow it, JSON:API style:

* ``include`` absent: the full declared shape; ``include=`` (empty): no relationships;
  ``include=trips,trips.stop_times``: exactly those paths and their prefixes;
* ``fields[Trip]=trip_id,trip_headsign``: exactly those fields of every ``Trip`` in the response;
* ``page[trips]=5``, ``page[trips][offset]=10``, ``sort[trips]=-departure_time``: how many rows
  of a collection per parent, from where, in which order, within what the endpoint declares
  (see "Request-time page and sort" below).

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import SpecError, did_you_mean, name_list, safe_repr
from ..inspection import ModelInfo
from ..shape import Shape
from ..spec.narrow import narrow_node, replace_options
from ..tree import RelationNode, ShapeNode

__all__ = ["DEFAULT_LIMITS", "EndpointShape", "Limits", "Narrowing", "Problem", "QueryError"]

INCLUDE = "include"
_FIELDS = re.compile(r"fields\[(?P<model>[^\]]*)\]\Z")
# Names a client may have meant as ours: `includes`, `field[Stop]`, `Fields[Stop]`, `fields`,
# `include[]`; an application's own `include_deleted` or `fieldset` stays its own business.
# `page[...]` and `sort[...]` only with a bracket: a bare `page=2` or `sort=name` is the
# application's own (its list pagination, say), not ours.
_LOOKS_OURS = re.compile(r"(includes?|fields?)(\[.*)?\Z|(pages?|sorts?)\[.*\Z", re.IGNORECASE)
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
"""The `Limits` an `EndpointShape` applies unless given ``limits=``."""


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
        """JSON-ready: ``parameter``, ``value``, ``detail``, ``allowed`` and ``limit`` if set."""
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
    page: tuple[tuple[str, int | None, int | None], ...] = ()
    """``(path, limit, offset)`` per paged collection (``None``: not given), sorted by path."""
    sort: tuple[tuple[str, tuple[tuple[str, bool], ...]], ...] = ()
    """``(path, ((field, descending), ...))`` per sorted collection, sorted by path."""


def _shown(text: str) -> str:
    """``text`` as echoed back in an error: long values cut short."""
    if len(text) > _SHOWN:
        return text[:_SHOWN] + f"... ({len(text)} characters)"
    return text


_PAGE_OR_SORT = re.compile(r"(pages?|sorts?)\[", re.IGNORECASE)
_SORT_ITEM = re.compile(r"-?[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_DIGITS = 9  # digits of a page[...] value read as an integer: no bignum parsing of junk


def _declare_paging(
    root: ShapeNode, max_page: Mapping[str, int], sortable: Mapping[str, Iterable[str]]
) -> tuple[dict[str, int], dict[str, tuple[str, ...]]]:
    """An endpoint's pageable collections (path -> most rows per parent) and sortable ones
    (path -> fields), checked when the endpoint is declared: a typo here is the developer's
    `SpecError` at import time, not a 400 that every client would get."""
    relations: dict[str, RelationNode] = {}

    def collect(node: ShapeNode, prefix: str) -> None:
        for rel in node.relations:
            path = f"{prefix}.{rel.name}" if prefix else rel.name
            relations[path] = rel
            collect(rel.child, path)

    collect(root, "")

    def collection(path: Any, what: str) -> RelationNode:
        rel = relations.get(path) if isinstance(path, str) else None
        if rel is None:
            raise SpecError(
                f"{what}: {safe_repr(path)} is not a path of {root.info.name}'s shape."
                f"{did_you_mean(str(path), relations)} Paths: {name_list(relations)}."
            )
        if not rel.many or not rel.options.embed:
            kind = "a single object" if not rel.many else "a count only (embed=False)"
            raise SpecError(f"{what}: {path!r} is {kind}, not a collection of rows.")
        return rel

    pages: dict[str, int] = {}
    for path, rel in relations.items():
        if rel.options.limit is not None and rel.many and rel.options.embed:
            pages[path] = rel.options.limit
    for path, most in max_page.items():
        collection(path, "max_page")
        if isinstance(most, bool) or not isinstance(most, int) or most < 0:
            raise SpecError(f"max_page[{path!r}] must be a non-negative integer, got {most!r}.")
        pages[path] = most
    sorts: dict[str, tuple[str, ...]] = {}
    for path, names in sortable.items():
        rel = collection(path, "sortable")
        info = rel.child.info
        columns = [n for n, f in info.columns.items() if not f.private]
        listed = [names] if isinstance(names, str) else list(names)
        for name in listed:
            if name not in columns:
                raise SpecError(
                    f"sortable[{path!r}]: {info.name} has no column {safe_repr(name)}."
                    f"{did_you_mean(str(name), columns)} Columns: {name_list(columns)}."
                )
        if not listed or len(set(listed)) != len(listed):
            raise SpecError(f"sortable[{path!r}] must list distinct fields, got {listed!r}.")
        sorts[path] = tuple(listed)
    return dict(sorted(pages.items())), dict(sorted(sorts.items()))


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

    ``max_page`` (``{path: n}``) lets requests page the collection at ``path`` with at most
    ``n`` rows per parent; a collection whose declared shape has a ``limit`` is pageable up to
    that limit without it. ``sortable`` (``{path: [field, ...]}``) lists the fields requests
    may sort the collection at ``path`` by; ``max_offset`` bounds ``page[path][offset]``.
    """

    def __init__(
        self,
        shape: Shape,
        *,
        limits: Limits = DEFAULT_LIMITS,
        cache_size: int = 256,
        max_length: int | None = None,
        max_page: Mapping[str, int] | None = None,
        sortable: Mapping[str, Iterable[str]] | None = None,
        max_offset: int = 1_000_000,
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
        self.pages, self.sortable = _declare_paging(shape.node, max_page or {}, sortable or {})
        if isinstance(max_offset, bool) or not isinstance(max_offset, int) or max_offset < 0:
            raise ValueError(f"max_offset must be a non-negative integer, got {max_offset!r}.")
        self.max_offset = max_offset
        self._page_parameters: dict[str, tuple[str, str]] = {}
        for path in self.pages:
            self._page_parameters[f"page[{path}]"] = ("limit", path)
            self._page_parameters[f"page[{path}][offset]"] = ("offset", path)
        for path in self.sortable:
            self._page_parameters[f"sort[{path}]"] = ("sort", path)
        self._narrow = functools.lru_cache(maxsize=cache_size)(self._narrow_uncached)

    def __repr__(self) -> str:
        return f"<EndpointShape {self.shape!r}>"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """``include``, one ``fields[Model]`` per model of the shape, and the ``page[path]``,
        ``page[path][offset]`` and ``sort[path]`` of each pageable or sortable collection."""
        return (
            INCLUDE,
            *(f"fields[{model}]" for model in self.models),
            *self.page_parameter_names,
        )

    def describe(self, parameter: str) -> str:
        """A human description of ``parameter`` for API documentation (OpenAPI)."""
        if parameter in self._page_parameters:
            return self._describe_page(parameter)
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
        pages: dict[str, list[int | None]] = {}
        sorts: dict[str, tuple[tuple[str, bool], ...]] = {}
        seen: set[str] = set()
        for name, value in params:
            if not self._is_ours(name):
                continue
            if len(name) > self.limits.max_length:
                what = f"The parameter name is {len(name)} characters long"
                problems.append(self._limit_problem(name, "", (), "max_length", what))
                continue
            parameter = self._check_name(name, value, problems)
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
            if parameter in self._page_parameters:
                self._parse_page(parameter, value, pages, sorts, problems)
                continue
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
        return Narrowing(
            include,
            tuple(sorted(fields.items())),
            tuple(sorted((path, limit, offset) for path, (limit, offset) in pages.items())),
            tuple(sorted(sorts.items())),
        )

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

    def _check_name(self, name: str, value: str, problems: list[Problem]) -> str | None:
        """The canonical parameter name, or ``None`` after recording why it is not one."""
        if name == INCLUDE or name in self._page_parameters:
            return name
        if _PAGE_OR_SORT.match(name):
            allowed = self.page_parameter_names
            detail = f"Unknown parameter {_shown(name)!r}.{did_you_mean(name, allowed)} " + (
                f"This endpoint pages and sorts collections with: {name_list(allowed)}."
                if allowed
                else "This endpoint declares no collection that requests may page or sort."
            )
            problems.append(Problem(_shown(name), _shown(value), detail, allowed))
            return None
        match = _FIELDS.match(name)
        if match is not None and match["model"] in self.models:
            return name
        allowed = self.parameter_names
        if match is not None:
            model = match["model"]
            fieldsets = [f"fields[{m}]" for m in self.models]
            detail = (
                f"There is no model {_shown(model)!r} in this endpoint's response."
                f"{did_you_mean(model, self.models)} Sparse fieldsets here: "
                f"{name_list(fieldsets)}."
            )
        else:
            detail = (
                f"Unknown parameter {_shown(name)!r}.{did_you_mean(name, allowed)} This endpoint "
                f"narrows its response with: {name_list(allowed)}."
            )
        problems.append(Problem(_shown(name), _shown(value), detail, allowed))
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
        self._check_page_paths(narrowing, included, problems)
        if problems:
            raise QueryError(problems)
        narrowed = narrow_node(node, narrowing.include, dict(narrowing.fields) or None)
        return Shape(self._apply_page(narrowed, narrowing))

    # -- request-time page and sort -----------------------------------------------------------
    #
    # `page[trips]=5` asks for at most 5 trips per parent (at most what the endpoint declares:
    # `max_page`, or the declared shape's own limit), `page[trips][offset]=10` skips 10 more
    # rows per parent than the shape does, `sort[trips]=-departure_time,stop_sequence` orders
    # by declared sortable fields (the target's primary key still breaks ties). The result is
    # the narrowed shape with those options in its tree (`replace_options`), so the window and
    # the order are SQL, in the same number of statements, by every backend.

    @property
    def page_parameter_names(self) -> tuple[str, ...]:
        """``page[path]`` and ``page[path][offset]`` per pageable path, ``sort[path]`` per
        sortable path."""
        return tuple(self._page_parameters)

    def parameter_schema(self, parameter: str) -> dict[str, Any]:
        """The JSON Schema of ``parameter``'s value, for OpenAPI documents."""
        kind, path = self._page_parameters.get(parameter, ("", ""))
        if kind == "limit":
            return {"type": "integer", "minimum": 0, "maximum": self.pages[path]}
        if kind == "offset":
            return {"type": "integer", "minimum": 0, "maximum": self.max_offset}
        return {"type": "string"}

    def _describe_page(self, parameter: str) -> str:
        kind, path = self._page_parameters[parameter]
        if kind == "limit":
            declared = self._declared(path).options.limit
            default = "all of them" if declared is None else f"{declared}"
            return (
                f"At most this many {path} per parent, from 0 to {self.pages[path]}. "
                f"Absent: {default}."
            )
        if kind == "offset":
            return f"Skip this many {path} per parent (after sorting), from 0 to {self.max_offset}."
        return (
            f"Comma-separated fields to sort {path} by, '-' for descending, among: "
            f"{name_list(self.sortable[path])}. Ties keep primary-key order. Absent: the "
            "declared order."
        )

    def _declared(self, path: str) -> RelationNode:
        node = self.shape.node
        rel: RelationNode | None = None
        for name in path.split("."):
            rel = node.relation(name)
            assert rel is not None  # paths come from the declared shape
            node = rel.child
        assert rel is not None
        return rel

    def _parse_page(
        self,
        parameter: str,
        value: str,
        pages: dict[str, list[int | None]],
        sorts: dict[str, tuple[tuple[str, bool], ...]],
        problems: list[Problem],
    ) -> None:
        kind, path = self._page_parameters[parameter]
        if len(value) > self.limits.max_length:
            what = f"The value is {len(value)} characters long"
            problems.append(self._limit_problem(parameter, value, (), "max_length", what))
            return
        if kind == "sort":
            order = self._parse_sort(parameter, path, value, problems)
            if order is not None:
                sorts[path] = order
            return
        most = self.pages[path] if kind == "limit" else self.max_offset
        number = None
        if value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
            number = int(value)
        if number is None or number > most:
            what = "at most" if kind == "limit" else "skipping at most"
            over = number is not None or (value.isascii() and value.isdigit())
            reason = (
                f"this endpoint allows {what} {most} {path} per parent"
                if over
                else "it must be a non-negative integer"
            )
            problems.append(
                Problem(
                    parameter,
                    _shown(value),
                    f"{parameter}={_shown(value)!r}: {reason}; give an integer from 0 to {most}.",
                )
            )
            return
        entry = pages.setdefault(path, [None, None])
        entry[0 if kind == "limit" else 1] = number

    def _parse_sort(
        self, parameter: str, path: str, value: str, problems: list[Problem]
    ) -> tuple[tuple[str, bool], ...] | None:
        allowed = self.sortable[path]
        items = value.split(",")
        detail = ""
        if value == "":
            detail = "List at least one field to sort by, or leave the parameter out."
        elif "" in items:
            detail = "An empty sort field (a stray comma)."
        elif not all(_SORT_ITEM.match(item) for item in items):
            detail = "Sort fields are field names, each with an optional leading '-'."
        else:
            names = [item.lstrip("-") for item in items]
            unknown = [n for n in names if n not in allowed]
            if unknown:
                detail = (
                    f"{path} cannot be sorted by {_shown(unknown[0])!r} on this endpoint."
                    f"{did_you_mean(unknown[0], allowed)}"
                )
            elif len(set(names)) != len(names):
                detail = "A field is listed twice."
        if detail:
            problems.append(
                Problem(
                    parameter,
                    _shown(value),
                    f"{detail} Sortable fields of {path}: {name_list(allowed)}.",
                    allowed,
                )
            )
            return None
        return tuple((item.lstrip("-"), item.startswith("-")) for item in items)

    def _check_page_paths(
        self, narrowing: Narrowing, included: ShapeNode, problems: list[Problem]
    ) -> None:
        """A page or sort of a collection the include leaves out would have no effect."""
        present = set(included.paths())
        asked = [(f"page[{p}]", p) for p, _, _ in narrowing.page]
        asked += [(f"sort[{p}]", p) for p, _ in narrowing.sort]
        for parameter, path in asked:
            if path not in present:
                problems.append(
                    Problem(
                        parameter,
                        "",
                        f"{path} is not in the response with include="
                        f"{','.join(narrowing.include or ())!r}, so {parameter} would have no "
                        f"effect: include {path}, or leave {parameter} out.",
                        tuple(present),
                    )
                )

    def _apply_page(self, node: ShapeNode, narrowing: Narrowing) -> ShapeNode:
        changes: dict[str, dict[str, Any]] = {}
        for path, limit, offset in narrowing.page:
            change = changes.setdefault(path, {})
            if limit is not None:
                change["limit"] = limit
            if offset is not None:
                change["offset"] = self._declared(path).options.offset + offset
        for path, order in narrowing.sort:
            changes.setdefault(path, {})["order_by"] = order
        return replace_options(node, changes)
