"""`EndpointShape`: an endpoint's declared shape and the narrowings requests may ask of it.

This module composes the others (`parameters` reads the query, `paging` the page and sort
declarations, `openapi` documents them) and owns what only the declared tree can decide:
whether a parsed `Narrowing` fits the shape, and the bounded cache of narrowed shapes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..errors import SpecError, name_list
from ..shape import Shape
from ..spec.narrow import narrow_node
from .cache import CacheInfo, NarrowingCache
from .fieldsets import (
    attribute_aliases,
    fieldset_names,
    output_paths,
    outputs_of,
    select_outputs,
    suggest,
)
from .narrowing import Narrowing
from .openapi import ParameterDocs
from .paging import Paging
from .parameters import INCLUDE, QueryReader
from .problems import DEFAULT_LIMITS, Limits, Problem, Problems, shown

__all__ = ["EndpointShape"]


class EndpointShape:
    """An endpoint's declared shape, and the narrowings requests may ask of it.

    Narrowed shapes are cached per distinct narrowing in a bounded LRU cache
    (`NarrowingCache`: at most ``cache_size`` entries holding at most ``cache_nodes`` tree
    nodes in all), so a busy endpoint narrows, validates and generates its dumper once per
    distinct query, and a client cycling through narrowings cannot grow memory nor the number
    of objects the garbage collector walks: an evicted shape's tree and generated classes are
    freed with it (nodes are interned weakly).
    ``limits`` bounds each request (`Limits`); ``max_length`` is a shortcut for its
    ``max_length``.

    ``max_page`` (``{path: n}``) lets requests page the collection at ``path`` with at most
    ``n`` rows per parent; a collection whose declared shape has a ``limit`` is pageable up to
    that limit without it. ``sortable`` (``{path: [field, ...]}``) lists the fields requests
    may sort the collection at ``path`` by; ``max_offset`` bounds ``page[path][offset]``.
    These declarations name paths and fields as the models do (``stop_times``); requests name
    them by their output keys (``page[stopTimes]``, ``fields[Stop]=stopName``), as the
    response does, and a request that spells a name as the model does gets "Did you mean
    ...?" with the output key.
    """

    def __init__(
        self,
        shape: Shape,
        *,
        limits: Limits = DEFAULT_LIMITS,
        cache_size: int = 256,
        cache_nodes: int = 256,
        max_length: int | None = None,
        max_page: Mapping[str, int] | None = None,
        sortable: Mapping[str, Iterable[str]] | None = None,
        max_offset: int = 1_000_000,
    ) -> None:
        if max_length is not None:
            limits = replace(limits, max_length=max_length)
        self.shape = shape
        self.limits = limits
        # Requests write paths in output keys; the tree takes attribute paths.
        self._attribute_path = output_paths(shape.node)
        self.paths: tuple[str, ...] = tuple(self._attribute_path)
        self._path_aliases = {attr: out for out, attr in self._attribute_path.items()}
        self._aliases = attribute_aliases(shape.node)
        self.depth = max((p.count(".") + 1 for p in self.paths), default=0)
        # What fields[Model] may name per embedded model (fields, counts, id lists), in mapper
        # order: the union over every place the model appears.
        # Unique per model, also for two classes of one name (`fieldset_names`).
        self._labels = fieldset_names(shape.node)
        self._outputs = outputs_of(shape.node, self._labels)
        self.models: dict[str, tuple[str, ...]] = self._outputs.names
        _check_spellable(shape, self.paths, self.models)
        self._paging = Paging.declare(
            shape.node, max_page=max_page or {}, sortable=sortable or {}, max_offset=max_offset
        )
        self.pages = self._paging.pages
        self.sortable = self._paging.sortable
        self.max_offset = max_offset
        self._reader = QueryReader(self.paths, self.depth, self.models, self._paging, limits)
        self._docs = ParameterDocs(self.paths, self.models, self._paging, limits)
        self._narrow: NarrowingCache[Narrowing, Shape] = NarrowingCache(
            self._narrow_uncached,
            _node_count,
            max_entries=cache_size,
            max_weight=cache_nodes,
        )

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

    def cache_info(self) -> CacheInfo:
        """The LRU cache's statistics (as ``functools``' ``CacheInfo``, plus its weight)."""
        return self._narrow.info()

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
        """Validate ``narrowing`` against the declared shape, parameter by parameter, then
        narrow. Every answer names only what the endpoint declares: a name it does not
        declare gets the same answer whatever it is (absent, private, outside the shape)."""
        node = self.shape.node
        problems = Problems()
        included = node
        if narrowing.include is not None:
            outside = [path for path in narrowing.include if path not in self.paths]
            if outside:
                problems.add(lambda: self._outside_path(narrowing.include or (), outside[0]))
            else:
                attribute_paths = [self._attribute_path[p] for p in narrowing.include]
                included = narrow_node(node, attribute_paths, None)
        present = outputs_of(included, self._labels).names
        for model, names in narrowing.fields:
            self._check_fields(narrowing, model, names, present, problems)
        if narrowing.include and narrowing.fields:
            self._check_included_outputs(narrowing, problems)
        self._paging.check_paths(narrowing, included, problems)
        if problems:
            raise problems.error()
        selection = {model: frozenset(names) for model, names in narrowing.fields}
        narrowed = select_outputs(included, selection, self._labels)
        return Shape(self._paging.apply(narrowed, narrowing))

    def _outside_path(self, include: tuple[str, ...], path: str) -> Problem:
        return Problem(
            INCLUDE,
            shown(",".join(include)),
            f"The path {shown(path)!r} is outside this endpoint's shape."
            f"{suggest(path, self.paths, self._path_aliases)} Paths: {name_list(self.paths)}.",
            self.paths,
        )

    def _check_fields(
        self,
        narrowing: Narrowing,
        model: str,
        names: tuple[str, ...],
        present: dict[str, tuple[str, ...]],
        problems: Problems,
    ) -> None:
        """One problem for a ``fields[model]`` that does not fit, if any: its first bad name."""
        parameter = f"fields[{model}]"
        value = shown(",".join(names))
        declared = self.models[model]
        include = shown(",".join(narrowing.include or ()))
        if model not in present:
            problems.add(
                Problem(
                    parameter,
                    value,
                    f"No {model} is in the response with include={include!r}, so {parameter} "
                    f"would have no effect: include a path that reaches {model}, or leave "
                    f"{parameter} out.",
                    declared,
                )
            )
            return
        for name in names:
            if name in self._outputs.relations[model]:
                detail = (
                    f"{model}.{name} is a relationship of this endpoint's response, which "
                    f"include narrows, not {parameter}."
                )
            elif name not in declared:
                problems.add(functools.partial(self._outside_field, parameter, value, model, name))
                return
            elif name not in present[model]:
                detail = (
                    f"{model}.{name} is not in the response with include={include!r}, so "
                    f"naming it would have no effect: include its relationship, or leave it out."
                )
            else:
                continue
            problems.add(
                Problem(parameter, value, f"{detail} Fields: {name_list(declared)}.", declared)
            )
            return

    def _check_included_outputs(self, narrowing: Narrowing, problems: Problems) -> None:
        """An included count or id list that ``fields[Model]`` leaves out would have no effect."""
        selection = dict(narrowing.fields)
        for path in narrowing.include or ():
            attribute_path = self._attribute_path.get(path)
            if attribute_path is None:
                continue  # outside the shape: reported as such
            parent = self.shape.node
            *head, last = attribute_path.split(".")
            for name in head:
                found = parent.relation(name)
                assert found is not None  # the path was checked against the declared ones
                parent = found.child
            rel = parent.relation(last)
            names = selection.get(self._labels[parent.info.model])
            if rel is None or rel.render == "objects" or names is None:
                continue
            keys = tuple(parent.key(k) for k in rel.outputs)
            if not set(keys) & set(names):
                model = self._labels[parent.info.model]
                problems.add(
                    Problem(
                        INCLUDE,
                        shown(",".join(narrowing.include or ())),
                        f"The path {path!r} adds {name_list(keys)} to {model}, which "
                        f"fields[{model}] leaves out, so it would have no effect: name "
                        f"{keys[0]!r} in fields[{model}], or leave {path!r} out of include.",
                        self.paths,
                    )
                )

    def _outside_field(self, parameter: str, value: str, model: str, name: str) -> Problem:
        declared = self.models[model]
        return Problem(
            parameter,
            value,
            f"{shown(name)!r} is outside this endpoint's shape of {model}."
            f"{suggest(name, declared, self._aliases)} Fields of {model} here: "
            f"{name_list(declared)}.",
            declared,
        )


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _check_spellable(
    shape: Shape, paths: Iterable[str], models: Mapping[str, tuple[str, ...]]
) -> None:
    """Requests name paths and fields by their output keys, which the query syntax spells as
    names (letters, digits, '_'): a key it cannot spell is the developer's `SpecError` here,
    not a field no client could ever select."""
    bad = [segment for path in paths for segment in path.split(".") if not _NAME.match(segment)]
    bad += [key for names in models.values() for key in names if not _NAME.match(key)]
    if bad:
        raise SpecError(
            f"The output key {bad[0]!r} of this shape of {shape.node.info.name} cannot be named "
            f"in include or fields[...]: request parameters spell output keys as names "
            f"(letters, digits, '_'). Rename it with names= or a key_style."
        )


def _node_count(shape: Shape) -> int:
    """A cached shape's weight: the nodes of its tree (what the backends generate code and
    loader options for)."""
    return sum(1 for _ in shape.node.walk())
