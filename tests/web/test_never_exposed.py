"""An endpoint's declared shape is the ceiling of every response, and a private column is never
output, whatever a client sends.

Hypothesis throws random query parameters at both apps (through their test clients): valid and
invalid ``include``/``fields[...]`` combinations, names of every model, field and relationship
of the transit models (the private ``Agency.agency_internal_note`` among them), and arbitrary
text. Every answer is a 200 or a client error, never a 500; every 200 has no key outside the
endpoint's declared shape at any depth; and the private column's value appears in no answer,
its name only when the client sent it and is being told it cannot have it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
import sqlalchemy as sa
from examples.transit import fastapi_app, flask_app, models, shapes
from examples.transit.importer import import_feed
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import treeshape as ts
from tests.pgserver import PgServer
from treeshape.tree import ShapeNode

from .conftest import SAMPLE_FEED, feed_template

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NOTE = "agency_internal_note"
SECRET = "s3cr3t-n0te-7f1c"  # stored in the note; must never be in a response

ENDPOINTS: list[tuple[str, ts.Shape]] = [
    ("/routes?limit=3", shapes.route_list_item),
    ("/stops?limit=4", shapes.stop_list_item),
    ("/routes/AB", shapes.route_detail),
    ("/stops/BULLFROG", shapes.stop_detail),
    ("/trips/AB1/stop_times", shapes.trip_stop_times),
    ("/trips/AB1", shapes.trip_detail),
]
MODELS = [models.Agency, models.Route, models.Trip, models.StopTime, models.Stop, models.Calendar]
# Every name a client could try: models, columns (the private one included), relationships.
MODEL_NAMES = [m.__name__ for m in MODELS]
COLUMN_NAMES = sorted({c.key for m in MODELS for c in sa.inspect(m).column_attrs})
RELATION_NAMES = sorted({r.key for m in MODELS for r in sa.inspect(m).relationships})
PATHS = sorted({p for _, shape in ENDPOINTS for p in shape.paths})
assert NOTE in COLUMN_NAMES


@pytest.fixture(scope="module")
def clients(
    request: pytest.FixtureRequest, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Both apps on a copy of the sample feed whose agency has a private note, on SQLite and
    on PostgreSQL (a clone of the feed's template database, dropped afterwards)."""
    dropped: Callable[[], None] | None = None
    if database == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('private') / 'transit.sqlite'}"
        assert import_feed(SAMPLE_FEED, url, progress=False).ok
    else:
        pg_server: PgServer = request.getfixturevalue("pg_server")
        db = pg_server.create_database(template=feed_template(pg_server, SAMPLE_FEED))
        url = db.url
        dropped = functools.partial(pg_server.drop_database, db.name)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.update(models.Agency).values(agency_internal_note=SECRET))
    engine.dispose()
    flask = flask_app.create_app(url)
    fast = fastapi_app.create_app(url)
    with TestClient(fast) as fast_client:
        yield {"flask": flask.test_client(), "fastapi": fast_client}
    flask.extensions["transit_engine"].dispose()
    fast.state.engine.dispose()
    if dropped is not None:
        dropped()


# -- strategies ---------------------------------------------------------------------------------

names = st.sampled_from([*COLUMN_NAMES, *RELATION_NAMES, *MODEL_NAMES, *PATHS, NOTE])
junk = st.text(max_size=12)
item = st.one_of(names, names.map(lambda n: f"{n}.{n}"), junk)
value = st.lists(item, max_size=6).map(",".join) | junk
parameter_name = st.one_of(
    st.just("include"),
    st.sampled_from(MODEL_NAMES).map(lambda m: f"fields[{m}]"),
    st.sampled_from(["fields", "field[Agency]", "includes", "Include", "fields[]", "limit"]),
    junk.map(lambda t: f"fields[{t}]"),
    junk,
)
# The private field, asked for in every way a client could think of.
note_request = st.sampled_from(
    [
        [("fields[Agency]", NOTE)],
        [("fields[Agency]", f"agency_id,{NOTE}")],
        [("include", "agency"), ("fields[Agency]", f"agency_name,{NOTE}")],
        [("include", f"agency.{NOTE}")],
        [("include", f"trips.route.agency.{NOTE}")],
        [("fields[Route]", f"route_id,agency.{NOTE}")],
        [(f"fields[{NOTE}]", NOTE)],
    ]
)
random_params = st.lists(st.tuples(parameter_name, value), max_size=4)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, ts.Shape, list[tuple[str, str]]]:
    """An endpoint and parameters: random ones, ones after the note, or a valid narrowing."""
    url, declared = draw(st.sampled_from(ENDPOINTS))
    kind = draw(st.sampled_from(["random", "note", "valid"]))
    if kind == "random":
        return url, declared, draw(random_params)
    if kind == "note":
        return url, declared, draw(note_request)
    query: list[tuple[str, str]] = []
    include = draw(st.none() | st.lists(st.sampled_from(declared.paths), unique=True))
    if include is not None:
        query.append(("include", ",".join(include)))
    fields: dict[str, set[str]] = {}
    for _, node in declared.node.walk():
        fields.setdefault(node.info.name, set()).update(node.field_names)
    for model in draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=2)):
        chosen = draw(st.lists(st.sampled_from(sorted(fields[model])), min_size=1, unique=True))
        query.append((f"fields[{model}]", ",".join(chosen)))
    return url, declared, query


# -- checks -------------------------------------------------------------------------------------


def assert_within(value: Any, node: ShapeNode, path: str) -> None:
    """Every object in ``value`` has only keys the declared ``node`` outputs there."""
    if value is None:
        return
    if isinstance(value, list):
        for entry in value:
            assert_within(entry, node, path)
        return
    assert isinstance(value, dict), (path, value)
    allowed = {*node.field_names, *(key for rel in node.relations for key in rel.outputs)}
    assert set(value) <= allowed, (path, set(value) - allowed)
    assert not {f.name for f in node.info.columns.values() if f.private} & set(value), path
    for rel in node.relations:
        if rel.name in value and rel.options.ids:  # keys, never objects
            ids = value[rel.name] if rel.many else [value[rel.name]]
            assert all(isinstance(key, str | int | None) for key in ids), (path, rel.name)
        elif rel.name in value:
            assert_within(value[rel.name], rel.child, f"{path}.{rel.name}")


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(request=requests())
def test_no_response_leaves_the_declared_shape(
    clients: dict[str, Any], request: tuple[str, ts.Shape, list[tuple[str, str]]]
) -> None:
    url, declared, query = request
    full_url = url + ("&" if "?" in url else "?") + urlencode(query) if query else url
    bodies: dict[str, bytes] = {}
    for name, client in clients.items():
        response = client.get(full_url)
        body: bytes = response.data if name == "flask" else response.content
        status = response.status_code
        assert status in (200, 400, 422), (name, full_url, status, body[:500])
        assert SECRET.encode() not in body, (name, full_url)
        if NOTE not in full_url:
            assert NOTE.encode() not in body, (name, full_url)
        if status == 200:
            assert_within(orjson.loads(body), declared.node, "")
        bodies[name] = body if status == 200 else str(status).encode()
        event(f"{name} {status}")
    if b"422" not in bodies.values():  # FastAPI's own `limit` validation: 422, Flask's 400
        assert bodies["flask"] == bodies["fastapi"], full_url


@pytest.mark.parametrize("app", ["flask", "fastapi"])
def test_openapi_never_mentions_the_private_column(clients: dict[str, Any], app: str) -> None:
    response = clients[app].get("/openapi.json")
    assert response.status_code == 200
    text = response.data if app == "flask" else response.content
    assert NOTE.encode() not in text
    agency = orjson.loads(text)["components"]["schemas"]["AgencyBrief"]
    assert NOTE not in agency["properties"]


def test_the_secret_is_really_there(clients: dict[str, Any]) -> None:
    """The tests above would pass vacuously if the note were empty: check it is stored."""
    agency_id = orjson.loads(clients["flask"].get("/routes/AB").data)["agency"]["agency_id"]
    engine: sa.Engine = clients["flask"].application.extensions["transit_engine"]
    with sa.orm.Session(engine) as session:
        stored = session.get(models.Agency, agency_id)
        assert stored is not None and stored.agency_internal_note == SECRET
