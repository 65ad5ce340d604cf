"""Tutorial step 2: the shapes of the three endpoints, declared once and composed.

Run from the repository root, with ``PYTHONPATH=.``: ``python docs/examples/transit_shapes.py``.
"""

from examples.transit.models import Route, Stop, StopTime, Trip

import treeshape as ts

# [start fragments]
# How a stop looks wherever it appears inside another document.
stop_summary = ts.shape(
    Stop, fields=["stop_id", "stop_name", "stop_lat", "stop_lon"], name="StopSummary"
)

# A call of a trip at a stop, with the stop as a `stop_summary`: composition.
stop_call = ts.shape(
    StopTime,
    {"stop": stop_summary},
    fields=["stop_sequence", "arrival_time", "departure_time", "stop_id"],
    name="StopCall",
)
# [end fragments]

# [start endpoints]
# GET /routes/{route_id}: the route, its trips, each trip's stop_times and their stops.
route_detail = ts.shape(Route, {"trips": {"stop_times": stop_call}}, name="RouteView")

# GET /stops/{stop_id}: the stop and every trip that calls at it.
stop_detail = ts.shape(
    Stop,
    "trips",
    fields={Stop: ["stop_id", "stop_name"], Trip: ["trip_id", "route_id", "trip_headsign"]},
    name="StopView",
)

# GET /trips/{trip_id}/stop_times: a trip's stop_times, each with its stop.
trip_stop_times = stop_call
# [end endpoints]

if __name__ == "__main__":
    # [start inspect]
    print(route_detail.paths)
    # ['trips', 'trips.stop_times', 'trips.stop_times.stop']
    print(route_detail.marshmallow_schema, route_detail.pydantic_model)
    # [end inspect]
    assert route_detail.paths == ["trips", "trips.stop_times", "trips.stop_times.stop"]
    assert stop_detail.paths == ["trips"]
    assert trip_stop_times.fields == ("stop_sequence", "arrival_time", "departure_time", "stop_id")
