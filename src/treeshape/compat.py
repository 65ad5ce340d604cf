"""Every private SQLAlchemy and Pydantic internal treeshape relies on, and why.

Each function here reads or sets something the libraries do not offer publicly; keeping them
in one module makes an upgrade one file to check. ``pyproject.toml`` bounds both libraries to
the minor versions these were tested with (``SQLAlchemy<2.2``, ``pydantic<3``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.interfaces import CompileStateOption as _CompileStateOption

__all__ = [
    "CompileStateOption",
    "enum_lookup",
    "relationship_path",
    "with_compile_options_of",
]


def enum_lookup(sa_type: Any) -> dict[Any, Any] | None:
    """An ``Enum`` type's stored values to members (``Enum._object_lookup``).

    The JSON strategy turns stored enum names into the members' values in SQL; SQLAlchemy keeps
    that mapping only privately.
    """
    lookup = getattr(sa_type, "_object_lookup", None)
    return lookup if isinstance(lookup, dict) else None


class CompileStateOption(_CompileStateOption):
    """An ORM option called back while a statement carrying it compiles (non-public base).

    treeshape orders relationship loads with one (`treeshape.sql.loading`): SQLAlchemy offers
    no option to change a selectin load's ORDER BY, and the public alternative, a
    ``do_orm_execute`` listener, would have to be registered on every `Session` of the host
    application.
    """

    __slots__ = ()


def relationship_path(compile_state: Any) -> tuple[str, ...]:
    """The relationship keys from the root that the statement compiling loads (``()`` for a
    statement that is no relationship load)."""
    path = getattr(compile_state.compile_options, "_current_path", None)
    if not path:
        return ()
    return tuple(getattr(prop, "key", "") for prop in path.path[1::2])


def with_compile_options_of(statement: Any, original: Any) -> Any:
    """``statement`` carrying ``original``'s ORM compile options: the relationship load's path
    (``_current_path``), which its nested loader options are matched against."""
    statement._compile_options = original._compile_options
    return statement
