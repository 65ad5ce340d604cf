"""`benchmarks.fetch_limits`: every case gives the same document, on every database."""

from __future__ import annotations

import orjson
import pytest
from benchmarks.fetch_limits import _cases, mariadb_copy, measure, postgres_copy, server_times
from benchmarks.workloads import pick_workloads
from sqlalchemy import Engine


def _check(engine: Engine, workloads: dict[str, str]) -> None:
    for workload, key in workloads.items():
        cases = _cases(engine, workload, key)
        assert len(cases) >= 5
        expected = orjson.loads(cases[0][1]())
        assert expected and expected[0]
        for name, run in cases:
            assert orjson.loads(run()) == expected, name
        assert set(measure(cases, 1)) == {name for name, _ in cases}


def test_sqlite_cases_agree(sample_engine: Engine) -> None:
    workloads = pick_workloads(sample_engine)
    _check(sample_engine, {name: workloads[name].key for name in ("route", "trip")})


@pytest.mark.postgres
def test_postgresql_cases_agree(sample_engine: Engine, pg_server: object) -> None:
    engine, started = postgres_copy(sample_engine, pg_server)
    assert started is None  # the suite's own server, not a second cluster
    try:
        workloads = pick_workloads(engine)
        _check(engine, {name: workloads[name].key for name in ("route", "trip")})
        # treeshape's statement gives fetch_json's bytes, the hand ones the same document.
        times = server_times(engine, "trip", workloads["trip"].key, 1)
        assert len(times) == 3 and all(p > 0 and e > 0 for p, e in times.values())
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_mariadb_cases_agree(sample_engine: Engine, mariadb_server: object) -> None:
    engine, started = mariadb_copy(sample_engine, mariadb_server)
    assert started is None  # the suite's own server, not a second one
    try:
        workloads = pick_workloads(engine)
        _check(engine, {name: workloads[name].key for name in ("route", "trip")})
    finally:
        engine.dispose()
