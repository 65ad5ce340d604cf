"""fetch, fetch_json and loader_options on MariaDB, against the ORM and dump_json on the same
rows, and on SQLite and PostgreSQL where the SQL differs (NULL order, windows, limits).

The models keep values exactly on every database (``Double``, ``DateTime(fsp=6)`` on MySQL,
keys with a binary collation), so the same rows can be compared across databases.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts
from tests.databases import ALL, Db, database
from tests.statements import StatementCounter
from treeshape.sql.fetch import FetchError


def key_type(length: int = 32) -> sa.String:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


STAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
CLOCK = sa.Time().with_variant(mysql.TIME(fsp=6), "mysql", "mariadb")


class Base(DeclarativeBase):
    pass


class Kind(enum.Enum):
    BUS = "bus"
    TRAM = "tram"


class Depot(Base):
    __tablename__ = "depot"

    depot_id: Mapped[str] = mapped_column(key_type(), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    buses: Mapped[list[Bus]] = relationship(back_populates="depot", order_by="Bus.bus_id")


class Bus(Base):
    __tablename__ = "bus"

    bus_id: Mapped[str] = mapped_column(key_type(), primary_key=True)
    depot_id: Mapped[str] = mapped_column(sa.ForeignKey("depot.depot_id"), index=True)
    seats: Mapped[int | None] = mapped_column(sa.Integer)
    speed: Mapped[float | None] = mapped_column(sa.Double)
    price: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(10, 3))
    electric: Mapped[bool | None] = mapped_column(sa.Boolean)
    kind: Mapped[Kind | None] = mapped_column(sa.Enum(Kind))
    bought: Mapped[dt.date | None] = mapped_column(sa.Date)
    serviced: Mapped[dt.datetime | None] = mapped_column(STAMP)
    leaves: Mapped[dt.time | None] = mapped_column(CLOCK)
    code: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    note: Mapped[str | None] = mapped_column(sa.String(255))
    extra: Mapped[Any] = mapped_column(sa.JSON, nullable=True)

    depot: Mapped[Depot] = relationship(back_populates="buses")


@pytest.fixture(scope="module", params=ALL)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        yield db


@pytest.fixture(scope="module")
def mariadb_fleet(mariadb_server: Any) -> Iterator[Db]:
    with mariadb_server.database() as server_db:
        engine = sa.create_engine(server_db.url)
        try:
            Base.metadata.create_all(engine)
            yield Db("mariadb", engine, Base.metadata)
        finally:
            engine.dispose()


def _insert(db: Db, depots: list[dict[str, Any]], buses: list[dict[str, Any]]) -> None:
    db.clean()
    with db.engine.begin() as conn:
        if depots:
            conn.execute(sa.insert(Depot), depots)
        if buses:
            conn.execute(sa.insert(Bus), buses)


def _orm_bytes(db: Db, shape: ts.Shape, *, order: Any = None, limit: int | None = None) -> bytes:
    with Session(db.engine) as session:
        stmt = sa.select(Depot).options(*shape.loader_options())
        stmt = stmt.order_by(*(order or []), Depot.depot_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return shape.dump_json(session.scalars(stmt).all(), many=True)


def _check(db: Db, shape: ts.Shape, **call: Any) -> bytes:
    """Both fetch strategies give dump_json's bytes of the ORM's load, in the planned number of
    statements; returns those bytes."""
    expected = _orm_bytes(db, shape, order=call.get("order_by"), limit=call.get("limit"))
    order = call.pop("order_by", None)
    for strategy in ("json", "core"):
        with Session(db.engine) as session, StatementCounter(db.engine) as counter:
            got = shape.fetch_json(session, order_by=order, strategy=strategy, **call)
        if db.kind == "postgresql" and strategy == "json":
            # PostgreSQL's json_build_object writes '"key" : value': the same document only.
            assert orjson.loads(got) == orjson.loads(expected), (db.kind, strategy)
        else:
            assert got == expected, (db.kind, strategy)
        planned = 1 if strategy == "json" else 1 + shape.node.count_relations()
        assert counter.count == planned, (db.kind, strategy)
    return expected


finite = st.floats(allow_nan=False, allow_infinity=False)
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
buses = st.fixed_dictionaries(
    {
        "seats": st.none() | st.integers(-(2**31), 2**31 - 1),
        "speed": st.none() | finite,
        "price": st.none()
        | st.decimals(min_value=-9999999, max_value=9999999, places=3, allow_nan=False),
        "electric": st.none() | st.booleans(),
        "kind": st.none() | st.sampled_from(Kind),
        "bought": st.none() | st.dates(dt.date(1000, 1, 1), dt.date(9999, 12, 31)),
        "serviced": st.none() | st.datetimes(dt.datetime(1000, 1, 1), dt.datetime(9999, 12, 31)),
        "leaves": st.none() | st.times(),
        # MariaDB's UUID type refuses what RFC 4122 does not define (variant bits).
        "code": st.none() | st.uuids(version=4),
        "note": st.none() | text,
        "extra": st.none() | st.dictionaries(st.text(max_size=5), st.integers(0, 9), max_size=3),
    }
)

every_field = ts.shape(Depot, "buses", name="DepotWithBuses")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(buses, max_size=6), depots=st.integers(1, 3))
def test_every_value_type_gives_dump_json_bytes(
    mariadb_fleet: Db, rows: list[dict[str, Any]], depots: int
) -> None:
    """MariaDB's JSON strategy writes every column type as dump_json does (the dialect of this
    module's subject; SQLite's and PostgreSQL's are the core tests')."""
    db = mariadb_fleet
    ids = [f"d{i}" for i in range(depots)]
    bus_rows = [
        {**row, "bus_id": f"b{i:02d}", "depot_id": ids[i % depots]} for i, row in enumerate(rows)
    ]
    _insert(db, [{"depot_id": d, "name": d.upper()} for d in ids], bus_rows)
    _check(db, every_field)


def _fleet(db: Db) -> None:
    """Depots A, B, a (ids that differ by case), C without buses; speeds with NULLs and ties."""
    depots = [
        {"depot_id": d, "name": n} for d, n in (("A", "x"), ("B", None), ("a", "y"), ("C", "x"))
    ]
    speeds = [None, 3.5, 1.25, None, 3.5, 0.0, -2.0]
    rows = [
        {"bus_id": f"{depot}{i}", "depot_id": depot, "speed": speed, "seats": i % 3 or None}
        for depot in ("A", "B", "a")
        for i, speed in enumerate(speeds)
    ]
    _insert(db, depots, rows)


@pytest.mark.parametrize("descending", [False, True])
def test_order_by_puts_nulls_as_the_largest_values(db: Db, descending: bool) -> None:
    _fleet(db)
    shape = ts.shape(
        Depot,
        {"buses": ts.include(order_by="-speed" if descending else "speed")},
        fields={Bus: ["bus_id", "speed"]},
    )
    body = orjson.loads(_check(db, shape))
    for depot in body:
        speeds = [b["speed"] for b in depot["buses"]]
        known = sorted((s for s in speeds if s is not None), reverse=descending)
        nulls = [None] * (len(speeds) - len(known))
        assert speeds == (nulls + known if descending else known + nulls), depot["depot_id"]


def test_windows_and_counts_per_parent(db: Db) -> None:
    _fleet(db)
    shape = ts.shape(
        Depot,
        {"buses": ts.include(order_by=["-seats", "speed"], limit=3, offset=1, count="bus_count")},
        fields={Bus: ["bus_id", "seats", "speed"]},
    )
    body = orjson.loads(_check(db, shape))
    assert [(d["depot_id"], d["bus_count"], len(d["buses"])) for d in body] == [
        ("A", 7, 3),
        ("B", 7, 3),
        ("C", 0, 0),
        ("a", 7, 3),
    ]


def test_limit_with_a_relationship(db: Db) -> None:
    """MySQL refuses LIMIT inside IN (...): the keys of the first roots are a derived table."""
    _fleet(db)
    shape = ts.shape(Depot, "buses", fields={Bus: ["bus_id"]})
    body = orjson.loads(_check(db, shape, limit=2, order_by=[Depot.depot_id.desc()]))
    assert [d["depot_id"] for d in body] == ["a", "C"]  # code point order: 'a' > 'C'
    assert [b["bus_id"] for b in body[0]["buses"]] == [f"a{i}" for i in range(7)]


def test_ids_that_differ_by_case_stay_apart(db: Db) -> None:
    """A binary collation: 'A' and 'a' are two depots with their own buses, in code point
    order, and a filter by 'a' finds only 'a'."""
    _fleet(db)
    shape = ts.shape(Depot, {"buses": ts.include(ids=True)}, fields={Depot: ["depot_id"]})
    body = orjson.loads(_check(db, shape))
    assert [d["depot_id"] for d in body] == ["A", "B", "C", "a"]
    assert body[0]["buses"] == [f"A{i}" for i in range(7)]
    with Session(db.engine) as session:
        assert [d["depot_id"] for d in shape.fetch(session, Depot.depot_id == "a")] == ["a"]


def _long_depot(engine: sa.Engine, *, buses: int) -> tuple[Db, ts.Shape]:
    """One depot with ``buses`` buses of a 250-character note each, and its shape."""
    Base.metadata.create_all(engine)
    db = Db("mariadb", engine, Base.metadata)
    rows = [{"bus_id": f"b{i:05d}", "depot_id": "A", "note": "n" * 250} for i in range(buses)]
    _insert(db, [{"depot_id": "A", "name": None}], rows)
    return db, ts.shape(Depot, "buses", fields={Bus: ["bus_id", "note"]})


def test_a_document_beyond_group_concat_max_len_is_whole(mariadb_engine: sa.Engine) -> None:
    """MariaDB's default group_concat_max_len (1 MiB) would cut the array (a warning, invalid
    JSON); the statement raises it for itself, and the session keeps its own setting."""
    db, shape = _long_depot(mariadb_engine, buses=6000)
    with db.engine.connect() as conn:
        limit = conn.exec_driver_sql("SELECT @@group_concat_max_len").scalar_one()
    assert int(limit) < 250 * 6000
    body = _check(db, shape)
    assert len(orjson.loads(body)[0]["buses"]) == 6000
    with Session(db.engine) as session:
        shape.fetch_json(session, strategy="json")
        after = session.execute(sa.text("SELECT @@group_concat_max_len")).scalar_one()
    assert after == limit


def test_a_document_beyond_max_allowed_packet_is_never_cut(mariadb_engine: sa.Engine) -> None:
    """MariaDB answers NULL (and a warning) for a function result larger than
    max_allowed_packet: ``strategy="json"`` refuses it, naming the setting, and ``"auto"``
    serves the document through the Core strategy, whole."""
    _, shape = _long_depot(mariadb_engine, buses=400)
    with mariadb_engine.connect() as conn:
        packet = conn.exec_driver_sql("SELECT @@global.max_allowed_packet").scalar_one()
        expected = shape.fetch_json(conn, strategy="core")
        conn.exec_driver_sql("SET GLOBAL max_allowed_packet = 65536")
    small = sa.create_engine(mariadb_engine.url)
    try:
        assert len(expected) > 65536
        with Session(small) as session:
            with pytest.raises(FetchError, match=r"max_allowed_packet.*strategy='core'"):
                shape.fetch_json(session, strategy="json")
            with StatementCounter(small) as counter:
                assert shape.fetch_json(session) == expected
            assert counter.count == 3  # the JSON statement, then the roots and the buses
            assert shape.fetch(session) == orjson.loads(expected)
    finally:
        small.dispose()
        with mariadb_engine.connect() as conn:
            conn.exec_driver_sql(f"SET GLOBAL max_allowed_packet = {int(packet)}")


def test_auto_uses_the_json_strategy(db: Db) -> None:
    _fleet(db)
    shape = ts.shape(Depot, "buses")
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        shape.fetch_json(session)
    assert counter.count == 1


def test_auto_runs_collections_of_collections_as_core(db: Db) -> None:
    """A depot's buses' depot's buses: two collections on one path, the Core strategy (a
    statement per level) under ``auto``, the same bytes as the JSON statement."""
    _fleet(db)
    shape = ts.shape(Depot, "buses.depot.buses")
    with Session(db.engine) as session:
        in_sql = shape.fetch_json(session, strategy="json")
        with StatementCounter(db.engine) as counter:
            assert shape.fetch_json(session) == in_sql
        assert counter.count == 4


@pytest.fixture(scope="module", params=ALL)
def lines_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    from tests.computed.models import CfBase, CfLine, CfRun

    with database(request, CfBase.metadata) as db:
        with Session(db.engine) as session:
            session.add(CfLine(line_id=1, name="L"))
            session.flush()
            session.add_all([CfRun(run_id=i, line_id=1, headsign=f"h{i}") for i in (1, 2, 3)])
            session.commit()
        yield db


@pytest.mark.parametrize(
    ("spec", "fields"),
    [({"line": {}}, {"CfLine": []}), ({"line": {}, "calls": {}}, {"CfLine": [], "CfCall": []})],
)
def test_empty_objects_and_arrays_on_every_row(
    lines_db: Db, spec: dict[str, Any], fields: dict[str, list[str]]
) -> None:
    """Several rows sharing one target, whose object has no field: MariaDB's subquery cache
    turned an argument-less JSON_OBJECT() into an empty string from the second row on."""
    from tests.computed.models import CfRun

    shape = ts.shape(CfRun, spec, fields=fields)
    with Session(lines_db.engine) as session:
        runs = session.scalars(sa.select(CfRun).options(*shape.loader_options())).all()
        expected = shape.dump_json(sorted(runs, key=lambda r: r.run_id), many=True)
        for strategy in ("json", "core"):
            assert shape.fetch_json(session, strategy=strategy) == expected, strategy
    assert orjson.loads(expected)[2]["line"] == {}
