"""Computed fields are outputs like any other: a key style and names= rename them on every
backend (fetch computing them in SQL), on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic.alias_generators import to_camel
from sqlalchemy import select
from sqlalchemy.orm import Session

import treeshape as ts
from tests.agreement import assert_backends_agree, without_jit
from tests.computed.models import RUN_CALLS, RUN_FIRST, CfBase, CfRun, build_network
from tests.databases import ALL, Db, database


@pytest.fixture(scope="module", params=ALL)
def computed_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, CfBase.metadata) as db:
        yield without_jit(db)


def test_computed_fields_take_output_keys(computed_db: Db) -> None:
    computed_db.clean()
    with Session(computed_db.engine) as session:
        build_network(session)
    computed = {"first_departure": RUN_FIRST, "call_count": RUN_CALLS}
    plain = ts.shape(CfRun, fields=["run_id", "headsign"], computed=computed)
    camel = ts.shape(
        CfRun,
        fields=["run_id", "headsign"],
        computed=computed,
        key_style=to_camel,
        names={"call_count": "calls"},
    )
    with Session(computed_db.engine) as session:
        runs = session.scalars(
            select(CfRun).options(*plain.loader_options()).order_by(CfRun.run_id)
        ).all()
        docs = plain.dump(runs, many=True)
    assert docs and list(docs[0]) == ["run_id", "headsign", "first_departure", "call_count"]
    keys = {"run_id": "runId", "headsign": "headsign", "first_departure": "firstDeparture"}
    expected = [{keys.get(k, "calls"): v for k, v in d.items()} for d in docs]
    assert_backends_agree(
        computed_db.engine, camel, None, fields={}, defaults={}, expected=expected
    )
    assert list(camel.json_schema()["properties"]) == [
        "runId",
        "headsign",
        "firstDeparture",
        "calls",
    ]
