"""What an endpoint's query parameters look like in an OpenAPI document: schemas and text.

Separate from the parser so that both adapters (`treeshape.flask` through apispec,
`treeshape.fastapi` through its dependency's signature) document the same parameters the same
way from one place, and so that the documentation can be read next to what it promises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import name_list
from .paging import Paging
from .parameters import INCLUDE, model_of

__all__ = ["ParameterDocs"]


@dataclass(frozen=True, eq=False)
class ParameterDocs:
    """Descriptions and JSON Schemas of one endpoint's narrowing parameters."""

    paths: tuple[str, ...]
    models: dict[str, tuple[str, ...]]
    paging: Paging

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
            f"Comma-separated fields of every {model} in the response, among: "
            f"{name_list(self.models[model])}. Absent: all of them."
        )

    def schema(self, parameter: str) -> dict[str, Any]:
        """The JSON Schema of ``parameter``'s value, for OpenAPI documents."""
        kind, path = self.paging.parameters.get(parameter, ("", ""))
        if kind == "limit":
            return {"type": "integer", "minimum": 0, "maximum": self.paging.pages[path]}
        if kind == "offset":
            return {"type": "integer", "minimum": 0, "maximum": self.paging.max_offset}
        return {"type": "string"}

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
            f"Comma-separated fields to sort {path} by, '-' for descending, among: "
            f"{name_list(self.paging.sortable[path])}. Ties keep primary-key order. Absent: the "
            "declared order."
        )
