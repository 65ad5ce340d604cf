"""How-to: AsyncSession. ``TRANSIT_DB`` names a feed in a SQLite file (aiosqlite)."""

import asyncio
import os

import orjson
from examples.transit.models import Route
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import treeshape as ts

# [start async]
route_detail = ts.shape(Route, "trips.stop_times.stop")


async def route_document(session: AsyncSession, route_id: str) -> bytes:
    stmt = select(Route).where(Route.route_id == route_id).options(*route_detail.loader_options())
    route = (await session.scalars(stmt)).one()  # every level loaded here, inside the await
    return route_detail.dump_json(route)  # plain attribute reads: no MissingGreenlet possible


# [end async]


# [start run-sync]
async def route_fetched(session: AsyncSession, route_id: str) -> bytes:
    # fetch_json takes a synchronous Session: run it on the AsyncSession's own greenlet.
    return await session.run_sync(
        lambda sync_session: route_detail.fetch_json(sync_session, Route.route_id == route_id)
    )


# [end run-sync]


async def main(url: str) -> tuple[bytes, bytes]:
    engine = create_async_engine(url)  # e.g. "sqlite+aiosqlite:///transit.sqlite"
    async with AsyncSession(engine) as session:
        document = await route_document(session, "AB")
        fetched = await route_fetched(session, "AB")
    await engine.dispose()
    return document, fetched


if __name__ == "__main__":
    url = os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite")
    document, fetched = asyncio.run(main(url.replace("sqlite://", "sqlite+aiosqlite://", 1)))
    assert document.startswith(b'{"route_id":"AB"')
    assert orjson.loads(fetched) == [orjson.loads(document)]
