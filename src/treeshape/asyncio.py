"""asyncio: `afetch` and `afetch_json`, the `Shape.fetch` / `Shape.fetch_json` of an AsyncSession.

::

    from treeshape.asyncio import afetch_json

    async with AsyncSession(engine) as session:
        body = await afetch_json(route_detail, session, Route.route_id == "110-423")

Loading ORM objects needs nothing from this module: ``loader_options()`` are ``selectinload``
and ``raiseload`` options, which SQLAlchemy's asyncio extension runs eagerly inside
``await session.scalars(...)``, and ``dump`` reads only what is loaded, so neither can reach a
lazy load (and so never raises ``MissingGreenlet``)::

    routes = await session.scalars(select(Route).options(*route_detail.loader_options()))
    body = route_detail.dump_json(routes.all(), many=True)

Why ``run_sync`` rather than a second, awaiting implementation of the fetch plan: the plan's
statements depend on one another only through SQL (each level is driven by a subquery of its
parents' keys, not by values fetched before), so the work between them is pure Python and runs
unchanged on the greenlet SQLAlchemy's asyncio layer already uses for every ``await
session.execute``. One code path means the async documents, ordering rules, strategy choice and
statement counts are those of `fetch` by construction, not by a parallel implementation kept in
step. The statements still run on the event loop's driver (asyncpg, aiosqlite); nothing blocks
the loop but the Python that builds dicts, exactly as in `dump`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from .shape import Shape
    from .sql.fetch import Strategy

__all__ = ["afetch", "afetch_json", "aload"]


async def afetch(
    shape: Shape,
    session: AsyncSession | AsyncConnection,
    *criteria: Any,
    order_by: Any = None,
    limit: int | None = None,
    offset: int | None = None,
    strategy: Strategy = "auto",
) -> list[dict[str, Any]]:
    """``shape.fetch(...)`` on an ``AsyncSession`` (or ``AsyncConnection``): the same documents,
    with the same statements."""

    def run(sync_session: Any) -> list[dict[str, Any]]:
        return shape.fetch(
            sync_session,
            *criteria,
            order_by=order_by,
            limit=limit,
            offset=offset,
            strategy=strategy,
        )

    return await session.run_sync(run)


async def afetch_json(
    shape: Shape,
    session: AsyncSession | AsyncConnection,
    *criteria: Any,
    order_by: Any = None,
    limit: int | None = None,
    offset: int | None = None,
    strategy: Strategy = "auto",
) -> bytes:
    """``shape.fetch_json(...)`` on an ``AsyncSession`` (or ``AsyncConnection``)."""

    def run(sync_session: Any) -> bytes:
        return shape.fetch_json(
            sync_session,
            *criteria,
            order_by=order_by,
            limit=limit,
            offset=offset,
            strategy=strategy,
        )

    return await session.run_sync(run)


async def aload(
    shape: Shape,
    body: Any,
    *,
    session: AsyncSession,
    instance: Any = None,
    partial: bool = False,
    limits: Any = None,
) -> Any:
    """``shape.load(...)`` on an ``AsyncSession``: the same reads (on the asyncio driver), the
    same errors, and the objects added to the session, not flushed."""

    def run(sync_session: Any) -> Any:
        return shape.load(
            body, session=sync_session, instance=instance, partial=partial, limits=limits
        )

    return await session.run_sync(run)
