"""The core contract under asyncio: AsyncSession with aiosqlite and with asyncpg.

* ``loader_options()`` + every backend on objects an ``AsyncSession`` loaded: the reference
  output, the planned number of statements (the same as the sync session's), and no
  ``MissingGreenlet`` anywhere, not even on objects loaded with too little;
* `treeshape.asyncio.afetch` / ``afetch_json``: the documents and the statement count of the
  sync `fetch`;
* a FastAPI ``async def`` endpoint with an ``AsyncSession`` dependency.

There is no pytest-asyncio here: each check is a coroutine run by ``asyncio.run``, and the
async engines use ``NullPool`` so that no connection outlives the loop that opened it.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
import pytest
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import InvalidRequestError, MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session, selectinload

import treeshape as ts
from tests.core.reference import planned_statements, reference_dump
from tests.core.test_properties import spec_forms
from tests.factories import NetworkSpec, build_network
from tests.models import Base, Journey, Line, Place
from tests.pg_fixtures import async_url
from tests.statements import StatementCounter
from tests.strategies import COLUMNS, Spec, networks, specs
from treeshape.asyncio import afetch, afetch_json
from treeshape.fastapi import ShapeResponse, narrowed
from treeshape.web import EndpointShape

with warnings.catch_warnings():  # starlette's note about httpx; irrelevant here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

T = TypeVar("T")

line_detail = ts.shape(Line, "journeys.calls.place", "operator")
place_detail = ts.shape(Place, "journeys.line", "parent", "children")


@dataclass(frozen=True)
class AsyncDb:
    """A database with the test models: a sync engine to fill it, and its asyncio URL."""

    kind: str
    engine: sa.Engine
    async_url: str

    def clean(self) -> None:
        with self.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())

    def fill(self, spec: NetworkSpec) -> None:
        self.clean()
        with Session(self.engine) as session:
            build_network(session, spec)

    def run(self, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        """``work(async_engine)`` in a fresh event loop, the engine disposed afterwards."""

        async def main() -> T:
            engine = create_async_engine(self.async_url, poolclass=sa.pool.NullPool)
            try:
                return await work(engine)
            finally:
                await engine.dispose()

        return asyncio.run(main())


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def async_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AsyncDb]:
    """SQLite (a file: aiosqlite cannot share a sync engine's in-memory database) or PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+pysqlite:///{tmp_path_factory.mktemp('async') / 'test.sqlite'}"
        engine = sa.create_engine(url)
        try:
            Base.metadata.create_all(engine)
            yield AsyncDb("sqlite", engine, async_url(url))
        finally:
            engine.dispose()
        return
    server = request.getfixturevalue("pg_server")
    with server.database() as db:
        engine = sa.create_engine(db.url)
        try:
            Base.metadata.create_all(engine)
            yield AsyncDb("postgresql", engine, db.async_url)
        finally:
            engine.dispose()


def pk_order(model: type) -> list[Any]:
    return list(sa.inspect(model).primary_key)


def sync_load(db: AsyncDb, shape: ts.Shape) -> tuple[list[dict[str, Any]], int]:
    """The sync reference: dump of the roots loaded with loader_options, and its statements."""
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        stmt = sa.select(shape.model).options(*shape.loader_options())
        objs = session.scalars(stmt.order_by(*pk_order(shape.model))).all()
        return shape.dump(objs, many=True), counter.count


def sync_fetch(db: AsyncDb, shape: ts.Shape, **kwargs: Any) -> tuple[list[Any], bytes, int, int]:
    with Session(db.engine) as session:
        with StatementCounter(db.engine) as counter:
            docs = shape.fetch(session, **kwargs)
        with StatementCounter(db.engine) as json_counter:
            raw = shape.fetch_json(session, **kwargs)
    return docs, raw, counter.count, json_counter.count


# -- the property test, under asyncio ------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), network=networks, data=st.data())
def test_async_session_every_backend_and_afetch(
    async_db: AsyncDb, spec: Spec, network: NetworkSpec, data: st.DataObject
) -> None:
    root, tree, fields = spec
    shape = ts.shape(root, spec_forms(spec, data.draw)[0], fields=fields)
    async_db.fill(network)
    _, _, sync_fetch_count, sync_json_count = sync_fetch(async_db, shape)

    async def work(engine: AsyncEngine) -> None:
        with StatementCounter(engine.sync_engine) as counter:
            async with AsyncSession(engine) as session:
                stmt = sa.select(root).options(*shape.loader_options()).order_by(*pk_order(root))
                objs = (await session.scalars(stmt)).all()
                assert counter.count == planned_statements(list(objs), tree)

                counter.reset()
                outputs = [
                    shape.dump(objs, many=True),
                    orjson.loads(shape.dump_json(objs, many=True)),
                    shape.marshmallow_schema(many=True).dump(objs),
                    [shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs],
                ]
                assert counter.count == 0, counter.statements
                expected = [reference_dump(o, tree, fields, COLUMNS) for o in objs]
                assert all(output == expected for output in outputs)

                counter.reset()
                assert await afetch(shape, session) == expected
                assert counter.count == sync_fetch_count
                counter.reset()
                assert orjson.loads(await afetch_json(shape, session)) == expected
                assert counter.count == sync_json_count

    async_db.run(work)


# -- deterministic checks ----------------------------------------------------------------------


def test_same_statements_as_sync(async_db: AsyncDb) -> None:
    """Loading and fetching a deep shape costs exactly what it costs with a sync Session."""
    async_db.fill(NetworkSpec(operators=2, lines=3, journeys_per_line=3, places=6))
    for shape in (line_detail, place_detail):
        expected, sync_count = sync_load(async_db, shape)
        docs, raw, fetch_count, json_count = sync_fetch(async_db, shape)
        assert docs == expected and orjson.loads(raw) == expected

        async def work(
            engine: AsyncEngine,
            shape: ts.Shape = shape,
            expected: list[dict[str, Any]] = expected,
            counts: tuple[int, int, int] = (sync_count, fetch_count, json_count),
            raw: bytes = raw,
        ) -> None:
            sync_count, fetch_count, json_count = counts
            async with AsyncSession(engine) as session:
                with StatementCounter(engine.sync_engine) as counter:
                    stmt = sa.select(shape.model).options(*shape.loader_options())
                    result = await session.scalars(stmt.order_by(*pk_order(shape.model)))
                    assert shape.dump(result.all(), many=True) == expected
                assert counter.count == sync_count == 1 + len(shape.paths)
                with StatementCounter(engine.sync_engine) as counter:
                    assert await afetch(shape, session) == expected
                assert counter.count == fetch_count
                with StatementCounter(engine.sync_engine) as counter:
                    assert await afetch_json(shape, session) == raw
                assert counter.count == json_count

        async_db.run(work)


def test_afetch_arguments_and_connection(async_db: AsyncDb) -> None:
    """Criteria, order_by, limit and strategy pass through; an AsyncConnection works too."""
    async_db.fill(NetworkSpec(lines=3))
    shape = ts.shape(Line, "journeys")
    criteria = (Line.line_id > 1,)
    kwargs: dict[str, Any] = {"order_by": Line.name.desc(), "limit": 2, "strategy": "core"}
    with Session(async_db.engine) as session:
        expected = shape.fetch(session, *criteria, **kwargs)
    assert [doc["line_id"] for doc in expected] == [3, 2]

    async def work(engine: AsyncEngine) -> None:
        async with AsyncSession(engine) as session:
            assert await afetch(shape, session, *criteria, **kwargs) == expected
        async with engine.connect() as conn:
            assert await afetch(shape, conn, *criteria, **kwargs) == expected
            raw = await afetch_json(shape, conn, *criteria, **kwargs)
            assert orjson.loads(raw) == expected

    async_db.run(work)


def test_shapes_without_root_columns(async_db: AsyncDb) -> None:
    """A root with no fields of its own still fetches one document per row (found by the
    property test: the JSON strategy once selected from no table at all)."""
    async_db.fill(NetworkSpec(lines=2))
    for shape in (ts.shape(Line, fields=[]), ts.shape(Line, "operator", fields={Line: []})):
        expected, _ = sync_load(async_db, shape)
        assert len(expected) == 2
        for strategy in ("core", "json"):
            with Session(async_db.engine) as session:
                assert shape.fetch(session, strategy=strategy) == expected
                assert orjson.loads(shape.fetch_json(session, strategy=strategy)) == expected

            async def work(
                engine: AsyncEngine, shape: ts.Shape = shape, how: Any = strategy
            ) -> Any:
                async with AsyncSession(engine) as session:
                    return await afetch(shape, session, strategy=how)

            assert async_db.run(work) == expected


def test_too_little_loaded_raises_never_missing_greenlet(async_db: AsyncDb) -> None:
    """Under asyncio a lazy load is ``MissingGreenlet``; treeshape must never get that far."""
    async_db.fill(NetworkSpec(lines=1))
    deep = ts.shape(Line, "journeys.calls.place")

    async def work(engine: AsyncEngine) -> None:
        async with AsyncSession(engine) as session:
            # Loaded with a narrower plan than the shape dumps: journeys, not their calls.
            stmt = sa.select(Line).options(selectinload(Line.journeys))
            line = (await session.scalars(stmt)).one()
            with pytest.raises(ts.NotLoadedError) as info:
                deep.dump(line)
            assert info.value.path == "journeys.calls"
            with pytest.raises(ts.NotLoadedError) as info:
                deep.dump_json(line)
            assert info.value.path == "journeys.calls"
            for backend in (
                lambda: deep.marshmallow_schema().dump(line),
                lambda: deep.pydantic_model.model_validate(line),
            ):
                # NotLoadedError, never MissingGreenlet (nor a lazy load's other errors).
                with pytest.raises(ts.NotLoadedError, match=r"Journey\.calls is not loaded"):
                    backend()

            # Loaded by the shape: what it does not include raises at once (raiseload).
            brief = ts.shape(Line, "journeys")
            stmt = sa.select(Line).options(*brief.loader_options())
            line = (await session.scalars(stmt.execution_options(populate_existing=True))).one()
            assert brief.dump(line)["journeys"]
            # raiseload's own error (MissingGreenlet is an InvalidRequestError too).
            with pytest.raises(
                InvalidRequestError, match=r"'Line.operator' is not available due to lazy='raise'"
            ) as raised:
                _ = line.operator
            assert not isinstance(raised.value, MissingGreenlet)
            journey: Journey = line.journeys[0]
            with pytest.raises(
                InvalidRequestError, match=r"'Journey.calls' is not available due to lazy='raise'"
            ) as raised:
                _ = journey.calls
            assert not isinstance(raised.value, MissingGreenlet)

    async_db.run(work)


# -- FastAPI: async endpoints with an AsyncSession dependency ----------------------------------

LINE_ENDPOINT = EndpointShape(line_detail)


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One AsyncSession per request, on the app's async engine."""
    async with AsyncSession(request.app.state.engine) as session:
        yield session


Db = Annotated[AsyncSession, Depends(db_session)]
NarrowedLine = Annotated[ts.Shape, Depends(narrowed(LINE_ENDPOINT))]


def async_app(url: str) -> FastAPI:
    app = FastAPI()
    app.state.engine = create_async_engine(url, poolclass=sa.pool.NullPool)

    @app.get("/lines/{line_id}", response_model=line_detail.pydantic_model)
    async def get_line(line_id: int, db: Db, shape: NarrowedLine) -> ShapeResponse:
        stmt = sa.select(Line).where(Line.line_id == line_id).options(*shape.loader_options())
        return ShapeResponse(shape, (await db.scalars(stmt)).one())

    @app.get("/lines")
    async def list_lines(db: Db, shape: NarrowedLine) -> ShapeResponse:
        stmt = sa.select(Line).order_by(Line.line_id).options(*shape.loader_options())
        return ShapeResponse(shape, (await db.scalars(stmt)).all(), many=True)

    return app


def test_fastapi_async_endpoint_with_async_session(async_db: AsyncDb) -> None:
    """An ``async def`` endpoint: the narrowing dependency, AsyncSession, ShapeResponse, 400."""
    async_db.fill(NetworkSpec(lines=2))
    with Session(async_db.engine) as session:
        narrow = line_detail.narrow("journeys", fields={"Journey": ["journey_id"]})
        expected_one = line_detail.fetch(session, Line.line_id == 1)[0]
        expected_narrow = narrow.fetch(session)

    app = async_app(async_db.async_url)
    with TestClient(app) as client:
        answer = client.get("/lines/1")
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected_one
        query = {"include": "journeys", "fields[Journey]": "journey_id"}
        answer = client.get("/lines", params=query)
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected_narrow
        answer = client.get("/lines/1", params={"include": "journeys.nope"})
        assert answer.status_code == 400
        assert "nope" in answer.text
