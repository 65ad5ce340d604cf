"""`Shape`, the public face of a shape tree, and `shape()`, which defines one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from .backends.dumper import dump_json_many, dump_json_one, dump_many, dump_one
from .inspection import is_configured, mapper_of
from .naming import claim_names
from .spec.bind import FieldsArg, NamesArg, bind, check_style
from .spec.narrow import narrow_node
from .spec.parse import parse
from .sql.loading import lazy_loader_options, loader_options
from .tree import KeyStyle, ShapeNode

Document = dict[str, Any]
"""One JSON-ready document: what ``dump`` gives for one object."""

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.interfaces import LoaderOption

    from .backends.marshmallow_schema import ShapeSchema
    from .backends.pydantic_model import ShapeModel
    from .sql.fetch import Strategy
    from .write import InputModel, InputSchema, Limits, Mode

__all__ = ["Document", "Shape", "shape"]


def shape(
    model: type,
    *specs: Any,
    fields: FieldsArg = None,
    name: str | None = None,
    key_style: KeyStyle | None = None,
    names: NamesArg = None,
    computed: Mapping[Any, Any] | None = None,
) -> Shape:
    """Define the shape of a nested view of ``model``.

    ``specs`` are dotted include paths (``"trips.stop_times.stop"``, several or
    comma-separated), nested mappings (``{"trips": {"stop_times": {}}}``) and `Shape` objects
    (composition), freely mixed. ``fields`` is a list of field names for ``model``, or a mapping
    from model class or model name to field names; models not named output every column.
    ``name`` names the generated classes (``RouteDetail``) instead of a derived name.
    ``computed`` adds computed fields (`computed`): ``{"first_departure": ts.computed(...)}``
    for ``model``, or a mapping from model (class or name) to such mappings; each is output
    after the model's fields, and the paths it reads are loaded by `Shape.loader_options`.

    ``key_style`` (a callable such as ``pydantic.alias_generators.to_camel``) gives every
    output key of the shape from its attribute name, in every node the spec builds and in
    composed shapes that set no style of their own; ``names`` renames single outputs
    (``{"stop_name": "name"}`` for the root model, ``{Stop: {...}}`` per model) and wins over
    the style; ``ts.include(name=...)`` names a relationship. Every backend, the request
    parameters and the write side use these output keys; two outputs with one key are a
    `SpecError`. Use ``key_style=str`` to keep attribute names under a composing style.

    Raises `SpecError` for anything that does not fit the models. The shape is bound to the
    mappers now if they are configured (any query configures them), else at its first use,
    so that defining a shape never configures the application's mappers early: a shape may be
    defined before a class its relationships name exists. Errors of the spec's text are raised
    now in both cases.
    """
    mapper_of(model)
    check_style(model.__name__, key_style)
    if is_configured(model):
        return Shape(_bound(model, specs, fields, name, computed, key_style, names))
    # Errors of dotted paths now, whatever the mappers' state (composed shapes bind later).
    parse(model.__name__, tuple(spec for spec in specs if isinstance(spec, str)))
    return Shape(None, lambda: _bound(model, specs, fields, name, computed, key_style, names))


def _bound(
    model: type,
    specs: tuple[Any, ...],
    fields: FieldsArg,
    name: str | None,
    computed: Mapping[Any, Any] | None,
    key_style: KeyStyle | None,
    names: NamesArg,
) -> ShapeNode:
    node = bind(model, specs, fields, name, computed, key_style, names)
    claim_names(node)
    return node


_bind_lock = threading.RLock()  # binding a composed shape binds its parts first


class Shape:
    """A validated, immutable nested view of a model, and everything derived from it.

    Equal specs written differently give equal shapes; every generated object (schema class,
    model class, loader options, dumper) is computed once per distinct tree.
    """

    __slots__ = ("_bind", "_bound_node")

    def __init__(self, node: ShapeNode | None, bind: Callable[[], ShapeNode] | None = None) -> None:
        self._bound_node = node
        self._bind = bind

    @property
    def _node(self) -> ShapeNode:
        node = self._bound_node
        if node is None:
            with _bind_lock:
                if self._bound_node is None:
                    assert self._bind is not None
                    self._bound_node = self._bind()
                    self._bind = None
                node = self._bound_node
        return node

    # -- identity ---------------------------------------------------------------------------

    @property
    def __treeshape_node__(self) -> ShapeNode:
        return self._node

    @property
    def node(self) -> ShapeNode:
        """The shape tree every backend reads."""
        return self._node

    @property
    def model(self) -> type:
        """The root model class."""
        return self._node.model

    @property
    def paths(self) -> list[str]:
        """Dotted paths of every included relationship, e.g. ``['trips', 'trips.stop_times']``."""
        return self._node.paths()

    @property
    def fields(self) -> tuple[str, ...]:
        """Field names of the root model, in output order."""
        return self._node.field_names

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Shape):
            return NotImplemented
        return self._node == other._node

    def __hash__(self) -> int:
        return hash(self._node)

    def __repr__(self) -> str:
        return f"<Shape {self._node.info.name}{self._node.describe()}>"

    # -- generated classes -------------------------------------------------------------------

    @property
    def marshmallow_schema(self) -> type[ShapeSchema]:
        """A marshmallow ``Schema`` subclass: ``shape.marshmallow_schema().dump(obj)``."""
        try:
            from .backends.marshmallow_schema import schema_class
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                f"shape.marshmallow_schema needs {error.name!r}, which is not installed: "
                f"pip install 'treeshape[marshmallow]'.",
                name=error.name,
            ) from error

        return schema_class(self._node)

    @property
    def pydantic_model(self) -> type[ShapeModel]:
        """A Pydantic ``BaseModel`` subclass with ``from_attributes=True``."""
        from .backends.pydantic_model import model_class

        return model_class(self._node)

    @property
    def pydantic_list_model(self) -> Any:
        """``list[shape.pydantic_model]``, for ``response_model=`` of a list endpoint.

        Typed ``Any`` so that it type-checks where a type is expected: ``list[x.pydantic_model]``
        written out is a variable in a type expression, which type checkers refuse.
        """
        return list[self.pydantic_model]  # type: ignore[name-defined]

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the dumped output (serialization mode)."""
        return self.pydantic_model.model_json_schema(mode="serialization")

    # -- loading and dumping -----------------------------------------------------------------

    def loader_options(self, *, raise_on_unplanned: bool = True) -> tuple[LoaderOption, ...]:
        """Loader options: ``select(Model).options(*shape.loader_options())``.

        One statement per relationship of the shape; every relationship and column the shape
        does not load raises on access instead of querying. ``raise_on_unplanned=False``
        leaves them to the mapping instead (a relationship loads as its ``lazy=`` says, a
        column left out is deferred; under ``AsyncSession`` such a load fails as SQLAlchemy's
        implicit IO does), the same statements for the shape's tree: raising costs
        SQLAlchemy a loader callable per loaded object and unplanned relationship, about a
        tenth of a request on the ORM path (docs/performance.md).

        On relationships declared ``lazy="raise"`` (SQLAlchemy's advice under asyncio) raising
        costs nothing per row: the plan asks for the strategy they have already, so
        ``loader_options()`` raises at the cost of a plain ``selectinload`` chain.
        """
        if raise_on_unplanned:
            return loader_options(self._node)
        return lazy_loader_options(self._node)

    @overload
    def dump(self, obj: object, *, many: Literal[False] = False) -> Document: ...

    @overload
    def dump(self, obj: Iterable[object], *, many: Literal[True]) -> list[Document]: ...

    @overload
    def dump(self, obj: Any, *, many: bool) -> Document | list[Document]: ...

    def dump(self, obj: Any, *, many: bool = False) -> Document | list[Document]:
        """A JSON-ready dict of ``obj`` (a list of them with ``many=True``)."""
        if many:
            return dump_many(self._node, self._check_many(obj))
        self._check_one(obj)
        return dump_one(self._node, obj)

    def dump_json(self, obj: Any, *, many: bool = False) -> bytes:
        """``dump()`` as JSON bytes (orjson; values it writes as Pydantic does are left to it)."""
        if many:
            return dump_json_many(self._node, self._check_many(obj))
        self._check_one(obj)
        return dump_json_one(self._node, obj)

    def _check_one(self, obj: Any) -> None:
        if not isinstance(obj, self._node.model):
            hint = " (pass many=True for a list)" if isinstance(obj, list | tuple) else ""
            raise TypeError(
                f"This shape dumps {self._node.info.name} objects, got {type(obj).__name__}{hint}."
            )

    def _check_many(self, objs: Any) -> Iterable[Any]:
        if isinstance(objs, self._node.model) or not isinstance(objs, Iterable):
            raise TypeError(
                f"dump(many=True) needs an iterable of {self._node.info.name} objects, got "
                f"{type(objs).__name__}."
            )
        model = self._node.model
        items = list(objs)
        for item in items:
            if not isinstance(item, model):
                raise TypeError(
                    f"This shape dumps {self._node.info.name} objects, got "
                    f"{type(item).__name__} in the list."
                )
        return items

    # -- fetching without ORM objects -----------------------------------------------------------

    def fetch(
        self,
        session: Session | Connection,
        *criteria: Any,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        strategy: Strategy = "auto",
    ) -> list[Document]:
        """The documents of the roots matching ``criteria``, built without ORM objects.

        ``session`` is a `Session` or a `Connection` (`treeshape.asyncio.afetch` for asyncio);
        ``criteria`` filter the roots (``Route.route_id == "AB"``); ``order_by`` orders them
        (primary-key order otherwise, the primary key breaking ties), ``offset`` skips that many
        of them and ``limit`` caps their number (`treeshape.web.PageQuery` gives the criteria
        and order of a keyset page); ``strategy`` is ``"auto"``, ``"core"`` or ``"json"``.

        Equal to ``dump(objs, many=True)`` of the same rows loaded with `loader_options`; at
        most one statement per relationship plus one, whatever the number of rows. See
        `treeshape.sql.fetch` for the strategies and ordering rules.
        """
        from .sql.fetch import fetch

        return fetch(
            self._node,
            session,
            criteria,
            order_by=order_by,
            limit=limit,
            offset=offset,
            strategy=strategy,
        )

    def fetch_json(
        self,
        session: Session | Connection,
        *criteria: Any,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        strategy: Strategy = "auto",
    ) -> bytes:
        """`fetch` as JSON bytes (an array), built by the database where it can."""
        from .sql.fetch import fetch_json

        return fetch_json(
            self._node,
            session,
            criteria,
            order_by=order_by,
            limit=limit,
            offset=offset,
            strategy=strategy,
        )

    # -- writing -----------------------------------------------------------------------------

    def input_model(self, mode: Mode, *, limits: Limits | None = None) -> type[InputModel]:
        """The Pydantic model of a ``"create"``, ``"replace"`` or ``"patch"`` body."""
        from .write import DEFAULT_LIMITS, input_model

        return input_model(self._node, mode, limits=limits or DEFAULT_LIMITS)

    def input_schema(self, mode: Mode, *, limits: Limits | None = None) -> type[InputSchema]:
        """The marshmallow schema class of the same body: ``.load(data)`` gives a dict."""
        from .write import DEFAULT_LIMITS, input_schema

        return input_schema(self._node, mode, limits=limits or DEFAULT_LIMITS)

    def load(
        self,
        body: Any,
        *,
        session: Any,
        instance: Any = None,
        partial: bool = False,
        limits: Limits | None = None,
    ) -> Any:
        """Create (no ``instance``), replace, or patch (``partial=True``) objects from ``body``.

        All or nothing: `InputError` with every problem of the body, the session unchanged;
        on success the root object, added to the session, not committed.
        """
        from .write import DEFAULT_LIMITS, load

        return load(
            self._node,
            body,
            session=session,
            instance=instance,
            partial=partial,
            limits=limits or DEFAULT_LIMITS,
        )

    # -- narrowing ---------------------------------------------------------------------------

    def narrow(self, *paths: str, fields: FieldsArg = None) -> Shape:
        """A sub-shape keeping exactly ``paths`` (and their prefixes) and ``fields``.

        With no paths, every relationship is kept. Raises `SpecError` for anything outside
        this shape: a narrowing can never widen.
        """
        include: Sequence[str] | None = paths if paths else None
        return Shape(narrow_node(self._node, include, fields))
