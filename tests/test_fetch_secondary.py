"""Many-to-many through a secondary: targets as a membership test (`treeshape.sql.secondary`).

A DISTINCT secondary (``Place.journeys`` over ``call``, the transit example's ``Stop.trips`` over
``stop_times``) is read through an index, never materialized whole; the output stays equal to
the ORM's, duplicates in the rows under the DISTINCT included; a secondary whose pairs may repeat
keeps the join, as the ORM does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from examples.transit import models as transit
from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, relationship
from sqlalchemy.pool import StaticPool

import treeshape as ts
from tests.factories import NetworkSpec, build_network, build_transit_route
from tests.models import Call, Journey, Place
from tests.test_fetch import STRATEGIES, assert_fetch_equal, db  # noqa: F401 (a fixture)
from treeshape.sql.secondary import membership
from treeshape.tree import RelationNode


def relation(shape: ts.Shape, name: str) -> RelationNode:
    (rel,) = [r for r in shape.node.relations if r.name == name]
    return rel


def add_loops(engine: Engine) -> None:
    """Journey 1 calls at place 2 three times, journey 2 at place 2 twice."""
    with Session(engine) as session:
        build_network(session, NetworkSpec(operators=1, lines=2, places=4, calls_per_journey=0))
        rows = [(1, 1, 2), (1, 2, 2), (1, 3, 3), (1, 4, 2), (2, 1, 2), (2, 2, 2), (3, 1, 4)]
        session.execute(
            insert(Call),
            [
                {"journey_id": j, "sequence": s, "place_id": p, "arrives": dt.time(8, s)}
                for j, s, p in rows
            ],
        )
        session.commit()


def test_distinct_secondary_gives_each_target_once(db: Engine) -> None:  # noqa: F811
    add_loops(db)
    spec = ts.shape(Place, "journeys.calls", "journeys.line")
    assert_fetch_equal(db, spec)
    docs = spec.fetch(Session(db), Place.place_id == 2)
    assert [j["journey_id"] for j in docs[0]["journeys"]] == [1, 2]


def test_distinct_secondary_with_options(db: Engine) -> None:  # noqa: F811
    add_loops(db)
    for options in (
        ts.include(order_by="-journey_id", count="served_by"),
        ts.include(where=Journey.journey_id > 1, count=True),
        ts.include(where={"journey_id": (1, 3)}, ids=True),
        ts.include(embed=False, count=True),
    ):
        for root, spec in (
            (Place, {"journeys": options}),
            (Call, {"place": {"journeys": options}}),
        ):
            assert_fetch_equal(db, ts.shape(root, spec))
    counted = ts.shape(Place, {"journeys": ts.include(count=True, embed=False)})
    for strategy in STRATEGIES:
        docs = counted.fetch(Session(db), Place.place_id == 2, strategy=strategy)
        assert docs == [{"place_id": 2, **docs[0], "journeys_count": 2}]


def test_membership_reads_the_secondary_under_its_distinct() -> None:
    shape = ts.shape(Place, "journeys")
    parent = aliased(Place)
    condition = membership(parent, aliased(Journey), relation(shape, "journeys"))
    assert condition is not None
    sql = str(condition.compile())
    assert "DISTINCT" not in sql
    assert "IN (SELECT call.journey_id" in sql


# -- query plans on SQLite: the transit example's stop endpoint --------------------------------


@pytest.fixture
def transit_engine() -> Iterator[Engine]:
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    transit.Base.metadata.create_all(engine)
    with Session(engine) as session:
        build_transit_route(session, stops=5, trips=6, calls=8)
    yield engine
    engine.dispose()


def plans(engine: Engine, run: Any) -> list[str]:
    """The EXPLAIN QUERY PLAN lines of every statement ``run(session)`` executes."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            run(session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    lines: list[str] = []
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        for statement, parameters in seen:
            lines += [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
    return lines


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_stop_endpoint_searches_stop_times_by_index(transit_engine: Engine, strategy: str) -> None:
    shape = ts.shape(transit.Stop, "trips")
    counted = ts.shape(transit.Stop, {"trips": ts.include(count=True)})
    for spec in (shape, counted):
        lines = plans(
            transit_engine,
            lambda session, spec=spec: spec.fetch_json(
                session, transit.Stop.stop_id == "S2", strategy=strategy
            ),
        )
        text_ = "\n".join(lines)
        assert "MATERIALIZE" not in text_, text_
        assert "DISTINCT" not in text_, text_
        assert "SCAN stop_times" not in text_, text_
        assert "SEARCH stop_times USING INDEX ix_stop_times_stop_id (stop_id=?)" in text_, text_


def test_stop_endpoint_equals_the_orm(transit_engine: Engine) -> None:
    shape = ts.shape(transit.Stop, "trips.stop_times", {"trips": ts.include(count="n")})
    with Session(transit_engine) as session:
        stops = session.scalars(
            select(transit.Stop).options(*shape.loader_options()).order_by(transit.Stop.stop_id)
        ).all()
        expected = shape.dump(stops, many=True)
        for strategy in STRATEGIES:
            assert shape.fetch(session, strategy=strategy) == expected
            assert orjson.loads(shape.fetch_json(session, strategy=strategy)) == expected
        with transit_engine.connect() as conn:
            pairs = conn.execute(text("SELECT count(DISTINCT stop_id || trip_id) FROM stop_times"))
            assert sum(len(d["trips"]) for d in expected) == pairs.scalar()


# -- secondaries whose pairs may repeat keep the join ------------------------------------------


class Other(DeclarativeBase):
    pass


tagging = Table(
    "tagging",
    Other.metadata,
    Column("post_id", ForeignKey("post.id")),
    Column("tag_id", ForeignKey("tag.id")),
)
keyed_tagging = Table(
    "keyed_tagging",
    Other.metadata,
    Column("post_id", ForeignKey("post.id"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id"), primary_key=True),
)


placing = Table(
    "placing",
    Other.metadata,
    Column("post_id", ForeignKey("post.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("tag_id", ForeignKey("tag.id")),
)


class Post(Other):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tags: Mapped[list[Tag]] = relationship(secondary=tagging, order_by="Tag.id", viewonly=True)
    keyed_tags: Mapped[list[Tag]] = relationship(secondary=keyed_tagging, viewonly=True)
    by_tagging: Mapped[list[Tag]] = relationship(
        secondary=keyed_tagging, order_by=keyed_tagging.c.tag_id.desc(), viewonly=True
    )
    # A trip's stops in stop_sequence order: ordered by a column of the secondary only.
    placed_tags: Mapped[list[Tag]] = relationship(
        secondary=placing, order_by=placing.c.position, viewonly=True
    )


class Tag(Other):
    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(10))


def test_which_secondaries_become_membership_tests() -> None:
    shape = ts.shape(Post, "tags", "keyed_tags", "by_tagging")
    found = {
        rel.name: membership(aliased(Post), aliased(Tag), rel) is not None
        for rel in shape.node.relations
    }
    # No key on tagging: a pair listed twice is a tag listed twice (selectin loading repeats
    # it). An order by a secondary column needs the secondary in the FROM.
    assert found == {"tags": False, "keyed_tags": True, "by_tagging": False}
    placed = relation(ts.shape(Post, "placed_tags"), "placed_tags")
    assert membership(aliased(Post), aliased(Tag), placed) is None


def test_repeated_pairs_stay_repeated() -> None:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Other.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(Post), [{"id": 1}, {"id": 2}])
        conn.execute(insert(Tag), [{"id": i, "name": f"t{i}"} for i in (1, 2, 3)])
        conn.execute(insert(tagging), [{"post_id": 1, "tag_id": t} for t in (1, 1, 2)])
        conn.execute(insert(keyed_tagging), [{"post_id": 1, "tag_id": t} for t in (3, 1)])
    shape = ts.shape(Post, "tags", "keyed_tags", {"tags": ts.include(count=True)})
    with Session(engine) as session:
        posts = session.scalars(select(Post).options(*shape.loader_options())).all()
        expected = shape.dump(posts, many=True)
        assert [t["id"] for t in expected[0]["tags"]] == [1, 1, 2]
        assert [t["id"] for t in expected[0]["keyed_tags"]] == [1, 3]
        for strategy in STRATEGIES:
            assert shape.fetch(session, strategy=strategy) == expected
    engine.dispose()


def test_order_by_a_secondary_column(db_url: str) -> None:
    """A relationship ordered by its secondary's columns (``placing.position``, a descending
    ``keyed_tagging.tag_id``): `fetch` selects through an alias of the secondary and orders by
    that alias, in both strategies, on SQLite and PostgreSQL, as the ORM orders the objects."""
    engine = create_engine(db_url)
    Other.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(Post), [{"id": i} for i in (1, 2, 3)])
        conn.execute(insert(Tag), [{"id": i, "name": f"t{i}"} for i in (1, 2, 3, 4)])
        conn.execute(insert(keyed_tagging), [{"post_id": 1, "tag_id": t} for t in (3, 1, 4)])
        conn.execute(
            insert(placing),
            [
                {"post_id": p, "position": n, "tag_id": t}
                for p, n, t in [(1, 5, 2), (1, 1, 4), (1, 3, 2), (1, 2, 1), (2, 9, 3), (2, 4, 1)]
            ],
        )
    shapes = [
        ts.shape(Post, "placed_tags", "by_tagging"),
        ts.shape(Post, {"placed_tags": ts.include(ids=True), "by_tagging": ts.include(ids=True)}),
        ts.shape(Post, {"placed_tags": ts.include(count=True, where={"id": (1, 2)})}),
    ]
    try:
        for shape in shapes:
            with Session(engine) as session:
                posts = session.scalars(
                    select(Post).options(*shape.loader_options()).order_by(Post.id)
                ).all()
                expected = shape.dump(posts, many=True)
                for strategy in STRATEGIES:
                    assert shape.fetch(session, strategy=strategy) == expected, strategy
                    raw = shape.fetch_json(session, strategy=strategy)
                    assert orjson.loads(raw) == expected, strategy
        with Session(engine) as session:
            docs = shapes[1].fetch(session)
        # positions 1, 2, 3, 5 of post 1: tags 4, 1, 2, 2 (a tag placed twice is listed twice)
        assert [d["placed_tags"] for d in docs] == [[4, 1, 2, 2], [1, 3], []]
        assert [d["by_tagging"] for d in docs] == [[4, 3, 1], [], []]
    finally:
        engine.dispose()
