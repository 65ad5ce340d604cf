"""Per-parent ``limit``/``offset`` on relationships through a secondary (issue 7, item 2).

Random data, random trees of relationships and random options (order, limit, offset, filters,
counts, ids), checked against a reference computed in Python from the generated rows: each
parent's rows of the relationship (one per row of the secondary: a target listed twice for a
parent counts twice, as selectin loading gives), in the node's order, cut to
``[offset:offset + limit]``; counts are the full (filtered) count. Every backend must equal it:
``Shape.dump`` of objects loaded with ``loader_options()``, ``dump_json``, the generated
marshmallow schema and Pydantic model, ``fetch`` and ``fetch_json`` with the "core" and the
"json" strategies; on SQLite and PostgreSQL. Loading costs exactly one statement per
relationship with parents, ``fetch`` one per relationship plus one (core) or one (json): a window
adds none.

The secondaries cover every form `treeshape.sql.secondary` and the loader distinguish: a table
without a key (pairs repeat), the same ordered by one of its columns, a DISTINCT selectable, a
table with a key and an expression order, a primary join with an extra condition (joined through
the parent), a self-referential many-to-many, and composite keys on both sides.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    and_,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)
from sqlalchemy.pool import NullPool

import treeshape as ts
from tests.databases import ALL, Db, database
from tests.pg_fixtures import async_url
from tests.statements import StatementCounter
from treeshape.asyncio import afetch

# -- models --------------------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


volume_topic = Table(
    "volume_topic",
    Base.metadata,
    Column("volume_id", ForeignKey("volume.id"), nullable=False, index=True),
    Column("topic_id", ForeignKey("topic.id"), nullable=False),
    Column("weight", Integer, nullable=False),
)
keyed_volume_topic = Table(
    "keyed_volume_topic",
    Base.metadata,
    Column("volume_id", ForeignKey("volume.id"), primary_key=True),
    Column("topic_id", ForeignKey("topic.id"), primary_key=True),
)
volume_link = Table(
    "volume_link",
    Base.metadata,
    Column("volume_id", ForeignKey("volume.id"), nullable=False),
    Column("other_id", ForeignKey("volume.id"), nullable=False),
)
distinct_pairs = (
    select(volume_topic.c.volume_id, volume_topic.c.topic_id).distinct().subquery("vt_pairs")
)


class Writer(Base):
    __tablename__ = "writer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    volumes: Mapped[list[Volume]] = relationship(order_by="Volume.id", viewonly=True)


class Volume(Base):
    __tablename__ = "volume"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    writer_id: Mapped[int] = mapped_column(ForeignKey("writer.id"))
    title: Mapped[str | None] = mapped_column(String(20))
    year: Mapped[int | None] = mapped_column(Integer)

    # A pair listed twice is the topic twice.
    topics: Mapped[list[Topic]] = relationship(
        secondary=volume_topic, order_by="Topic.id", viewonly=True
    )
    # Ordered by columns of the secondary only (a total order up to identical rows: the ORM
    # would order ties as the database happens to).
    ranked_topics: Mapped[list[Topic]] = relationship(
        secondary=volume_topic,
        order_by=[volume_topic.c.weight, volume_topic.c.topic_id],
        viewonly=True,
    )
    # Each topic once: a DISTINCT selectable.
    distinct_topics: Mapped[list[Topic]] = relationship(
        secondary=distinct_pairs,
        primaryjoin=lambda: Volume.id == distinct_pairs.c.volume_id,
        secondaryjoin=lambda: Topic.id == distinct_pairs.c.topic_id,
        order_by="Topic.id",
        viewonly=True,
    )
    # A secondary with a key, an expression order.
    keyed_topics: Mapped[list[Topic]] = relationship(
        secondary=keyed_volume_topic, order_by=lambda: Topic.id.desc(), viewonly=True
    )
    # An extra condition in the primary join: neither selectin loading nor treeshape can leave
    # the parent's table out.
    weighted_topics: Mapped[list[Topic]] = relationship(
        secondary=volume_topic,
        primaryjoin=lambda: and_(Volume.id == volume_topic.c.volume_id, volume_topic.c.weight > 1),
        secondaryjoin=lambda: Topic.id == volume_topic.c.topic_id,
        order_by="Topic.id",
        viewonly=True,
    )
    # Self-referential.
    linked: Mapped[list[Volume]] = relationship(
        secondary=volume_link,
        primaryjoin=lambda: Volume.id == volume_link.c.volume_id,
        secondaryjoin=lambda: Volume.id == volume_link.c.other_id,
        order_by=lambda: Volume.id,
        viewonly=True,
    )


class Topic(Base):
    __tablename__ = "topic"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(20))
    rank: Mapped[int | None] = mapped_column(Integer)
    volumes: Mapped[list[Volume]] = relationship(
        secondary=volume_topic, order_by="Volume.id", viewonly=True
    )
    memos: Mapped[list[Memo]] = relationship(order_by="Memo.id", viewonly=True)


class Memo(Base):
    __tablename__ = "memo"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topic.id"))
    body: Mapped[str] = mapped_column(String(20))


# Composite keys on both sides: the parents' ``IN`` is a row value.
pair_link = Table(
    "pair_link",
    Base.metadata,
    Column("parent_a", Integer, nullable=False),
    Column("parent_b", Integer, nullable=False),
    Column("target_a", Integer, nullable=False),
    Column("target_b", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    ForeignKeyConstraint(["parent_a", "parent_b"], ["pair.a", "pair.b"]),
    ForeignKeyConstraint(["target_a", "target_b"], ["pair_target.a", "pair_target.b"]),
)


class Pair(Base):
    __tablename__ = "pair"
    a: Mapped[int] = mapped_column(Integer, primary_key=True)
    b: Mapped[int] = mapped_column(Integer, primary_key=True)
    targets: Mapped[list[PairTarget]] = relationship(
        secondary=pair_link, order_by=pair_link.c.position, viewonly=True
    )
    # Joined through the parent (an extra condition).
    odd_targets: Mapped[list[PairTarget]] = relationship(
        secondary=pair_link,
        primaryjoin=lambda: and_(
            Pair.a == pair_link.c.parent_a,
            Pair.b == pair_link.c.parent_b,
            pair_link.c.position % 2 == 1,
        ),
        secondaryjoin=lambda: and_(
            PairTarget.a == pair_link.c.target_a, PairTarget.b == pair_link.c.target_b
        ),
        order_by=pair_link.c.position,
        viewonly=True,
    )


class PairTarget(Base):
    __tablename__ = "pair_target"
    a: Mapped[int] = mapped_column(Integer, primary_key=True)
    b: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(10))


MODELS: dict[str, type] = {"Writer": Writer, "Volume": Volume, "Topic": Topic, "Memo": Memo}
COLUMNS = {name: [p.key for p in sa.inspect(model).column_attrs] for name, model in MODELS.items()}

# -- data ----------------------------------------------------------------------------------------


@dataclass
class Data:
    """The rows of every table, as the reference reads them."""

    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    volume_topic: list[tuple[int, int, int]] = field(default_factory=list)
    links: list[tuple[int, int]] = field(default_factory=list)

    @property
    def keyed(self) -> list[tuple[int, int]]:
        return sorted({(v, t) for v, t, _ in self.volume_topic})

    def insert(self, engine: sa.Engine) -> None:
        tables = {
            "writer": [*self.rows["Writer"].values()],
            "volume": [*self.rows["Volume"].values()],
            "topic": [*self.rows["Topic"].values()],
            "memo": [*self.rows["Memo"].values()],
            "volume_topic": [
                {"volume_id": v, "topic_id": t, "weight": w} for v, t, w in self.volume_topic
            ],
            "keyed_volume_topic": [{"volume_id": v, "topic_id": t} for v, t in self.keyed],
            "volume_link": [{"volume_id": v, "other_id": o} for v, o in self.links],
        }
        with engine.begin() as conn:
            for name, rows in tables.items():
                if rows:
                    conn.execute(insert(Base.metadata.tables[name]), rows)


@st.composite
def datasets(draw: st.DrawFn) -> Data:
    writers = draw(st.integers(1, 3))
    volumes = draw(st.integers(0, 6))
    topics = draw(st.integers(0, 5))
    memos = draw(st.integers(0, 6))
    data = Data()
    data.rows["Writer"] = {w: {"id": w, "name": f"w{w}"} for w in range(1, writers + 1)}
    data.rows["Volume"] = {
        v: {
            "id": v,
            "writer_id": draw(st.integers(1, writers)),
            "title": draw(st.sampled_from([None, "a", "b", "c"])),
            "year": draw(st.sampled_from([None, 2000, 2001, 2002])),
        }
        for v in range(1, volumes + 1)
    }
    data.rows["Topic"] = {
        t: {
            "id": t,
            "name": draw(st.sampled_from([None, "a", "b"])),
            "rank": draw(st.sampled_from([None, 1, 2, 3])),
        }
        for t in range(1, topics + 1)
    }
    data.rows["Memo"] = (
        {
            m: {"id": m, "topic_id": draw(st.integers(1, topics)), "body": f"m{m % 3}"}
            for m in range(1, memos + 1)
        }
        if topics
        else {}
    )
    if volumes and topics:
        pair = st.tuples(st.integers(1, volumes), st.integers(1, topics), st.integers(1, 3))
        data.volume_topic = draw(st.lists(pair, max_size=14))
        data.links = draw(
            st.lists(st.tuples(st.integers(1, volumes), st.integers(1, volumes)), max_size=8)
        )
    return data


# -- the relationships, as the reference reads them ----------------------------------------------


@dataclass(frozen=True)
class Rel:
    """A relationship in Python: each parent's rows as (target id, the relationship's own sort
    key), one per row of the secondary."""

    target: str
    rows: Callable[[Data, int], list[tuple[int, tuple[Any, ...]]]]


def _through(pairs: Callable[[Data], list[tuple[Any, ...]]], key: Callable[..., Any]) -> Any:
    """Rows from (parent, target, extra...) tuples, keyed by ``key(target, *extra)``."""
    return lambda d, p: [(t, key(t, *rest)) for parent, t, *rest in pairs(d) if parent == p]


RELS: dict[tuple[str, str], Rel] = {
    ("Writer", "volumes"): Rel(
        "Volume",
        lambda d, p: [(v, (v,)) for v, row in d.rows["Volume"].items() if row["writer_id"] == p],
    ),
    ("Volume", "topics"): Rel("Topic", _through(lambda d: d.volume_topic, lambda t, w: (t,))),
    ("Volume", "ranked_topics"): Rel(
        "Topic", _through(lambda d: d.volume_topic, lambda t, w: (w, t))
    ),
    ("Volume", "distinct_topics"): Rel(
        "Topic", _through(lambda d: sorted({(v, t) for v, t, _ in d.volume_topic}), lambda t: (t,))
    ),
    ("Volume", "keyed_topics"): Rel("Topic", _through(lambda d: d.keyed, lambda t: (-t,))),
    ("Volume", "weighted_topics"): Rel(
        "Topic",
        _through(lambda d: [r for r in d.volume_topic if r[2] > 1], lambda t, w: (t,)),
    ),
    ("Volume", "linked"): Rel("Volume", _through(lambda d: d.links, lambda t: (t,))),
    ("Topic", "volumes"): Rel(
        "Volume", _through(lambda d: [(t, v, w) for v, t, w in d.volume_topic], lambda v, w: (v,))
    ),
    ("Topic", "memos"): Rel(
        "Memo",
        lambda d, p: [(m, (m,)) for m, row in d.rows["Memo"].items() if row["topic_id"] == p],
    ),
}
ORDERABLE = {"Volume": ["title", "year", "writer_id"], "Topic": ["name", "rank"], "Memo": ["body"]}
WHERE: dict[str, list[dict[str, Any]]] = {
    "Volume": [{"year": None}, {"year": (2000, 2001)}],
    "Topic": [{"rank": None}, {"rank": (1, 2)}, {"name": "a"}],
    "Memo": [{"body": "m1"}],
}

# -- random trees --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One relationship of a random tree: its options (``include()`` keywords) and children."""

    model: str
    rel: str
    options: dict[str, Any]
    children: tuple[Node, ...]

    @property
    def target(self) -> str:
        return RELS[self.model, self.rel].target


@st.composite
def options(draw: st.DrawFn, target: str, leaf: bool) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(ORDERABLE[target]), unique=True, max_size=2))
        if names:
            chosen["order_by"] = [("-" if draw(st.booleans()) else "") + n for n in names]
    if draw(st.integers(0, 9)) < 7:
        chosen["limit"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        chosen["offset"] = draw(st.integers(0, 2))
    if draw(st.integers(0, 3)) == 0:
        chosen["where"] = draw(st.sampled_from(WHERE[target]))
    if draw(st.booleans()):
        chosen["count"] = True
    if leaf and draw(st.integers(0, 3)) == 0:
        chosen["ids"] = True
    return chosen


@st.composite
def trees(
    draw: st.DrawFn, model: str, used: frozenset[tuple[str, str]], depth: int = 0
) -> tuple[Node, ...]:
    """Up to two relationships at the root, one below, three levels; a relationship of a model
    at most once per tree (one object loaded at two places keeps one collection)."""
    if depth == 3:
        return ()
    free = sorted(rel for (m, rel) in RELS if m == model and (m, rel) not in used)
    if not free:
        return ()
    most = 2 if depth == 0 else 1
    chosen = draw(
        st.lists(st.sampled_from(free), unique=True, min_size=int(depth == 0), max_size=most)
    )
    used = used | {(model, rel) for rel in chosen}
    nodes: list[Node] = []
    for rel in chosen:
        target = RELS[model, rel].target
        children = draw(trees(target, used, depth + 1))
        used = used | {(n.model, n.rel) for n in _walk(children)}
        opts = draw(options(target, leaf=not children))
        nodes.append(Node(model, rel, opts, children))
    return tuple(nodes)


def _walk(nodes: tuple[Node, ...]) -> Iterator[Node]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def make_shape(root: str, nodes: tuple[Node, ...]) -> ts.Shape:
    def spec(children: tuple[Node, ...]) -> dict[str, Any]:
        return {n.rel: ts.include(spec(n.children) or None, **n.options) for n in children}

    return ts.shape(MODELS[root], spec(nodes))


# -- the reference -------------------------------------------------------------------------------


def _sorted(rows: list[dict[str, Any]], order: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """As treeshape sorts in SQL: NULLs as the largest values, then the primary key."""
    result = sorted(rows, key=lambda r: r["id"])
    for name, descending in reversed(order):
        result.sort(
            key=lambda r: (r[name] is None, 0 if r[name] is None else r[name]), reverse=descending
        )
    return result


def _matches(row: dict[str, Any], where: dict[str, Any]) -> bool:
    for name, wanted in where.items():
        value = row[name]
        if not (value in wanted if isinstance(wanted, tuple) else value == wanted):
            return False
    return True


def window(data: Data, node: Node, parent: int) -> tuple[list[dict[str, Any]], int]:
    """The parent's rows of ``node``: filtered, ordered, cut; and the filtered count."""
    rel = RELS[node.model, node.rel]
    table = data.rows[rel.target]
    where = node.options.get("where", {})
    rows = [(table[t], key) for t, key in rel.rows(data, parent) if _matches(table[t], where)]
    names = node.options.get("order_by")
    if names:
        ordered = _sorted([row for row, _ in rows], [(n.lstrip("-"), n[0] == "-") for n in names])
    else:
        ordered = [row for row, _ in sorted(rows, key=lambda r: (*r[1], r[0]["id"]))]
    offset = node.options.get("offset", 0)
    limit = node.options.get("limit")
    return ordered[offset : None if limit is None else offset + limit], len(rows)


def reference(
    data: Data, model: str, row: dict[str, Any], nodes: tuple[Node, ...], loads: set[int]
) -> dict[str, Any]:
    """The document of ``row``; adds to ``loads`` the id of each node that has a parent."""
    doc = {name: row[name] for name in COLUMNS[model]}
    for node in nodes:
        loads.add(id(node))
        rows, count = window(data, node, row["id"])
        if node.options.get("ids"):
            doc[node.rel] = [r["id"] for r in rows]
        else:
            doc[node.rel] = [reference(data, node.target, r, node.children, loads) for r in rows]
        if node.options.get("count"):
            doc[f"{node.rel}_count"] = count
    return doc


# -- the check -----------------------------------------------------------------------------------


def check_every_backend(
    engine: sa.Engine, shape: ts.Shape, expected: list[dict[str, Any]], statements: int
) -> None:
    """Every backend gives ``expected``; loading costs ``statements``, fetching 1 + one per
    relationship (core) or 1 (json); serializing costs none."""
    model = shape.node.model
    with Session(engine) as session, StatementCounter(engine) as counter:
        stmt = select(model).options(*shape.loader_options()).order_by(model.id)  # type: ignore[attr-defined]
        objs = session.scalars(stmt).all()
        assert counter.count == statements
        assert shape.dump(objs, many=True) == expected
        assert orjson.loads(shape.dump_json(objs, many=True)) == expected
        assert shape.marshmallow_schema(many=True).dump(objs) == expected
        pydantic = [shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs]
        assert pydantic == expected
        assert counter.count == statements, "serializing issued a statement"
    for strategy in ("core", "json"):
        with Session(engine) as session, StatementCounter(engine) as counter:
            assert shape.fetch(session, strategy=strategy) == expected, strategy
            assert orjson.loads(shape.fetch_json(session, strategy=strategy)) == expected
            per_call = 1 + shape.node.count_relations() if strategy == "core" else 1
            assert counter.count == 2 * per_call, strategy


@pytest.fixture(scope="module", params=ALL)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    """This module's tables on in-memory SQLite, then on throwaway PostgreSQL and MariaDB."""
    with database(request, Base.metadata) as db:
        yield db


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), dataset=datasets(), root=st.sampled_from(["Writer", "Volume", "Topic"]))
def test_windows_match_reference(db: Db, data: st.DataObject, dataset: Data, root: str) -> None:
    nodes = data.draw(trees(root, frozenset()))
    db.clean()
    dataset.insert(db.engine)
    loads: set[int] = set()
    expected = [
        reference(dataset, root, row, nodes, loads) for _, row in sorted(dataset.rows[root].items())
    ]
    check_every_backend(db.engine, make_shape(root, nodes), expected, 1 + len(loads))


# -- every form, on fixed data -----------------------------------------------------------------


def fixed_data() -> Data:
    """Repeats: volume 1 lists topic 2 twice (weights 3 and 1), volume 2 topic 4 twice (the
    same row twice), volume 1 links volume 2 twice; volume 3 links itself."""
    data = Data()
    data.rows["Writer"] = {w: {"id": w, "name": f"w{w}"} for w in (1, 2)}
    volumes = [(1, 1, "a", 2000), (2, 1, None, 2001), (3, 1, "b", None), (4, 2, "a", 2002)]
    data.rows["Volume"] = {
        v: {"id": v, "writer_id": w, "title": t, "year": y} for v, w, t, y in volumes
    }
    topics = [(1, "a", 1), (2, None, 2), (3, "b", None), (4, "a", 3)]
    data.rows["Topic"] = {t: {"id": t, "name": n, "rank": r} for t, n, r in topics}
    memos = [(1, 1), (2, 1), (3, 2), (4, 3)]
    data.rows["Memo"] = {m: {"id": m, "topic_id": t, "body": f"m{m % 3}"} for m, t in memos}
    data.volume_topic = [
        (1, 2, 3), (1, 1, 1), (1, 2, 1), (1, 3, 2), (1, 4, 2),
        (2, 4, 3), (2, 4, 3), (2, 1, 2), (3, 3, 1), (4, 2, 2),
    ]  # fmt: skip
    data.links = [(1, 2), (1, 3), (1, 2), (2, 1), (3, 3), (4, 1)]
    return data


FIXED_OPTIONS = [
    {"limit": 2, "offset": 1, "count": True},
    {"limit": 3, "order_by": ["-name", "rank"]},
    {"offset": 1},
    {"limit": 0, "count": True},
    {"limit": 2, "ids": True},
    {"limit": 1, "offset": 1, "where": {"name": "a"}, "count": True},
]
VOLUME_RELS = sorted(rel for model, rel in RELS if model == "Volume")


@pytest.mark.parametrize("rel", VOLUME_RELS)
def test_each_secondary_form(db: Db, rel: str) -> None:
    db.clean()
    data = fixed_data()
    data.insert(db.engine)
    target = RELS["Volume", rel].target
    for chosen in FIXED_OPTIONS:
        opts = dict(chosen)
        if target == "Volume" and ("order_by" in opts or "where" in opts):
            opts["order_by"] = ["-title", "year"]
            opts.pop("where", None)
        nodes = (Node("Volume", rel, opts, ()),)
        loads: set[int] = set()
        rows = sorted(data.rows["Volume"].items())
        expected = [reference(data, "Volume", row, nodes, loads) for _, row in rows]
        check_every_backend(db.engine, make_shape("Volume", nodes), expected, 2)


def test_repeats_count_as_rows(db: Db) -> None:
    """A pair listed twice takes two places of the window, in order and in the offset."""
    db.clean()
    fixed_data().insert(db.engine)
    shape = ts.shape(
        Volume,
        {
            "topics": ts.include(ids=True, limit=3),
            "ranked_topics": ts.include(ids=True, offset=1, limit=2),
            "linked": ts.include(ids=True, limit=2),
        },
        fields=["id"],
    )
    with Session(db.engine) as session:
        for docs in (
            shape.dump(
                session.scalars(select(Volume).options(*shape.loader_options())).all(), many=True
            ),
            shape.fetch(session, strategy="core"),
            shape.fetch(session, strategy="json"),
        ):
            assert docs[0] == {
                "id": 1,
                "topics": [1, 2, 2],
                "ranked_topics": [2, 3],
                "linked": [2, 2],
            }
            assert docs[1] == {"id": 2, "topics": [1, 4, 4], "ranked_topics": [4, 4], "linked": [1]}


def test_filters_beside_a_secondary_window_keep_their_values_below_it(db: Db) -> None:
    """A collection filtered beside a window through a secondary, and a window with a filter
    loaded below that window: each load binds its own values. (The rewritten load bound its
    window's offset and limit, which shifted by position the values SQLAlchemy gives the loads
    nested under it: the memos' load received the rank filter's ``IN`` list as a number.)"""
    db.clean()
    data = fixed_data()
    data.insert(db.engine)
    nodes = (
        Node("Volume", "distinct_topics", {"limit": 0, "where": {"rank": (1, 2)}, "ids": True}, ()),
        Node(
            "Volume",
            "ranked_topics",
            {"limit": 1},
            (Node("Topic", "memos", {"limit": 1, "where": {"body": "m1"}, "ids": True}, ()),),
        ),
        Node("Volume", "topics", {"where": {"rank": (2, 3)}, "offset": 1, "limit": 2}, ()),
    )
    loads: set[int] = set()
    rows = sorted(data.rows["Volume"].items())
    expected = [reference(data, "Volume", row, nodes, loads) for _, row in rows]
    assert any(doc["ranked_topics"] for doc in expected)
    check_every_backend(db.engine, make_shape("Volume", nodes), expected, 1 + 3 + 1)


NESTED = (
    Node(
        "Writer",
        "volumes",
        {"limit": 2, "order_by": ["-year"], "count": True},
        (
            Node(
                "Volume",
                "topics",
                {"limit": 2, "offset": 1, "count": True},
                (Node("Topic", "memos", {"limit": 1}, ()),),
            ),
            Node("Volume", "linked", {"limit": 1, "offset": 1}, ()),
        ),
    ),
)


def _unwindowed(nodes: tuple[Node, ...]) -> tuple[Node, ...]:
    return tuple(
        Node(
            n.model,
            n.rel,
            {k: v for k, v in n.options.items() if k not in ("limit", "offset")},
            _unwindowed(n.children),
        )
        for n in nodes
    )


def test_nested_windows_cost_no_statement(db: Db) -> None:
    """Under a windowed one-to-many and above a one-to-many, a window through a secondary
    costs what the same tree without windows costs: one statement per relationship."""
    db.clean()
    data = fixed_data()
    data.insert(db.engine)
    for nodes in (NESTED, _unwindowed(NESTED)):
        loads: set[int] = set()
        rows = sorted(data.rows["Writer"].items())
        expected = [reference(data, "Writer", row, nodes, loads) for _, row in rows]
        assert len(loads) == 4
        check_every_backend(db.engine, make_shape("Writer", nodes), expected, 5)


# Selected from the secondary (its key columns), joined through the parent (an extra condition in
# the primary join), self-referential, ordered by a secondary's columns.
REWRITTEN_FORMS = ["topics", "weighted_topics", "linked", "ranked_topics"]
WINDOWS: list[dict[str, Any]] = [
    {},
    {"limit": 1},
    {"limit": 2},
    {"offset": 1},
    {"offset": 1, "limit": 1},
    {"offset": 2, "limit": 2},
]


def _load(engine: sa.Engine, shape: ts.Shape, statements: int) -> list[dict[str, Any]]:
    with Session(engine) as session, StatementCounter(engine) as counter:
        stmt = select(Volume).options(*shape.loader_options()).order_by(Volume.id)
        documents = shape.dump(session.scalars(stmt).all(), many=True)
        assert counter.count == statements
    return documents


def test_plans_differing_only_in_window_do_not_share_cached_loads(db: Db) -> None:
    """Shapes whose loads differ only in a window through a secondary (or have none) each load
    their own rows, also from SQLAlchemy's cached statements: the window is applied when the
    load compiles, and each plan's option is part of its statements' cache key."""
    db.clean()
    data = fixed_data()
    data.insert(db.engine)
    rows = sorted(data.rows["Volume"].items())
    cases = []
    for rel in REWRITTEN_FORMS:
        nodes = [(Node("Volume", rel, {"ids": True, **window}, ()),) for window in WINDOWS]
        documents = [[reference(data, "Volume", row, n, set()) for _, row in rows] for n in nodes]
        # Every window gives other documents: a load read from another's statement would show.
        assert len({orjson.dumps(each) for each in documents}) == len(WINDOWS), rel
        cases += [
            (make_shape("Volume", n), d, n[0].options)
            for n, d in zip(nodes, documents, strict=True)
        ]
    for _ in range(2):  # the second round runs on SQLAlchemy's cached statements
        for shape, expected, options in cases:
            assert _load(db.engine, shape, 2) == expected, options


def test_plain_loads_beside_windowed_plans_are_untouched(db: Db) -> None:
    """After windowed plans loaded in a session, that session's own relationship loads of the
    same collections (``selectinload``, lazy loads) and plain statements are SQLAlchemy's:
    every row (a repeated pair twice in a selectin load), in the relationship's order, and no
    statement of theirs is treeshape's."""
    db.clean()
    data = fixed_data()
    data.insert(db.engine)
    shape = make_shape(
        "Volume",
        tuple(Node("Volume", rel, {"ids": True, "limit": 1}, ()) for rel in REWRITTEN_FORMS),
    )
    full = {
        rel: [
            reference(data, "Volume", row, (Node("Volume", rel, {"ids": True}, ()),), set())[rel]
            for _, row in sorted(data.rows["Volume"].items())
        ]
        for rel in REWRITTEN_FORMS
    }
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with Session(db.engine) as session:
        windowed = session.scalars(select(Volume).options(*shape.loader_options())).all()
        assert shape.dump(windowed[0])["topics"] == [1]
        session.expunge_all()
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            for rel in REWRITTEN_FORMS:
                stmt = (
                    select(Volume).options(selectinload(getattr(Volume, rel))).order_by(Volume.id)
                )
                volumes = session.scalars(stmt).all()
                assert [[t.id for t in getattr(v, rel)] for v in volumes] == full[rel], rel
                session.expunge_all()
                volumes = session.scalars(select(Volume).order_by(Volume.id)).all()
                # A lazy load gives each target once (SQLAlchemy's own uniquing).
                once = [list(dict.fromkeys(ids)) for ids in full[rel]]
                assert [[t.id for t in getattr(v, rel)] for v in volumes] == once, rel
                session.expunge_all()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == len(REWRITTEN_FORMS) * (2 + 1 + len(full["topics"]))
    assert not [statement for statement in seen if "_treeshape" in statement]


def _plan(db: Db, statement: str, parameters: Any) -> str:
    """The database's plan of a statement (PostgreSQL: without sequential scans, which it
    would prefer on tables this small)."""
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        if db.kind == "postgresql":
            cursor = raw.cursor()
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, parameters)
        elif db.kind == "mariadb":
            cursor = raw.cursor()
            cursor.execute("EXPLAIN FORMAT=JSON " + statement, parameters)
            return str(cursor.fetchone()[0])
        else:
            cursor = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize("rel", ["topics", "distinct_topics", "weighted_topics"])
def test_parents_condition_reaches_the_secondary(db: Db, rel: str) -> None:
    """The load selects from the numbered rows alone, ``IN`` on the partition columns: the
    database pushes it into the window, so only the parents' rows of the secondary are read
    (through its index) and numbered, not the whole table."""
    db.clean()
    fixed_data().insert(db.engine)
    shape = ts.shape(Volume, {rel: ts.include(limit=2)})
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        with Session(db.engine) as session:
            stmt = select(Volume).where(Volume.id.in_([1, 2])).options(*shape.loader_options())
            session.scalars(stmt).all()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 2
    statement, parameters = seen[1]
    assert "_treeshape_p0 IN" in statement
    plan = _plan(db, statement, parameters)
    if db.kind == "sqlite":
        assert "USING INDEX ix_volume_topic_volume_id (volume_id=?)" in plan, plan
        assert "SCAN volume_topic" not in plan, plan
    elif db.kind == "mariadb":
        # MariaDB reads tables this small whole, but the parents' keys are pushed into the
        # derived table that numbers the rows (condition pushdown into a window's partition).
        numbered = plan.split('"materialized"', 1)[-1]
        assert '"materialized"' in plan, plan
        assert re.search(r"attached_condition.*(volume_id|`id`|\.id) in \(1,2\)", numbered), plan
    else:
        # weighted_topics joins the parent: its key is searched by the parents' keys (alone, or
        # with the join's own equality when PostgreSQL memoizes the parent lookup), never scanned.
        assert re.search(r"Index Cond: \(.*\(?(volume_\d?\.)?id = ANY \(", plan), plan
        assert "Run Condition: (row_number()" in plan, plan  # the window stops at the limit


def test_under_asyncio(db_url: str) -> None:
    """An ``AsyncSession`` (aiosqlite, asyncpg) runs the same replaced load statements, and
    ``afetch`` the same windows."""
    engine = sa.create_engine(db_url)
    Base.metadata.create_all(engine)
    data = fixed_data()
    data.insert(engine)
    engine.dispose()
    rows = sorted(data.rows["Writer"].items())
    expected = [reference(data, "Writer", row, NESTED, set()) for _, row in rows]
    shape = make_shape("Writer", NESTED)

    async def main() -> list[list[dict[str, Any]]]:
        async_engine = create_async_engine(async_url(db_url), poolclass=NullPool)
        try:
            async with AsyncSession(async_engine) as session:
                stmt = select(Writer).options(*shape.loader_options()).order_by(Writer.id)
                writers = (await session.scalars(stmt)).all()
                documents = [shape.dump(writers, many=True)]
                for strategy in ("core", "json"):
                    documents.append(await afetch(shape, session, strategy=strategy))
                return documents
        finally:
            await async_engine.dispose()

    for documents in asyncio.run(main()):
        assert documents == expected


@pytest.mark.parametrize("rel", ["targets", "odd_targets"])
def test_composite_keys(db: Db, rel: str) -> None:
    """Composite keys on the parent and the target: each window is the unlimited
    relationship's rows sliced, in every backend (a pair listed twice included)."""
    db.clean()
    links = [
        {"parent_a": a, "parent_b": b, "target_a": 1 + (n + i) % 3, "target_b": 1 + n % 2}
        for i, (a, b) in enumerate([(1, 1), (1, 2), (2, 1)])
        for n in range(6)
    ]
    links += [{"parent_a": 1, "parent_b": 1, "target_a": 2, "target_b": 2}] * 2
    with db.engine.begin() as conn:
        conn.execute(insert(Pair), [{"a": a, "b": b} for a in (1, 2) for b in (1, 2)])
        targets = [{"a": a, "b": b, "name": f"t{a}{b}"} for a in (1, 2, 3) for b in (1, 2)]
        conn.execute(insert(PairTarget), targets)
        conn.execute(insert(pair_link), [{**link, "position": n} for n, link in enumerate(links)])
    order = (Pair.a, Pair.b)
    full = ts.shape(Pair, {rel: ts.include(ids=True)})
    with Session(db.engine) as session:
        stmt = select(Pair).options(*full.loader_options()).order_by(*order)
        unlimited = full.dump(session.scalars(stmt).all(), many=True)
    assert any(len(doc[rel]) > len({tuple(k) for k in doc[rel]}) for doc in unlimited)
    shape = ts.shape(Pair, {rel: ts.include(ids=True, offset=1, limit=3, count=True)})
    expected = [
        {"a": doc["a"], "b": doc["b"], rel: doc[rel][1:4], f"{rel}_count": len(doc[rel])}
        for doc in unlimited
    ]
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        pairs = session.scalars(select(Pair).options(*shape.loader_options()).order_by(*order))
        assert shape.dump(pairs.all(), many=True) == expected
        assert counter.count == 2
        for strategy in ("core", "json"):
            assert shape.fetch(session, strategy=strategy) == expected
            assert orjson.loads(shape.fetch_json(session, strategy=strategy)) == expected
