"""PostgreSQL's plans of the JSON strategy's statement: their shape, never their timings.

A many-to-one inside a collection (a route's stop_times' stop) is joined into the collection's
subquery, so PostgreSQL looks each target up with one join for all of a parent's rows instead
of running a subquery per row; a windowed collection or a relationship not on the target's
primary key keeps its subquery (a join could find several rows there). The target's document
is computed where its row is read, below the join (under a Memoize or a Hash: once per target
row, not once per row of the collection), by a sub-select of that row's columns that reads no
table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import treeshape as ts
from tests.factories import NetworkSpec, build_network
from tests.models import Base, Journey, Line
from treeshape.sql.fetch.json import json_plans


@pytest.fixture
def pg(pg_engine: sa.Engine) -> Iterator[sa.Engine]:
    Base.metadata.create_all(pg_engine)
    with Session(pg_engine) as session:
        build_network(session, NetworkSpec(lines=3, journeys_per_line=4, places=10, seed=3))
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    yield pg_engine


def plan(
    engine: sa.Engine, shape: ts.Shape, *criteria: Any, verbose: bool = False
) -> dict[str, Any]:
    """The JSON ``EXPLAIN`` of the shape's JSON statement (``VERBOSE``: with each node's
    output expressions)."""
    doc = json_plans(shape.__treeshape_node__).get(engine.dialect)
    stmt = doc.statement.where(*criteria)
    options = "FORMAT JSON, COSTS OFF" + (", VERBOSE" if verbose else "")
    with engine.connect() as conn:
        explained = conn.execute(
            sa.text(
                f"EXPLAIN ({options}) "
                + str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
            )
        ).scalar_one()
    result: dict[str, Any] = explained[0]["Plan"]
    return result


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def subplans(root: dict[str, Any]) -> list[str]:
    return [n["Subplan Name"] for n in nodes(root) if n.get("Parent Relationship") == "SubPlan"]


def table_subplans(root: dict[str, Any]) -> list[str]:
    """The subplans that read a table (not a joined target's document, a sub-select of the
    target row's columns)."""
    return [
        n["Subplan Name"]
        for n in nodes(root)
        if n.get("Parent Relationship") == "SubPlan" and any("Relation Name" in m for m in nodes(n))
    ]


def outer_joins_to(root: dict[str, Any], table: str) -> int:
    """Outer joins whose nullable side reads ``table`` (the inner side of a left join, the
    outer side of a right join: PostgreSQL hashes whichever side it estimates smaller)."""
    found = 0
    for node in nodes(root):
        side = {"Left": 1, "Right": 0}.get(node.get("Join Type", ""))
        if side is not None and any(
            n.get("Relation Name") == table for n in nodes(node["Plans"][side])
        ):
            found += 1
    return found


def test_many_to_one_in_a_collection_is_one_join(pg: sa.Engine) -> None:
    shape = ts.shape(Journey, "calls.place")
    root = plan(pg, shape, Journey.journey_id == 1)
    # The calls; no subquery per call for its place (its document reads no table).
    assert len(table_subplans(root)) == 1
    assert len(subplans(root)) == 2
    assert outer_joins_to(root, "place") == 1
    with Session(pg) as session:
        stmt = sa.select(Journey).options(*shape.loader_options()).order_by(Journey.journey_id)
        expected = shape.dump_json(session.scalars(stmt).all(), many=True)
        assert shape.fetch_json(session, strategy="json") == expected


def test_a_joined_document_is_computed_where_its_row_is_read(pg: sa.Engine) -> None:
    shape = ts.shape(Journey, "calls.place")
    root = plan(pg, shape, Journey.journey_id == 1, verbose=True)
    (scan,) = [n for n in nodes(root) if n.get("Relation Name") == "place"]
    # The place's scan outputs its document, a sub-select of its row's columns (concat(...));
    # the join above passes it on.
    (doc,) = [n for n in scan["Plans"] if n.get("Parent Relationship") == "SubPlan"]
    assert f"({doc['Subplan Name']})" in scan["Output"]
    assert doc["Node Type"] == "Result" and doc["Output"][0].startswith("concat(")


def test_two_levels_down_each_collection_one_subplan(pg: sa.Engine) -> None:
    shape = ts.shape(Line, "journeys.calls.place", "operator")
    root = plan(pg, shape, Line.line_id == 1)
    # The line's operator is a root-level lookup (one subquery for the one root row), the
    # journeys and their calls one subquery each, the calls' places a join.
    assert len(table_subplans(root)) == 3
    assert outer_joins_to(root, "place") == 1


def test_windowed_collection_keeps_its_subquery(pg: sa.Engine) -> None:
    shape = ts.shape(Journey, {"calls(limit=2)": {"place": {}}})
    root = plan(pg, shape, Journey.journey_id == 1)
    assert outer_joins_to(root, "place") == 0
    assert len(subplans(root)) == 2


@pytest.fixture
def timetable(pg_engine: sa.Engine) -> Iterator[sa.Engine]:
    """A network the size of a GTFS feed's (400 places, 500 journeys of 40 calls: Cairns), for the
    plans PostgreSQL picks on such statistics: those of a small document (one journey)."""
    Base.metadata.create_all(pg_engine)
    with pg_engine.begin() as conn:
        for sql in (
            "INSERT INTO line (line_id, name, kind) SELECT i, 'Line ' || i, 'BUS'"
            " FROM generate_series(1, 10) i",
            "INSERT INTO place (place_id, name, lat, accessible) SELECT i, 'Place ' || i,"
            " 50 + i / 7.0, mod(i, 2) = 0 FROM generate_series(1, 400) i",
            "INSERT INTO journey (journey_id, line_id, headsign, service_date)"
            " SELECT i, 1 + mod(i, 10), 'To ' || i, DATE '2024-01-01'"
            " FROM generate_series(1, 500) i",
            "INSERT INTO call (journey_id, sequence, place_id, dwell)"
            " SELECT j, s, 1 + mod(j * 37 + s * 11, 400), s / 4.0"
            " FROM generate_series(1, 500) j, generate_series(1, 40) s",
            "ANALYZE",
        ):
            conn.exec_driver_sql(sql)
    yield pg_engine


def test_a_small_document_looks_each_target_up_once_by_its_key(timetable: sa.Engine) -> None:
    # One journey, its 40 calls and each call's place (the benchmarks' trip): the calls by
    # their key's index, each place through a Memoize over its key's index (one lookup and one
    # document per distinct place), the place's document a sub-select of its row that reads
    # no table.
    shape = ts.shape(Journey, "calls.place")
    root = plan(timetable, shape, Journey.journey_id == 7)
    assert (root["Node Type"], root["Index Name"]) == ("Index Scan", "journey_pkey")
    (calls,) = [n for n in root["Plans"] if n.get("Parent Relationship") == "SubPlan"]
    assert calls["Node Type"] == "Aggregate"
    (join,) = calls["Plans"]
    assert (join["Node Type"], join["Join Type"]) == ("Nested Loop", "Left")
    outer, inner = join["Plans"]
    assert outer["Relation Name"] == "call"
    assert inner["Node Type"] == "Memoize"
    (scan,) = inner["Plans"]
    assert (scan["Node Type"], scan["Index Name"]) == ("Index Scan", "place_pkey")
    (doc,) = scan["Plans"]
    assert (doc["Parent Relationship"], doc["Node Type"]) == ("SubPlan", "Result")
    assert "Plans" not in doc
    with Session(timetable) as session:
        stmt = sa.select(Journey).options(*shape.loader_options()).where(Journey.journey_id == 7)
        expected = shape.dump_json(session.scalars(stmt).all(), many=True)
        assert shape.fetch_json(session, Journey.journey_id == 7, strategy="json") == expected
