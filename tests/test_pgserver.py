"""The PostgreSQL test infrastructure itself: drivers, value round-trips, isolation, teardown."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import textwrap
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from tests import pgserver
from tests.pg_fixtures import async_url

REPO = Path(__file__).resolve().parent.parent

metadata = sa.MetaData()
things = sa.Table(
    "things",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("price", sa.Numeric(12, 4)),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("naive", sa.DateTime()),
    sa.Column("ref", sa.Uuid()),
    sa.Column("doc", pg.JSONB()),
    sa.Column("tags", pg.ARRAY(sa.Text)),
    sa.Column("label", sa.Text),
)

ROW: dict[str, Any] = {
    "id": 1,
    "price": Decimal("1234.5600"),
    "at": dt.datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=10))),
    "naive": dt.datetime(2024, 3, 1, 12, 30, 15),
    "ref": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "doc": {"a": [1, 2.5, None, True], "b": {"c": 'ü"\\'}},
    "tags": ["x", "y z", "日本"],
    "label": "quote ' double \" backslash \\ ünïcødé ✓",
}


def _check_row(row: sa.Row[Any]) -> None:
    got = row._asdict()
    assert got == ROW
    # timestamptz comes back as the same instant (rendered in the session zone, UTC here).
    assert got["at"].utcoffset() == dt.timedelta(0)
    assert isinstance(got["price"], Decimal)


def test_psycopg_round_trip(pg_engine: sa.Engine) -> None:
    assert pg_engine.dialect.driver == "psycopg"
    metadata.create_all(pg_engine)
    with pg_engine.begin() as conn:
        conn.execute(things.insert(), ROW)
    with pg_engine.connect() as conn:
        _check_row(conn.execute(sa.select(things)).one())
        settings = conn.execute(
            sa.text(
                "SELECT current_setting('server_encoding'), current_setting('TimeZone'), "
                "current_setting('lc_collate')"
            )
        ).one()
    assert tuple(settings) == ("UTF8", "UTC", "C")


def test_asyncpg_round_trip(pg_async_engine: Any) -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine

    engine: AsyncEngine = pg_async_engine
    assert engine.dialect.driver == "asyncpg"

    async def main() -> sa.Row[Any]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(things.insert(), ROW)
        async with engine.connect() as conn:
            return (await conn.execute(sa.select(things))).one()

    _check_row(asyncio.run(main()))
    asyncio.run(engine.dispose())


def test_each_test_gets_an_empty_database(pg_engine: sa.Engine) -> None:
    # The previous tests created "things"; this database must not have it.
    assert sa.inspect(pg_engine).get_table_names() == []


def test_urls(pg_database: pgserver.PgDatabase, pg_url: str, pg_async_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://")
    assert pg_async_url.startswith("postgresql+asyncpg://")
    assert sa.make_url(pg_url).database == pg_database.name
    assert async_url(pg_url) == pg_async_url


def test_template_clones(pg_server: pgserver.PgServer) -> None:
    def setup(url: str) -> None:
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(things.insert(), ROW)
        engine.dispose()

    name = pg_server.template("things", setup)
    assert pg_server.template("things", setup) == name  # built once
    with pg_server.database(template=name) as one, pg_server.database(template=name) as two:
        for db in (one, two):
            engine = sa.create_engine(db.url)
            with engine.begin() as conn:
                _check_row(conn.execute(sa.select(things)).one())
                conn.execute(things.delete())
            engine.dispose()


def test_db_url_runs_on_both(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        assert engine.dialect.name in {"sqlite", "postgresql"}
    finally:
        engine.dispose()


_CHILD = textwrap.dedent(
    """
    import json, sys
    import sqlalchemy as sa
    from tests import pgserver

    server = pgserver.open_server()
    cluster = server.cluster
    assert cluster is not None
    engine = sa.create_engine(server.base_url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    engine.dispose()
    print(json.dumps({"root": str(cluster.root), "seconds": cluster.startup_seconds}))
    sys.stdout.flush()
    if sys.argv[1] == "close":
        server.close()
    # else: leave it to atexit
    """
)


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["close", "atexit"])
def test_private_cluster_is_stopped_and_removed(how: str) -> None:
    """Starting a cluster in a child process, then checking nothing is left when it ends."""
    import json

    try:
        pgserver.find_bindir()
    except pgserver.PgUnavailable as exc:
        if pgserver.in_ci():
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    env = {k: v for k, v in os.environ.items() if k != pgserver.ENV_URL}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, how],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout.strip().splitlines()[-1])
    root = Path(info["root"])
    assert not root.exists(), f"{root} left behind"
    assert info["seconds"] < 30
    # No postmaster is left whose data directory was there (read /proc: no procps needed).
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        assert str(root) not in args, f"server still running: {args}"
