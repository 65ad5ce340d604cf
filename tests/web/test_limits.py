"""`treeshape.web.Limits`: every bound on a request's narrowing is a 400 that names the limit
and its value, before any narrowing work or query; each can be set per endpoint."""

from __future__ import annotations

import pytest
from examples.transit import shapes

from treeshape.web import DEFAULT_LIMITS, EndpointShape, Limits, QueryError

from .conftest import Api
from .test_bad_input import problems

ROUTE_FIELDS = "route_id,route_short_name"


def limit_of(endpoint: EndpointShape, params: list[tuple[str, str]]) -> tuple[str, int]:
    """The limit named by the one problem ``params`` cause."""
    with pytest.raises(QueryError) as info:
        endpoint.from_query(params)
    (problem,) = info.value.problems
    assert problem.limit is not None, problem
    name, value = problem.limit
    assert f"limit {name}={value}" in problem.detail
    return problem.limit


def test_defaults_are_generous() -> None:
    assert Limits(max_depth=8, max_paths=32, max_length=1024, max_fields=128) == DEFAULT_LIMITS
    endpoint = EndpointShape(shapes.route_detail)
    assert endpoint.limits is DEFAULT_LIMITS
    everything = ",".join(shapes.route_detail.paths)
    assert endpoint.from_query([("include", everything)]) == shapes.route_detail


def test_max_depth() -> None:
    endpoint = EndpointShape(shapes.route_detail, limits=Limits(max_depth=2))
    endpoint.from_query([("include", "trips.stop_times")])
    assert limit_of(endpoint, [("include", "trips.stop_times.stop")]) == ("max_depth", 2)
    # Deeper than the declared shape itself: the endpoint's own depth is the better message.
    with pytest.raises(QueryError, match="at most 3 deep"):
        endpoint.from_query([("include", "trips.stop_times.stop.trips")])


def test_max_paths() -> None:
    endpoint = EndpointShape(shapes.route_detail, limits=Limits(max_paths=2))
    endpoint.from_query([("include", "trips,agency")])
    assert limit_of(endpoint, [("include", "trips,agency,trips.stop_times")]) == ("max_paths", 2)
    # Counted before the paths are looked at: repeats and nonsense count too.
    assert limit_of(endpoint, [("include", "x,,y")]) == ("max_paths", 2)


def test_max_length_of_values_and_names() -> None:
    endpoint = EndpointShape(shapes.route_detail, limits=Limits(max_length=16))
    assert limit_of(endpoint, [("include", "trips.stop_times.stop")]) == ("max_length", 16)
    assert limit_of(endpoint, [("fields[" + "X" * 20 + "]", "a")]) == ("max_length", 16)
    # The shortcut keyword overrides the limit it names and keeps the others.
    endpoint = EndpointShape(shapes.route_detail, limits=Limits(max_paths=3), max_length=5)
    assert endpoint.limits == Limits(max_paths=3, max_length=5)


def test_max_fields_counts_every_model() -> None:
    endpoint = EndpointShape(shapes.route_detail, limits=Limits(max_fields=3))
    endpoint.from_query([("fields[Route]", ROUTE_FIELDS), ("fields[Trip]", "trip_id")])
    too_many = [("fields[Route]", ROUTE_FIELDS), ("fields[Trip]", "trip_id,route_id")]
    assert limit_of(endpoint, too_many) == ("max_fields", 3)


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "8"])
def test_limits_must_be_positive_integers(bad: object) -> None:
    with pytest.raises(ValueError, match="max_depth"):
        Limits(max_depth=bad)  # type: ignore[arg-type]


def test_many_problems_are_capped() -> None:
    """A flood of bad parameters gets a bounded error, not one entry per parameter."""
    endpoint = EndpointShape(shapes.route_detail)
    with pytest.raises(QueryError) as info:
        endpoint.from_query([(f"fields[M{i}]", "x") for i in range(5000)])
    assert len(info.value.problems) == 20
    assert "4981 more problems" in info.value.problems[-1].detail


def test_limit_in_both_error_formats(api: Api) -> None:
    """Both apps use the default limits; the body names the limit and its value."""
    paths = ",".join(["trips"] * 40)
    answer = api.get(f"/routes/AB?include={paths}")
    assert answer.status == 400
    assert answer.statements == 0
    body = answer.json()
    ((parameter, message),) = problems(api, body)
    assert parameter == "include"
    assert "limit max_paths=32" in message
    error = body["errors"][0] if api.framework == "flask" else body["detail"][0]["ctx"]
    assert error["limit"] == {"name": "max_paths", "value": 32}
