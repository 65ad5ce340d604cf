"""Reading a request's query parameters into a `Narrowing`: the form only, not the tree.

Anything that looks like one of our parameters is checked here, never ignored: a client that
typed ``field[Stop]`` or repeated ``include`` deserves to know, not to get a silently different
document. Every problem is collected (not just the first). Only the form is checked here
(names, characters, lengths, repeats, `Limits`); whether the paths and fields exist in the
declared shape is the endpoint's check (`treeshape.web.endpoint`), cached per narrowing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import did_you_mean, name_list
from .narrowing import Narrowing
from .paging import PAGE_OR_SORT, Paging
from .problems import Limits, Problem, Problems, limit_problem, shown

__all__ = ["INCLUDE", "QueryReader", "model_of"]

INCLUDE = "include"
_FIELDS = re.compile(r"fields\[(?P<model>[^\]]*)\]\Z")
# Names a client may have meant as ours: `includes`, `field[Stop]`, `Fields[Stop]`, `fields`,
# `include[]`; an application's own `include_deleted` or `fieldset` stays its own business.
# `page[...]` and `sort[...]` only with a bracket: a bare `page=2` or `sort=name` is the
# application's own (its list pagination, say), not ours.
_LOOKS_OURS = re.compile(r"(includes?|fields?)(\[.*)?\Z|(pages?|sorts?)\[.*\Z", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_VALUE_CHARS = re.compile(r"[A-Za-z0-9_.,]*\Z")
_SHOWN_CHARS = 5  # distinct offending characters named in an error


def model_of(parameter: str) -> str:
    """``Stop`` for ``fields[Stop]``."""
    return parameter[len("fields[") : -1]


@dataclass(frozen=True, eq=False)
class QueryReader:
    """The parameter parser of one endpoint: what it declares, as far as parsing needs it."""

    paths: tuple[str, ...]
    depth: int
    models: Mapping[str, tuple[str, ...]]
    """Field names per model of the declared shape, in mapper order."""
    paging: Paging
    limits: Limits

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """``include``, one ``fields[Model]`` per model, then the page and sort parameters."""
        return (
            INCLUDE,
            *(f"fields[{model}]" for model in self.models),
            *self.paging.parameter_names,
        )

    def parse(self, params: Iterable[tuple[str, str]]) -> Narrowing:
        """Check the form of our parameters and collect them; `QueryError` for bad ones."""
        problems = Problems()
        include: tuple[str, ...] | None = None
        fields: dict[str, tuple[str, ...]] = {}
        pages: dict[str, list[int | None]] = {}
        sorts: dict[str, tuple[tuple[str, bool], ...]] = {}
        seen: set[str] = set()
        for name, value in params:
            if not _is_ours(name):
                continue
            if len(name) > self.limits.max_length:
                what = f"The parameter name is {len(name)} characters long"
                problems.add(limit_problem(self.limits, name, "", (), "max_length", what))
                continue
            parameter = self._check_name(name, value, problems)
            if parameter is None:
                continue
            if parameter in seen:
                problems.add(
                    Problem(
                        shown(name),
                        shown(value),
                        f"{name} is given more than once; give it once, with comma-separated "
                        "values.",
                    )
                )
                continue
            seen.add(parameter)
            if parameter in self.paging.parameters:
                self.paging.parse(parameter, value, self.limits, pages, sorts, problems)
                continue
            allowed = self.paths if parameter == INCLUDE else self.models[model_of(parameter)]
            if not self._check_value(name, value, allowed, problems):
                continue
            if parameter == INCLUDE:
                paths = self._parse_include(value, problems)
                if paths is not None:
                    include = paths
            else:
                names = self._parse_fields(parameter, value, problems)
                if names is not None:
                    fields[model_of(parameter)] = names
        self._check_field_count(fields, problems)
        if problems:
            raise problems.error()
        return Narrowing(
            include,
            tuple(sorted(fields.items())),
            tuple(sorted((path, limit, offset) for path, (limit, offset) in pages.items())),
            tuple(sorted(sorts.items())),
        )

    # -- checks -------------------------------------------------------------------------------

    def _check_name(self, name: str, value: str, problems: Problems) -> str | None:
        """The canonical parameter name, or ``None`` after recording why it is not one.

        The answer depends only on the name and on what the endpoint declares: suggestions and
        lists come from the declared parameters, whatever the name is."""
        if name == INCLUDE or name in self.paging.parameters:
            return name
        match = _FIELDS.match(name)
        if match is not None and match["model"] in self.models:
            return name
        problems.add(lambda: self._unknown(name, value, match))
        return None

    def _unknown(self, name: str, value: str, match: re.Match[str] | None) -> Problem:
        if PAGE_OR_SORT.match(name):
            allowed = self.paging.parameter_names
            detail = f"Unknown parameter {shown(name)!r}.{did_you_mean(name, allowed)} " + (
                f"This endpoint pages and sorts collections with: {name_list(allowed)}."
                if allowed
                else "This endpoint declares no collection that requests may page or sort."
            )
            return Problem(shown(name), shown(value), detail, allowed)
        allowed = self.parameter_names
        if match is not None:
            model = match["model"]
            fieldsets = [f"fields[{m}]" for m in self.models]
            detail = (
                f"There is no model {shown(model)!r} in this endpoint's response."
                f"{did_you_mean(model, self.models)} Sparse fieldsets here: "
                f"{name_list(fieldsets)}."
            )
        else:
            detail = (
                f"Unknown parameter {shown(name)!r}.{did_you_mean(name, allowed)} This endpoint "
                f"narrows its response with: {name_list(allowed)}."
            )
        return Problem(shown(name), shown(value), detail, allowed)

    def _check_value(
        self, name: str, value: str, allowed: tuple[str, ...], problems: Problems
    ) -> bool:
        if len(value) > self.limits.max_length:
            what = f"The value is {len(value)} characters long"
            problems.add(limit_problem(self.limits, name, value, allowed, "max_length", what))
            return False
        detail = ""
        if not value.isascii():
            detail = "The value contains non-ASCII characters; names are ASCII."
        elif not _VALUE_CHARS.match(value):
            bad = sorted({c for c in value if not _VALUE_CHARS.match(c)})
            listed = ", ".join(repr(c) for c in bad[:_SHOWN_CHARS])
            if len(bad) > _SHOWN_CHARS:
                listed += ", ..."
            detail = (
                f"The value contains {listed}; only names "
                "(letters, digits, '_'), '.' between path segments and ',' between items."
            )
        if detail:
            problems.add(Problem(name, shown(value), detail, allowed))
        return not detail

    def _parse_include(self, value: str, problems: Problems) -> tuple[str, ...] | None:
        if value == "":
            return ()
        allowed = self.paths
        count = value.count(",") + 1
        if count > self.limits.max_paths:
            problems.add(
                limit_problem(
                    self.limits,
                    INCLUDE,
                    value,
                    allowed,
                    "max_paths",
                    f"The include lists {count} paths",
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
                    f"The path {shown(path)!r} has an empty segment; join relationship names with "
                    "single dots, e.g. 'trips.stop_times'."
                )
            elif not all(_IDENTIFIER.match(s) for s in segments):
                detail = f"The path {shown(path)!r} has a segment that is not a relationship name."
            elif len(segments) > self.depth:
                detail = (
                    f"The path {shown(path)!r} is {len(segments)} relationships deep; this "
                    f"endpoint's paths are at most {self.depth} deep."
                )
            elif len(segments) > self.limits.max_depth:
                problems.add(
                    limit_problem(
                        self.limits,
                        INCLUDE,
                        value,
                        allowed,
                        "max_depth",
                        f"The path {shown(path)!r} is {len(segments)} relationships deep",
                    )
                )
                return None
            if detail:
                problems.add(
                    Problem(
                        INCLUDE, shown(value), f"{detail} Paths: {name_list(allowed)}.", allowed
                    )
                )
                return None
            found.append(path)
        return tuple(found)

    def _parse_fields(
        self, parameter: str, value: str, problems: Problems
    ) -> tuple[str, ...] | None:
        model = model_of(parameter)
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
            problems.add(
                Problem(parameter, shown(value), f"{detail} Fields: {name_list(allowed)}.", allowed)
            )
            return None
        return tuple(names)

    def _check_field_count(self, fields: dict[str, tuple[str, ...]], problems: Problems) -> None:
        """Distinct field names over every ``fields[...]``: one problem on the last of them."""
        total = sum(len(set(names)) for names in fields.values())
        if total > self.limits.max_fields and fields:
            model, names = list(fields.items())[-1]
            problems.add(
                limit_problem(
                    self.limits,
                    f"fields[{model}]",
                    ",".join(names),
                    self.models[model],
                    "max_fields",
                    f"The fields[...] parameters list {total} distinct fields",
                )
            )


def _is_ours(name: str) -> bool:
    # Fold accents away first, so that `inclüde` is reported rather than ignored.
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _LOOKS_OURS.match(folded) is not None
