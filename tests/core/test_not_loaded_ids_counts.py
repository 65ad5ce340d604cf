"""`NotLoadedError` for relationships rendered as ids and for counts, on every backend.

Objects loaded without the shape's loader options (or with another shape's, whose counts have
other filters) must make ``dump``, ``dump_json``, the marshmallow schema and the Pydantic model
raise `NotLoadedError` naming what is missing, without a statement; loaded with the shape's own
options, the same shapes agree on every backend and with `fetch`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import orjson
import pytest
from sqlalchemy import ForeignKeyConstraint, Select, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    load_only,
    mapped_column,
    relationship,
    selectinload,
)

import treeshape as ts
from tests.agreement import STRATEGIES, assert_backends_agree, column_names
from tests.core.conftest import CoreDb
from tests.databases import BOTH, Db, database
from tests.factories import NetworkSpec, build_network
from tests.models import Call, Journey, Line, Place
from tests.statements import StatementCounter

BACKENDS: dict[str, Callable[[ts.Shape, Any], Any]] = {
    "dump": lambda shape, obj: shape.dump(obj),
    "dump_json": lambda shape, obj: shape.dump_json(obj),
    "marshmallow": lambda shape, obj: shape.marshmallow_schema().dump(obj),
    "pydantic": lambda shape, obj: shape.pydantic_model.model_validate(obj),
}
PATHED = ("dump", "dump_json")
"""The backends whose error carries the dotted path (``NotLoadedError.path``)."""


class Case(NamedTuple):
    """A shape, a statement loading too little for it, and what the error must name."""

    shape: ts.Shape
    loaded: Select[Any]
    missing: str
    """``Model.attribute`` that is not loaded (the count's output key for a count)."""
    path: str
    """The include path of the relationship whose ids or count cannot be read."""
    statements: int
    """What loading it with the shape's own options costs."""
    is_count: bool = False


with_journeys = select(Line).options(selectinload(Line.journeys))
filtered_count = {"journeys": ts.include(count=True, embed=False, where={"headsign": "To 1"})}
CASES = {
    "collection ids": Case(
        ts.shape(Line, "journeys(ids)"), select(Line), "Line.journeys", "journeys", 2
    ),
    "nested collection ids": Case(
        ts.shape(Line, "journeys.calls(ids)"), with_journeys, "Journey.calls", "journeys.calls", 3
    ),
    "secondary ids": Case(
        ts.shape(Place, "journeys(ids)"), select(Place), "Place.journeys", "journeys", 2
    ),
    "many-to-one ids": Case(
        ts.shape(Call, "place(ids)", fields=["sequence"]),
        select(Call).options(load_only(Call.sequence)),
        "Call.place_id",
        "place",
        1,  # the key is the call's own column
    ),
    "nested many-to-one ids": Case(
        ts.shape(Journey, "calls.place(ids)", fields={"Call": ["sequence"]}),
        select(Journey).options(selectinload(Journey.calls).load_only(Call.sequence)),
        "Call.place_id",
        "calls.place",
        2,
    ),
    "count, the collection not loaded": Case(
        ts.shape(Line, "journeys(count)"),
        select(Line),
        "Line.journeys",
        "journeys",
        2,  # the count is a column of the lines' statement
        is_count=True,
    ),
    "count only": Case(
        ts.shape(Line, "journeys(count,embed=false)"),
        select(Line),
        "Line.journeys_count",
        "journeys",
        1,
        is_count=True,
    ),
    "count, loaded by a shape without it": Case(
        ts.shape(Line, "journeys(count)"),
        select(Line).options(*ts.shape(Line, "journeys").loader_options()),
        "Line.journeys_count",
        "journeys",
        2,
        is_count=True,
    ),
    "count, loaded by a shape with another filter": Case(
        ts.shape(Line, filtered_count),
        select(Line).options(*ts.shape(Line, "journeys(count,embed=false)").loader_options()),
        "Line.journeys_count",
        "journeys",
        1,
        is_count=True,
    ),
    "nested count": Case(
        ts.shape(Line, "journeys.calls(count,embed=false)"),
        with_journeys,
        "Journey.calls_count",
        "journeys.calls",
        2,
        is_count=True,
    ),
    "secondary count": Case(
        ts.shape(Place, "journeys(count,embed=false)"),
        select(Place),
        "Place.journeys_count",
        "journeys",
        1,
        is_count=True,
    ),
}


@pytest.fixture(scope="module")
def network(core_db: CoreDb) -> CoreDb:
    core_db.clean()
    with Session(core_db.engine) as session:
        build_network(session, NetworkSpec(lines=2, seed=1))
    return core_db


def first(session: Session, stmt: Select[Any]) -> Any:
    obj = session.scalars(
        stmt.order_by(*stmt.column_descriptions[0]["entity"].__mapper__.primary_key)
    ).first()
    assert obj is not None
    return obj


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_raises_without_querying(network: CoreDb, case: Case, backend: str) -> None:
    with Session(network.engine) as session:
        obj = first(session, case.loaded)
        with StatementCounter(network.engine) as counter, pytest.raises(ts.NotLoadedError) as info:
            BACKENDS[backend](case.shape, obj)
        assert counter.count == 0, counter.statements
    message = str(info.value)
    if backend in PATHED:
        assert info.value.path == case.path
        assert f"{case.missing} is not loaded at path {case.path!r}" in message
    else:  # counts too: named by their key, never by the hidden attribute that holds them
        assert f"{case.missing} is not loaded" in message
    assert "loader_options()" in message


@pytest.mark.parametrize("backend", ["marshmallow", "pydantic"])
def test_counts_are_named_by_their_key_on_every_backend(network: CoreDb, backend: str) -> None:
    for name, case in CASES.items():
        if not case.is_count:
            continue
        with Session(network.engine) as session, pytest.raises(ts.NotLoadedError) as info:
            BACKENDS[backend](case.shape, first(session, case.loaded))
        assert f"{case.missing} is not loaded" in str(info.value), name


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_loaded_by_the_shape_every_backend_agrees(network: CoreDb, case: Case) -> None:
    """The control: with the shape's own options, the same shapes dump alike everywhere (`fetch`
    in the core strategy gives the expected documents: no ORM object involved)."""
    with Session(network.engine) as session:
        expected = case.shape.fetch(session, strategy="core")
    assert expected
    assert_backends_agree(
        network.engine,
        case.shape,
        None,
        fields={},
        defaults={},
        expected=expected,
        statements=case.statements,
    )


# -- a composite many-to-one key rendered as ids ----------------------------------------------


class CompositeBase(DeclarativeBase):
    pass


class NlPair(CompositeBase):
    __tablename__ = "nl_pair"

    a: Mapped[int] = mapped_column(primary_key=True)
    b: Mapped[int] = mapped_column(primary_key=True)


class NlRef(CompositeBase):
    __tablename__ = "nl_ref"
    __table_args__ = (ForeignKeyConstraint(["pair_a", "pair_b"], ["nl_pair.a", "nl_pair.b"]),)

    ref_id: Mapped[int] = mapped_column(primary_key=True)
    pair_a: Mapped[int | None] = mapped_column()
    pair_b: Mapped[int | None] = mapped_column()
    pair: Mapped[NlPair | None] = relationship()


@pytest.fixture(scope="module", params=BOTH)
def composite_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, CompositeBase.metadata) as db:
        with Session(db.engine) as session:
            session.add_all([NlPair(a=1, b=2), NlPair(a=3, b=4)])
            session.flush()
            session.add_all(
                [
                    NlRef(ref_id=1, pair_a=1, pair_b=2),
                    NlRef(ref_id=2),
                    NlRef(ref_id=3, pair_a=3, pair_b=4),
                ]
            )
            session.commit()
        yield db


composite_ids = ts.shape(NlRef, "pair(ids)", fields=["ref_id"])


COMPOSITE_IDS = [
    {"ref_id": 1, "pair": [1, 2]},
    {"ref_id": 2, "pair": None},
    {"ref_id": 3, "pair": [3, 4]},
]


def test_composite_ids_agree(composite_db: Db) -> None:
    assert_backends_agree(
        composite_db.engine,
        composite_ids,
        None,
        fields={},
        defaults=column_names(NlRef),
        statements=1,  # the key is the referring row's own columns
        expected=COMPOSITE_IDS,
    )


def test_composite_ids_agree_but_pydantic(composite_db: Db) -> None:
    """The same documents one backend at a time, both fetch strategies included."""
    with Session(composite_db.engine) as session:
        stmt = select(NlRef).options(*composite_ids.loader_options()).order_by(NlRef.ref_id)
        refs = session.scalars(stmt).all()
        assert composite_ids.dump(refs, many=True) == COMPOSITE_IDS
        assert orjson.loads(composite_ids.dump_json(refs, many=True)) == COMPOSITE_IDS
        assert composite_ids.marshmallow_schema(many=True).dump(refs) == COMPOSITE_IDS
        for strategy in STRATEGIES:
            assert composite_ids.fetch(session, strategy=strategy) == COMPOSITE_IDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_composite_ids_not_loaded(
    composite_db: Db, backend: str, request: pytest.FixtureRequest
) -> None:
    with Session(composite_db.engine) as session:
        ref = first(session, select(NlRef).options(load_only(NlRef.ref_id, NlRef.pair_a)))
        with (
            StatementCounter(composite_db.engine) as counter,
            pytest.raises(ts.NotLoadedError) as info,
        ):
            BACKENDS[backend](composite_ids, ref)
        assert counter.count == 0, counter.statements
    assert "NlRef.pair_b is not loaded" in str(info.value)
    if backend in PATHED:
        assert info.value.path == "pair"
