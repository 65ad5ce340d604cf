"""`benchmarks.orm_path`: every case gives the same document before it is timed."""

from __future__ import annotations

import orjson
from benchmarks.fetch_limits import measure
from benchmarks.orm_path import WORKLOADS, cases
from benchmarks.workloads import pick_workloads
from sqlalchemy import Engine


def test_orm_path_cases_agree(sample_engine: Engine) -> None:
    workloads = pick_workloads(sample_engine)
    for workload in WORKLOADS:
        found = cases(sample_engine, workload, workloads[workload].key)
        assert [name for name, _ in found] == [
            "loader_options() + dump_json",
            "loader_options(raise_on_unplanned=False) + dump_json",
            "selectinload chain + dump_json",
            "selectinload chain + dict + orjson (hand)",
            'lazy="raise" mapping: loader_options() + dump_json',
            'lazy="raise" mapping: selectinload chain + dump_json',
        ]
        expected = orjson.loads(found[0][1]())
        assert expected and expected[0]
        for name, run in found:
            assert orjson.loads(run()) == expected, name
        assert set(measure(found, 1)) == {name for name, _ in found}
