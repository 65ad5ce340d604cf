"""What is wrong with a request, in one shape for every framework: `Problem`, `QueryError`.

Kept apart from the parsing so that the adapters (`treeshape.flask`, `treeshape.fastapi`) and
an application's own checks (the example's ``limit``) report problems in the same form without
importing the parser, and so that every echo of request text goes through `shown`: one place
decides how much of a hostile value an error body repeats. `Limits` lives here too, because a
limit exceeded is a problem that names the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import TreeshapeError

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_PROBLEMS",
    "SHOWN",
    "Limits",
    "Problem",
    "Problems",
    "QueryError",
    "limit_problem",
    "shown",
]

SHOWN = 80  # characters of an offending value echoed back in an error
MAX_PROBLEMS = 20  # problems reported per request: the error body stays small whatever is sent


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


class QueryError(TreeshapeError, ValueError):
    """The query parameters of a request do not fit the endpoint (a 400 in both adapters).

    A `TreeshapeError`, so ``except ts.TreeshapeError`` sees it, and a ``ValueError``, as
    every error about a value the caller gave. ``more`` counts problems found past the ones
    given, which were not built (`Problems`): the body says how many, not what.
    """

    def __init__(self, problems: Sequence[Problem], *, more: int = 0) -> None:
        problems = list(problems)
        total = len(problems) + more
        if total > MAX_PROBLEMS:
            hidden = total - MAX_PROBLEMS + 1
            problems[MAX_PROBLEMS - 1 :] = [
                Problem("", "", f"... and {hidden} more problems, not shown; fix these first.")
            ]
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.parameter}: {p.detail}" for p in self.problems))


class Problems:
    """A request's problems as they are found; past `MAX_PROBLEMS` only counted.

    A problem may be given as a function building it, so that its suggestions (``difflib``,
    the costly part of an error) are computed only for the problems the body will show: a
    request of 14,000 bad parameters costs a count, not 14,000 suggestions.
    """

    def __init__(self) -> None:
        self._items: list[Problem] = []
        self._more = 0

    def add(self, problem: Problem | Callable[[], Problem]) -> None:
        """Record ``problem`` (built now if it is a function and there is room to show it)."""
        if len(self._items) >= MAX_PROBLEMS:
            self._more += 1
        elif isinstance(problem, Problem):
            self._items.append(problem)
        else:
            self._items.append(problem())

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items) + self._more

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._items)

    def error(self) -> QueryError:
        """The `QueryError` of every problem recorded."""
        return QueryError(self._items, more=self._more)


def shown(text: str) -> str:
    """``text`` as echoed back in an error: at most `SHOWN` characters, long values cut short
    with their length said."""
    if len(text) <= SHOWN:
        return text
    suffix = f"... ({len(text)} characters)"
    return text[: SHOWN - len(suffix)] + suffix


def limit_problem(
    limits: Limits, parameter: str, value: str, allowed: tuple[str, ...], limit: str, what: str
) -> Problem:
    """A `Problem` saying which of ``limits`` ``what`` exceeds, and its value."""
    bound: int = getattr(limits, limit)
    return Problem(
        shown(parameter),
        shown(value),
        f"{what}; this endpoint allows at most {bound} (limit {limit}={bound}).",
        allowed,
        (limit, bound),
    )
