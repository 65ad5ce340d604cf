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
    "select_from_instead",
    "select_instead",
    "validator_without_reuse",
    "with_compile_options_of",
    "without_own_order",
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

    treeshape orders relationship loads with one, and replaces the FROM of a windowed load
    through a secondary (`treeshape.sql.loading`): SQLAlchemy offers no option to change a
    selectin load's ORDER BY or FROM, and the public alternative, a ``do_orm_execute``
    listener, would have to be registered on every `Session` of the host application.
    """

    __slots__ = ()


def relationship_path(compile_state: Any) -> tuple[str, ...]:
    """The relationship keys from the root that the statement compiling loads (``()`` for a
    statement that is no relationship load)."""
    path = getattr(compile_state.compile_options, "_current_path", None)
    if not path:
        return ()
    return tuple(getattr(prop, "key", "") for prop in path.path[1::2])


def select_from_instead(compile_state: Any, from_: Any) -> None:
    """Make the ORM statement compiling select FROM ``from_`` alone.

    A compile-state option may replace ``compile_state.select_statement`` (its WHERE, ORDER BY
    and joins are read from it after the options ran), but SQLAlchemy derives the FROM list
    (``from_clauses``) from the statement it was given, through ``_normalize_froms``, right
    after the options: a selectin load through a secondary would keep the secondary there.
    This overrides that one call on this compile state only, and removes itself when called.
    """

    def once(froms: Any, *args: Any, **kwargs: Any) -> list[Any]:
        del compile_state._normalize_froms
        return [from_]

    compile_state._normalize_froms = once


def select_instead(compile_state: Any, columns: list[Any]) -> None:
    """Select ``columns``, plain columns of the FROM, in place of the first columns the ORM
    statement compiling selects (``compile_state._entities``).

    The entities a compiling ORM statement selects are fixed before any option runs; a
    selectin load selects the parent's key from the secondary, or from its alias of the
    parent, and the load that replaces it selects neither. Each is replaced by the entity
    SQLAlchemy makes for a plain column (``_RawColumnEntity``), at the same position: selectin
    reads the key from each row by position.
    """
    from sqlalchemy.orm.context import _ColumnEntity, _RawColumnEntity

    plain_column: Any = _RawColumnEntity  # appends the entity it makes to its third argument
    entities = compile_state._entities
    for index, column in enumerate(columns):
        if not isinstance(entities[index], _ColumnEntity):
            raise RuntimeError(f"treeshape: not a selected column: {entities[index]!r}")
        made: list[Any] = []
        plain_column(compile_state, column, made, entities[index].raw_column_index, True)
        entities[index] = made[0]


class _NoOrder:
    """An adapter that turns every ORDER BY item into none (``copy_and_process``)."""

    def copy_and_process(self, clauses: Any) -> list[Any]:
        return []


def without_own_order(selectable: Any) -> Any:
    """``selectable`` (the FROM that replaces a selectin load's) with the relationship's own
    ``order_by`` dropped when it is the load's FROM.

    A selectin load that joins from an alias of the parent adds the relationship's
    ``order_by`` when it compiles (a compile-state function), adapted by the first FROM's
    ``_target_adapter``, which only an ORM join through the relationship has; the load that
    replaces it orders by a row number alone.
    """
    selectable._target_adapter = _NoOrder()
    return selectable


def with_compile_options_of(statement: Any, original: Any) -> Any:
    """``statement`` carrying ``original``'s ORM compile options: the relationship load's path
    (``_current_path``), which its nested loader options are matched against."""
    statement._compile_options = original._compile_options
    return statement


def options_of(statement: Any) -> tuple[Any, ...]:
    """The loader options of an ORM statement (``Select._with_options``), to carry them over to
    the statement that replaces a relationship load's: the nested loads' options are taken
    from the compiled statement's, matched by position to the executed statement's."""
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
