"""What an endpoint's query parameters look like in an OpenAPI document: schemas and text.

Separate from the parser so that both adapters (`treeshape.flask` through apispec,
`treeshape.fastapi` through its dependency's signature) document the same parameters the same
way from one place, and so that the documentation can be read next to what it promises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import name_list
from .paging import Paging
from .parameters import INCLUDE, model_of
from .problems import Limits

__all__ = ["ParameterDocs"]


@dataclass(frozen=True, eq=False)
class ParameterDocs:
    """Descriptions and JSON Schemas of one endpoint's narrowing parameters."""

    paths: tuple[str, ...]
    models: dict[str, tuple[str, ...]]
    paging: Paging
    limits: Limits

    def describe(self, parameter: str) -> str:
        """A human description of ``parameter`` for API documentation (OpenAPI)."""
        if parameter in self.paging.parameters:
            return self._describe_page(parameter)
        if parameter == INCLUDE:
            return (
                "Comma-separated relationship paths to include, among: "
                f"{name_list(self.paths)}. Absent: all of them; empty: none."
            )
        model = model_of(parameter)
        return (
            f"Comma-separated fields of every {model} in the response (its counts and id "
            f"lists included), each at most once, among: {name_list(self.models[model])}. "
            f"Absent: all of them. Only with an include that reaches {model}."
        )

    def schema(self, parameter: str) -> dict[str, Any]:
        """The JSON Schema of ``parameter``'s value, for OpenAPI documents: its name as the
        title, an example, and for text a ``pattern`` and lengths that the parser accepts
        (made of the declared names, so a generated request is one the endpoint takes).

        What a pattern cannot say is said in the description and answered with a 400: a name
        listed twice, more fields over every ``fields[...]`` than ``max_fields``, and
        parameters that depend on each other (``fields[Stop]`` needs an include reaching Stop).
        """
        kind, path = self.paging.parameters.get(parameter, ("", ""))
        schema: dict[str, Any]
        if kind == "limit":
            most = self.paging.pages[path]
            schema = {"type": "integer", "minimum": 0, "maximum": most}
            example: Any = min(most, 10)
        elif kind == "offset":
            schema = {"type": "integer", "minimum": 0, "maximum": self.paging.max_offset}
            example = min(self.paging.max_offset, 10)
        elif kind == "sort":
            names = self.paging.sortable[path]
            schema = self._text(_listing(names, sign=True), minimum=1)
            example = f"-{names[0]}"
        elif parameter == INCLUDE:
            schema = self._text(_listing(self.paths, most=self.limits.max_paths, empty=True))
            example = ",".join(self.paths[:2])
        else:
            names = self.models[model_of(parameter)]
            schema = self._text(_listing(names), minimum=1)
            example = ",".join(names[:2])
        return {"title": parameter, **schema, "examples": [example]}

    def _text(self, pattern: str, *, minimum: int = 0) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if minimum:
            schema["minLength"] = minimum
        schema["maxLength"] = self.limits.max_length
        schema["pattern"] = pattern
        return schema

    def _describe_page(self, parameter: str) -> str:
        kind, path = self.paging.parameters[parameter]
        if kind == "limit":
            declared = self.paging.declared(path).options.limit
            default = "all of them" if declared is None else f"{declared}"
            return (
                f"At most this many {path} per parent, from 0 to {self.paging.pages[path]}. "
                f"Absent: {default}."
            )
        if kind == "offset":
            return (
                f"Skip this many {path} per parent (after sorting), from 0 to "
                f"{self.paging.max_offset}."
            )
        return (
            f"Comma-separated fields to sort {path} by, each at most once, '-' for descending, "
            "among: "
            f"{name_list(self.paging.sortable[path])}. Ties keep primary-key order. Absent: the "
            "declared order."
        )


def _listing(
    names: Iterable[str], *, sign: bool = False, most: int | None = None, empty: bool = False
) -> str:
    """A regular expression (ECMA 262 and Python alike) for comma-separated ``names``: each
    optionally with a leading ``-`` (``sign``), at most ``most`` of them, or none (``empty``)."""
    # Longest first, so that an alternative is never cut short by a prefix of itself.
    one = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    item = f"{'-?' if sign else ''}(?:{one})"
    repeat = "*" if most is None else f"{{0,{most - 1}}}"
    body = f"{item}(?:,{item}){repeat}"
    return f"^(?:{body})?$" if empty else f"^{body}$"
