"""Concepts: the spec language. Runs without a database."""

from examples.transit.models import Route, Stop, StopTime, Trip

import treeshape as ts

# [start forms]
# One dotted path, several paths, comma-separated paths, or a nested mapping: the same shape.
a = ts.shape(Route, "trips.stop_times.stop")
b = ts.shape(Route, "trips", "trips.stop_times", "trips.stop_times.stop")
c = ts.shape(Route, "trips.stop_times, trips.stop_times.stop")
d = ts.shape(Route, {"trips": {"stop_times": {"stop": {}}}})
e = ts.shape(Route, {"trips.stop_times": "stop"})  # keys and values may be paths too
assert a == b == c == d == e
assert a.paths == ["trips", "trips.stop_times", "trips.stop_times.stop"]
# [end forms]

# [start fields]
# fields= as a list selects the root model's fields ...
stop_brief = ts.shape(Stop, fields=["stop_id", "stop_name"])
assert stop_brief.fields == ("stop_id", "stop_name")

# ... or, as a mapping, the fields of any model of the tree, by class or by name.
# A model not named keeps every mapped column, in mapper order.
route_timetable = ts.shape(
    Route,
    "trips.stop_times.stop",
    fields={Stop: ["stop_id", "stop_name"], "Trip": ["trip_id"]},
)
assert route_timetable.narrow("trips").node.relations[0].child.field_names == ("trip_id",)
# [end fields]

# [start composition]
# A shape can stand at a relationship of another shape: the fragment is defined once.
stop_call = ts.shape(StopTime, {"stop": stop_brief}, fields=["stop_sequence", "stop_id"])
route_detail = ts.shape(Route, {"trips": {"stop_times": stop_call}})
trip_detail = ts.shape(Trip, {"stop_times": stop_call})

# Identical sub-trees are one tree, so they get one generated class in every backend.
route_calls = route_detail.node.relations[0].child.relations[0].child
assert route_calls is trip_detail.node.relations[0].child
route_model = route_detail.pydantic_model
trip_model = trip_detail.pydantic_model
assert trip_model.model_fields["stop_times"].annotation == list[stop_call.pydantic_model]
assert ts.shape(StopTime, {"stop": stop_brief}, fields=["stop_sequence", "stop_id"]) == stop_call
# [end composition]

# [start errors]
try:
    ts.shape(Route, "trip.stop_times")
except ts.SpecError as error:
    print(error)
    # Route has no relationship 'trip' (in include path 'trip.stop_times'). Did you mean
    # 'trips'? Relationships of Route: agency, trips.
    assert "Did you mean 'trips'?" in str(error)
else:
    raise AssertionError("no SpecError")

try:
    ts.shape(Stop, fields=["stop_nmae"])
except ts.SpecError as error:
    assert "Did you mean 'stop_name'" in str(error)
else:
    raise AssertionError("no SpecError")

try:
    ts.shape(Route, "trips.route_id")  # a path through a column
except ts.SpecError as error:
    assert "is a field, not a relationship" in str(error)
else:
    raise AssertionError("no SpecError")

assert issubclass(ts.SpecError, ValueError)
# [end errors]

# [start narrow]
full = ts.shape(Route, "trips.stop_times.stop", "agency")
trips_only = full.narrow("trips")  # the trips, without their stop_times: JSON:API include
assert trips_only.paths == ["trips"]
lean = full.narrow("trips", fields={"Trip": ["trip_id"]})  # plus a sparse fieldset
assert lean.narrow() == lean  # no paths: keep every relationship of the shape
try:
    trips_only.narrow("trips.stop_times")  # a narrowing can never widen
except ts.SpecError as error:
    assert "trips.stop_times" in str(error)
else:
    raise AssertionError("no SpecError")
# [end narrow]
