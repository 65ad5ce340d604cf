"""What treeshape needs to know about a mapped class, read once per mapper.

This is the only module that reads SQLAlchemy mapper internals. Everything downstream works
from `ModelInfo`, `FieldInfo` and `RelationInfo`, so supporting another kind of attribute
means teaching this module about it and nothing else.
"""

from __future__ import annotations

import enum
import inspect as pyinspect
import threading
import types
import typing
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.ext.associationproxy import AssociationProxyExtensionType
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import ColumnProperty, Mapper, RelationshipProperty
from sqlalchemy.orm.interfaces import MANYTOMANY, MANYTOONE, ONETOMANY
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList, ColumnClause
from sqlalchemy.sql.schema import Column, Table, UniqueConstraint
from sqlalchemy.sql.selectable import Join
from sqlalchemy.types import JSON, TypeDecorator, TypeEngine
from sqlalchemy.types import Enum as SAEnum

from .errors import SpecError, safe_repr

if TYPE_CHECKING:
    from .spec.computed import Computed

__all__ = [
    "HIDDEN_PREFIX",
    "PRIVATE_INFO_KEY",
    "Collection",
    "Direction",
    "FieldInfo",
    "FieldKind",
    "ForeignKeyFacts",
    "Inheritance",
    "ModelInfo",
    "RelationInfo",
    "RelationJoins",
    "attribute_note",
    "foreign_keys",
    "is_configured",
    "is_enum_type",
    "mapper_of",
    "model_info",
    "python_type_of",
    "reads_as_impl",
    "unique_keys",
]

HIDDEN_PREFIX = "_treeshape_"
"""Mapper attributes treeshape adds itself (count expressions): never fields of a shape."""

FieldKind = Literal["column", "expression", "hybrid", "property", "computed"]
Direction = Literal["one_to_many", "many_to_one", "many_to_many"]
Collection = Literal["list", "set", "dict", "other"]
Inheritance = Literal["joined", "single", "concrete"]

PRIVATE_INFO_KEY = "treeshape_private"
"""Put ``info={"treeshape_private": True}`` on a column to keep it out of every shape."""


@dataclass(frozen=True, eq=False)
class FieldInfo:
    """One scalar output of a model: a column, a SQL expression, a hybrid, a property, or a
    field declared with ``ts.computed`` (`treeshape.spec.computed`)."""

    model: type
    name: str
    kind: FieldKind
    python_type: Any
    """A class, or ``typing.Any`` where it cannot be known."""
    nullable: bool
    primary_key: bool = False
    sa_type: TypeEngine[Any] | None = None
    prop: ColumnProperty[Any] | None = None
    never_null: bool = False
    """A primary-key column of a class mapped to its tables alone (no outer join in what it is
    mapped to): SQL that selects it from the class's rows needs no NULL case for it.

    Only keys: PostgreSQL and MariaDB refuse NULL in a primary key whatever the mapping says,
    whereas a column the model declares NOT NULL (``Mapped[str]``) may hold NULLs in a table
    whose DDL allows them, which a document must then still show as ``null``."""
    private: bool = False
    doc: str | None = None
    computed: Computed | None = None
    """For a computed field: its declaration (function, type, reads, SQL)."""
    reads: tuple[Any, ...] = ()
    """For a computed field: the relationship paths it reads, bound (a `ReadTree`)."""

    @property
    def read_only(self) -> bool:
        return self.kind != "column"

    @property
    def loaded_from_state(self) -> bool:
        """True when the value lives in the instance dict once loaded (columns, expressions)."""
        return self.kind in ("column", "expression")


@dataclass(frozen=True, eq=False)
class RelationJoins:
    """The SQL a relationship joins by, as SQLAlchemy configured it."""

    parent_table: Any
    """The parent mapper's local table."""
    parent_key_columns: tuple[Any, ...]
    """The parent's primary-key columns, in mapper order."""
    primaryjoin: Any
    secondary: Any
    """The secondary table or selectable; ``None`` without one."""
    secondaryjoin: Any


@dataclass(frozen=True, eq=False)
class RelationInfo:
    """One relationship of a model."""

    model: type
    name: str
    target: type
    direction: Direction
    uselist: bool
    nullable: bool
    """For a scalar relationship: can it be ``None``."""
    prop: RelationshipProperty[Any]
    order_by: tuple[Any, ...]
    """The relationship's own ``order_by`` columns; empty when it has none."""
    secondary: bool
    local_keys: tuple[str | None, ...] = ()
    """The parent's attribute key of each local column of the join (``local_remote_pairs``
    order); ``None`` for a column of a secondary table."""
    remote_keys: tuple[str | None, ...] = ()
    """The target's attribute key of each remote column, in the same order; ``None`` for a
    column of a secondary table."""
    parent_primary_key: tuple[str, ...] = ()
    """The parent mapper's primary-key attribute keys, in mapper order (selectin's ``IN``)."""
    local_column_keys: frozenset[str] = frozenset()
    """The parent's attributes among the relationship's local columns (its foreign key for a
    many-to-one): what a load of the parent must include to follow it."""
    remote_side_keys: frozenset[str] = frozenset()
    """The target's attributes among the relationship's remote side (the foreign key of a
    one-to-many): what a load of the targets must include to be matched to their parents."""
    viewonly: bool = False
    joins: RelationJoins | None = None
    """The relationship's join conditions and tables, for the SQL that follows it."""
    lazy: str = "select"
    """The relationship's loader strategy name; ``dynamic`` and ``write_only`` ones are
    queries, not attributes an eager load can fill."""
    collection: Collection | None = "list"
    """What the collection attribute holds (``None`` for a scalar relationship): only a list
    keeps the order every backend and ``fetch`` agree on."""
    equality_join: bool = True
    """The join conditions are ANDed ``column = column`` comparisons (plus filters of the
    target's own columns): what a per-parent window (``limit``/``offset``) partitions by."""
    parent_key_in_target: tuple[str, ...] | None = None
    """For a one-to-many joined by ``parent.pk = target.fk`` and nothing else (every column of
    the parent's primary key, the same types on both sides): the target's attributes holding
    the parent's key, in the key's order; else ``None``. The target's rows then name their
    parents themselves: a fetch selects them without a join back to the parents."""

    @property
    def foreign_key_by_target_key(self) -> dict[str, str]:
        """For a many-to-one: the target's key attribute -> the parent's attribute holding it."""
        return {
            remote: local
            for local, remote in zip(self.local_keys, self.remote_keys, strict=True)
            if local is not None and remote is not None
        }


@dataclass(eq=False)
class ModelInfo:
    """Columns and relationships of one mapped class, in mapper order."""

    model: type
    mapper: Mapper[Any]
    columns: dict[str, FieldInfo]
    """Every plain column attribute: the default field set."""
    expressions: dict[str, FieldInfo]
    """Column properties that are SQL expressions: read-only, output only when named."""
    relationships: dict[str, RelationInfo]
    primary_key: tuple[str, ...]
    order: dict[str, int]
    inheritance: Inheritance | None = None
    """The kind of mapped class hierarchy the model is in; ``None`` outside one."""
    polymorphic_identity: Any = None
    joined_subclasses: bool = False
    """Some subclass maps a table of its own (joined inheritance below this class)."""
    loads_subclasses: bool = False
    """``with_polymorphic`` is configured: a query of this class selects its subclasses'
    columns too."""
    subclass_fields: dict[str, tuple[type, Any]] = field(default_factory=dict)
    """Column attributes only subclasses have: name -> (first such subclass, its identity)."""
    subclass_relationships: dict[str, tuple[type, Any]] = field(default_factory=dict)
    """Relationships only subclasses have, the same way."""
    discriminator: str | None = None
    """For a single-table subclass, the attribute of its ``polymorphic_on`` column: SQLAlchemy
    filters every query of it by that column, so a derived table of its rows must carry it."""
    _extra: dict[str, FieldInfo] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.__name__

    @property
    def default_fields(self) -> tuple[FieldInfo, ...]:
        return tuple(f for f in self.columns.values() if not f.private)

    def field(self, name: str) -> FieldInfo | None:
        """A column, expression, hybrid or Python property by name; ``None`` if none."""
        found = self.columns.get(name) or self.expressions.get(name)
        if found is not None:
            return found
        found = self._extra.get(name)
        if found is None:
            found = _attribute_field(self.model, name)
            # Only real attributes are remembered: names come from request text too, and
            # remembering every unknown one would grow memory without bound.
            if found is not None:
                self._extra[name] = found
        return found

    def field_names(self) -> list[str]:
        """Every name `field` accepts (for "did you mean" suggestions)."""
        names = [n for n, f in self.columns.items() if not f.private]
        names += list(self.expressions)
        for cls in _declared_classes(self.model):
            for attr, value in vars(cls).items():
                if isinstance(value, property | hybrid_property) and attr not in names:
                    names.append(attr)
        return names

    def key_of(self, column: Any) -> str | None:
        """The attribute key mapping ``column``, or ``None`` if it is not this model's column."""
        try:
            return str(self.mapper.get_property_by_column(column).key)
        except Exception:  # a column of a secondary table, a subquery or an expression
            return None

    @property
    def tables(self) -> tuple[Any, ...]:
        """The tables the model is mapped to (several for joined inheritance)."""
        return tuple(self.mapper.tables)

    def position(self, name: str) -> int:
        """Position of an attribute in mapper order (unmapped ones last), for canonical order."""
        return self.order.get(name, len(self.order))


_cache: weakref.WeakKeyDictionary[type, ModelInfo] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def mapper_of(model: Any) -> Mapper[Any]:
    """The mapper of a mapped class, without configuring it; `SpecError` if it is not mapped."""
    if not isinstance(model, type):
        raise SpecError(
            f"shape() needs a mapped class, got {type(model).__name__} {safe_repr(model)}."
        )
    try:
        mapper: Any = sa_inspect(model)
    except NoInspectionAvailable:
        mapper = None
    if not isinstance(mapper, Mapper):
        raise SpecError(
            f"{model.__name__} is not a mapped SQLAlchemy class; shape() needs a declarative, "
            f"imperatively mapped or SQLModel table model."
        )
    return mapper


def is_configured(model: type) -> bool:
    """Whether the model's mappers are configured already (reading them forces nothing)."""
    return bool(mapper_of(model).configured)


def model_info(model: Any) -> ModelInfo:
    """The `ModelInfo` of a mapped class (cached); `SpecError` if it is not mapped.

    Reading the relationships needs the model's registry configured: this configures it (as the
    first query would), and reports a configuration that fails as a `SpecError`.
    """
    try:
        return _cache[model]
    except (KeyError, TypeError):
        pass
    mapper = mapper_of(model)
    with _lock:
        if model not in _cache:
            _configure(model, mapper)
            _cache[model] = _read_mapper(model, mapper)
        return _cache[model]


def _configure(model: type, mapper: Mapper[Any]) -> None:
    if mapper.configured:
        return
    try:
        mapper.registry.configure(cascade=True)
    except Exception as error:
        raise SpecError(
            f"The mappers of {model.__name__} cannot be configured: {error} treeshape binds a "
            f"shape when it is first used; every class its relationships name must exist by then."
        ) from error


def _read_mapper(model: type, mapper: Mapper[Any]) -> ModelInfo:
    columns: dict[str, FieldInfo] = {}
    expressions: dict[str, FieldInfo] = {}
    relationships: dict[str, RelationInfo] = {}
    inner_rows = _inner_rows(mapper.persist_selectable)
    for prop in mapper.attrs:
        if prop.key.startswith(HIDDEN_PREFIX):
            continue  # treeshape's own count attributes (`treeshape.counting`)
        if isinstance(prop, ColumnProperty):
            info = _column_field(model, prop, inner_rows=inner_rows)
            (columns if info.kind == "column" else expressions)[prop.key] = info
        elif isinstance(prop, RelationshipProperty):
            relationships[prop.key] = _relation(model, prop)
    pk_keys = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
    subclass_fields: dict[str, tuple[type, Any]] = {}
    subclass_relationships: dict[str, tuple[type, Any]] = {}
    for sub in mapper.self_and_descendants:
        for prop in sub.attrs:
            if prop.key in mapper.attrs or prop.key.startswith(HIDDEN_PREFIX):
                continue
            found = subclass_relationships if isinstance(prop, RelationshipProperty) else None
            if found is None and isinstance(prop, ColumnProperty):
                found = subclass_fields
            if found is not None:
                found.setdefault(prop.key, (sub.class_, sub.polymorphic_identity))
    return ModelInfo(
        model=model,
        mapper=mapper,
        columns=columns,
        expressions=expressions,
        relationships=relationships,
        primary_key=pk_keys,
        order={key: i for i, key in enumerate(mapper.attrs.keys())},
        inheritance=_inheritance(mapper),
        polymorphic_identity=mapper.polymorphic_identity,
        joined_subclasses=any(
            sub.local_table is not mapper.local_table for sub in mapper.self_and_descendants
        ),
        loads_subclasses=mapper.with_polymorphic is not None,
        subclass_fields=subclass_fields,
        subclass_relationships=subclass_relationships,
        discriminator=_discriminator(mapper),
    )


def _discriminator(mapper: Mapper[Any]) -> str | None:
    if not mapper.single or mapper.polymorphic_on is None:
        return None
    return _key_or_none(mapper, mapper.polymorphic_on)


def _inheritance(mapper: Mapper[Any]) -> Inheritance | None:
    """The hierarchy's kind: concrete if any class in it is, else joined if any class of it maps
    a table of its own, else single (one table); ``None`` for a class outside a hierarchy."""
    root = mapper.base_mapper
    family = list(root.self_and_descendants)
    if len(family) == 1:
        return None
    if any(m.concrete for m in family):
        return "concrete"
    if any(m.local_table is not root.local_table for m in family):
        return "joined"
    return "single"


def _collection(prop: RelationshipProperty[Any]) -> Collection | None:
    """The kind of container the relationship's attribute holds; an empty one is built from
    the configured factory (public, and the only way to see through keyed-dict factories)."""
    if not prop.uselist:
        return None
    factory = prop.collection_class
    if factory is None:
        return "list"
    sample = factory()
    for kind, cls in (("list", list), ("set", set), ("dict", dict)):
        if isinstance(sample, cls):
            return kind  # type: ignore[return-value]
    return "other"


def _and_parts(condition: Any) -> tuple[Any, ...]:
    """The ANDed parts of a join condition (itself alone if it is not an AND)."""
    if isinstance(condition, BooleanClauseList) and condition.operator is operators.and_:
        return tuple(condition.clauses)
    return (condition,)


def _column_equality(part: Any) -> bool:
    return (
        isinstance(part, BinaryExpression)
        and part.operator is operators.eq
        and isinstance(part.left, ColumnClause)
        and isinstance(part.right, ColumnClause)
    )


def _parent_key_in_target(
    prop: RelationshipProperty[Any], direction: Direction
) -> tuple[str, ...] | None:
    """`RelationInfo.parent_key_in_target`."""
    if direction != "one_to_many" or prop.secondary is not None:
        return None
    parts = _and_parts(prop.primaryjoin)
    pairs = prop.local_remote_pairs
    if len(parts) != len(pairs) or not all(_column_equality(part) for part in parts):
        return None
    by_local = dict(pairs)
    parent_key = list(prop.parent.primary_key)
    if len(by_local) != len(pairs) or set(by_local) != set(parent_key):
        return None
    names = []
    for column in parent_key:
        remote = by_local[column]
        name = _key_or_none(prop.mapper, remote)
        if name is None or type(remote.type) is not type(column.type):
            return None
        names.append(name)
    return tuple(names)


def _equality_join(prop: RelationshipProperty[Any]) -> bool:
    """The join conditions are ANDed ``column = column`` comparisons, besides filters that read
    only the secondary or the target's own tables (``Reading.valid IS true``); the target's
    only where its tables are not the parent's (self-referential sides share the table)."""
    target_tables = set(prop.mapper.tables)
    own_side = target_tables.isdisjoint(prop.parent.tables)
    secondary = {prop.secondary} if prop.secondary is not None else set()
    for condition in (prop.primaryjoin, prop.secondaryjoin):
        if condition is None:
            continue
        for part in _and_parts(condition):
            if _column_equality(part):
                continue
            tables = {c.table for c in visitors.iterate(part) if isinstance(c, ColumnClause)}
            if not tables or not (
                tables <= secondary or (own_side and tables <= target_tables | secondary)
            ):
                return False
    return True


ASSOCIATION_PROXY = AssociationProxyExtensionType.ASSOCIATION_PROXY


def attribute_note(model: type, name: str) -> str:
    """Why ``name``, a mapped attribute of ``model`` that is not a field, is not one (a
    sentence for an error message), or ``""`` when it is no such attribute."""
    mapper: Mapper[Any] = sa_inspect(model)
    synonym = mapper.synonyms.get(name)
    if synonym is not None:
        return (
            f" {model.__name__}.{name} is a synonym of {model.__name__}.{synonym.name}: list "
            f"{synonym.name!r} instead (outputs keep the mapped attribute's name)."
        )
    descriptor = mapper.all_orm_descriptors.get(name)
    if getattr(descriptor, "extension_type", None) is ASSOCIATION_PROXY:
        proxy: Any = descriptor
        return (
            f" {model.__name__}.{name} is an association proxy of "
            f"{proxy.target_collection}.{proxy.value_attr}, which no SQL loads by itself: "
            f"include the relationship {proxy.target_collection!r} with the field "
            f"{proxy.value_attr!r} instead."
        )
    return ""


def reads_as_impl(sa_type: TypeDecorator[Any]) -> bool:
    """Whether a `TypeDecorator` leaves the values it reads as its ``impl`` gives them (it only
    picks a type per dialect or checks what is written, as SQLModel's ``AutoString``)."""
    cls = type(sa_type)
    return all(
        getattr(cls, name) is getattr(TypeDecorator, name)
        for name in ("process_result_value", "result_processor", "column_expression")
    )


def python_type_of(sa_type: TypeEngine[Any] | None) -> Any:
    """The Python type of a column type, or ``typing.Any`` where SQLAlchemy cannot say."""
    if sa_type is None:
        return Any
    if isinstance(sa_type, SAEnum) and sa_type.enum_class is not None:
        return sa_type.enum_class
    if isinstance(sa_type, JSON):
        return Any  # any JSON value, not only objects
    try:
        return sa_type.python_type
    except NotImplementedError:
        return Any


def _inner_rows(selectable: Any) -> bool:
    """Whether a mapped ``selectable`` is one table or tables joined by inner joins only: its
    columns then hold their tables' values, never the NULLs of an outer join's missing row."""
    if isinstance(selectable, Table):
        return True
    if isinstance(selectable, Join):
        return not (selectable.isouter or selectable.full) and (
            _inner_rows(selectable.left) and _inner_rows(selectable.right)
        )
    return False  # a select, a view's subquery: what it may yield is not looked into


def _column_field(model: type, prop: ColumnProperty[Any], *, inner_rows: bool) -> FieldInfo:
    """``inner_rows``: `_inner_rows` of the class's mapped selectable, read once per mapper."""
    expr = prop.columns[0]
    # A column of a table, or of the subquery or join a class is mapped on (a view's
    # aggregate is a plain column of the view, loaded with the row).
    if isinstance(expr, ColumnClause) and getattr(expr, "table", None) is not None:
        return FieldInfo(
            model=model,
            name=prop.key,
            kind="column",
            python_type=python_type_of(expr.type),
            nullable=bool(getattr(expr, "nullable", True)),
            primary_key=bool(expr.primary_key),
            sa_type=expr.type,
            prop=prop,
            never_null=inner_rows and bool(expr.primary_key),
            private=bool(
                _column_info(expr).get(PRIVATE_INFO_KEY) or prop.info.get(PRIVATE_INFO_KEY)
            ),
            doc=prop.doc or getattr(expr, "doc", None) or getattr(expr, "comment", None),
        )
    return FieldInfo(
        model=model,
        name=prop.key,
        kind="expression",
        python_type=python_type_of(getattr(expr, "type", None)),
        nullable=True,
        sa_type=getattr(expr, "type", None),
        prop=prop,
        private=bool(prop.info.get(PRIVATE_INFO_KEY)),
        doc=prop.doc,
    )


def _column_info(expr: ColumnClause[Any]) -> dict[Any, Any]:
    # A subquery's column from an expression has no ``info`` of its own.
    return expr.info if isinstance(expr, Column) else {}


def _relation(model: type, prop: RelationshipProperty[Any]) -> RelationInfo:
    direction: Direction = {
        ONETOMANY: "one_to_many",
        MANYTOONE: "many_to_one",
        MANYTOMANY: "many_to_many",
    }[prop.direction]  # type: ignore[assignment]
    uselist = bool(prop.uselist)
    if uselist:
        nullable = False
    elif direction == "many_to_one":
        nullable = any(getattr(col, "nullable", True) for col in prop.local_columns)
    else:
        nullable = True  # one-to-one from the referenced side: the row may not exist
    order_by = tuple(prop.order_by) if prop.order_by else ()
    parent: Any = prop.parent
    target: Any = prop.mapper
    return RelationInfo(
        model=model,
        name=prop.key,
        target=prop.mapper.class_,
        direction=direction,
        uselist=uselist,
        nullable=nullable,
        prop=prop,
        order_by=order_by,
        secondary=prop.secondary is not None,
        local_keys=tuple(_key_or_none(parent, local) for local, _ in prop.local_remote_pairs),
        remote_keys=tuple(_key_or_none(target, remote) for _, remote in prop.local_remote_pairs),
        parent_primary_key=tuple(parent.get_property_by_column(c).key for c in parent.primary_key),
        local_column_keys=_keys_of(parent, prop.local_columns),
        remote_side_keys=_keys_of(target, prop.remote_side),
        viewonly=bool(prop.viewonly),
        joins=RelationJoins(
            parent_table=parent.local_table,
            parent_key_columns=tuple(parent.primary_key),
            primaryjoin=prop.primaryjoin,
            secondary=prop.secondary,
            secondaryjoin=prop.secondaryjoin,
        ),
        lazy=str(prop.lazy),
        collection=_collection(prop),
        equality_join=_equality_join(prop),
        parent_key_in_target=_parent_key_in_target(prop, direction),
    )


def _keys_of(mapper: Any, columns: Any) -> frozenset[str]:
    keys = (_key_or_none(mapper, column) for column in columns)
    return frozenset(key for key in keys if key is not None)


def _key_or_none(mapper: Any, column: Any) -> str | None:
    try:
        return str(mapper.get_property_by_column(column).key)
    except Exception:  # a column of a secondary table
        return None


_LIBRARIES = frozenset({"pydantic", "sqlmodel", "sqlalchemy"})


def _declared_classes(model: type) -> list[type]:
    """The classes of ``model``'s MRO that the application declares: not those of Pydantic,
    SQLModel or SQLAlchemy, whose properties (``__fields__``, ``model_fields_set``,
    ``model_extra`` on a SQLModel table) are the library's, not the model's fields."""
    return [cls for cls in model.__mro__ if cls.__module__.split(".")[0] not in _LIBRARIES]


def _attribute_field(model: type, name: str) -> FieldInfo | None:
    """A hybrid property or Python ``@property`` the application declares, as a read-only
    field."""
    for cls in _declared_classes(model):
        descriptor = vars(cls).get(name)
        if descriptor is None:
            continue
        if isinstance(descriptor, hybrid_property):
            return _annotated_field(
                model, name, "hybrid", descriptor.fget, _hybrid_sql_type(model, name)
            )
        if isinstance(descriptor, property) and descriptor.fget is not None:
            return _annotated_field(model, name, "property", descriptor.fget, None)
        return None
    return None


def _hybrid_sql_type(model: type, name: str) -> TypeEngine[Any] | None:
    try:
        expr = getattr(model, name)
        sql_type = getattr(expr, "type", None)
    except Exception:  # a hybrid without a usable class-level expression
        return None
    return sql_type if isinstance(sql_type, TypeEngine) else None


def _annotated_field(
    model: type, name: str, kind: FieldKind, fget: Any, sql_type: TypeEngine[Any] | None
) -> FieldInfo:
    python_type: Any = Any
    nullable = True
    try:
        hints = typing.get_type_hints(fget, include_extras=False)
    except Exception:  # unresolvable forward references: fall back to the SQL type
        hints = {}
    annotation = hints.get("return", pyinspect.Signature.empty)
    if annotation is not pyinspect.Signature.empty:
        python_type, nullable = _unwrap_optional(annotation)
    elif sql_type is not None:
        python_type = python_type_of(sql_type)
    return FieldInfo(
        model=model,
        name=name,
        kind=kind,
        python_type=python_type,
        nullable=nullable,
        sa_type=sql_type,
        doc=pyinspect.getdoc(fget),
    )


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); ``X`` -> (X, False); anything else -> (Any, True)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1 and isinstance(args[0], type):
            return args[0], nullable
        return Any, True
    if isinstance(annotation, type):
        return annotation, False
    return Any, True


def is_enum_type(python_type: Any) -> bool:
    return isinstance(python_type, type) and issubclass(python_type, enum.Enum)


# -- what writing needs (treeshape.write) ------------------------------------------------------


@dataclass(frozen=True)
class ColumnFacts:
    """What a write needs to know about one column attribute beyond its `FieldInfo`."""

    nullable: bool
    generated: bool
    """A primary key the database (or a default) generates: never written by a body."""
    has_default: bool
    """A client-side or server-side default fills it when a create leaves it out."""
    scalar_default: Any
    """The plain (non-callable) client-side default, or ``NO_DEFAULT``."""
    length: int | None
    precision: int | None
    scale: int | None
    enum_values: tuple[str, ...] | None
    """The values of a string ``Enum`` without an enum class."""
    references: tuple[tuple[type, str], ...]
    """(model, attribute) of every mapped column this column's foreign keys point at."""


NO_DEFAULT: Any = object()


def column_facts(info: FieldInfo) -> ColumnFacts:
    """The `ColumnFacts` of a column field (`FieldInfo.kind` ``"column"``)."""
    if info.prop is None:
        raise TypeError(f"{info.name} is not a column attribute")
    column: Any = info.prop.columns[0]
    default = column.default
    scalar_default = NO_DEFAULT
    if default is not None and getattr(default, "is_scalar", False):
        scalar_default = default.arg
    has_default = default is not None or column.server_default is not None
    generated = bool(column.primary_key) and (
        has_default
        or column.identity is not None
        or column is getattr(column.table, "autoincrement_column", None)
    )
    sa_type = column.type
    enum_values = None
    if isinstance(sa_type, SAEnum) and sa_type.enum_class is None:
        enum_values = tuple(sa_type.enums)
    return ColumnFacts(
        nullable=bool(column.nullable),
        generated=generated,
        has_default=has_default,
        scalar_default=scalar_default,
        length=getattr(sa_type, "length", None) if not enum_values else None,
        precision=getattr(sa_type, "precision", None) if _is_numeric(sa_type) else None,
        scale=getattr(sa_type, "scale", None) if _is_numeric(sa_type) else None,
        enum_values=enum_values,
        references=_references(info.model, column),
    )


def _is_numeric(sa_type: Any) -> bool:
    from sqlalchemy.types import Numeric

    return isinstance(sa_type, Numeric) and bool(getattr(sa_type, "asdecimal", False))


def _references(model: type, column: Any) -> tuple[tuple[type, str], ...]:
    found: list[tuple[type, str]] = []
    mapper = model_info(model).mapper
    for fk in column.foreign_keys:
        target = fk.column
        for other in mapper.registry.mappers:
            if target.table in other.tables:
                try:
                    key = other.get_property_by_column(target).key
                except Exception:  # the column is not mapped on that class
                    continue
                found.append((other.class_, key))
                break
    return tuple(found)


@dataclass(frozen=True)
class ForeignKeyFacts:
    """One foreign key constraint of a model's table, by attribute names (for writing)."""

    columns: tuple[str, ...]
    """The model's attributes, in the constraint's order."""
    target: type
    target_columns: tuple[str, ...]
    """The referenced model's attributes, pairwise with ``columns``."""


def foreign_keys(model: type) -> tuple[ForeignKeyFacts, ...]:
    """Every foreign key constraint of ``model``'s tables whose columns (on both sides) are
    mapped attributes: a composite key is one constraint, checked as a whole."""
    mapper = model_info(model).mapper
    found: list[ForeignKeyFacts] = []
    for table in mapper.tables:
        if not isinstance(table, Table):
            continue  # a select() mapped as a class: no constraints
        for constraint in sorted(table.foreign_key_constraints, key=lambda c: tuple(c.column_keys)):
            try:
                local = tuple(mapper.get_property_by_column(c).key for c in constraint.columns)
            except Exception:  # a column of the table the model does not map
                continue
            remote = [element.column for element in constraint.elements]
            for other in mapper.registry.mappers:
                if remote[0].table not in other.tables:
                    continue
                try:
                    target = tuple(other.get_property_by_column(c).key for c in remote)
                except Exception:  # the referenced columns are not mapped on that class
                    continue
                found.append(ForeignKeyFacts(local, other.class_, target))
                break
    return tuple(found)


def unique_keys(model: type) -> tuple[tuple[str, ...], ...]:
    """The attribute sets of ``model`` the database keeps unique besides its primary key:
    ``unique=True`` columns, ``UniqueConstraint``s and unique indexes (plain columns only)."""
    info = model_info(model)
    mapper = info.mapper
    primary = set(info.primary_key)
    found: list[tuple[str, ...]] = []
    for table in mapper.tables:
        if not isinstance(table, Table):
            continue  # a select() mapped as a class: no constraints
        sets: list[list[Any]] = [
            list(c.columns) for c in table.constraints if isinstance(c, UniqueConstraint)
        ]
        sets += [
            list(ix.columns)
            for ix in table.indexes
            if ix.unique
            and len(ix.columns) == len(ix.expressions)  # no expression index
            and not any(
                k.endswith("_where") and v is not None for k, v in ix.dialect_kwargs.items()
            )
        ]
        sets += [[c] for c in table.columns if c.unique]
        for columns in sets:
            try:
                names = tuple(mapper.get_property_by_column(c).key for c in columns)
            except Exception:  # an unmapped column
                continue
            if names and set(names) != primary and names not in found:
                found.append(names)
    return tuple(found)


@dataclass(frozen=True)
class RelationFacts:
    """How a relationship joins, for writing through it."""

    pairs: tuple[tuple[str, str], ...]
    """(parent attribute, child attribute) of each local/remote column pair (not secondary)."""
    viewonly: bool
    delete_orphan: bool
    remote_nullable: bool
    """Every remote (child) foreign key column is nullable: the child can be unlinked."""


def relation_facts(rel: RelationInfo) -> RelationFacts:
    """The `RelationFacts` of a relationship."""
    prop = rel.prop
    pairs: list[tuple[str, str]] = []
    nullable = True
    if prop.secondary is None:
        parent = prop.parent
        child = prop.mapper
        for local, remote in prop.local_remote_pairs or ():
            try:
                pairs.append(
                    (
                        parent.get_property_by_column(local).key,
                        child.get_property_by_column(remote).key,
                    )
                )
            except Exception:  # an unmapped column of an unusual join
                continue
            nullable = nullable and bool(getattr(remote, "nullable", True))
            nullable = nullable and not bool(getattr(remote, "primary_key", False))
    return RelationFacts(
        pairs=tuple(pairs),
        viewonly=bool(prop.viewonly),
        delete_orphan=bool(prop.cascade.delete_orphan),
        remote_nullable=nullable,
    )
