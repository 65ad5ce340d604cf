"""`Shape.loader_options` on a mapping whose relationships are all ``lazy="raise"`` (the one
SQLAlchemy recommends under asyncio): the plan's top-level ``raiseload("*")`` then asks for
the strategy every relationship has at class level, so SQLAlchemy installs no loader callable
on any loaded object (the per-row cost of raising on other mappings, docs/performance.md),
and an unplanned access raises all the same. SQLite, exact statement counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.pool import StaticPool

import treeshape as ts
from tests.computed.models import CfBase, CfCall, CfLine, CfRun, NetworkSpec, build_network
from tests.models import Line, LineKind
from tests.statements import StatementCounter
from treeshape.inspection import HIDDEN_PREFIX

SPEC = NetworkSpec(lines=3, runs_per_line=3, calls_per_run=4, places=3, seed=2)
detail = ts.shape(CfLine, "runs.calls.place")


@pytest.fixture(scope="module")
def raise_engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    CfBase.metadata.create_all(engine)
    with Session(engine) as session:
        build_network(session, SPEC)
    yield engine
    engine.dispose()


def callables(obj: object) -> dict[str, object]:
    """The object's per-instance loader callables (`InstanceState.callables`)."""
    return dict(inspect(obj).callables)


def load(engine: Engine, statements: StatementCounter, session: Session, *options: object) -> Any:
    statements.reset()
    return session.scalars(select(CfLine).order_by(CfLine.line_id).options(*options)).all()


def test_unplanned_relationships_raise_without_loader_callables(raise_engine: Engine) -> None:
    with StatementCounter(raise_engine) as statements, Session(raise_engine) as session:
        lines = load(raise_engine, statements, session, *detail.loader_options())
        assert statements.count == 4  # lines, runs, calls, places
        runs = [run for line in lines for run in line.runs]
        calls = [call for run in runs for call in run.calls]
        places = {call.place for call in calls}
        assert runs and calls and places
        loaded = [*lines, *runs, *calls, *places]
        assert [callables(obj) for obj in loaded] == [{}] * len(loaded)
        run, call, place = runs[0], calls[0], next(iter(places))
        unplanned = [
            # many-to-ones whose target is in the session: raised all the same
            (lambda: run.line, "CfRun.line"),
            (lambda: call.run, "CfCall.run"),
            (lambda: place.calls, "CfPlace.calls"),
        ]
        for access, name in unplanned:
            with pytest.raises(InvalidRequestError, match=rf"'{name}' is not available"):
                access()
        assert statements.count == 4


def test_the_same_document_as_the_plain_chain(raise_engine: Engine) -> None:
    chain = selectinload(CfLine.runs).selectinload(CfRun.calls).selectinload(CfCall.place)
    with StatementCounter(raise_engine) as statements, Session(raise_engine) as session:
        expected = detail.dump_json(load(raise_engine, statements, session, chain), many=True)
        assert statements.count == 4
        session.expunge_all()
        lines = load(raise_engine, statements, session, *detail.loader_options())
        assert detail.dump_json(lines, many=True) == expected
        assert statements.count == 4


def test_a_column_left_out_raises(raise_engine: Engine) -> None:
    brief = ts.shape(CfRun, fields=["run_id"])
    with StatementCounter(raise_engine) as statements, Session(raise_engine) as session:
        run = session.scalars(select(CfRun).options(*brief.loader_options())).first()
        assert run is not None
        # the columns left out carry theirs (`load_only` is not their class-level loader), the
        # relationships none; a count's hidden expression, which another shape of CfRun may
        # have added to the mapper (`treeshape.sql.counting`), is a column left out too
        mapped = {k for k in callables(run) if not k.startswith(HIDDEN_PREFIX)}
        assert mapped == {"line_id", "headsign"}
        with pytest.raises(InvalidRequestError, match=r"'CfRun.headsign' is not available"):
            _ = run.headsign
        assert statements.count == 1


def test_a_lazy_select_mapping_gets_a_loader_callable_per_unplanned_relationship(
    session: Session,
) -> None:
    """The contrast: the test models' relationships are lazy ``select``, so ``raiseload("*")``
    is not their class-level strategy and each loaded object carries a callable per
    relationship the plan does not load (`Line.operator`, the one the shape leaves out)."""
    session.add(Line(line_id=1, name="L", kind=LineKind.BUS))
    session.commit()
    session.expunge_all()
    line = session.scalars(select(Line).options(*ts.shape(Line).loader_options())).one()
    assert set(callables(line)) == {"operator", "journeys"}
