"""Random page walks visit every row exactly once, in the reference order, on every database.

Forward from the first page along ``next`` links, then back from the last page along ``prev``
links, with a new random page size at every step (cursor pages: the cursor does not depend on
the size) and through each way of running a page: the ORM (`PageQuery.load`) and `fetch` with
either strategy. Sort keys have ties and NULLs; the primary key breaks the ties.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.databases import ALL, Db, database
from treeshape.web import Page, PageQuery

from .models import SHELVES, Base, Book, Shelf
from .reference import ordered

HOW = ["load", "core", "json"]


@pytest.fixture(scope="module", params=ALL)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        yield db


rows_strategy = st.lists(
    st.tuples(
        st.sampled_from([None, 0, 1, 2]),
        st.sampled_from([None, "a", "b"]),
        st.integers(min_value=0, max_value=2),
    ),
    max_size=12,
)
sort_strategy = st.one_of(
    st.none(),
    st.permutations(["rank", "label", "shelf_id"]).flatmap(
        lambda names: st.integers(min_value=1, max_value=3).flatmap(
            lambda n: st.tuples(*[st.tuples(st.just(name), st.booleans()) for name in names[:n]])
        )
    ),
)


def fill(db: Db, rows: list[tuple[Any, Any, int]]) -> list[dict[str, Any]]:
    """Insert the shelves (ids in a scrambled order) and their books; the expected documents."""
    db.clean()
    shelves: list[dict[str, Any]] = []
    books: list[dict[str, Any]] = []
    documents = []
    for index, (rank, label, count) in enumerate(rows):
        shelf_id = (index * 7) % 101 + 1  # distinct, not in insertion order
        shelves.append({"shelf_id": shelf_id, "rank": rank, "label": label})
        mine = []
        for n in range(count):
            book = {"book_id": shelf_id * 10 + n, "shelf_id": shelf_id, "title": f"t{n}"}
            books.append(book)
            mine.append(book)
        documents.append({"shelf_id": shelf_id, "rank": rank, "label": label, "books": mine})
    with db.engine.begin() as conn:
        if shelves:
            conn.execute(sa.insert(Shelf), shelves)
        if books:
            conn.execute(sa.insert(Book), books)
    return documents


def run(db: Db, how: str, query: PageQuery) -> Page:
    with Session(db.engine) as session:
        if how == "load":
            return query.load(session)
        return query.fetch(session, strategy=how)


def follow(link: str, limit: int) -> list[tuple[str, str]]:
    """A link's query with a new ``limit``."""
    pairs = [(n, v) for n, v in parse_qsl(urlsplit(link).query) if n != "limit"]
    return [*pairs, ("limit", str(limit))]


def sort_params(order: tuple[tuple[str, bool], ...] | None) -> list[tuple[str, str]]:
    if order is None:
        return []
    return [("sort", ",".join(("-" if d else "") + n for n, d in order))]


@settings(max_examples=25, deadline=None)
@given(
    rows=rows_strategy,
    order=sort_strategy,
    limits=st.lists(st.integers(min_value=1, max_value=7), min_size=40, max_size=40),
    how=st.sampled_from(HOW),
)
def test_cursor_walks_visit_every_row_once(
    db: Db,
    rows: list[tuple[Any, Any, int]],
    order: tuple[tuple[str, bool], ...] | None,
    limits: list[int],
    how: str,
) -> None:
    documents = fill(db, rows)
    expected = ordered(documents, order or (), "shelf_id")
    steps = iter(limits)
    params = [*sort_params(order), ("limit", str(next(steps)))]
    seen: list[dict[str, Any]] = []
    page = run(db, how, SHELVES.from_query(params, path="/shelves"))
    assert "prev" not in page.links
    while True:
        seen += page.data
        if "next" not in page.links:
            break
        query = SHELVES.from_query(follow(page.links["next"], next(steps)), path="/shelves")
        page = run(db, how, query)
        assert page.data, "a next link leads to rows"
    assert seen == expected
    # Back from the last page: its rows and every page before it, each row once.
    back = list(page.data)
    while "prev" in page.links:
        query = SHELVES.from_query(follow(page.links["prev"], next(steps)), path="/shelves")
        page = run(db, how, query)
        assert page.data, "a prev link leads to rows"
        back = page.data + back
    assert back == expected


@settings(max_examples=25, deadline=None)
@given(
    rows=rows_strategy,
    order=sort_strategy,
    limit=st.integers(min_value=1, max_value=7),
    how=st.sampled_from(HOW),
)
def test_offset_walks_visit_every_row_once(
    db: Db,
    rows: list[tuple[Any, Any, int]],
    order: tuple[tuple[str, bool], ...] | None,
    limit: int,
    how: str,
) -> None:
    documents = fill(db, rows)
    expected = ordered(documents, order or (), "shelf_id")
    params = [*sort_params(order), ("limit", str(limit)), ("offset", "0"), ("total", "true")]
    pages = [run(db, how, SHELVES.from_query(params, path="/shelves"))]
    while "next" in pages[-1].links:
        link = pages[-1].links["next"]
        pages.append(run(db, how, SHELVES.from_query(follow(link, limit), path="/shelves")))
    for number, page in enumerate(pages):
        assert page.data == expected[number * limit : (number + 1) * limit]
        assert page.total == len(documents)
        assert page.headers()["X-Total-Count"] == str(len(documents))
    back = list(pages[-1].data)
    page = pages[-1]
    while "prev" in page.links:
        page = run(db, how, SHELVES.from_query(follow(page.links["prev"], limit), path="/shelves"))
        back = page.data + back
    assert back == expected
