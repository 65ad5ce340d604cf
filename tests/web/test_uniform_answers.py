"""The rules of issues #17.3 and #19: a 400 names only what the endpoint declares, every
undeclared name gets the same answer whatever it is, parameters that would have no effect are
refused by one rule, counts and id lists are named in ``fields[Model]`` like fields, echoes are
short, the error path stops before its costly part, and nothing remembers request text.

Framework-free (`EndpointShape` on the example's endpoints, no database): the HTTP side of the
same rules is in test_bad_input.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from examples.transit import endpoints, shapes
from examples.transit.models import Agency, Route, Stop, Trip
from hypothesis import given, settings
from hypothesis import strategies as st

import treeshape as ts
from treeshape.inspection import model_info
from treeshape.web import EndpointShape, Problem, QueryError, parameters

DID_YOU_MEAN = re.compile(r" Did you mean [^?]*\?")


def problems_of(endpoint: EndpointShape, query: list[tuple[str, str]]) -> tuple[Problem, ...]:
    with pytest.raises(QueryError) as info:
        endpoint.from_query(query)
    return info.value.problems


def only_problem(endpoint: EndpointShape, query: list[tuple[str, str]]) -> Problem:
    (problem,) = problems_of(endpoint, query)
    return problem


def answer_without(problem: Problem, name: str) -> tuple[str, str, tuple[str, ...]]:
    """The answer with the name itself and its suggestions taken out: what is left must not
    depend on what the name is."""
    detail = DID_YOU_MEAN.sub("", problem.detail).replace(name, "NAME")
    return problem.parameter.replace(name, "NAME"), detail, problem.allowed


def columns(model: type) -> list[str]:
    return [prop.key for prop in model_info(model).mapper.column_attrs]


# -- #19.4: an undeclared name gets the same answer whatever it is ---------------------------

# Agency on /routes/{route_id} outputs agency_id, agency_name, agency_url.
UNDECLARED_AGENCY_FIELDS = [
    "nope",  # absent
    "agency_internal_note",  # private (info={"treeshape_private": True})
    "routes",  # a relationship the endpoint does not include
    "agency_timezone",  # a column outside the shape
    "__class__",  # a Python attribute
    "metadata",  # the declarative base's
]


def test_undeclared_fields_are_indistinguishable() -> None:
    answers = {
        answer_without(only_problem(endpoints.ROUTE, [("fields[Agency]", name)]), name)
        for name in UNDECLARED_AGENCY_FIELDS
    }
    assert len(answers) == 1, answers
    ((parameter, detail, allowed),) = answers
    assert parameter == "fields[Agency]"
    assert allowed == ("agency_id", "agency_name", "agency_url")
    for word in ("private", "relationship", "info=", "column"):
        assert word not in detail


def test_undeclared_paths_are_indistinguishable() -> None:
    undeclared = ["nope", "calendar", "trips.calendar", "agency.routes", "trips.route", "stops"]
    answers = {
        answer_without(only_problem(endpoints.ROUTE, [("include", path)]), path)
        for path in undeclared
    }
    assert len(answers) == 1, answers


@pytest.mark.parametrize(
    ("endpoint", "model"),
    [(endpoints.TRIP_STOP_TIMES, Stop), (endpoints.ROUTE, Trip), (endpoints.ROUTES, Agency)],
)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_errors_name_only_declared_fields(
    endpoint: EndpointShape, model: type, data: st.DataObject
) -> None:
    """Whatever the bad value, no undeclared column of the model is named in the answer."""
    name = model.__name__
    outputs = set(endpoint.models[name])
    hidden = [c for c in columns(model) if c not in outputs]
    assert hidden
    value = data.draw(
        st.one_of(
            st.sampled_from(hidden),
            st.from_regex(r"[a-z_]{1,12}", fullmatch=True).filter(lambda v: v not in outputs),
        )
    )
    problem = only_problem(endpoint, [(f"fields[{name}]", value)])
    assert set(problem.allowed) == outputs
    text = DID_YOU_MEAN.sub("", problem.detail).replace(repr(value), "")
    for column in hidden:
        assert not re.search(rf"\b{column}\b", text), (column, problem.detail)
    suggested = re.findall(r"'([^']+)'", "".join(DID_YOU_MEAN.findall(problem.detail)))
    assert set(suggested) <= outputs


def test_sort_errors_name_only_sortable_fields() -> None:
    problem = only_problem(endpoints.ROUTE, [("sort[trips]", "block_id")])
    assert problem.allowed == ("trip_id", "trip_headsign", "direction_id", "service_id")
    assert "shape_id" not in problem.detail and "wheelchair" not in problem.detail


# -- #17.3: what fields[Model] names, and one rule for parameters without effect ------------


def properties(shape: ts.Shape) -> list[str]:
    return list(shape.json_schema()["properties"])


def test_counts_are_named_like_fields() -> None:
    shape = endpoints.ROUTES.from_query([("fields[Route]", "route_id,trips_count")])
    assert properties(shape) == ["route_id", "agency", "trips_count"]
    shape = endpoints.ROUTES.from_query([("fields[Route]", "route_id")])
    assert properties(shape) == ["route_id", "agency"]
    assert "trips_count" in endpoints.ROUTES.models["Route"]
    assert "trips_count" in endpoints.ROUTES.describe("fields[Route]")


def test_id_lists_and_counts_are_named_like_fields() -> None:
    shape = endpoints.TRIP.from_query([("fields[Trip]", "trip_id,stops")])
    assert properties(shape) == ["trip_id", "route", "stops"]
    shape = endpoints.TRIP.from_query([("fields[Trip]", "stop_times_count")])
    assert properties(shape) == ["route", "stop_times_count"]
    assert endpoints.TRIP.models["Trip"][-2:] == ("stop_times_count", "stops")


def test_models_only_as_counts_or_ids_have_no_fieldset() -> None:
    """``/routes`` holds Trip only as a count, ``/trips/{id}`` Stop only as ids: a fieldset
    would have no effect, so it is neither advertised nor accepted."""
    assert "fields[Trip]" not in endpoints.ROUTES.parameter_names
    assert "fields[Stop]" not in endpoints.TRIP.parameter_names
    assert "fields[StopTime]" not in endpoints.TRIP.parameter_names
    problem = only_problem(endpoints.ROUTES, [("fields[Trip]", "trip_id")])
    assert "fields[Trip]" not in problem.allowed
    assert answer_without(problem, "Trip") == answer_without(
        only_problem(endpoints.ROUTES, [("fields[Nope]", "trip_id")]), "Nope"
    )


def test_a_relationship_in_fields_points_to_include() -> None:
    problem = only_problem(endpoints.ROUTE, [("fields[Trip]", "stop_times")])
    assert "include" in problem.detail


@pytest.mark.parametrize(
    ("query", "parameter", "value"),
    [
        ([("include", "agency"), ("page[trips]", "3")], "page[trips]", "3"),
        ([("include", "agency"), ("page[trips][offset]", "7")], "page[trips][offset]", "7"),
        ([("include", "agency"), ("sort[trips]", "-trip_id,direction_id")], "sort[trips]",
         "-trip_id,direction_id"),
        ([("include", "agency"), ("fields[Trip]", "trip_id")], "fields[Trip]", "trip_id"),
        ([("include", "agency"), ("fields[Route]", "route_id")], None, None),
    ],
)  # fmt: skip
def test_no_effect_parameters_echo_their_value(
    query: list[tuple[str, str]], parameter: str | None, value: str | None
) -> None:
    if parameter is None:
        endpoints.ROUTE.from_query(query)  # Route is the root: always in the response
        return
    problem = only_problem(endpoints.ROUTE, query)
    assert (problem.parameter, problem.value) == (parameter, value)
    assert "no effect" in problem.detail


@pytest.mark.parametrize(
    ("include", "fields"),
    [("stops", "trip_id"), ("route,stop_times", "trip_id"), ("stop_times", "trip_id,direction_id")],
)
def test_an_included_output_left_out_by_fields_has_no_effect(include: str, fields: str) -> None:
    query = [("include", include), ("fields[Trip]", fields)]
    problem = only_problem(endpoints.TRIP, query)
    assert problem.parameter == "include" and "no effect" in problem.detail
    assert problem.value == include


def test_a_count_left_out_by_include_has_no_effect() -> None:
    problem = only_problem(
        endpoints.ROUTES, [("include", "agency"), ("fields[Route]", "trips_count")]
    )
    assert problem.value == "trips_count" and "no effect" in problem.detail


# -- #19.7: short echoes, and no suggestions past the problem limit --------------------------

LONG_VALUES = [
    ("include", "trips." * 200),
    ("include", ".".join(["trips"] * 3) + "." + "x" * 1000),
    ("include", "a" * 1000),
    ("include", "trips,," + "y" * 900),
    ("include", "trips/" + "z" * 900),
    ("fields[Trip]", "trip_id." + "q" * 900),
    ("sort[trips]", "-" + "w" * 900),
    ("page[trips]", "9" * 900),
    ("fields[" + "M" * 900 + "]", "x"),
    ("page[" + "p" * 900 + "]", "1"),
]


@pytest.mark.parametrize(("name", "value"), LONG_VALUES)
def test_echoes_are_at_most_80_characters(name: str, value: str) -> None:
    endpoint = EndpointShape(
        shapes.route_detail, max_page={"trips": 10}, sortable={"trips": ["trip_id"]}
    )
    for problem in problems_of(endpoint, [(name, value)]):
        assert len(problem.value) <= 80 and len(problem.parameter) <= 80
        # No run of the request's text longer than 80 characters in the message either.
        for text in (name, value):
            for start in range(0, len(text) - 80):
                assert text[start : start + 81] not in problem.detail


def test_suggestions_stop_at_the_problem_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = parameters.did_you_mean

    def counting(name: str, candidates: Any) -> str:
        calls.append(name)
        return real(name, candidates)

    monkeypatch.setattr(parameters, "did_you_mean", counting)
    query = [(f"page[x{i}]", "1") for i in range(14_000)]
    problems = problems_of(endpoints.ROUTE, query)
    assert len(problems) == 20
    assert "13981 more problems" in problems[-1].detail
    assert len(calls) <= 20


# -- #19.8: sortable fields are output fields ------------------------------------------------


def test_sortable_must_be_output_columns() -> None:
    """Trip has a block_id column that the route's timetable does not output: sorting by it
    would disclose its order."""
    with pytest.raises(ts.SpecError, match=r"block_id.*output") as info:
        EndpointShape(shapes.route_detail, sortable={"trips": ["trip_id", "block_id"]})
    assert "trip_headsign" in str(info.value)
    EndpointShape(shapes.route_detail, sortable={"trips": ["trip_id", "direction_id"]})


# -- #19.2: nothing remembers request text ---------------------------------------------------


def test_unknown_names_are_not_remembered() -> None:
    info = model_info(Route)
    before = dict(info._extra)
    for i in range(2000):
        assert info.field(f"unknown_{i}") is None
    assert info._extra == before
    for i in range(200):
        with pytest.raises(QueryError):
            endpoints.ROUTES.from_query([("fields[Route]", f"unknown_{i}")])
    assert info._extra == before


def test_query_error_is_a_treeshape_error() -> None:
    assert issubclass(QueryError, ts.TreeshapeError) and issubclass(QueryError, ValueError)
    with pytest.raises(ts.TreeshapeError):
        endpoints.ROUTE.from_query([("include", "nope")])
