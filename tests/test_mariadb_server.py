"""The suite's private MariaDB server: reachable by both drivers, one empty database per test,
templates copied with their rows, and the collation the example's keys are tested against."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests import mariadb_server as mdb

metadata = sa.MetaData()
things = sa.Table(
    "things",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(32)),
)


def test_pymysql_round_trip(mariadb_engine: sa.Engine) -> None:
    assert mariadb_engine.dialect.driver == "pymysql"
    metadata.create_all(mariadb_engine)
    assert mariadb_engine.dialect.name == "mysql"  # the documented mysql+pymysql:// URL
    assert getattr(mariadb_engine.dialect, "is_mariadb", False)
    with mariadb_engine.begin() as conn:
        conn.execute(things.insert(), [{"id": 1, "name": "é"}, {"id": 2, "name": None}])
    with mariadb_engine.connect() as conn:
        assert conn.execute(sa.select(things).order_by(things.c.id)).all() == [(1, "é"), (2, None)]


def test_aiomysql_round_trip(mariadb_async_url: str) -> None:
    async def run() -> list[tuple[int]]:
        engine = create_async_engine(mariadb_async_url, poolclass=sa.pool.NullPool)
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(sa.text("SELECT 1 + 1"))).all()]

    assert asyncio.run(run()) == [(2,)]


def test_each_test_gets_an_empty_database(mariadb_engine: sa.Engine) -> None:
    assert sa.inspect(mariadb_engine).get_table_names() == []


def test_the_server_compares_text_case_insensitively(mariadb_engine: sa.Engine) -> None:
    """The default a Debian server has: a key column without a binary collation merges ids."""
    with mariadb_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT @@collation_server").scalar() == mdb.SERVER_COLLATION
        assert conn.exec_driver_sql("SELECT 'BULLFROG' = 'bullfrog'").scalar() == 1


def test_template_copies_tables_and_rows(mariadb_server: mdb.MariaDbServer) -> None:
    calls: list[str] = []

    def setup(url: str) -> None:
        calls.append(url)
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(things.insert(), [{"id": 1, "name": "one"}])
        engine.dispose()

    name = mariadb_server.template("things", setup)
    assert mariadb_server.template("things", setup) == name
    assert len(calls) == 1
    with (
        mariadb_server.database(template=name) as one,
        mariadb_server.database(template=name) as two,
    ):
        for db, extra in ((one, 2), (two, 3)):
            engine = sa.create_engine(db.url)
            with engine.begin() as conn:
                conn.execute(things.insert(), [{"id": extra, "name": "new"}])
                ids = conn.execute(sa.select(things.c.id).order_by(things.c.id)).scalars().all()
            engine.dispose()
            assert ids == [1, extra]


def test_the_local_server_listens_on_its_socket_only(mariadb_server: mdb.MariaDbServer) -> None:
    if mariadb_server.local is None:
        pytest.skip(f"{mdb.ENV_URL} names an external server")
    with mariadb_server._admin.connect() as conn:
        assert conn.exec_driver_sql("SELECT @@skip_networking").scalar() == 1
        socket = conn.exec_driver_sql("SELECT @@socket").scalar()
    assert Path(str(socket)).parent == mariadb_server.local.root


def test_a_stopped_server_leaves_no_directory(mariadb_server: mdb.MariaDbServer) -> None:
    """A second private server (the session's one proves the programs are there)."""
    server = mdb.start_local_server()
    root = server.root
    assert server.socket.exists()
    # The server proper, not the runuser in front of it when we are root.
    pid = int((root / "mysqld.pid").read_text())
    server.stop()
    server.stop()  # idempotent
    assert not root.exists()
    assert not mdb._pid_alive(pid)
    assert server.process is not None and server.process.poll() is not None


def test_missing_programs_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mdb, "SERVER_EXE", "/nonexistent/mariadbd")
    monkeypatch.setattr(mdb.shutil, "which", lambda name: None)
    with pytest.raises(mdb.MariaDbUnavailable, match="apt-get install mariadb-server"):
        mdb.start_local_server()


def test_a_bad_external_url_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mdb.ENV_URL, "not a url")
    with pytest.raises(mdb.MariaDbUnavailable, match=mdb.ENV_URL):
        mdb.open_server()
