"""Tutorial step 3: the three endpoints with Flask.

Run from the repository root: ``PYTHONPATH=. python docs/examples/transit_flask.py``.
"""

import json
import os

from examples.transit.models import Route, Stop, StopTime, Trip
from flask import Flask, Response, abort
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from transit_shapes import route_detail, stop_detail, trip_stop_times
from werkzeug.exceptions import HTTPException

from treeshape.flask import init_app, json_response, shape_from_request
from treeshape.web import EndpointShape

# [start setup]
engine = create_engine(os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite"))
app = Flask(__name__)
init_app(app)  # a request asking for more than an endpoint declares gets a JSON 400


@app.errorhandler(HTTPException)
def json_error(error: HTTPException) -> Response:
    """Every other HTTP error (404, 405, 500) as JSON too, in the same format as the 400s,
    keeping werkzeug's headers (a 405's ``Allow``)."""
    response = error.get_response()
    body = {"code": error.code, "status": error.name, "message": error.description}
    response.data = json.dumps(body)
    response.content_type = "application/json"
    return response


# What each endpoint declares: requests may narrow it with ?include= and ?fields[Model]=.
ROUTE = EndpointShape(route_detail)
STOP = EndpointShape(stop_detail)
TRIP_STOP_TIMES = EndpointShape(trip_stop_times)
# [end setup]


# [start route]
@app.get("/routes/<route_id>")
def get_route(route_id: str) -> Response:
    shape = shape_from_request(ROUTE)  # the declared shape, or a narrowing of it
    with Session(engine) as session:
        stmt = select(Route).where(Route.route_id == route_id).options(*shape.loader_options())
        route = session.scalars(stmt).one_or_none()
        if route is None:
            abort(404, f"No route {route_id!r}")
        return json_response(shape, route)


# [end route]


# [start others]
@app.get("/stops/<stop_id>")
def get_stop(stop_id: str) -> Response:
    shape = shape_from_request(STOP)
    with Session(engine) as session:
        stmt = select(Stop).where(Stop.stop_id == stop_id).options(*shape.loader_options())
        stop = session.scalars(stmt).one_or_none()
        if stop is None:
            abort(404, f"No stop {stop_id!r}")
        return json_response(shape, stop)


@app.get("/trips/<trip_id>/stop_times")
def get_trip_stop_times(trip_id: str) -> Response:
    shape = shape_from_request(TRIP_STOP_TIMES)
    with Session(engine) as session:
        stmt = (
            select(StopTime)
            .where(StopTime.trip_id == trip_id)
            .order_by(StopTime.stop_sequence)
            .options(*shape.loader_options())
        )
        stop_times = session.scalars(stmt).all()
        if not stop_times and session.get(Trip, trip_id) is None:  # no calls, or no trip?
            abort(404, f"No trip {trip_id!r}")
        return json_response(shape, stop_times, many=True)


# [end others]


if __name__ == "__main__":
    app.run(port=8000)
