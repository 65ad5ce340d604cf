"""Every private SQLAlchemy and Pydantic internal treeshape relies on, and why.

Each function here reads or sets something the libraries do not offer publicly; keeping them
in one module makes an upgrade one file to check. ``pyproject.toml`` bounds both libraries to
the minor versions these were tested with (``SQLAlchemy<2.2``, ``pydantic<3``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["enum_lookup"]


def enum_lookup(sa_type: Any) -> dict[Any, Any] | None:
    """An ``Enum`` type's stored values to members (``Enum._object_lookup``).

    The JSON strategy turns stored enum names into the members' values in SQL; SQLAlchemy keeps
    that mapping only privately.
    """
    lookup = getattr(sa_type, "_object_lookup", None)
    return lookup if isinstance(lookup, dict) else None
