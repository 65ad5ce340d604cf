"""`treeshape.web.EndpointShape` on its own: parsing, the bounded cache, thread safety, and
that the core never imports a web framework."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from examples.transit import shapes

import treeshape as ts
from treeshape.web import EndpointShape, Narrowing, Problem, QueryError


def test_absent_parameters_give_the_declared_shape() -> None:
    endpoint = EndpointShape(shapes.route_detail)
    assert endpoint.from_query([]) is shapes.route_detail
    assert endpoint.from_query([("limit", "5"), ("include_deleted", "1")]) is shapes.route_detail


def test_empty_include_means_no_relationships() -> None:
    shape = EndpointShape(shapes.route_detail).from_query([("include", "")])
    assert shape.paths == []
    assert shape.fields == shapes.route_detail.fields


def test_narrowing_equals_shape_narrow() -> None:
    endpoint = EndpointShape(shapes.route_detail)
    got = endpoint.from_query([("include", "trips.stop_times"), ("fields[Trip]", "trip_id")])
    assert got == shapes.route_detail.narrow("trips.stop_times", fields={"Trip": ["trip_id"]})
    assert got.paths == ["trips", "trips.stop_times"]


def test_parse_is_canonical() -> None:
    endpoint = EndpointShape(shapes.route_detail)
    a = endpoint.parse([("fields[Trip]", "trip_id"), ("fields[Stop]", "stop_id")])
    b = endpoint.parse([("fields[Stop]", "stop_id"), ("fields[Trip]", "trip_id")])
    assert a == b == Narrowing(None, (("Stop", ("stop_id",)), ("Trip", ("trip_id",))))


def test_cache_is_bounded_and_reused() -> None:
    endpoint = EndpointShape(shapes.route_detail, cache_size=3)
    fields = ["trip_id", "route_id", "service_id", "trip_headsign", "direction_id"]
    for name in fields:
        endpoint.from_query([("fields[Trip]", name)])
    assert endpoint.cache_info().currsize == 3
    first = endpoint.from_query([("fields[Trip]", "direction_id")])
    again = endpoint.from_query([("fields[Trip]", "direction_id")])
    assert first is again
    assert endpoint.cache_info().hits >= 2


def test_all_problems_at_once() -> None:
    endpoint = EndpointShape(shapes.route_detail)
    with pytest.raises(QueryError) as info:
        endpoint.from_query([("include", "trips..x"), ("fields[Nope]", "a"), ("field", "b")])
    error = info.value
    assert isinstance(error, ValueError)
    assert [p.parameter for p in error.problems] == ["include", "fields[Nope]", "field"]
    assert all(isinstance(p, Problem) and p.detail for p in error.problems)
    assert "include: " in str(error)


def test_spec_errors_become_problems() -> None:
    """Problems found by the core's narrowing carry its message and the allowed values."""
    endpoint = EndpointShape(shapes.stop_detail)
    with pytest.raises(QueryError) as info:
        endpoint.from_query([("include", "trips.rout"), ("fields[Route]", "route_short_nme")])
    include, fields = info.value.problems
    assert include.parameter == "include" and "'trips.rout'" in include.detail
    assert include.allowed == ("parent", "stop_times", "stop_times.trip", "trips", "trips.route")
    assert fields.parameter == "fields[Route]" and "route_short_name" in fields.detail
    assert "route_short_name" in fields.allowed


def test_max_length_is_configurable() -> None:
    endpoint = EndpointShape(shapes.route_detail, max_length=10)
    endpoint.from_query([("include", "trips")])
    with pytest.raises(QueryError, match="at most 10"):
        endpoint.from_query([("include", "trips.stop_times")])


def test_concurrent_requests_get_one_shape() -> None:
    endpoint = EndpointShape(shapes.route_detail)
    results: list[ts.Shape] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for _ in range(50):
            results.append(endpoint.from_query([("include", "trips"), ("fields[Trip]", "trip_id")]))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 400
    assert len({id(shape.node) for shape in results}) == 1


def test_core_imports_no_framework() -> None:
    code = (
        "import sys, treeshape, treeshape.web; "
        "assert not {'flask', 'fastapi', 'starlette'} & set(sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
