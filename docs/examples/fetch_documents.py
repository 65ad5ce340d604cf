"""Concepts: fetch and fetch_json, equal to the ORM dump. ``TRANSIT_DB`` names a feed."""

import os

import orjson
from examples.transit.models import Route
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session

import treeshape as ts

engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))
statements: list[str] = []
event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

route_detail = ts.shape(Route, "trips.stop_times.stop")
with Session(engine) as session:
    stmt = select(Route).order_by(Route.route_id).options(*route_detail.loader_options())
    documents = route_detail.dump(session.scalars(stmt).all(), many=True)

# [start fetch]
statements.clear()
with Session(engine) as session:
    fetched = route_detail.fetch(session)  # no ORM objects: rows straight into dicts
    assert len(statements) <= 1 + 3
    assert fetched == documents  # the same documents, roots in primary-key order
    as_json = route_detail.fetch_json(session, Route.route_id == "AB")
    assert orjson.loads(as_json) == [d for d in documents if d["route_id"] == "AB"]
# [end fetch]

# [start strategies]
from treeshape.sql.fetch.dialects import JSON_DIALECTS  # noqa: E402

# "auto": one JSON statement up to one collection deep, Core for collections of collections.
for name in ("sqlite", "postgresql", "mysql"):
    assert JSON_DIALECTS[name].prefers(ts.shape(Route, "trips").node)
    assert not JSON_DIALECTS[name].prefers(route_detail.node)
with Session(engine) as session:
    statements.clear()
    core = route_detail.fetch_json(session, strategy="core")
    assert len(statements) == 1 + 3  # the routes, then one per relationship
    statements.clear()
    in_sql = route_detail.fetch_json(session, strategy="json")
    assert len(statements) == 1  # the whole document built by the database
    assert orjson.loads(core) == orjson.loads(in_sql) == documents
# [end strategies]
