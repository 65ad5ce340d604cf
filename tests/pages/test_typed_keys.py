"""Cursors carry dates, datetimes, decimals and floats (with ties and NULLs) exactly: walks in
both directions visit every row once, through the ORM and fetch, on every database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import treeshape as ts
from tests.databases import ALL, Db, database
from treeshape.web import ListEndpoint, Page

from .reference import ordered


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "page_event"

    event_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[dt.date | None]
    at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(), nullable=True)
    price: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    score: Mapped[float | None] = mapped_column(sa.Double)


EVENTS = ListEndpoint(
    ts.shape(Event, name="EventItem"),
    sortable=["day", "at", "price", "score"],
    max_limit=10,
    secret=b"typed",
)

DAYS = [None, dt.date(2024, 2, 29), dt.date(1999, 12, 31)]
TIMES = [None, dt.datetime(2024, 1, 1, 8, 30, 15), dt.datetime(2024, 1, 1, 8, 30, 16)]
PRICES = [None, Decimal("0.10"), Decimal("12.50"), Decimal("-3.00")]
SCORES = [None, 0.1, 0.30000000000000004, -1e300]
ROWS = [
    {
        "event_id": n,
        "day": DAYS[n % 3],
        "at": TIMES[(n // 3) % 3],
        "price": PRICES[n % 4],
        "score": SCORES[(n * 3) % 4],
    }
    for n in range(1, 19)
]


@pytest.fixture(scope="module", params=ALL)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        with db.engine.begin() as conn:
            conn.execute(sa.insert(Event), ROWS)
        yield db


def json_form(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the documents write it (Pydantic's JSON mode)."""
    return {
        "event_id": row["event_id"],
        "day": row["day"] and row["day"].isoformat(),
        "at": row["at"] and row["at"].isoformat(),
        "price": None if row["price"] is None else str(row["price"]),
        "score": row["score"],
    }


def run(db: Db, how: str, params: list[tuple[str, str]]) -> Page:
    query = EVENTS.from_query(params, path="/e")
    with Session(db.engine) as session:
        return query.load(session) if how == "load" else query.fetch(session, strategy=how)


@pytest.mark.parametrize("how", ["load", "core", "json"])
@pytest.mark.parametrize("sort", ["day,-price", "-at,score", "price", "-score,-day"])
def test_typed_walks(db: Db, how: str, sort: str) -> None:
    order = tuple((name.lstrip("-"), name.startswith("-")) for name in sort.split(","))
    expected = [json_form(r) for r in ordered(ROWS, order, "event_id")]
    page = run(db, how, [("sort", sort), ("limit", "4")])
    seen = list(page.data)
    while "next" in page.links:
        page = run(db, how, parse_qsl(urlsplit(page.links["next"]).query))
        seen += page.data
    assert seen == expected
    back = list(page.data)
    while "prev" in page.links:
        page = run(db, how, parse_qsl(urlsplit(page.links["prev"]).query))
        back = page.data + back
    assert back == expected
