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
    "decimal_scale",
    "enum_lookup",
    "is_plain_distinct",
    "options_of",
    "relationship_path",
    "validator_without_reuse",
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


def options_of(statement: Any) -> tuple[Any, ...]:
    """The loader options of an ORM statement (``Select._with_options``), to carry them over to
    the statement that replaces a relationship load."""
    return tuple(statement._with_options)


def is_plain_distinct(statement: Any) -> bool:
    """Whether a SELECT is ``DISTINCT`` over whole rows with nothing that works on groups of
    rows (GROUP BY, HAVING, LIMIT, OFFSET, FETCH, DISTINCT ON): SQLAlchemy exposes these clauses
    only privately."""
    if not statement._distinct or statement._distinct_on:
        return False
    if statement._group_by_clauses or statement._having_criteria:
        return False
    if statement._limit_clause is not None or statement._offset_clause is not None:
        return False
    return statement._fetch_clause is None


def decimal_scale(sa_type: Any) -> int:
    """The digits after the point a ``Numeric``/``Float`` with ``asdecimal`` returns
    (``_effective_decimal_return_scale``): what SQLite's JSON strategy must print."""
    return int(sa_type._effective_decimal_return_scale)


def validator_without_reuse(schema: Any, classes: list[Any]) -> Any:
    """A pydantic-core `SchemaValidator` for ``schema`` that builds its own validators for
    ``classes`` instead of reusing theirs.

    pydantic-core reuses a complete model class's validator wherever a schema names that class;
    the classes look incomplete (``__pydantic_complete__``) only while this one is built, under
    treeshape's generation lock. Should a pydantic-core release reuse validators otherwise,
    the reused ones would run: slower, never wrong.
    """
    from pydantic_core import SchemaValidator

    for cls in classes:
        cls.__pydantic_complete__ = False
    try:
        return SchemaValidator(schema)
    finally:
        for cls in classes:
            cls.__pydantic_complete__ = True
