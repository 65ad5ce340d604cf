"""`load`: a validated body into ORM objects, all or nothing, in a bounded number of reads.

Three phases:

1. **check**: the body against the limits and the input model (no statement);
2. **read**: the existing tree (replace, patch) and the referenced rows, one statement per
   relationship of the shape and per referenced model, plus one for the root's key on create,
   whatever the body's size; every problem found is collected, none stops the reading;
3. **apply**, only if there is no problem: objects created, updated, unlinked or deleted in the
   session, which the caller's flush and commit write (inserts batched by the flush).

All reads run under ``session.no_autoflush``: a read must not flush what the caller has
pending, and on an `InputError` the session is exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    cast,
    column,
    false,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import values as sa_values
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import Cast

from ..errors import InputError
from ..inspection import NO_DEFAULT, ModelInfo, model_info
from ..tree import ShapeNode, memo_lookup
from .input_model import InputModel, input_model, nul_pattern_dict, twin_extent
from .limits import DEFAULT_LIMITS, Limits, limit_errors
from .plan import KEEP, WriteChild, WritePlan, WriteRef, memo_key
from .rules import Mode

__all__ = ["load", "validate"]

Loc = tuple[Any, ...]
_NONE: dict[str, Any] = {}
"""The references and children of an item whose node has none (shared, never written)."""
_READS = memo_key("reads", None)
_MODELS = memo_key("load_models", None)
Key = tuple[Any, ...]


@dataclass(eq=False, slots=True)
class Item:
    """One object of a body, validated: what it gives, where it is, what it matches.

    Its location is kept as its parent item, its key there and its index, and `loc` builds
    the JSON path only when an error needs it: a valid body makes no path tuples.
    """

    plan: WritePlan
    mode: Mode
    up: Item | None
    """The item this one is a child of (``None`` at the root)."""
    name: str | None
    """This item's key in ``up``'s body."""
    index: int | None
    """This item's position in that collection (``None`` for a one-to-one child)."""
    values: dict[str, Any]
    refs: dict[str, Any]
    children: dict[str, list[Item] | Item | None]
    key: Key | None
    match: Any = None
    removed: dict[str, list[Any]] | None = None

    @property
    def loc(self) -> Loc:
        """This item's JSON path in the body."""
        if self.up is None:
            return ()
        if self.index is None:
            return (*self.up.loc, self.name)
        return (*self.up.loc, self.name, self.index)

    def child_list(self, name: str) -> list[Item]:
        value = self.children.get(name)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def ref_locs(self, group: tuple[type, tuple[str, ...]], key: Key) -> list[Loc]:
        """The JSON paths where this item references the row ``key`` of ``group``."""
        found: list[Loc] = []
        for ref in self.plan.refs:
            if ref.group != group or ref.name not in self.refs:
                continue
            given = self.refs[ref.name]
            body_key = self.plan.body_key(ref.name)
            if ref.many:
                found += [(*self.loc, body_key, i) for i, k in enumerate(given) if k == key]
            elif given == key:
                found.append((*self.loc, body_key))
        return found


def validate(
    node: ShapeNode, body: Any, mode: Mode, *, limits: Limits = DEFAULT_LIMITS
) -> InputModel:
    """``body`` as the ``mode`` input model, or `InputError` with every problem of the body."""
    value = _validate(input_model(node, mode, limits=limits), None, body, limits)
    assert isinstance(value, InputModel)
    return value


Twin = Callable[[Any], dict[str, Any]]
"""Validates a body by `nul_pattern_dict`'s ``TypedDict`` (its validator's ``validate_python``)."""


def _validate(
    model: type[InputModel],
    twin: Twin | None,
    body: Any,
    limits: Limits,
    *,
    bounded: bool = False,
) -> InputModel | dict[str, Any]:
    """`validate` with ``model`` found; first with ``twin`` (its `nul_pattern_dict`'s
    validator) if given: what it accepts, ``model`` accepts as the same values, which it gives
    as dictionaries of the given keys; for anything it refuses (rare: an invalid body, or
    instances of ``model``'s classes), ``model``'s own verdict: its instance, or its errors.

    ``bounded``: every body ``twin`` accepts is within ``limits`` (`twin_extent`), so the
    limits' walk runs only for a body it refuses, before ``model`` looks at it: the same
    verdicts, errors and order of checks as walking first.
    """
    if isinstance(body, model):
        return body
    if isinstance(body, InputModel):
        raise TypeError(
            f"This shape loads {model.__name__} bodies, got a {type(body).__name__} (another "
            f"shape's or mode's input model)."
        )
    if twin is not None and bounded:
        try:
            return twin(body)
        except ValidationError:
            pass  # the limits, then the input model's own verdict and errors, below
    errors = limit_errors(body, limits)
    if errors:
        raise InputError(errors)
    if twin is not None and not bounded:
        try:
            return twin(body)
        except ValidationError:
            pass  # the input model's own verdict and errors, below
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InputError(
            [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        ) from None


def _models(node: ShapeNode, mode: Mode, limits: Limits) -> tuple[type[InputModel], Twin, bool]:
    """The input model of ``node`` for ``mode``, its `nul_pattern_dict` twin's validator and
    whether every body the twin accepts is within ``limits``, looked up once per (mode,
    limits) in one dictionary on the node (what `load` does per call)."""
    table: dict[tuple[Mode, Limits], tuple[type[InputModel], Twin, bool]] = memo_lookup(
        node, _MODELS, dict
    )
    found = table.get((mode, limits))
    if found is None:
        twin = nul_pattern_dict(node, mode, limits=limits)
        extent = twin_extent(twin)
        bounded = (
            extent is not None and extent[0] <= limits.max_total and extent[1] <= limits.max_depth
        )
        # The validator's own method: TypeAdapter.validate_python adds a Python frame per call.
        validate_twin = TypeAdapter(twin).validator.validate_python
        found = table.setdefault(
            (mode, limits), (input_model(node, mode, limits=limits), validate_twin, bounded)
        )
    return found


def load(
    node: ShapeNode,
    body: Any,
    *,
    session: Session,
    instance: Any = None,
    partial: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Any:
    """Create (no ``instance``), replace (``instance``) or patch (``partial=True``) from ``body``.

    Returns the root object, added to ``session`` and not flushed. Raises `InputError` with
    every problem of the body (and leaves the session as it was), `SpecError` for a shape
    that cannot be written.
    """
    if not isinstance(session, Session):
        raise TypeError(
            f"load() needs a sqlalchemy.orm.Session as session=, got {type(session).__name__}"
            f" (for an AsyncSession use treeshape.asyncio.aload)."
        )
    if partial and instance is None:
        raise TypeError("partial=True is a patch of an existing object: pass instance=...")
    if instance is not None and not isinstance(instance, node.model):
        raise TypeError(
            f"This shape writes {node.info.name} objects, got instance= of type "
            f"{type(instance).__name__}."
        )
    mode: Mode = "create" if instance is None else "patch" if partial else "replace"
    model, twin, bounded = _models(node, mode, limits)
    plan = model.__treeshape_plan__
    assert plan is not None
    value = _validate(model, twin, body, limits, bounded=bounded)
    run = _Run(session, node)
    root = run.parse(plan, model, value)
    with session.no_autoflush:
        run.read(plan, root, instance)
        if run.errors:
            raise InputError(run.errors)
        if instance is None:
            obj = run.build(plan, root)
            session.add(obj)
            return obj
        run.update(plan, instance, root)
        if sa_inspect(instance).session is not session:
            # Adding cascades over the whole loaded tree; an object already in this session
            # has its changes tracked by the attribute events without it.
            session.add(instance)
        return instance


def _flat(keys: Sequence[Key], width: int) -> list[Any]:
    """``keys`` as an expanding parameter's values: scalars for one column, tuples else."""
    return [k[0] for k in keys] if width == 1 else [tuple(k) for k in keys]


def _in(columns: Sequence[Any], name: str) -> Any:
    """``columns IN (:name)`` with the list bound at execution, so that one statement
    serves every body."""
    target = columns[0] if len(columns) == 1 else tuple_(*columns)
    return target.in_(bindparam(name, expanding=True))


def _rows_statement(model: type, attrs: Sequence[str], *, objects: bool) -> Any:
    columns = [getattr(model, a) for a in attrs]
    return (select(model) if objects else select(*columns)).where(_in(columns, "keys"))


def _children_statement(child: WriteChild, *, parents: bool, natural: bool) -> Any:
    """The children of some parents (``:parents``) and/or those with one of some natural
    keys (``:natural``), in the relationship's order."""
    model = child.plan.info.model
    conditions = []
    if parents:
        conditions.append(_in([getattr(model, c) for _, c in child.facts.pairs], "parents"))
    if natural:
        conditions.append(_in([getattr(model, k) for k in child.plan.key], "natural"))
    # The relationship's own order (columns of the child's table), then the key: what a
    # later read of the collection in this session shows.
    order = [*child.rel.info.order_by, *(getattr(model, k) for k in child.plan.info.primary_key)]
    return select(model).where(or_(*conditions)).order_by(*order)


class _AsColumnType(Cast[Any]):
    """A given value as its column's type where the database needs it said: PostgreSQL
    resolves a text parameter and a ``citext`` column to ``text``, compared with case (a CAST
    there). Elsewhere the value itself: a CAST on MariaDB would give it the connection's
    collation, where the union gives it the column's."""

    inherit_cache = True


@compiles(_AsColumnType)
def _as_is(element: _AsColumnType, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clause, **kw))


@compiles(_AsColumnType, "postgresql")
def _as_cast(element: _AsColumnType, compiler: Any, **kw: Any) -> str:
    return str(compiler.visit_cast(element, **kw))


def _unique_statement(
    model: type, names: Sequence[str], from_parent: Sequence[bool], rows: list[tuple[Any, ...]]
) -> Any:
    """The rows ``(0, i, None, *primary key)`` of the stored rows equal to given row ``i`` on
    ``names``, and ``(1, i, j, None...)`` for given rows ``i < j`` equal to each other (in one
    group, on the columns a body writes), each ``rows`` entry being ``(i, group, *values)``.

    Equal is the database's own comparison: the given values go through a union whose first
    (empty) branch is the table's columns, which gives them the columns' types and collations
    (a citext, a NOCASE or a case-insensitive MariaDB column), so the comparisons among the
    given values are the ones the unique index makes.
    """
    columns = [getattr(model, n) for n in names]
    # A parent's value the flush generates is a NULL of the column's type: a column of NULLs
    # only would be text to PostgreSQL, which cannot compare it with an integer column.
    typed_nulls = {n: cast(null(), c.type) for n, c in enumerate(columns) if from_parent[n]}
    if typed_nulls:
        rows = [
            (
                i,
                g,
                *(
                    typed_nulls[n] if v is None and n in typed_nulls else v
                    for n, v in enumerate(vs)
                ),
            )
            for i, g, *vs in rows
        ]
    values = (
        sa_values(
            column("i", Integer),
            column("g", Integer),
            *(column(f"v{n}", c.type) for n, c in enumerate(columns)),
            name="given",
        )
        .data(rows)
        .cte("given")
    )
    typed = union_all(
        select(
            literal(-1, Integer).label("i"),
            literal(-1, Integer).label("g"),
            *(c.label(f"v{n}") for n, c in enumerate(columns)),
        ).where(false()),
        select(
            values.c.i,
            values.c.g,
            *(_AsColumnType(values.c[f"v{n}"], c.type) for n, c in enumerate(columns)),
        ),
    ).cte("typed")
    info = model_info(model)
    primary = [getattr(model, k) for k in info.primary_key]
    stored = select(
        literal(0, Integer),
        typed.c.i,
        null().label("j"),
        *(p.label(f"p{n}") for n, p in enumerate(primary)),
    ).join_from(typed, model, and_(*(c == typed.c[f"v{n}"] for n, c in enumerate(columns))))
    a, b = typed.alias("a"), typed.alias("b")
    compared = [a.c[f"v{n}"] == b.c[f"v{n}"] for n, parent in enumerate(from_parent) if not parent]
    twice = select(literal(1, Integer), a.c.i, b.c.i, *(null() for _ in primary)).join_from(
        a, b, and_(a.c.g == b.c.g, a.c.i < b.c.i, *compared)
    )
    return union_all(stored, twice)


def _edit_in_place(current: Any, result: list[Any]) -> bool:
    """Make the loaded collection ``current`` into ``result`` by deleting and appending, if
    ``result`` keeps ``current``'s order and adds at the end only (a replace that leaves
    the order alone): the events then fire for the changed children only, where assigning
    the list fires one for every child. ``False`` (nothing done) otherwise."""
    wanted = {id(c) for c in result}
    kept = [c for c in current if id(c) in wanted]
    if len(kept) > len(result) or any(a is not b for a, b in zip(kept, result, strict=False)):
        return False
    if len(wanted) != len(result):
        return False  # one object twice: let the assignment decide
    # By position, never by ==, which a model may define by value.
    for index in reversed([i for i, c in enumerate(current) if id(c) not in wanted]):
        del current[index]
    current.extend(result[len(kept) :])
    return True


def _one(values: Sequence[Any]) -> Any:
    return values[0] if len(values) == 1 else tuple(values)


def _text(key: Key) -> str:
    return repr(key[0]) if len(key) == 1 else repr(tuple(key))


@dataclass(frozen=True)
class _Reader:
    """How to read the given keys of one input model class's bodies, made once per class: for
    each kind of key, the plan's entry, the attribute on the model and what `parse` needs with
    it."""

    mode: Mode
    renamed: tuple[tuple[str, str], ...] | None
    """(written attribute, model attribute) of every field, if a model attribute is not the
    written attribute (a key like ``schema``); ``None`` if every field is its own name."""
    refs: tuple[tuple[str, str, tuple[type, tuple[str, ...]], bool], ...]
    """(model attribute, reference name, its `WriteRef.group`, `WriteRef.many`)."""
    children: tuple[tuple[WriteChild, str, str, type[InputModel]], ...]
    """(child, model attribute, body key, the input model of its items)."""
    key: tuple[str, ...]
    single: str | None
    """The key's one attribute, if it has one (`key` has one entry)."""
    checked: bool
    """Whether `_Run._columns` looks at the items: foreign keys written or unique columns."""


def _reader(model: type[InputModel], plan: WritePlan) -> _Reader:
    """The `_Reader` of ``model``, made once per class."""
    reader: _Reader | None = model.__dict__.get("__treeshape_reader__")
    if reader is None:
        names = model.__treeshape_attributes__
        fields = tuple((f.name, names[f.name]) for f in plan.fields if f.name in names)
        reader = _Reader(
            mode=model.__treeshape_mode__,  # type: ignore[arg-type]
            renamed=fields if any(w != a for w, a in fields) else None,
            refs=tuple(
                (names[r.name], r.name, r.group, r.many) for r in plan.refs if r.name in names
            ),
            children=tuple(
                (c, names[c.name], plan.body_key(c.name), model.__treeshape_children__[c.name])
                for c in plan.children
                if c.name in names
            ),
            key=plan.key,
            single=plan.key[0] if len(plan.key) == 1 else None,
            checked=bool(plan.foreign_keys or plan.uniques),
        )
        model.__treeshape_reader__ = reader  # type: ignore[attr-defined]
    return reader


def _given(model: type[InputModel], value: InputModel) -> dict[str, Any]:
    """An input model's instance (a body FastAPI validated, or one the twin refused) as the
    twin's dictionary of it: its given keys, in the model's order, its children alike."""
    state = value.__dict__
    given = value.__pydantic_fields_set__
    # The declared class's fields: a subclass's own fields are no part of the body.
    result = {a: state[a] for a in model.model_fields if a in given}
    names = model.__treeshape_attributes__
    for name, child in model.__treeshape_children__.items():
        raw = result.get(names[name])
        if isinstance(raw, list):
            result[names[name]] = [_given(child, v) for v in raw]
        elif raw is not None:
            result[names[name]] = _given(child, raw)
    return result


_ABSENT: Any = object()
"""What `dict.pop` gives for a key a body leaves out."""


class _Run:
    """The state of one `load`: problems found, references to check, rows read."""

    def __init__(self, session: Session, node: ShapeNode) -> None:
        self.session = session
        self.node = node
        self.errors: list[dict[str, Any]] = []
        # (model, attributes) -> the keys of the rows needed and, pairwise, the items (or
        # paths) that need them: two appends per reference, grouped by key only for an error
        self.wanted: dict[tuple[type, tuple[str, ...]], tuple[list[Key], list[Item | Loc]]] = {}
        self.found: dict[tuple[type, tuple[str, ...]], dict[Key, Any]] = {}
        # the groups whose rows are needed as objects (many-to-many memberships)
        self.objects: set[tuple[type, tuple[str, ...]]] = set()
        # the items whose plan has foreign keys written directly or unique columns
        self.checked: list[Item] = []

    def error(self, loc: Loc, msg: str, kind: str) -> None:
        self.errors.append({"loc": loc, "msg": msg, "type": kind})

    # -- the body as items ------------------------------------------------------------------

    def parse(
        self, plan: WritePlan, model: type[InputModel], value: InputModel | dict[str, Any]
    ) -> Item:
        """The root ``value`` (of ``model``, or `nul_pattern_dict`'s dictionary of it) and its
        children as items; the references they make are noted in `wanted`, by the item."""
        if value.__class__ is not dict:
            value = _given(model, value)  # type: ignore[arg-type]
        return self._items(plan, _reader(model, plan), (value,), None, None, False)[0]

    def _items(
        self,
        plan: WritePlan,
        reader: _Reader,
        values: Sequence[dict[str, Any]],
        up: Item | None,
        name: str | None,
        many: bool,
    ) -> list[Item]:
        """The items of ``values``, the twin's dictionaries of ``reader``'s class (the given
        keys only), reached from ``up`` at ``name`` (a collection if ``many``, else one child
        or the root), each followed by its children (the body's order: the order of `wanted`
        and `checked`).

        Each dictionary becomes its item's values, once its references and children are taken
        out of it: it is the validation's own, which nothing else holds, and its fields are in
        the plan's order (the constructor's). One call per collection, not per object: what
        every object of the collection shares (the reader's parts) is looked up once.
        """
        key = reader.key
        single = reader.single
        renamed = reader.renamed
        refs_of = reader.refs
        children_of = reader.children
        mode = reader.mode
        checked = self.checked if reader.checked else None
        wanted = self.wanted
        absent = _ABSENT
        items = []
        new_item = object.__new__
        for index, written in enumerate(values):
            # A node without references or children shares one empty dict (never written).
            refs: dict[str, Any] = {} if refs_of else _NONE
            children: dict[str, list[Item] | Item | None] = {} if children_of else _NONE
            # Every field stored here rather than through the generated __init__ (a Python
            # frame per object); `Item` lists the fields, `test_item_fields` checks this list.
            item = new_item(Item)
            item.plan = plan
            item.mode = mode
            item.up = up
            item.name = name
            item.index = index if many else None
            item.refs = refs
            item.children = children
            item.match = None
            item.removed = None
            items.append(item)
            for attr, ref_name, group, ref_many in refs_of:
                raw = written.pop(attr, absent)
                if raw is absent:
                    continue
                if ref_many:
                    self.objects.add(group)
                    keys = [k if k.__class__ is tuple else (k,) for k in raw or ()]
                    for one in keys:
                        self._want(group, one, item)
                    refs[ref_name] = keys
                elif raw is None:
                    refs[ref_name] = None
                else:
                    one = raw if raw.__class__ is tuple else (raw,)
                    # `_want`, inlined: one call less per reference of every item
                    lists = wanted.get(group)
                    if lists is None:
                        lists = wanted[group] = ([], [])
                    lists[0].append(one)
                    lists[1].append(item)
                    refs[ref_name] = one
            for child, attr, body_key, child_model in children_of:
                raw = written.pop(attr, absent)
                if raw is absent:
                    continue
                sub = child.plan
                if child.many:
                    children[child.name] = (
                        self._items(sub, _reader(child_model, sub), raw, item, body_key, True)
                        if raw
                        else []
                    )
                elif raw is None:
                    children[child.name] = None
                else:
                    reader_of = _reader(child_model, sub)
                    children[child.name] = self._items(
                        sub, reader_of, (raw,), item, body_key, False
                    )[0]
            if renamed is not None:
                written = {w: written[a] for w, a in renamed if a in written}
            item.values = written
            if single is not None:
                item.key = (written[single],) if single in written else None
            elif all(k in written for k in key):
                item.key = tuple(written[k] for k in key)
            else:
                item.key = None
            if checked is not None:
                checked.append(item)
        return items

    def _want(self, group: tuple[type, tuple[str, ...]], key: Key, where: Item | Loc) -> None:
        """Note that a row of ``group`` with ``key`` must exist, for ``where``: the item that
        references it (its paths are found again only for an error), or a path."""
        wanted = self.wanted.get(group)
        if wanted is None:
            wanted = self.wanted[group] = ([], [])
        wanted[0].append(key)
        wanted[1].append(where)

    # -- reading: the existing tree and the referenced rows ---------------------------------

    def read(self, plan: WritePlan, root: Item, instance: Any) -> None:
        if instance is None:
            if (
                root.key is not None
                and not plan.key_generated
                and (
                    root.key in self._pending(plan.info.model, plan.key)
                    or self._rows(plan.info, plan.key, [root.key])
                )
            ):
                self.error(
                    (*root.loc, plan.body_key(plan.key[0])) if len(plan.key) == 1 else root.loc,
                    f"A {plan.info.name} with {'/'.join(plan.key)} {_text(root.key)} "
                    f"already exists.",
                    "already_exists",
                )
            self._children(plan, [], [root], [])
        else:
            for name in plan.key:
                if name in root.values and root.values[name] != getattr(instance, name):
                    self.error(
                        (*root.loc, plan.body_key(name)),
                        f"{plan.body_key(name)} {root.values[name]!r} differs from the "
                        f"{plan.info.name} being written ({getattr(instance, name)!r}): a "
                        f"body cannot change the identity of the object it replaces.",
                        "identity_changed",
                    )
            root.match = instance
            self._children(plan, [(instance, root)], [root], [])
        self._columns()
        self._references()

    def _pending(
        self, model: type, attrs: Sequence[str], *, deleted: bool = False
    ) -> dict[Key, Any]:
        """The objects of ``model`` the session adds (or with ``deleted``, deletes) at its
        next flush, by ``attrs``: a reference to a pending row is as good as one to a stored
        row, and a stored row being deleted is none (reads run without autoflush)."""
        found: dict[Key, Any] = {}
        for obj in self.session.deleted if deleted else self.session.new:
            if isinstance(obj, model):
                key = tuple(getattr(obj, a) for a in attrs)
                if None not in key:
                    found[key] = obj
        return found

    def _columns(self) -> None:
        """Foreign keys written directly (each constraint as a whole, with the matched row's
        values for the columns a patch leaves out) to check with the references; then the
        unique column sets, against the stored rows, the pending ones and the body itself."""
        uniques: dict[tuple[type, tuple[str, ...]], list[tuple[Key, Item]]] = {}
        for item in self.checked:
            plan = item.plan
            for fk in plan.foreign_keys:
                if not any(c in item.values for c in fk.columns):
                    continue  # unchanged
                key = self._value(item, fk.columns)
                if None not in key:
                    loc = (
                        *item.loc,
                        plan.body_key(next(c for c in fk.columns if c in item.values)),
                    )
                    self._want((fk.target, fk.target_columns), key, loc)
            parents = dict(plan.set_by_parent)
            for names in plan.uniques:
                if item.match is not None and not any(c in item.values for c in names):
                    continue  # unchanged: a conflict would be the other item's
                key = self._value(item, names)
                # NULLs never collide; a column the parent sets may be unknown yet (a parent
                # the flush gives its key): compared within the parent only
                if not any(v is None for n, v in zip(names, key, strict=True) if n not in parents):
                    uniques.setdefault((plan.info.model, names), []).append((key, item))
        for (model, names), given in uniques.items():
            self._unique(model, names, given)

    @staticmethod
    def _value(item: Item, names: Sequence[str]) -> Key:
        """The values ``item`` leaves in ``names`` once written: the body's, else the matched
        row's (a patch), else what a create gives (the plain default, or NULL)."""
        result = []
        parents = dict(item.plan.set_by_parent)
        for name in names:
            if name in item.values:
                result.append(item.values[name])
            elif name in parents and item.up is not None:
                # set by the parent's relationship: the parent's value, None if it has none
                # yet (a key the flush generates)
                up, attr = item.up, parents[name]
                matched = up.match is not None
                result.append(getattr(up.match, attr) if matched else up.values.get(attr))
            elif item.match is not None and item.mode == "patch":
                result.append(getattr(item.match, name))
            else:
                write = item.plan.field(name)
                default = write.facts.scalar_default if write is not None else NO_DEFAULT
                result.append(None if default is NO_DEFAULT else default)
        return tuple(result)

    def _unique(self, model: type, names: tuple[str, ...], given: list[tuple[Key, Item]]) -> None:
        """One statement: the body's values of ``names`` compared with each other and with
        the stored rows by the database itself, so that its collation decides what is equal
        (``"A@X"`` is ``"a@x"`` under a case-insensitive one, MariaDB's default, SQLite's
        NOCASE, PostgreSQL's citext); then the values pending in the session."""
        info = model_info(model)
        what = "/".join(names)
        parents = dict(given[0][1].plan.set_by_parent)
        # Values under one parent compete; under two parents, the parent's columns differ.
        groups: dict[int, int] = {}
        rows = []
        for index, (key, item) in enumerate(given):
            group = groups.setdefault(id(item.up), len(groups)) if parents else 0
            rows.append((index, group, *key))
        stored: dict[int, Key] = {}
        twice: dict[int, int] = {}
        for kind, index, other, *primary in self.session.execute(
            _unique_statement(model, names, [n in parents for n in names], rows)
        ):
            if kind == 0:
                stored.setdefault(index, tuple(primary))
            else:
                twice[other] = min(index, twice.get(other, index))
        for index in sorted(twice):
            key, item = given[index]
            first = given[twice[index]][1]
            self.error(
                (*item.loc, item.plan.body_key(self._written(names, parents))),
                f"{what} {_text(key)} is given twice in this body (also at "
                f"{'.'.join(map(str, first.loc)) or 'the root'}); {info.name}.{what} "
                f"is unique.",
                "duplicate_value",
            )
        pending = self._pending(model, names)
        for key, item in given:
            other = pending.get(key)
            if other is not None and other is not item.match:
                self.error(
                    (*item.loc, item.plan.body_key(self._written(names, parents))),
                    f"{what} {_text(key)} is taken by a {info.name} pending in the session; "
                    f"{info.name}.{what} is unique.",
                    "already_exists",
                )
        for index in sorted(stored):
            key, item = given[index]
            holder = stored[index]
            match = item.match
            if match is not None and tuple(getattr(match, k) for k in info.primary_key) == holder:
                continue  # the row the item writes itself
            self.error(
                (*item.loc, item.plan.body_key(self._written(names, parents))),
                f"A {info.name} with {what} {_text(key)} already exists "
                f"({'/'.join(info.primary_key)} {_text(holder)}); {info.name}.{what} "
                f"is unique.",
                "already_exists",
            )

    @staticmethod
    def _written(names: tuple[str, ...], parents: dict[str, str]) -> str:
        """The first of ``names`` a body writes (the others the parent sets): where an error
        about the set points."""
        return next(n for n in names if n not in parents)

    def _rows(
        self, info: ModelInfo, attrs: Sequence[str], keys: Sequence[Key], *, objects: bool = False
    ) -> list[Any]:
        """The keys (or with ``objects``, the objects) of the rows of ``info`` whose ``attrs``
        are one of ``keys``, in one statement."""
        stmt = self._statement(
            ("rows", info.model, tuple(attrs), objects),
            lambda: _rows_statement(info.model, attrs, objects=objects),
        )
        params = {"keys": [k[0] for k in keys] if len(attrs) == 1 else [tuple(k) for k in keys]}
        if objects:
            return list(self.session.scalars(stmt, params).all())
        return [tuple(row) for row in self.session.execute(stmt, params)]

    def _statement(self, what: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """A read statement of this shape, built once and cached on the root node: building
        a statement costs more than running it from SQLAlchemy's compiled cache."""
        statements: dict[tuple[Any, ...], Any] = memo_lookup(self.node, _READS, dict)
        stmt = statements.get(what)
        if stmt is None:
            # Two threads may build one at once: equal statements, the first one stays.
            stmt = statements.setdefault(what, build())
        return stmt

    def _references(self) -> None:
        for (model, attrs), (keys, entries) in self.wanted.items():
            info = model_info(model)
            objects = (model, attrs) in self.objects
            wanted = dict.fromkeys(keys)  # each key once, in body order
            pending = self._pending(model, attrs)
            found = {key: pending[key] if objects else key for key in wanted if key in pending}
            # The rows the session deletes at its next flush are no targets any more.
            gone = self._pending(model, attrs, deleted=True)
            rest = [key for key in wanted if key not in found]
            if rest and objects:
                rows = self._rows(info, attrs, rest, objects=True)
                found.update((tuple(getattr(row, a) for a in attrs), row) for row in rows)
            elif rest:
                found.update((key, key) for key in self._rows(info, attrs, rest))
            for key in gone:
                found.pop(key, None)
            self.found[(model, attrs)] = found
            for key in wanted:
                if key not in found:
                    whose = [entry for k, entry in zip(keys, entries, strict=True) if k == key]
                    for loc in self._locs((model, attrs), key, whose):
                        self.error(
                            loc,
                            f"No {info.name} with {'/'.join(attrs)} {_text(key)}.",
                            "not_found",
                        )

    @staticmethod
    def _locs(
        group: tuple[type, tuple[str, ...]], key: Key, entries: list[Item | Loc]
    ) -> list[Loc]:
        """The paths of ``entries`` (`wanted`'s) that reference ``key``, in body order."""
        locs: list[Loc] = []
        seen: set[int] = set()
        for entry in entries:
            if not isinstance(entry, Item):
                locs.append(entry)
            elif id(entry) not in seen:
                seen.add(id(entry))
                locs += entry.ref_locs(group, key)
        return locs

    def _children(
        self,
        plan: WritePlan,
        pairs: list[tuple[Any, Item]],
        items: list[Item],
        doomed: list[Any],
    ) -> None:
        """Match the children of ``items`` (those of ``pairs`` exist) at every relationship.

        ``doomed`` are existing objects the body deletes: their children in the shape are read
        too (in the same statement), so that deleting them cascades without a query per object.
        """
        for child in plan.children:
            parents = [(obj, item) for obj, item in pairs if child.name in item.children]
            givers = [item for item in items if child.name in item.children]
            if not givers and not doomed:
                continue
            sub = child.plan
            child_items = [c for item in givers for c in item.child_list(child.name)]
            natural = []
            if sub.key_independent and not sub.key_generated:
                natural = [c.key for c in child_items if c.key is not None]
            owners = [obj for obj, _ in parents] + doomed
            existing, taken = self._existing(child, owners, natural)
            matched: list[tuple[Any, Item]] = []
            next_doomed = [c for obj in doomed for c in existing.get(id(obj), [])]
            matched_parents = {id(item) for _, item in parents}
            for obj, item in parents:
                current = existing.get(id(obj), [])
                key_of = sub.key_of
                by_key = {key_of(c): c for c in current}
                used = self._match(child, item, by_key, taken, matched)
                removed = [c for k, c in by_key.items() if k not in used]
                if item.removed is None:
                    item.removed = {}
                item.removed[child.name] = removed
                if child.on_missing == "delete":
                    next_doomed += removed
                if removed and child.on_missing == "error":
                    keys = ", ".join(_text(k) for k in by_key if k not in used)
                    what = (
                        f"existing {sub.info.name} children ({'/'.join(sub.key)} {keys})"
                        if child.many
                        else f"the existing {sub.info.name}"
                        + (f" ({'/'.join(sub.key)} {keys})" if sub.key else "")
                    )
                    self.error(
                        (*item.loc, item.plan.body_key(child.name)),
                        f"The body leaves out {what}; send it too, or declare "
                        f"ts.include(..., on_missing='delete'|'unlink'|'keep').",
                        "missing_children",
                    )
            for item in givers:
                if id(item) not in matched_parents:
                    self._match(child, item, {}, taken, matched)
            for c in child_items:
                if c.match is None and c.mode == "patch":
                    self._creatable(c)
            self._children(sub, matched, child_items, next_doomed)

    def _creatable(self, item: Item) -> None:
        """A patch that gives a one-to-one child its parent does not have creates it: the
        child must then carry what a create needs (its patch model cannot require it)."""
        plan = item.plan
        missing = [
            f.name
            for f in plan.fields
            if f.required_on_create
            and f.name not in item.values
            and not (plan.key_generated and f.name in plan.key)
        ]
        missing += [r.name for r in plan.refs if r.required_on_create and r.name not in item.refs]
        parent = item.loc[-1] if item.loc else plan.info.name
        for name in missing:
            self.error(
                (*item.loc, plan.body_key(name)),
                f"Field required: this patch creates the {plan.info.name} at {parent!r} (there "
                f"is none yet), and a new {plan.info.name} needs {name!r}.",
                "missing",
            )

    def _match(
        self,
        child: WriteChild,
        item: Item,
        by_key: dict[Key, Any],
        taken: set[Key],
        matched: list[tuple[Any, Item]],
    ) -> set[Key]:
        sub = child.plan
        used: set[Key] = set()
        for c in item.child_list(child.name):
            key: Key | None = c.key
            if key is None and not child.many and len(by_key) == 1:
                key = next(iter(by_key))  # a single child without its key: the existing one
            if key is None:
                continue
            if key in used:
                self.error(
                    (*c.loc, sub.body_key(sub.key[0])) if len(sub.key) == 1 else c.loc,
                    f"{'/'.join(sub.key)} {_text(key)} is given twice in this collection.",
                    "duplicate_key",
                )
                continue
            used.add(key)
            found = by_key.get(key)
            if found is not None:
                c.match = found
                matched.append((found, c))
            elif sub.key_generated:
                self.error(
                    (*c.loc, sub.body_key(sub.key[0])) if len(sub.key) == 1 else c.loc,
                    f"{sub.info.name} {_text(key)} is not one of this "
                    f"{item.plan.info.name}'s {child.name}; leave the key out to create one.",
                    "not_a_child",
                )
            elif key in taken:
                self.error(
                    (*c.loc, sub.body_key(sub.key[0])) if len(sub.key) == 1 else c.loc,
                    f"A {sub.info.name} with {'/'.join(sub.key)} {_text(key)} already exists "
                    f"and is not one of this {item.plan.info.name}'s {child.name}.",
                    "already_exists",
                )
        return used

    def _existing(
        self, child: WriteChild, parents: list[Any], natural: list[Key]
    ) -> tuple[dict[int, list[Any]], set[Key]]:
        """The current children of each of ``parents`` and which of ``natural`` keys exist.

        One statement at most: the children of the parents whose collection is not loaded,
        or whose key is one of ``natural``.
        """
        sub = child.plan
        result: dict[int, list[Any]] = {}
        need = []
        for obj in parents:
            if child.name in obj.__dict__:
                value = obj.__dict__[child.name]
                result[id(obj)] = list(value) if child.many else [] if value is None else [value]
            else:
                need.append(obj)
        if not need and not natural:
            return result, set()
        pairs = child.facts.pairs
        by_parent: dict[Key, Any] = {}
        params: dict[str, list[Any]] = {}
        for obj in need:
            by_parent[tuple(getattr(obj, p) for p, _ in pairs)] = obj
            result[id(obj)] = []
        if need:
            params["parents"] = _flat(list(by_parent), len(pairs))
        if natural:
            params["natural"] = _flat(natural, len(sub.key))
        stmt = self._statement(
            ("children", child.rel.info.model, child.name, bool(need), bool(natural)),
            lambda: _children_statement(child, parents=bool(need), natural=bool(natural)),
        )
        rows = self.session.scalars(stmt, params).all()
        taken = set()
        wanted = set(natural)
        for row in rows:
            owner = by_parent.get(tuple(getattr(row, c) for _, c in pairs))
            if owner is not None:
                result[id(owner)].append(row)
            key = tuple(getattr(row, k) for k in sub.key)
            if key in wanted:
                taken.add(key)
        for obj in need:
            rows_of = result[id(obj)]
            set_committed_value(
                obj, child.name, rows_of if child.many else (rows_of[0] if rows_of else None)
            )
        return result, taken

    # -- applying: only when the whole body is valid ----------------------------------------

    def _targets(self, ref: WriteRef, keys: list[Key]) -> list[Any]:
        """The rows a many-to-many reference lists (read, or pending, by `_references`)."""
        if not keys:
            return []
        found = self.found[ref.group]
        return [found[k] for k in keys]

    def build(self, plan: WritePlan, item: Item) -> Any:
        """A new object of ``item`` and its children."""
        return self._build(plan, (item,))[0]

    def _build(self, plan: WritePlan, items: Sequence[Item]) -> list[Any]:
        """New objects of ``items`` (all of ``plan``) and their children. An item's values
        become the constructor's arguments (with the foreign keys of its references): an item
        is built once. One call per collection, not per object, as in `_items`."""
        model = plan.info.model
        key_refs = plan.key_refs
        many_refs = plan.many_refs
        built = []
        for item in items:
            values = item.values
            refs = item.refs
            if refs:
                for name, positions in key_refs:
                    if name in refs:
                        key = refs[name]
                        for local, position in positions:
                            values[local] = None if key is None else key[position]
            obj = model(**values)
            if refs:
                for ref in many_refs:
                    if ref.name in refs:
                        setattr(obj, ref.name, self._targets(ref, refs[ref.name]))
            children = item.children
            if children:
                for child in plan.children:
                    if child.name not in children:
                        continue
                    objs = self._build(child.plan, item.child_list(child.name))
                    setattr(obj, child.name, objs if child.many else (objs[0] if objs else None))
            built.append(obj)
        return built

    def _set_refs(self, plan: WritePlan, obj: Any, item: Item) -> None:
        for ref in plan.refs:
            if ref.name in item.refs:
                keys = item.refs[ref.name]
                if ref.many:
                    setattr(obj, ref.name, self._targets(ref, keys))
                else:
                    self._set_key(ref, obj, keys)
            elif (
                item.mode == "replace" and not ref.many and ref.nullable and item.match is not None
            ):
                self._set_key(ref, obj, None)

    @staticmethod
    def _set_key(ref: WriteRef, obj: Any, key: Key | None) -> None:
        """A many-to-one through its foreign key columns: no object to load, no backref.

        A loaded value of the relationship would be stale now: it is dropped from the
        object's state, to load again if anything reads it.
        """
        state = obj.__dict__
        for local, position in ref.positions:
            value = None if key is None else key[position]
            if local not in state or state[local] != value:
                setattr(obj, local, value)
        if ref.name in state and obj.__dict__.get("_sa_instance_state") is not None:
            insp: Any = sa_inspect(obj)
            if insp.persistent:
                insp.session.expire(obj, [ref.name])

    def _delete(self, plan: WritePlan, obj: Any) -> None:
        """Delete ``obj`` and its children in the shape that cannot outlive it (read before)."""
        for child in plan.children:
            if child.facts.remote_nullable:
                continue  # the flush sets their foreign key to NULL
            value = obj.__dict__.get(child.name)
            for sub in (value if child.many else [value]) if value is not None else []:
                self._delete(child.plan, sub)
        self.session.delete(obj)

    def update(self, plan: WritePlan, obj: Any, item: Item) -> None:
        state = obj.__dict__
        values = item.values
        replace = item.mode == "replace"
        for name, reset in plan.updatable:
            if name in values:
                value = values[name]
            elif replace and reset is not KEEP:
                value = reset
            else:
                continue
            if name not in state or state[name] != value:
                setattr(obj, name, value)
        self._set_refs(plan, obj, item)
        for child in plan.children:
            if child.name not in item.children:
                continue
            result = []
            for c in item.child_list(child.name):
                if c.match is not None:
                    self.update(child.plan, c.match, c)
                    result.append(c.match)
                else:
                    result.append(self.build(child.plan, c))
            removed = item.removed.get(child.name, []) if item.removed is not None else []
            if child.on_missing == "keep":
                result += removed
            elif child.on_missing == "delete":
                for gone in removed:
                    self._delete(child.plan, gone)
            if child.many:
                current = state.get(child.name)
                if current is None or not _edit_in_place(current, result):
                    setattr(obj, child.name, result)
            else:
                setattr(obj, child.name, result[0] if result else None)
