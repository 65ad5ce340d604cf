"""The membership rewrite of many-to-many loads (`treeshape.secondary`), where it applies and
where it must be refused.

``target IN (SELECT ... FROM secondary WHERE ...)`` gives the join's rows only when the secondary
cannot list a (parent, target) pair twice. For random pairs (repeats included) written into
every secondary of `tests.rewrite_models`: where the rewrite applies, the statements show the
``IN`` and the output equals the join form's (selectin loading through the ORM, and every other
backend); where it is refused, the statements keep the join and every backend keeps a tag
listed twice for a post twice, counts included. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect
from sqlalchemy.orm import Session, aliased

import treeshape as ts
from tests.agreement import STRATEGIES, assert_backends_agree, column_names, without_jit
from tests.databases import BOTH, Db, database
from tests.rewrite_models import KEPT, REWRITTEN, RewriteBase, RwPost, RwTag, fill
from tests.statements import StatementCounter
from treeshape.sql.secondary import membership

DEFAULTS = column_names(RwPost, RwTag)
POSTS = 4
TAGS = 4
ORDER = inspect(RwPost).attrs.keys()

pair_lists = st.lists(st.tuples(st.integers(1, POSTS), st.integers(1, TAGS)), max_size=16)
"""Pairs of (post, tag), repeats likely."""

TARGET_IN = re.compile(r"rw_tag_\d+\.id IN \(SELECT")
"""A membership test on the target: the rewrite's form (the join's is ``rw_tag_N.id = ...``)."""


@pytest.fixture(scope="module", params=BOTH)
def rw_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, RewriteBase.metadata) as db:
        yield without_jit(db)


def load(db: Db, pairs: list[tuple[int, int]]) -> None:
    db.clean()
    with db.engine.begin() as conn:
        fill(conn, posts=POSTS, tags=TAGS, pairs=pairs)


def rewritten(name: str) -> bool:
    """Whether treeshape proves the membership test equal to the join for ``RwPost.<name>``."""
    (rel,) = ts.shape(RwPost, name).node.relations
    return membership(aliased(RwPost), aliased(rel.child.model), rel) is not None


def embedded_and_counted(db: Db, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every backend agrees on ``names`` embedded (the reference) and on their counts (each the
    length of the embedded list); returns the embedded documents."""
    names = tuple(sorted(names, key=ORDER.index))
    docs = assert_backends_agree(
        db.engine,
        ts.shape(RwPost, *names),
        {name: {} for name in names},
        fields={},
        defaults=DEFAULTS,
        statements=1 + len(names),
    )
    counted = ts.shape(
        RwPost, {name: ts.include(count=True, embed=False) for name in names}, fields=["id"]
    )
    expected = [
        {"id": doc["id"], **{f"{name}_count": len(doc[name]) for name in names}} for doc in docs
    ]
    assert_backends_agree(
        db.engine, counted, {}, fields={}, defaults=DEFAULTS, statements=1, expected=expected
    )
    return docs


@pytest.mark.parametrize("name", REWRITTEN + KEPT)
def test_which_secondaries_are_rewritten(name: str) -> None:
    assert rewritten(name) == (name in REWRITTEN)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=pair_lists)
def test_rewritten_equals_the_join(rw_db: Db, pairs: list[tuple[int, int]]) -> None:
    load(rw_db, pairs)
    docs = embedded_and_counted(rw_db, REWRITTEN)
    for doc in docs:
        for name in REWRITTEN:
            ids = [tag["id"] for tag in doc[name]]
            assert len(ids) == len(set(ids)), name  # these secondaries list a pair once


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=pair_lists)
def test_refused_keeps_repeated_rows(rw_db: Db, pairs: list[tuple[int, int]]) -> None:
    load(rw_db, pairs)
    docs = embedded_and_counted(rw_db, KEPT)
    by_post = {doc["id"]: doc for doc in docs}
    for post in range(1, POSTS + 1):
        listed = [t for p, t in pairs if p == post]
        # A plain pair table lists each pair as often as it was written, in tag order.
        for name in ("loose_tags", "surrogate_tags", "wide_tags", "plain_select_tags"):
            assert [tag["id"] for tag in by_post[post][name]] == sorted(listed), name


def test_the_data_tells_the_two_forms_apart(rw_db: Db) -> None:
    """With a repeated pair, every refused relationship lists a tag twice for some post (so a
    wrong rewrite would fail the tests above), except those refused on a sound set of rows."""
    load(rw_db, [(1, 1), (1, 1), (1, 2), (2, 1), (2, 3), (2, 3), (3, 2), (4, 1)])
    docs = embedded_and_counted(rw_db, KEPT)
    unique_anyway = {"narrowed_tags", "limited_distinct_tags", "computed_distinct_tags"}
    unique_anyway.add("ordered_by_secondary_tags")
    for name in KEPT:
        repeated = any(
            len(ids) != len(set(ids)) for ids in ([t["id"] for t in d[name]] for d in docs)
        )
        assert repeated == (name not in unique_anyway), name


@pytest.mark.parametrize("name", REWRITTEN + KEPT)
def test_statements_show_the_form_used(rw_db: Db, name: str) -> None:
    """Both fetch strategies: ``IN (SELECT ...)`` exactly where rewritten, the join elsewhere;
    under a DISTINCT secondary the membership reads the rows under the DISTINCT."""
    load(rw_db, [(1, 1), (1, 1), (2, 3)])
    shape = ts.shape(RwPost, {name: ts.include(count=True)})
    for strategy in STRATEGIES:
        with Session(rw_db.engine) as session, StatementCounter(rw_db.engine) as counter:
            shape.fetch(session, strategy=strategy)
        sql = "\n".join(counter.statements)
        assert bool(TARGET_IN.search(sql)) == (name in REWRITTEN), (strategy, sql)
        if name in REWRITTEN:
            assert "DISTINCT" not in sql, (strategy, sql)


def test_distinct_over_the_parents_own_table(rw_db: Db) -> None:
    """``RwPost.group_peers`` selects DISTINCT from the parent's own table: rewritten, but over
    the subquery itself wherever the parent is that table unaliased (never confused with it)."""
    load(rw_db, [])
    assert rewritten("group_peers")
    docs = assert_backends_agree(
        rw_db.engine,
        ts.shape(RwPost, "group_peers.group_peers", fields=["id", "group_id"]),
        {"group_peers": {"group_peers": {}}},
        fields={"RwPost": ["id", "group_id"]},
        defaults=DEFAULTS,
        statements=3,
    )
    for doc in docs:
        peers = [p["id"] for p in doc["group_peers"]]
        assert peers == [p for p in range(1, POSTS + 1) if p // 2 == doc["group_id"]]
    counted = ts.shape(RwPost, {"group_peers": ts.include(count=True, embed=False)}, fields=["id"])
    assert_backends_agree(
        rw_db.engine,
        counted,
        {},
        fields={},
        defaults=DEFAULTS,
        expected=[{"id": d["id"], "group_peers_count": len(d["group_peers"])} for d in docs],
    )


def test_a_partial_unique_index_proves_nothing() -> None:
    assert not rewritten("partial_tags")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=pair_lists.filter(bool).map(lambda pairs: [*pairs, pairs[0]]))  # one repeat at least
def test_a_partial_unique_index_keeps_repeated_rows(
    rw_db: Db, pairs: list[tuple[int, int]]
) -> None:
    load(rw_db, pairs)
    embedded_and_counted(rw_db, ("partial_tags",))
