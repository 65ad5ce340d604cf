"""A relationship whose own ``order_by`` has ties, or which has none: every backend breaks ties
by the target's primary key (DESIGN.md: "each collection in its relationship's ``order_by``,
primary-key order where it has none"), whatever order the database stores the rows in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts
from tests.databases import ALL, database
from tests.statements import StatementCounter


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "team"

    team_id: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    # Ranks repeat: the order alone leaves ties.
    by_rank: Mapped[list[Player]] = relationship(order_by="Player.rank", viewonly=True)
    # No order at all.
    unordered: Mapped[list[Player]] = relationship(viewonly=True)


class Player(Base):
    __tablename__ = "player"

    # A text key, inserted in reverse: the storage order (SQLite's rowid, PostgreSQL's heap)
    # is the reverse of the key order.
    player_id: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    team_id: Mapped[str] = mapped_column(sa.ForeignKey("team.team_id"), index=True)
    rank: Mapped[int]


@pytest.fixture(scope="module", params=ALL)
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    with database(request, Base.metadata) as db:
        with db.engine.begin() as conn:
            conn.execute(sa.insert(Team), [{"team_id": "t1"}, {"team_id": "t2"}])
            players = [
                {"player_id": f"p{n:02d}", "team_id": f"t{1 + n % 2}", "rank": n % 3}
                for n in reversed(range(12))
            ]
            conn.execute(sa.insert(Player), players)
        yield db.engine


def expected(engine: sa.Engine, rel: str) -> list[dict[str, object]]:
    """Computed in Python: the relationship's order, then the primary key."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Player.player_id, Player.team_id, Player.rank)).all()
    documents = []
    for team_id in ("t1", "t2"):
        mine = [r for r in rows if r.team_id == team_id]
        key = (lambda r: (r.rank, r.player_id)) if rel == "by_rank" else (lambda r: r.player_id)
        players = [{"player_id": r.player_id} for r in sorted(mine, key=key)]
        documents.append({"team_id": team_id, rel: players})
    return documents


def _check_orders_by_key(engine: sa.Engine, shape: ts.Shape) -> None:
    with Session(engine) as session, StatementCounter(engine) as counter:
        session.scalars(sa.select(Team).options(*shape.loader_options())).all()
        for strategy in ("core", "json"):
            shape.fetch(session, strategy=strategy)
    reads = [sql for sql in counter.statements if "player" in sql.split("FROM", 1)[-1]]
    assert len(reads) == 3
    for sql in reads:
        assert re.search(r"ORDER BY [^()]*\bplayer\w*\.player_id\b", sql), sql


@pytest.mark.parametrize("rel", ["by_rank", "unordered"])
def test_ties_are_broken_by_primary_key_in_every_backend(engine: sa.Engine, rel: str) -> None:
    shape = ts.shape(Team, {rel: {}}, fields={"Player": ["player_id"]})
    want = expected(engine, rel)
    if engine.dialect.name in ("mysql", "mariadb"):
        # InnoDB stores rows in primary-key order and its secondary indexes end with the key,
        # so no storage order can differ from the answer there: check each statement that
        # reads players orders by the key instead (after the loader's own run below).
        _check_orders_by_key(engine, shape)
    else:
        # The storage order really differs from the answer (else the test proves nothing).
        with engine.connect() as conn:
            stored = conn.scalars(sa.select(Player.player_id).where(Player.team_id == "t1")).all()
        assert stored != [p["player_id"] for p in want[0][rel]]  # type: ignore[index]

    with Session(engine) as session, StatementCounter(engine) as counter:
        stmt = sa.select(Team).options(*shape.loader_options()).order_by(Team.team_id)
        teams = session.scalars(stmt).all()
        assert counter.count == 2
        assert shape.dump(teams, many=True) == want
        assert shape.marshmallow_schema(many=True).dump(teams) == want
        models = [shape.pydantic_model.model_validate(t).model_dump(mode="json") for t in teams]
        assert models == want
        for strategy in ("core", "json"):
            assert shape.fetch(session, strategy=strategy) == want
            assert orjson.loads(shape.fetch_json(session, strategy=strategy)) == want
