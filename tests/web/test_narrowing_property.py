"""Random ``include``/``fields[...]`` combinations within each endpoint's declared shape: the
answer is exactly the full answer cut down to the requested narrowing, key for key and in
order, and both apps agree byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
from examples.transit import shapes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treeshape as ts
from treeshape.tree import ShapeNode

from .conftest import Api

ENDPOINTS: list[tuple[str, ts.Shape]] = [
    ("/routes?limit=3", shapes.route_list_item),
    ("/stops?limit=4&offset=1", shapes.stop_list_item),
    ("/routes/AB", shapes.route_detail),
    ("/routes/CITY", shapes.route_detail),
    ("/stops/BULLFROG", shapes.stop_detail),
    ("/trips/AB1/stop_times", shapes.trip_stop_times),
    ("/trips/CITY1", shapes.trip_detail),
]

Fields = dict[str, list[str]]


def kept_paths(include: list[str] | None, shape: ts.Shape) -> set[str]:
    if include is None:
        return set(shape.paths)
    kept: set[str] = set()
    for path in include:
        parts = path.split(".")
        kept.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return kept


def models_reached(node: ShapeNode, kept: set[str], prefix: str = "") -> dict[str, set[str]]:
    """Model name -> what ``fields[Model]`` may name anywhere in the kept tree: the fields,
    counts and id lists of every model embedded as objects."""
    found: dict[str, set[str]] = {node.info.name: set(node.field_names)}
    for rel in node.relations:
        path = f"{prefix}.{rel.name}" if prefix else rel.name
        if path not in kept:
            continue
        if rel.options.count is not None:
            found[node.info.name].add(rel.options.count)
        if not rel.options.embed:
            continue
        if rel.options.ids:
            found[node.info.name].add(rel.name)
            continue
        for model, names in models_reached(rel.child, kept, path).items():
            found.setdefault(model, set()).update(names)
    return found


def project(value: Any, node: ShapeNode, kept: set[str], fields: Fields, prefix: str = "") -> Any:
    """The full answer ``value`` cut down to a narrowing, computed independently."""
    if value is None:
        return None
    if isinstance(value, list):
        return [project(item, node, kept, fields, prefix) for item in value]
    wanted = fields.get(node.info.name)
    result = {f: value[f] for f in node.field_names if wanted is None or f in wanted}
    for rel in node.relations:
        path = f"{prefix}.{rel.name}" if prefix else rel.name
        if path in kept:
            for key in rel.outputs:  # the relationship and/or its count
                embedded = key == rel.name and not rel.options.ids
                if embedded:
                    result[key] = project(value[key], rel.child, kept, fields, path)
                elif wanted is None or key in wanted:  # a count or an id list: a field
                    result[key] = value[key]
    return result


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, ts.Shape, list[str] | None, Fields]:
    url, shape = draw(st.sampled_from(ENDPOINTS))
    include = draw(st.none() | st.lists(st.sampled_from(shape.paths), unique=True))
    reached = models_reached(shape.node, kept_paths(include, shape))
    fields: Fields = {}
    for model in draw(st.lists(st.sampled_from(sorted(reached)), unique=True)):
        names = sorted(reached[model])
        fields[model] = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    # An included count or id list must be kept by its model's fieldset (else it would have no
    # effect, a 400): add its key where the draw left it out.
    for path in include or ():
        parent = shape.node
        *head, last = path.split(".")
        for name in head:
            parent = parent.relation(name).child  # type: ignore[union-attr]
        rel = parent.relation(last)
        model = parent.info.name
        kept = rel is None or rel.render == "objects" or model not in fields
        if not kept and rel is not None and not set(rel.outputs) & set(fields[model]):
            fields[model].append(rel.outputs[0])
    return url, shape, include, fields


def query(url: str, include: list[str] | None, fields: Fields) -> str:
    params = [] if include is None else [f"include={','.join(include)}"]
    params += [f"fields[{model}]={','.join(names)}" for model, names in fields.items()]
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(params)


@pytest.fixture(scope="module")
def full_answers(sample_apis: dict[str, Api]) -> dict[str, Any]:
    return {url: sample_apis["flask"].get(url).json() for url, _ in ENDPOINTS}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests())
def test_answer_is_exactly_the_narrowing(
    sample_apis: dict[str, Api],
    full_answers: dict[str, Any],
    request: tuple[str, ts.Shape, list[str] | None, Fields],
) -> None:
    url, shape, include, fields = request
    full_url = query(url, include, fields)
    flask = sample_apis["flask"].get(full_url)
    fast = sample_apis["fastapi"].get(full_url)
    assert flask.status == fast.status == 200, (full_url, flask.body)
    assert flask.body == fast.body
    expected = project(full_answers[url], shape.node, kept_paths(include, shape), fields)
    body = flask.json()
    assert body == expected
    # The same keys in the same order: JSON objects are compared as ordered key lists too.
    assert _key_order(body) == _key_order(expected)
    # One statement for the roots plus at most one per kept relationship.
    assert flask.statements <= 1 + len(kept_paths(include, shape))


def _key_order(value: Any) -> Any:
    if isinstance(value, list):
        return [_key_order(v) for v in value]
    if isinstance(value, dict):
        return [(k, _key_order(v)) for k, v in value.items()]
    return value
