"""`EndpointShape`: an endpoint's declared shape and the narrowings requests may ask of it.

This module composes the others (`parameters` reads the query, `paging` the page and sort
declarations, `openapi` documents them) and owns what only the declared tree can decide:
whether a parsed `Narrowing` fits the shape, and the bounded cache of narrowed shapes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..errors import SpecError
from ..inspection import ModelInfo
from ..shape import Shape
from ..spec.narrow import narrow_node
from .narrowing import Narrowing
from .openapi import ParameterDocs
from .paging import Paging
from .parameters import INCLUDE, QueryReader
from .problems import DEFAULT_LIMITS, Limits, Problem, QueryError, shown

__all__ = ["EndpointShape"]


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
        self._paging = Paging.declare(
            shape.node, max_page=max_page or {}, sortable=sortable or {}, max_offset=max_offset
        )
        self.pages = self._paging.pages
        self.sortable = self._paging.sortable
        self.max_offset = max_offset
        self._reader = QueryReader(self.paths, self.depth, self.models, self._paging, limits)
        self._docs = ParameterDocs(self.paths, self.models, self._paging)
        self._narrow = functools.lru_cache(maxsize=cache_size)(self._narrow_uncached)

    def __repr__(self) -> str:
        return f"<EndpointShape {self.shape!r}>"

    # -- documentation ------------------------------------------------------------------------

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """``include``, one ``fields[Model]`` per model of the shape, and the ``page[path]``,
        ``page[path][offset]`` and ``sort[path]`` of each pageable or sortable collection."""
        return self._reader.parameter_names

    @property
    def page_parameter_names(self) -> tuple[str, ...]:
        """``page[path]`` and ``page[path][offset]`` per pageable path, ``sort[path]`` per
        sortable path."""
        return self._paging.parameter_names

    def describe(self, parameter: str) -> str:
        """A human description of ``parameter`` for API documentation (OpenAPI)."""
        return self._docs.describe(parameter)

    def parameter_schema(self, parameter: str) -> dict[str, Any]:
        """The JSON Schema of ``parameter``'s value, for OpenAPI documents."""
        return self._docs.schema(parameter)

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
        return self._reader.parse(params)

    def narrow(self, narrowing: Narrowing) -> Shape:
        """The declared shape narrowed as asked (cached); `QueryError` if it does not fit."""
        if narrowing == Narrowing():
            return self.shape
        return self._narrow(narrowing)

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
                    Problem(INCLUDE, shown(",".join(narrowing.include)), str(exc), self.paths)
                )
        present = {sub.info.name for _, sub in included.walk()}
        for model, names in narrowing.fields:
            parameter = f"fields[{model}]"
            value = shown(",".join(names))
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
        self._paging.check_paths(narrowing, included, problems)
        if problems:
            raise QueryError(problems)
        narrowed = narrow_node(node, narrowing.include, dict(narrowing.fields) or None)
        return Shape(self._paging.apply(narrowed, narrowing))
