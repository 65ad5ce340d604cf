"""`ListEndpoint` without an app: declarations, cursors, statement counts of every way to run a
page (ORM, fetch core, fetch json) on every database, and fetch's ``offset``."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
import sqlalchemy as sa
from pydantic.alias_generators import to_camel
from sqlalchemy.orm import Session

import treeshape as ts
from tests.databases import ALL, Db, database
from tests.statements import StatementCounter
from treeshape.web import ListEndpoint, QueryError

from .models import BOOKS, SHELVES, SHELVES_PLAIN, Base, Book, Shelf, shelf_list

ROWS = [
    {"shelf_id": i, "rank": [None, 1, 1, 2][i % 4], "label": [None, "a", "b"][i % 3]}
    for i in range(1, 11)
]


@pytest.fixture(scope="module", params=ALL)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        with db.engine.begin() as conn:
            conn.execute(sa.insert(Shelf), ROWS)
            books = [{"book_id": i, "shelf_id": 1 + i % 10, "title": f"b{i}"} for i in range(25)]
            conn.execute(sa.insert(Book), books)
        yield db


def cursor_of(link: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(link).query)


@pytest.mark.parametrize(("how", "statements"), [("load", 2), ("core", 2), ("json", 1)])
@pytest.mark.parametrize("total", [False, True])
def test_a_page_is_its_query_plus_the_count(db: Db, how: str, statements: int, total: bool) -> None:
    params = [("sort", "-rank,label"), ("limit", "3"), ("total", str(total).lower())]
    first = SHELVES.from_query(params, path="/s")
    with Session(db.engine) as session:
        page = first.load(session) if how == "load" else first.fetch(session, strategy=how)
    query = SHELVES.from_query(cursor_of(page.links["next"]), path="/s")
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        second = query.load(session) if how == "load" else query.fetch(session, strategy=how)
    assert counter.count == statements + total
    assert (second.total == len(ROWS)) is total
    # The same page through the ORM and through fetch.
    with Session(db.engine) as session:
        assert second.data == query.load(session).data == query.fetch(session).data
        assert orjson.loads(second.json()) == second.data


def test_fetch_offset_matches_the_orm(db: Db) -> None:
    with Session(db.engine) as session:
        every = shelf_list.fetch(session)
        for strategy in ("core", "json"):
            got = shelf_list.fetch(session, offset=3, limit=4, strategy=strategy)
            assert got == every[3:7]
            raw = shelf_list.fetch_json(session, offset=8, strategy=strategy)
            assert orjson.loads(raw) == every[8:]
        objs = session.scalars(
            sa.select(Shelf)
            .order_by(Shelf.shelf_id)
            .offset(3)
            .limit(4)
            .options(*shelf_list.loader_options())
        ).all()
        assert shelf_list.dump(objs, many=True) == every[3:7]
    with pytest.raises(ts.FetchError, match="offset"):
        shelf_list.fetch(session, offset=-1)


def test_a_fetched_keyset_page_needs_its_keys(db: Db) -> None:
    query = SHELVES.from_query([("fields[Shelf]", "label"), ("include", "")], path="/s")
    with Session(db.engine) as session:
        with pytest.raises(ts.FetchError, match="shelf_id"):
            query.fetch(session)
        page = query.load(session)  # the ORM has the keys on the objects
    assert page.data[0] == {"label": "a"} and "next" in page.links


def _problem(endpoint: ListEndpoint, params: list[tuple[str, str]]) -> str:
    with pytest.raises(QueryError) as caught:
        endpoint.from_query(params, path="/s")
    (problem,) = caught.value.problems
    return f"{problem.parameter}: {problem.detail}"


def test_cursors_are_bound_to_endpoint_and_sort(db: Db) -> None:
    with Session(db.engine) as session:
        page = SHELVES.from_query([("sort", "label")], path="/s").load(session)
    (after,) = [v for n, v in cursor_of(page.links["next"]) if n == "after"]
    assert "after: not a cursor" in _problem(SHELVES, [("after", after)])  # other sort
    assert "after: not a cursor" in _problem(BOOKS, [("after", after)])  # other key
    assert "before: not a cursor" in _problem(SHELVES, [("before", after)])  # other sort
    assert SHELVES.from_query([("sort", "label"), ("before", after)], path="/s").boundary
    # The same declaration and secret read it back (another process would, too).
    twin = ListEndpoint(
        shelf_list, max_limit=7, sortable=["rank", "label", "shelf_id"], secret=b"tests"
    )
    assert twin.from_query([("sort", "label"), ("after", after)], path="/s").boundary
    too_long = "A" * 2000 + "." + "B"
    assert "after: not a cursor" in _problem(SHELVES, [("after", too_long)])


def test_unsortable_and_uncounted_endpoints_say_so() -> None:
    assert "no field to sort by" in _problem(SHELVES_PLAIN, [("sort", "rank")])
    assert "does not count" in _problem(SHELVES_PLAIN, [("total", "true")])
    assert "from 1 to 5" in _problem(SHELVES_PLAIN, [("limit", "6")])
    assert "total" not in SHELVES_PLAIN.parameter_names
    assert {"limit", "offset", "after", "before", "sort", "total"} <= set(SHELVES.parameter_names)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"sortable": ["rnak"]}, "Did you mean 'rank'"),
        ({"sortable": ["rank", "rank"]}, "distinct"),
        ({"max_limit": 0}, "max_limit"),
        ({"max_limit": 5, "default_limit": 6}, "default_limit"),
        ({"sortable": ["rank"], "default_sort": "-label"}, "cannot be sorted by 'label'"),
    ],
)
def test_declaration_errors(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ts.SpecError, match=words):
        ListEndpoint(shelf_list, **kwargs)  # type: ignore[arg-type]


def test_default_sort_orders_a_first_page(db: Db) -> None:
    endpoint = ListEndpoint(shelf_list, sortable=["rank"], default_sort="-rank", max_limit=20)
    with Session(db.engine) as session:
        page = endpoint.from_query([("limit", "20")], path="/s").load(session)
    ranks = [d["rank"] for d in page.data]
    assert ranks == [None] * 2 + [2] * 2 + [1] * 6  # NULLs largest, descending


def test_requests_sort_by_output_keys(db: Db) -> None:
    """On a camelCase shape ``?sort=`` names output keys, as ``fields[...]`` and ``sort[...]``
    do; the attribute spelling gets the key as its suggestion; declarations stay attribute
    names."""
    styled = ts.shape(Shelf, "books", key_style=to_camel, name="CamelShelfListItem")
    endpoint = ListEndpoint(
        styled, sortable=["shelf_id", "rank"], default_sort="-shelf_id", max_limit=20
    )
    with Session(db.engine) as session:
        page = endpoint.from_query([("sort", "-shelfId"), ("limit", "20")], path="/s").load(session)
        default = endpoint.from_query([("limit", "20")], path="/s").load(session)
        plain = ListEndpoint(shelf_list, sortable=["shelf_id"], max_limit=20)
        ids = [
            d["shelf_id"] for d in plain.from_query([("limit", "20")], path="/s").load(session).data
        ]
    assert [d["shelfId"] for d in page.data] == sorted(ids, reverse=True)
    assert default.data == page.data
    assert "Did you mean 'shelfId'?" in _problem(endpoint, [("sort", "shelf_id")])
    schema = endpoint.parameter_schema("sort")
    assert schema["examples"] == ["-shelfId"] and "shelfId|rank" in schema["pattern"]
    assert "among: shelfId, rank" in endpoint.describe("sort")
