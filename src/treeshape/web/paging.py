"""Request-time page and sort: what an endpoint declares, and the parameters that use it.

``page[trips]=5`` asks for at most 5 trips per parent (at most what the endpoint declares:
``max_page``, or the declared shape's own limit), ``page[trips][offset]=10`` skips 10 more rows
per parent than the shape does, ``sort[trips]=-departure_time,stop_sequence`` orders by declared
sortable fields (the target's primary key still breaks ties). The result is the narrowed shape
with those options in its tree (`replace_options`), so the window and the order are SQL, in the
same number of statements, by every backend.

Requests write paths and fields by their output keys (``sort[stopTimes]=-departureTime``, see
`ShapeNode.keys`); the declarations name them as the models do. `Paging` keys everything by the
request's spelling and maps back to the tree's when it applies a request.

The declarations are checked once, when the endpoint is declared (`Paging.declare`): a typo
there is the developer's `SpecError` at import time, not a 400 every client would get.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import SpecError, did_you_mean, name_list, safe_repr
from ..spec.narrow import replace_options
from ..tree import RelationNode, ShapeNode
from .fieldsets import output_paths, suggest
from .narrowing import Narrowing
from .problems import Limits, Problem, Problems, limit_problem, shown

__all__ = ["PAGE_OR_SORT", "SORT_ITEM", "Paging", "parse_sort", "sortable_columns"]

PAGE_OR_SORT = re.compile(r"(pages?|sorts?)\[", re.IGNORECASE)
SORT_ITEM = re.compile(r"-?[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_DIGITS = 9  # digits of a page[...] value read as an integer: no bignum parsing of junk

Kind = Literal["limit", "offset", "sort"]


@dataclass(frozen=True, eq=False)
class Paging:
    """An endpoint's pageable collections (path -> most rows per parent), its sortable ones
    (path -> fields) and the request parameters naming them."""

    root: ShapeNode
    pages: dict[str, int]
    sortable: dict[str, tuple[str, ...]]
    max_offset: int
    parameters: dict[str, tuple[Kind, str]]
    """``page[path]``, ``page[path][offset]``, ``sort[path]`` -> (kind, path)."""
    attribute_paths: dict[str, str]
    """Every path as requests write it (output keys) -> as the tree has it (attributes)."""
    sort_attributes: dict[str, dict[str, str]]
    """Per sortable path: each sortable field's output key -> its attribute name."""

    @classmethod
    def declare(
        cls,
        root: ShapeNode,
        *,
        max_page: Mapping[str, int],
        sortable: Mapping[str, Iterable[str]],
        max_offset: int,
    ) -> Paging:
        """Check an endpoint's ``max_page``, ``sortable`` and ``max_offset``."""
        attribute_pages, attribute_sorts = _declare(root, max_page, sortable)
        if isinstance(max_offset, bool) or not isinstance(max_offset, int) or max_offset < 0:
            raise ValueError(f"max_offset must be a non-negative integer, got {max_offset!r}.")
        attribute_paths = output_paths(root)
        spelled = {attr: out for out, attr in attribute_paths.items()}
        pages = {spelled[path]: most for path, most in attribute_pages.items()}
        sorts: dict[str, tuple[str, ...]] = {}
        sort_attributes: dict[str, dict[str, str]] = {}
        for path, names in attribute_sorts.items():
            child = _at(root, path).child
            sort_attributes[spelled[path]] = {child.key(n): n for n in names}
            sorts[spelled[path]] = tuple(child.key(n) for n in names)
        parameters: dict[str, tuple[Kind, str]] = {}
        for path in pages:
            parameters[f"page[{path}]"] = ("limit", path)
            parameters[f"page[{path}][offset]"] = ("offset", path)
        for path in sorts:
            parameters[f"sort[{path}]"] = ("sort", path)
        return cls(
            root,
            dict(sorted(pages.items())),
            dict(sorted(sorts.items())),
            max_offset,
            parameters,
            attribute_paths,
            sort_attributes,
        )

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """``page[path]`` and ``page[path][offset]`` per pageable path, ``sort[path]`` per
        sortable path."""
        return tuple(self.parameters)

    def declared(self, path: str) -> RelationNode:
        """The declared relationship at ``path`` (one of the declared paths, as requests
        write it)."""
        return _at(self.root, self.attribute_paths[path])

    # -- reading the parameters -------------------------------------------------------------

    def parse(
        self,
        parameter: str,
        value: str,
        limits: Limits,
        pages: dict[str, list[int | None]],
        sorts: dict[str, tuple[tuple[str, bool], ...]],
        problems: Problems,
    ) -> None:
        """Read one of our page or sort parameters into ``pages`` or ``sorts``."""
        kind, path = self.parameters[parameter]
        if len(value) > limits.max_length:
            what = f"The value is {len(value)} characters long"
            problems.add(limit_problem(limits, parameter, value, (), "max_length", what))
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
            problems.add(
                Problem(
                    parameter,
                    shown(value),
                    f"{parameter}={shown(value)!r}: {reason}; give an integer from 0 to {most}.",
                )
            )
            return
        entry = pages.setdefault(path, [None, None])
        entry[0 if kind == "limit" else 1] = number

    def _parse_sort(
        self, parameter: str, path: str, value: str, problems: Problems
    ) -> tuple[tuple[str, bool], ...] | None:
        allowed = self.sortable[path]
        aliases = {a: k for k, a in self.sort_attributes[path].items()}
        order, detail = parse_sort(value, allowed, aliases, subject=path)
        if order is None:
            problems.add(
                lambda: Problem(
                    parameter,
                    shown(value),
                    f"{detail()} Sortable fields of {path}: {name_list(allowed)}.",
                    allowed,
                )
            )
        return order

    # -- applying them ------------------------------------------------------------------------

    def check_paths(self, narrowing: Narrowing, included: ShapeNode, problems: Problems) -> None:
        """A page or sort of a collection the include leaves out would have no effect."""
        present = tuple(output_paths(included))
        asked: list[tuple[str, str, str]] = []
        for path, limit, offset in narrowing.page:
            if limit is not None:
                asked.append((f"page[{path}]", path, str(limit)))
            if offset is not None:
                asked.append((f"page[{path}][offset]", path, str(offset)))
        for path, order in narrowing.sort:
            text = ",".join(("-" if descending else "") + name for name, descending in order)
            asked.append((f"sort[{path}]", path, text))
        for parameter, path, value in asked:
            if path not in present:
                problems.add(
                    Problem(
                        parameter,
                        shown(value),
                        f"{path} is not in the response with include="
                        f"{shown(','.join(narrowing.include or ()))!r}, so {parameter} would "
                        f"have no effect: include {path}, or leave {parameter} out.",
                        present,
                    )
                )

    def apply(self, node: ShapeNode, narrowing: Narrowing) -> ShapeNode:
        """``node`` with the narrowing's page and sort options in its tree."""
        changes: dict[str, dict[str, Any]] = {}
        for path, limit, offset in narrowing.page:
            change = changes.setdefault(self.attribute_paths[path], {})
            if limit is not None:
                change["limit"] = limit
            if offset is not None:
                change["offset"] = self.declared(path).options.offset + offset
        for path, order in narrowing.sort:
            names = self.sort_attributes[path]
            attribute_order = tuple((names[name], descending) for name, descending in order)
            changes.setdefault(self.attribute_paths[path], {})["order_by"] = attribute_order
        return replace_options(node, changes)


def _at(root: ShapeNode, path: str) -> RelationNode:
    """The relationship at a declared attribute path."""
    node = root
    rel: RelationNode | None = None
    for name in path.split("."):
        rel = node.relation(name)
        assert rel is not None  # paths come from the declared shape
        node = rel.child
    assert rel is not None
    return rel


def _declare(
    root: ShapeNode, max_page: Mapping[str, int], sortable: Mapping[str, Iterable[str]]
) -> tuple[dict[str, int], dict[str, tuple[str, ...]]]:
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
        listed = sortable_columns(rel.child, names, declared=f"sortable[{path!r}]", subject=path)
        if not listed or len(set(listed)) != len(listed):
            raise SpecError(f"sortable[{path!r}] must list distinct fields, got {listed!r}.")
        sorts[path] = tuple(listed)
    return dict(sorted(pages.items())), dict(sorted(sorts.items()))


def sortable_columns(node: ShapeNode, names: Any, *, declared: str, subject: str) -> list[str]:
    """``names`` (one name or several), each checked to be a column ``node`` outputs:
    sorting by a column the endpoint does not output would let a client learn its values from
    the order (a side channel), so it is refused. ``declared`` and ``subject`` name the
    declaration and what it sorts, for the error."""
    info = node.info
    columns = [n for n in node.field_names if n in info.columns and not info.columns[n].private]
    listed = [names] if isinstance(names, str) else list(names)
    for name in listed:
        if name not in columns:
            raise SpecError(
                f"{declared}: {safe_repr(name)} is not a column that {subject} outputs on this "
                f"endpoint; requests may sort only by output columns."
                f"{did_you_mean(str(name), columns)} Output columns of {subject}: "
                f"{name_list(columns)}."
            )
    return listed


def parse_sort(
    value: str, allowed: Sequence[str], aliases: Mapping[str, str], *, subject: str
) -> tuple[tuple[tuple[str, bool], ...] | None, Callable[[], str]]:
    """``value`` (``-a,b``) as ``(key, descending)`` pairs among the output keys ``allowed``,
    or ``None`` and what is wrong with it (a function: the suggestion is computed only for the
    problems shown). ``aliases`` maps attribute spellings to their keys, for the suggestion;
    ``subject`` names what is sorted."""
    items = value.split(",")
    if value == "":
        detail = "List at least one field to sort by, or leave the parameter out."
    elif "" in items:
        detail = "An empty sort field (a stray comma)."
    elif not all(SORT_ITEM.match(item) for item in items):
        detail = "Sort fields are field names, each with an optional leading '-'."
    else:
        names = [item.lstrip("-") for item in items]
        unknown = [n for n in names if n not in allowed]
        if unknown:
            return (
                None,
                lambda: (
                    f"{subject} cannot be sorted by {shown(unknown[0])!r} on this endpoint."
                    f"{suggest(unknown[0], allowed, aliases)}"
                ),
            )
        if len(set(names)) == len(names):
            return tuple((item.lstrip("-"), item.startswith("-")) for item in items), str
        detail = "A field is listed twice."
    return None, lambda: detail
