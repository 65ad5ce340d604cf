"""Concepts: the loading contract, counted. ``TRANSIT_DB`` names an imported feed."""

import os

from examples.transit.models import Route, Trip
from sqlalchemy import create_engine, event, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

import treeshape as ts

engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))

# [start count]
statements: list[str] = []


@event.listens_for(engine, "before_cursor_execute")
def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
    statements.append(statement)


route_detail = ts.shape(Route, "trips.stop_times.stop")

with Session(engine) as session:
    stmt = select(Route).order_by(Route.route_id).options(*route_detail.loader_options())
    routes = session.scalars(stmt).all()  # every route of the feed, with its whole tree
    assert len(statements) == 1 + 3  # the routes, then one per relationship of the spec

    documents = route_detail.dump(routes, many=True)
    assert len(statements) == 4  # serializing issues no query at all
# [end count]

# [start raiseload]
with Session(engine) as session:
    route = session.scalars(select(Route).options(*route_detail.loader_options())).first()
    assert route is not None
    try:
        print(route.agency)  # not in the spec: raiseload, instead of a lazy query
    except InvalidRequestError as error:
        print(error)  # 'Route.agency' is not available due to lazy='raise'
        assert "lazy='raise'" in str(error)
    else:
        raise AssertionError("agency was loaded")
# [end raiseload]

# [start lazy-opt-out]
statements.clear()
with Session(engine) as session:
    lazy_options = route_detail.loader_options(raise_on_unplanned=False)
    route = session.scalars(select(Route).options(*lazy_options)).first()
    assert route is not None
    assert len(statements) == 4  # the same statements for the shape's tree
    stops = route.trips[0].stops  # not in the spec: left to the mapping, a lazy load
    assert len(statements) == 5
# [end lazy-opt-out]

# [start not-loaded]
with Session(engine) as session:
    route = session.scalars(select(Route)).first()  # loaded without the shape's options
    assert route is not None
    try:
        route_detail.dump(route)
    except ts.NotLoadedError as error:
        print(error)
        # Route.trips is not loaded at path 'trips'; treeshape does not lazy-load while
        # serializing. Load the objects with select(...).options(*shape.loader_options())
        # or use shape.fetch().
    else:
        raise AssertionError("no NotLoadedError")
# [end not-loaded]


# [start selectin-batches]
trip_times = ts.shape(Trip, "stop_times")
statements.clear()
with Session(engine) as session:
    trips = session.scalars(select(Trip).options(*trip_times.loader_options())).all()
    # 1 + one per relationship, plus one per further 500 parents (SQLAlchemy's batches).
    assert len(statements) == 1 + max(1, -(-len(trips) // 500))
# [end selectin-batches]
