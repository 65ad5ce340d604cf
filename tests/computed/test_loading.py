"""What a computed field's reads cost, and what happens when they are not loaded.

Exact statement counts on SQLite and PostgreSQL: a read the shape does not include adds one
statement per relationship level and is not output; a read the shape includes adds none (even
as ids or a count only); narrowing the field away drops its reads. An object whose reads are
not loaded is refused by every backend with a `NotLoadedError` naming the path, without a
statement: the case a plain ``@property`` cannot get right (see
`tests.core.test_computed_and_relations`), since nothing declares what it reads.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

import treeshape as ts
from tests.agreement import serialized, without_jit
from tests.computed.models import (
    LINE_PLACES,
    RUN_CALLS,
    RUN_FIRST,
    CfBase,
    CfCall,
    CfLine,
    CfRun,
    NetworkSpec,
    build_network,
)
from tests.computed_models import ComputedBase, CpKeeper, CpShelf, LibrarySpec, build_library
from tests.databases import BOTH, Db, database
from tests.statements import StatementCounter

SPEC = NetworkSpec(lines=3, runs_per_line=3, calls_per_run=4, places=3, seed=2)


@pytest.fixture(scope="module", params=BOTH)
def network_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, CfBase.metadata) as db:
        db = without_jit(db)
        with Session(db.engine) as session:
            build_network(session, SPEC)
        yield db


@pytest.fixture(scope="module", params=BOTH)
def library_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, ComputedBase.metadata) as db:
        with Session(db.engine) as session:
            build_library(session, LibrarySpec(keepers=2, shelves=4, books_per_shelf=3, seed=1))
        yield db


def load(db: Db, shape: ts.Shape) -> tuple[list[Any], int, dict[str, list[Any]]]:
    """The roots loaded with the shape's plan, the statements that took, every ORM backend's
    output (which must take none, and agree)."""
    model = shape.model
    with Session(db.engine) as session, StatementCounter(db.engine) as counter:
        stmt = select(model).options(*shape.loader_options())
        objs = list(session.scalars(stmt.order_by(*inspect(model).primary_key)).all())
        count = counter.count
        counter.reset()
        outputs = serialized(shape, objs)
        assert counter.count == 0, counter.statements
    first = orjson.dumps(outputs["dump"])
    for backend, output in outputs.items():
        assert orjson.dumps(output) == first, backend
    return objs, count, outputs


def calls_of_runs(db: Db) -> dict[int, list[tuple[int, Any]]]:
    """run_id -> [(seq, departure)], straight from the table."""
    found: dict[int, list[tuple[int, Any]]] = {}
    with Session(db.engine) as session:
        runs = session.scalars(select(CfRun.run_id)).all()
        for run_id in runs:
            found[run_id] = []
        for call in session.scalars(select(CfCall).order_by(CfCall.run_id, CfCall.seq)):
            found[call.run_id].append((call.seq, call.departure))
    return found


def test_a_read_the_shape_does_not_include_is_loaded_not_output(network_db: Db) -> None:
    shape = ts.shape(CfRun, fields=["run_id"], computed={"call_count": RUN_CALLS})
    _, count, outputs = load(network_db, shape)
    assert count == 2  # the runs, their calls
    calls = calls_of_runs(network_db)
    assert outputs["dump"] == [
        {"run_id": run_id, "call_count": len(items)} for run_id, items in sorted(calls.items())
    ]
    assert any(calls.values()) and not all(calls.values())


def test_a_read_the_shape_includes_costs_nothing_more(network_db: Db) -> None:
    shape = ts.shape(
        CfRun, "calls", fields={"CfCall": ["seq"]}, computed={"first_departure": RUN_FIRST}
    )
    _, count, outputs = load(network_db, shape)
    assert count == 2
    calls = calls_of_runs(network_db)
    for doc in outputs["dump"]:
        items = calls[doc["run_id"]]
        # The calls output only seq, but were loaded whole for the function.
        assert doc["calls"] == [{"seq": seq} for seq, _ in items]
        times = [d for _, d in items if d is not None]
        assert doc["first_departure"] == (min(times).isoformat() if times else None)


@pytest.mark.parametrize(
    ("spec", "key"),
    [({"calls": ts.include(ids=True)}, "calls"), ("calls(count,embed=false)", "calls_count")],
    ids=["ids", "count-only"],
)
def test_a_read_through_ids_or_a_count_loads_the_objects_once(
    network_db: Db, spec: Any, key: str
) -> None:
    shape = ts.shape(CfRun, spec, fields=["run_id"], computed={"call_count": RUN_CALLS})
    _, count, outputs = load(network_db, shape)
    assert count == 2
    calls = calls_of_runs(network_db)
    for doc in outputs["dump"]:
        assert doc["call_count"] == len(calls[doc["run_id"]])
        if key == "calls":
            assert doc["calls"] == [[doc["run_id"], seq] for seq, _ in calls[doc["run_id"]]]
        else:
            assert doc["calls_count"] == doc["call_count"]


def test_a_deep_read_loads_every_level(network_db: Db) -> None:
    shape = ts.shape(CfLine, fields=["line_id"], computed={"place_count": LINE_PLACES})
    _, count, outputs = load(network_db, shape)
    assert count == 3  # lines, runs, calls
    with Session(network_db.engine) as session:
        rows = session.execute(
            select(CfRun.line_id, CfCall.place_id).join(CfCall, CfCall.run_id == CfRun.run_id)
        ).all()
        lines = session.scalars(select(CfLine.line_id).order_by(CfLine.line_id)).all()
    places = {line: {p for l_, p in rows if l_ == line} for line in lines}
    assert outputs["dump"] == [{"line_id": i, "place_count": len(places[i])} for i in lines]


def test_narrowing_a_computed_field_away_drops_its_reads(network_db: Db) -> None:
    shape = ts.shape(CfRun, fields=["run_id"], computed={"call_count": RUN_CALLS})
    _, count, outputs = load(network_db, shape.narrow(fields={"CfRun": ["run_id"]}))
    assert count == 1
    assert all(list(doc) == ["run_id"] for doc in outputs["dump"])
    kept = shape.narrow(fields={"CfRun": ["call_count"]})
    _, count, outputs = load(network_db, kept)
    assert count == 2
    assert all(list(doc) == ["call_count"] for doc in outputs["dump"])


# -- not loaded: refused, never queried -----------------------------------------------------------

FIRST_TITLE = ts.computed(
    lambda shelf: shelf.books[0].title if shelf.books else None,
    type=str | None,
    reads=["books"],
)
"""`CpShelf.first_title` declared: its models lazy-load by default, so a missed read would be
a query, not an error."""


def _backends(shape: ts.Shape) -> dict[str, Callable[[Any], Any]]:
    return {
        "dump": lambda o: shape.dump(o),
        "dump_json": lambda o: shape.dump_json(o),
        "marshmallow": lambda o: shape.marshmallow_schema().dump(o),
        "pydantic": lambda o: shape.pydantic_model.model_validate(o),
    }


def test_unloaded_reads_are_refused_without_a_query(library_db: Db) -> None:
    """The strict xfail of a ``@property`` reading an included relationship, declared."""
    shape = ts.shape(CpShelf, "books", fields=["shelf_id"], computed={"first": FIRST_TITLE})
    for backend, run in _backends(shape).items():
        with Session(library_db.engine) as session:
            shelf = session.scalars(select(CpShelf).order_by(CpShelf.shelf_id)).first()
            assert shelf is not None
            with (
                StatementCounter(library_db.engine) as counter,
                pytest.raises(ts.NotLoadedError, match=r"CpShelf\.books is not loaded"),
            ):
                run(shelf)
            assert counter.count == 0, (backend, counter.statements)


def test_unloaded_reads_below_the_root_name_the_full_path(library_db: Db) -> None:
    shape = ts.shape(CpKeeper, "shelves", computed={"CpShelf": {"first": FIRST_TITLE}})
    with Session(library_db.engine) as session:
        keeper = session.scalars(
            select(CpKeeper).options(selectinload(CpKeeper.shelves)).order_by(CpKeeper.keeper_id)
        ).first()
        assert keeper is not None and keeper.shelves
        for backend, run in _backends(shape).items():
            with (
                StatementCounter(library_db.engine) as counter,
                pytest.raises(ts.NotLoadedError, match=r"CpShelf\.books is not loaded") as error,
            ):
                run(keeper)
            assert counter.count == 0, (backend, counter.statements)
            if backend.startswith("dump"):
                assert error.value.path == "shelves.books", backend


def test_declared_reads_load_what_the_property_needs(library_db: Db) -> None:
    """The same field loaded with the shape's plan: the books are loaded, the value right."""
    shape = ts.shape(CpShelf, fields=["shelf_id"], computed={"first": FIRST_TITLE})
    _, count, outputs = load(library_db, shape)
    assert count == 2
    with Session(library_db.engine) as session:
        shelves = session.scalars(
            select(CpShelf).options(selectinload(CpShelf.books)).order_by(CpShelf.shelf_id)
        ).all()
        expected = [
            {"shelf_id": s.shelf_id, "first": s.books[0].title if s.books else None}
            for s in shelves
        ]
    assert outputs["dump"] == expected
    assert any(d["first"] for d in expected) and not all(d["first"] for d in expected)


# -- a value of another type than declared --------------------------------------------------------


class Flavour(enum.StrEnum):
    SWEET = "sweet"


def test_values_of_the_declared_type_pass(network_db: Db) -> None:
    shape = ts.shape(
        CfRun,
        fields=["run_id"],
        computed={
            "day": ts.computed(lambda run: dt.date(2024, 1, run.run_id % 28 + 1), type=dt.date),
            "flavour": ts.computed(lambda run: Flavour.SWEET, type=Flavour),
            "ratio": ts.computed(lambda run: run.run_id / 4, type=float | None),
        },
    )
    _, _, outputs = load(network_db, shape)
    assert outputs["dump"][0]["flavour"] == "sweet"
    assert outputs["dump"][0]["day"].startswith("2024-01-")


@pytest.mark.parametrize(
    ("value", "declared"),
    [
        ("3", int),
        (True, int),
        (3, float),
        (None, int),
        (1.5, str),
        (dt.datetime(2024, 1, 2, 3, 4), dt.date),
        (Flavour.SWEET, str),
    ],
)
def test_a_value_of_another_type_is_an_error_in_every_backend(
    network_db: Db, value: Any, declared: type
) -> None:
    wrong = ts.computed(lambda run: value, type=declared)
    shape = ts.shape(CfRun, fields=["run_id"], computed={"wrong": wrong})
    with Session(network_db.engine) as session:
        run = session.scalars(select(CfRun).options(*shape.loader_options())).first()
        assert run is not None
        messages = set()
        for call in _backends(shape).values():
            with pytest.raises(TypeError, match=r"CfRun\.wrong returned") as error:
                call(run)
            messages.add(str(error.value))
        assert len(messages) == 1, messages  # the same message from every backend
        assert f"declared {declared.__name__}" in messages.pop()


@pytest.mark.parametrize(
    "spec",
    [
        {"runs": ts.include(order_by="-run_id", limit=1)},
        {"runs": ts.include(order_by="headsign", offset=1)},
        {"runs": ts.include(where={"headsign": "To 3"})},
    ],
    ids=["limit", "offset", "where"],
)
def test_computed_fields_inside_a_windowed_or_filtered_collection(
    network_db: Db, spec: Any
) -> None:
    """The window is on the runs, the reads below them: allowed, and `fetch` (which selects the
    field's SQL on a derived table of the window's rows) gives the ORM's documents."""
    shape = ts.shape(
        CfLine,
        spec,
        fields={"CfRun": ["run_id"]},
        computed={"CfRun": {"call_count": RUN_CALLS, "first_departure": RUN_FIRST}},
    )
    _, count, outputs = load(network_db, shape)
    assert count == 3  # lines, their runs, the runs' calls
    docs = outputs["dump"]
    assert any(line["runs"] for line in docs)
    calls = calls_of_runs(network_db)
    for line in docs:
        for run in line["runs"]:
            assert run["call_count"] == len(calls[run["run_id"]])
    with Session(network_db.engine) as session:
        for strategy in ("core", "json"):
            assert shape.fetch(session, strategy=strategy) == docs, strategy
            assert orjson.loads(shape.fetch_json(session, strategy=strategy)) == docs, strategy


def test_a_computed_field_of_a_shared_many_to_one_target(network_db: Db) -> None:
    """A run reached from many calls is dumped once per call (the dumper's memo), its computed
    field with it."""
    shape = ts.shape(
        CfCall, "run", fields={"CfCall": ["seq"]}, computed={"CfRun": {"n": RUN_CALLS}}
    )
    _, count, outputs = load(network_db, shape)
    assert count == 3  # calls, their runs, the runs' calls (the calls again, as the function reads)
    calls = calls_of_runs(network_db)
    assert outputs["dump"] and all(
        doc["run"]["n"] == len(calls[doc["run"]["run_id"]]) for doc in outputs["dump"]
    )
    with Session(network_db.engine) as session:
        assert shape.fetch(session) == outputs["dump"]
