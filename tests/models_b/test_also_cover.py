"""Class 10: the "also cover" list, on models written as real projects write them
(`tests.models_b.also_cover_models`), on SQLite and PostgreSQL: each works in every backend,
equal to the reference, or is refused with a message that says what to do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, configure_mappers

import treeshape as ts
from tests.agreement import assert_backends_agree
from tests.databases import BOTH, Db
from tests.models_b.also_cover_models import (
    Author,
    Base,
    Bin,
    Group,
    Line,
    Membership,
    Post,
    Shipment,
    Warehouse,
    db,
)
from tests.models_b.helpers import agree, open_db, spec_error

configure_mappers()

AUTHOR = ["id", "name"]
POST_SQL = ["id", "author_id", "title", "published", "extra", "body", "views"]
POST_PYTHON = ["reading_time", "tags"]  # types that convert in Python: fetch through Core


@pytest.fixture(scope="module", params=BOTH)
def tables(request: pytest.FixtureRequest) -> Iterator[Db]:
    metadata = sa.MetaData()
    for table in [*db.Model.metadata.sorted_tables, *Base.metadata.sorted_tables]:
        table.to_metadata(metadata)
    with open_db(request, metadata) as found:
        with Session(found.engine) as session:
            g1, g2 = Group(id=1, name="core"), Group(id=2, name="docs")
            author = Author(id=1, name="Ann")
            author.posts = [
                Post(
                    id=1,
                    title="first",
                    published=dt.datetime(2024, 1, 1),
                    reading_time=dt.timedelta(minutes=5),
                    extra=None,
                    tags=["a", "b"],
                ),
                Post(id=2, title="draft", published=None, extra={"k": None}, tags=None),
                Post(id=3, title="second", published=dt.datetime(2024, 2, 1), extra=[1, None]),
            ]
            author.memberships = [
                Membership(group=g1, role="admin", since=dt.date(2020, 1, 1)),
                Membership(group=g2, role="member", since=dt.date(2021, 1, 1)),
            ]
            session.add(Author(id=2, name="Bo"))
            shipment = Shipment(region="EU", number=1, note="fragile")
            shipment.lines = [Line(position=2, product="y"), Line(position=1, product="x")]
            warehouse = Warehouse()
            warehouse.id, warehouse.city = 1, "Oslo"
            first_bin = Bin()
            first_bin.id, first_bin.label = 1, "A"
            warehouse.bins = [first_bin]  # type: ignore[attr-defined]
            session.add_all([author, shipment, warehouse])
            session.commit()
        yield found


def test_association_object_with_extra_columns(tables: Db) -> None:
    shape = ts.shape(Author, {"memberships": {"group": {}}}, fields={"Author": AUTHOR})
    fields = {
        "Author": AUTHOR,
        "Membership": ["author_id", "group_id", "role", "since"],
        "Group": ["id", "name"],
    }
    docs = agree(tables, shape, {"memberships": {"group": {}}}, fields)
    assert [m["role"] for m in docs[0]["memberships"]] == ["admin", "member"]


def test_association_proxy_and_synonym_are_refused_with_what_to_do() -> None:
    assert spec_error(Author, fields=["id", "group_names"]) == (
        "Author.group_names cannot be a field. Author.group_names is an association proxy of "
        "memberships.group_name, which no SQL loads by itself: include the relationship "
        "'memberships' with the field 'group_name' instead."
    )
    assert spec_error(Author, fields=["display"]) == (
        "Author.display cannot be a field. Author.display is a synonym of Author.name: list "
        "'name' instead (outputs keep the mapped attribute's name)."
    )


def test_column_property_subquery(tables: Db) -> None:
    shape = ts.shape(Author, fields=["id", "name", "post_count"])
    docs = agree(tables, shape, {}, {"Author": ["id", "name", "post_count"]})
    assert [d["post_count"] for d in docs] == [3, 0]


def test_nulls_last_order_json_null_server_default_lazy_raise(tables: Db) -> None:
    shape = ts.shape(Author, {"posts": {"author": {}}}, fields={"Author": AUTHOR, "Post": POST_SQL})
    docs = agree(tables, shape, {"posts": {"author": {}}}, {"Author": AUTHOR, "Post": POST_SQL})
    posts = docs[0]["posts"]
    assert [p["title"] for p in posts] == ["second", "first", "draft"]  # NULL published last
    assert [p["extra"] for p in posts] == [[1, None], None, {"k": None}]
    assert {p["views"] for p in posts} == {0}


def test_hybrids_with_and_without_expression(tables: Db) -> None:
    with_sql = ts.shape(Post, fields=["id", "title_length"])
    if tables.kind == "sqlite":
        agree(tables, with_sql, {}, {"Post": ["id", "title_length"]})
    else:
        # func.length() without type_=: PostgreSQL's JSON strategy cannot tell how to write an
        # untyped value and says so; Core (the default's fallback) serves it.
        expected = assert_backends_agree(
            tables.engine,
            with_sql,
            {},
            fields={"Post": ["id", "title_length"]},
            defaults={"Post": ["id", "title_length"]},
            fetchable=False,
        )
        with Session(tables.engine) as session:
            assert with_sql.fetch(session) == with_sql.fetch(session, strategy="core") == expected
            with pytest.raises(ts.FetchError, match="title_length: NullType"):
                with_sql.fetch(session, strategy="json")
    python_only = ts.shape(Post, fields=["id", "shout"])
    assert_backends_agree(
        tables.engine,
        python_only,
        {},
        fields={"Post": ["id", "shout"]},
        defaults={"Post": ["id", "shout"]},
        fetchable=False,
    )
    with Session(tables.engine) as session, pytest.raises(ts.FetchError, match="a hybrid"):
        python_only.fetch(session)


def test_interval_and_type_decorator(tables: Db) -> None:
    """Values Python converts (Interval, an application's TypeDecorator) are the same in every
    backend (marshmallow included: it used the impl's field before); ``fetch`` serves them
    through Core, and the JSON strategy says why it cannot."""
    fields = ["id", *POST_PYTHON]
    shape = ts.shape(Post, fields=fields)
    expected = assert_backends_agree(
        tables.engine,
        shape,
        {},
        fields={"Post": fields},
        defaults={"Post": fields},
        fetchable=False,
    )
    assert expected[0] == {"id": 1, "reading_time": "PT5M", "tags": ["a", "b"]}
    with Session(tables.engine) as session:
        assert shape.fetch(session) == expected
        assert shape.fetch(session, strategy="core") == expected
        with pytest.raises(ts.FetchError, match="converts in Python"):
            shape.fetch(session, strategy="json")


def test_composite_keys_on_both_sides_and_deferred(tables: Db) -> None:
    shape = ts.shape(Shipment, "lines")
    fields = {
        "Shipment": ["region", "number", "note"],
        "Line": ["region", "shipment_number", "position", "product"],
    }
    docs = agree(tables, shape, {"lines": {}}, fields)
    assert docs[0]["note"] == "fragile" and [x["position"] for x in docs[0]["lines"]] == [1, 2]


def test_imperative_mapping(tables: Db) -> None:
    shape = ts.shape(Warehouse, "bins")
    fields = {"Warehouse": ["id", "city", "opened"], "Bin": ["id", "warehouse_id", "label"]}
    docs = agree(tables, shape, {"bins": {}}, fields)
    assert docs[0]["opened"] == "2020-01-01"  # the server default
