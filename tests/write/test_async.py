"""`treeshape.asyncio.aload`: the same writes, errors and reads under an ``AsyncSession``."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

import treeshape as ts
from tests.pg_fixtures import async_url
from tests.statements import StatementCounter
from treeshape.asyncio import aload

from .models import Base, Customer, Invoice, Product, Tag, invoice_in


def test_aload_creates_replaces_and_refuses(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Customer(customer_id=1, name="c"), Product(sku="A", title="a")])
        session.add(Tag(tag_id=1, label="t"))
        session.commit()
    engine.dispose()
    body = {"number": "A-1", "customer": 1, "tags": [1], "lines": [{"quantity": 1, "product": "A"}]}

    async def scenario() -> tuple[int, list[dict[str, object]]]:
        aengine = create_async_engine(async_url(db_url), poolclass=sa.pool.NullPool)
        try:
            async with AsyncSession(aengine) as session:
                with StatementCounter(aengine.sync_engine) as counter:
                    invoice = await aload(invoice_in, body, session=session)
                    reads = counter.count
                await session.flush()
                invoice_id = invoice.invoice_id
                await session.commit()
            async with AsyncSession(aengine) as session:
                invoice = await session.get(Invoice, invoice_id)
                with pytest.raises(ts.InputError) as info:
                    await aload(
                        invoice_in,
                        {**body, "customer": 7, "lines": [], "memos": []},
                        session=session,
                        instance=invoice,
                    )
                assert not session.new and not session.dirty and not session.deleted
            return reads, info.value.errors
        finally:
            await aengine.dispose()

    reads, errors = asyncio.run(scenario())
    assert reads == 4  # customers, tags, products; the unique number
    assert [(e["loc"], e["type"]) for e in errors] == [(("customer",), "not_found")]
