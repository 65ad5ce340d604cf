"""The property of issue 13: random trees over inheritance hierarchies and collection classes
are right in every backend, or refused when the shape is defined.

Hypothesis draws a root among every mapped class of `tests.mappings.inheritance_models` (joined,
joined with ``with_polymorphic``, single-table and concrete hierarchies; bases and subclasses;
set and keyed-dict collections beside lists), an include tree below it (bases and subclasses as
collections and many-to-ones), per-parent windows, field subsets (now and then a field only a
subclass has) and the rows. The test predicts from the mappers alone, without treeshape, whether
the shape must be refused and why; a refused shape must raise `SpecError` naming the model and
one of the predicted reasons, and any other shape must equal the reference walk (windows cut
from the unwindowed reference) in every backend, with the planned number of statements, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Column, inspect, select
from sqlalchemy.orm import Mapper, Session

import treeshape as ts
from tests.agreement import assert_backends_agree
from tests.core.reference import Tree, reference_dump
from tests.databases import Db
from tests.mappings.inheritance_models import InheritanceBase, World, build_world, clean_world

InheritanceBase.registry.configure()  # AbstractConcreteBase maps its base at configuration
MAPPERS: list[Mapper[Any]] = sorted(
    InheritanceBase.registry.mappers, key=lambda m: m.class_.__name__
)
ROOTS = [m.class_ for m in MAPPERS]
BRANCHING = [m.class_ for m in MAPPERS if m.relationships]
DEFAULTS = {
    m.class_.__name__: [
        p.key
        for p in m.column_attrs
        if not p.key.startswith("_") and isinstance(p.expression, Column)
    ]
    for m in MAPPERS
}

Window = tuple[int | None, int]
Windows = dict[tuple[str, ...], Window]


def family(mapper: Mapper[Any]) -> list[Mapper[Any]]:
    return list(mapper.base_mapper.self_and_descendants)


def refusals_of_model(mapper: Mapper[Any]) -> set[str]:
    if any(m.concrete for m in family(mapper)):
        return {"is mapped with concrete table inheritance"}
    return set()


def subclass_only(mapper: Mapper[Any]) -> list[str]:
    """Columns of the model's subclasses that the model itself does not map."""
    names = {p.key for m in mapper.self_and_descendants for p in m.column_attrs}
    return sorted(names - set(mapper.attrs.keys()))


@st.composite
def specs(draw: st.DrawFn) -> tuple[type, Tree, Windows, dict[str, list[str]], set[str]]:
    """A root, an include tree up to 3 deep with windows, fields, and the predicted refusals."""
    # Mostly roots with relationships, so that most trees have depth; any root now and then.
    root = draw(st.sampled_from(BRANCHING) | st.sampled_from(BRANCHING) | st.sampled_from(ROOTS))
    refusals = refusals_of_model(inspect(root))
    windows: Windows = {}
    lists: dict[Any, Window] = {}  # each relationship's window where first drawn
    reached: set[type] = {root}

    def tree_below(model: type, depth: int, path: tuple[str, ...]) -> Tree:
        mapper = inspect(model)
        rels = sorted(mapper.relationships.keys())
        if depth == 0 or not rels:
            return {}
        least = 1 if not path else 0
        chosen = draw(st.lists(st.sampled_from(rels), unique=True, min_size=least, max_size=3))
        tree: Tree = {}
        for name in chosen:
            prop = mapper.relationships[name]
            target = prop.mapper
            refusals.update(refusals_of_model(target))
            if prop.collection_class not in (None, list):
                refusals.add("collection (collection_class)")
            window: Window = (None, 0)
            if prop.uselist and draw(st.booleans()):
                limit = draw(st.none() | st.integers(0, 2))
                offset = draw(st.integers(0, 2))
                window = (limit, offset)
                if limit is not None or offset:
                    windows[(*path, name)] = (limit, offset)
                    joined = any(
                        m.local_table is not target.local_table
                        for m in family(target)
                        if m.isa(target)
                    )
                    if joined and target.with_polymorphic is None:
                        refusals.add("whose subclasses map tables of their own")
            if prop.uselist and lists.setdefault(prop, window) != window:
                refusals.add("the ORM keeps one list per object")
            reached.add(target.class_)
            tree[name] = tree_below(target.class_, depth - 1, (*path, name))
        return tree

    tree = tree_below(root, 3, ())
    fields: dict[str, list[str]] = {}
    for model in sorted(reached, key=lambda m: m.__name__):
        if not draw(st.booleans()):
            continue
        chosen = draw(st.lists(st.sampled_from(DEFAULTS[model.__name__]), unique=True, min_size=1))
        extra = subclass_only(inspect(model))
        if extra and draw(st.integers(0, 9)) == 0:
            chosen.append(draw(st.sampled_from(extra)))
            refusals.add("only its subclass")
        fields[model.__name__] = chosen
    return root, tree, windows, fields, refusals


def spec_of(tree: Tree, windows: Windows, path: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in tree.items():
        here = (*path, name)
        inner = spec_of(sub, windows, here)
        if here in windows:
            limit, offset = windows[here]
            out[name] = (
                ts.include(inner, limit=limit, offset=offset)
                if inner
                else ts.include(limit=limit, offset=offset)
            )
        else:
            out[name] = inner
    return out


def cut(doc: dict[str, Any], tree: Tree, windows: Windows, path: tuple[str, ...] = ()) -> None:
    """Apply each window to the unwindowed reference document, in place."""
    for name, sub in tree.items():
        here = (*path, name)
        value = doc[name]
        if isinstance(value, list):
            if here in windows:
                limit, offset = windows[here]
                value = value[offset:] if limit is None else value[offset : offset + limit]
                doc[name] = value
            for item in value:
                cut(item, sub, windows, here)
        elif value is not None:
            cut(value, sub, windows, here)


worlds = st.builds(
    World,
    companies=st.integers(0, 2),
    people=st.integers(0, 8),
    machines=st.integers(0, 3),
    projects=st.integers(0, 2),
    members=st.integers(0, 6),
    shops=st.integers(0, 2),
    workers=st.integers(0, 8),
    seed=st.integers(0, 20),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), world=worlds)
def test_random_inheritance_trees_are_right_or_refused(
    world_db: Db,
    spec: tuple[type, Tree, Windows, dict[str, list[str]], set[str]],
    world: World,
) -> None:
    root, tree, windows, fields, refusals = spec
    include = spec_of(tree, windows)
    note(f"{root.__name__} {tree} windows={windows} fields={fields} refusals={refusals} {world}")
    if refusals:
        try:
            ts.shape(root, include, fields=fields)
        except ts.SpecError as error:
            text = str(error)
            assert any(reason in text for reason in refusals), (text, refusals)
            event("refused")
            return
        raise AssertionError(f"not refused: {root.__name__} {include} {fields} ({refusals})")
    shape = ts.shape(root, include, fields=fields)
    clean_world(world_db.engine)
    with Session(world_db.engine) as session:
        build_world(session, world)
    full = ts.shape(root, spec_of(tree, {}), fields=fields)
    with Session(world_db.engine) as session:
        stmt = select(root).options(*full.loader_options())
        objs = session.scalars(stmt.order_by(*inspect(root).primary_key)).all()
        expected = [reference_dump(o, tree, fields, DEFAULTS, model=root) for o in objs]
    for doc in expected:
        cut(doc, tree, windows)
    assert_backends_agree(
        world_db.engine, shape, tree, fields=fields, defaults=DEFAULTS, expected=expected
    )
    event(f"agreed, {len(windows)} windows, depth {depth(tree)}")


def depth(tree: Tree) -> int:
    return 1 + max(map(depth, tree.values())) if tree else 0
