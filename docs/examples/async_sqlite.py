"""How-to: AsyncSession. ``TRANSIT_DB`` names a feed in a SQLite file (aiosqlite)."""

import asyncio
import os
import warnings
from collections.abc import AsyncIterator
from typing import Annotated

import orjson

# The transit app first: its shapes' explicit class names are claimed before this module's.
from examples.transit.fastapi_app import create_app
from examples.transit.models import Route
from fastapi import Depends, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

import treeshape as ts
from treeshape.fastapi import ShapeResponse, narrowed
from treeshape.web import EndpointShape

# [start async]
route_detail = ts.shape(Route, "trips.stop_times.stop")


async def route_document(session: AsyncSession, route_id: str) -> bytes:
    stmt = select(Route).where(Route.route_id == route_id).options(*route_detail.loader_options())
    route = (await session.scalars(stmt)).one()  # every level loaded here, inside the await
    return route_detail.dump_json(route)  # plain attribute reads: no MissingGreenlet possible


# [end async]


# [start afetch]
from treeshape.asyncio import afetch, afetch_json  # noqa: E402


async def route_fetched(session: AsyncSession, route_id: str) -> bytes:
    # The same statements, documents and strategies as route_detail.fetch_json(...).
    return await afetch_json(route_detail, session, Route.route_id == route_id)


async def routes_fetched(session: AsyncSession) -> list[dict[str, object]]:
    return await afetch(route_detail, session, order_by=Route.route_id.desc(), limit=2)


# [end afetch]


ROUTE = EndpointShape(route_detail)
app = FastAPI()


# [start dependency]
async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(request.app.state.engine) as session:
        yield session


@app.get("/routes/{route_id}", response_model=route_detail.pydantic_model)
async def get_route(
    route_id: str,
    db: Annotated[AsyncSession, Depends(db_session)],
    shape: Annotated[ts.Shape, Depends(narrowed(ROUTE))],
) -> ShapeResponse:
    stmt = select(Route).where(Route.route_id == route_id).options(*shape.loader_options())
    return ShapeResponse(shape, (await db.scalars(stmt)).one())


# [end dependency]


async def main(url: str) -> tuple[bytes, bytes, list[dict[str, object]]]:
    engine = create_async_engine(url)  # e.g. "sqlite+aiosqlite:///transit.sqlite"
    async with AsyncSession(engine) as session:
        document = await route_document(session, "AB")
        fetched = await route_fetched(session, "AB")
        last_two = await routes_fetched(session)
    await engine.dispose()
    return document, fetched, last_two


def client_for(app: FastAPI):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():  # starlette's note about httpx
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app)


def serve_async(url: str) -> None:
    # [start fastapi]
    app = create_app(url)  # an asyncio URL: an AsyncEngine, an AsyncSession per request
    # [end fastapi]
    with client_for(app) as client:
        answer = client.get("/routes/AB", params={"include": "trips"})
        assert answer.status_code == 200, answer.text
        assert [trip["trip_id"] for trip in answer.json()["trips"]] == ["AB1", "AB2"]
    asyncio.run(app.state.engine.dispose())


if __name__ == "__main__":
    url = os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite")
    async_url = url.replace("sqlite://", "sqlite+aiosqlite://", 1)
    document, fetched, last_two = asyncio.run(main(async_url))
    assert document.startswith(b'{"route_id":"AB"')
    assert orjson.loads(fetched) == [orjson.loads(document)]
    assert [route["route_id"] for route in last_two] == ["STBA", "CITY"]
    serve_async(async_url)

    app.state.engine = create_async_engine(async_url, poolclass=NullPool)  # any event loop
    with client_for(app) as client:
        answer = client.get("/routes/AB", params={"fields[Trip]": "trip_id"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["trips"][0]["stop_times"]
        assert client.get("/routes/AB", params={"include": "agency"}).status_code == 400
