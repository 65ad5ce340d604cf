"""Output keys in fetch's SQL on every database: SQLite, PostgreSQL and MariaDB write the same
keys as the dumper, hostile ones included (quotes, '%', ':', non-ASCII), in both strategies."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from pydantic.alias_generators import to_camel

import treeshape as ts
from tests.databases import ALL, Db, database
from tests.test_mariadb_fetch import Base, Depot, Kind, _check, _insert


def hostile(name: str) -> str:
    return f"{name}'%:\"é"


@pytest.fixture(scope="module", params=ALL)
def fleet(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        _insert(
            db,
            [{"depot_id": "A", "name": "x"}, {"depot_id": "B", "name": None}],
            [
                {
                    "bus_id": f"b{i}",
                    "depot_id": "AB"[i % 2],
                    "seats": i,
                    "speed": i / 3,
                    "price": decimal.Decimal("1.250"),
                    "electric": bool(i % 2),
                    "kind": Kind.BUS,
                    "bought": dt.date(2024, 1, i + 1),
                    "serviced": dt.datetime(2024, 1, 1, 12, i, 0, 5),
                    "leaves": dt.time(8, i),
                    "code": uuid.UUID(int=i + 1, version=4),
                    "note": "n'%:",
                    "extra": {"a_b": i},
                }
                for i in range(4)
            ],
        )
        yield db


def _rename(doc: dict[str, Any], style: Any, renames: dict[str, str]) -> dict[str, Any]:
    return {renames.get(k, style(k)): v for k, v in doc.items()}


@pytest.mark.parametrize("style", [to_camel, hostile])
def test_fetch_writes_the_dumpers_keys_on_every_database(fleet: Db, style: Any) -> None:
    renames = {"name": "depot's %(name)s"}
    shape = ts.shape(
        Depot,
        {"buses": ts.include(count=True)},
        key_style=style,
        names={Depot: renames},
    )
    plain = ts.shape(Depot, {"buses": ts.include(count=True)})
    got = orjson.loads(_check(fleet, shape))  # fetch_json's bytes == dump_json's, both strategies
    expected = [
        {
            renames.get(k, style(k)): [_rename(b, style, {}) for b in v] if k == "buses" else v
            for k, v in d.items()
        }
        for d in orjson.loads(_check(fleet, plain))
    ]
    assert got == expected
    assert orjson.dumps(got) == orjson.dumps(expected)  # key order too
    # A JSON column's own keys are data, never renamed.
    assert got[0][style("buses")][0][style("extra")] == {"a_b": 0}
