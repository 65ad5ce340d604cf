"""How-to: request-time ``include`` and ``fields[...]``, framework-free. No database needed."""

from examples.transit.models import Route

import treeshape as ts
from treeshape.web import EndpointShape, QueryError

route_detail = ts.shape(Route, "trips.stop_times.stop", "agency")

# [start endpoint]
ROUTE = EndpointShape(route_detail)  # what GET /routes/{route_id} declares: the ceiling

# No parameters: the full declared shape.
assert ROUTE.from_query([]) == route_detail

# ?include=trips&fields[Trip]=trip_id,trip_headsign
shape = ROUTE.from_query([("include", "trips"), ("fields[Trip]", "trip_id,trip_headsign")])
assert shape == route_detail.narrow("trips", fields={"Trip": ["trip_id", "trip_headsign"]})

# ?include= (empty): the route alone.
assert ROUTE.from_query([("include", "")]).paths == []

# Parameters that are not ours are the application's business.
assert ROUTE.from_query([("page", "2")]) == route_detail
# [end endpoint]

# [start errors]
try:
    ROUTE.from_query([("include", "trips..stop_times"), ("fields[Stopp]", "stop_id")])
except QueryError as error:
    for problem in error.problems:  # every problem, not just the first
        print(problem.parameter, "-", problem.detail)
    # include - The path 'trips..stop_times' has an empty segment; join relationship names
    #   with single dots, e.g. 'trips.stop_times'. Paths: agency, trips, ...
    # fields[Stopp] - There is no model 'Stopp' in this endpoint's response. Did you mean
    #   'Stop' or 'StopTime'? Sparse fieldsets here: fields[Route], fields[Agency], ...
    assert {p.parameter for p in error.problems} == {"include", "fields[Stopp]"}
else:
    raise AssertionError("no QueryError")

for bad in (
    [("include", "trips"), ("include", "agency")],  # repeated
    [("includes", "trips")],  # misspelt
    [("include", "trips.route")],  # outside the declared shape
):
    try:
        ROUTE.from_query(bad)  # never ignored, never widened
    except QueryError:
        pass
    else:
        raise AssertionError(bad)
# [end errors]

# [start cache]
# Narrowed shapes are cached per distinct narrowing, in a bounded LRU cache.
endpoint = EndpointShape(route_detail, cache_size=128, max_length=512)
for _ in range(3):
    endpoint.from_query([("include", "trips")])
assert endpoint.cache_info().hits == 2
# [end cache]

# [start page-sort]
from examples.transit.models import Stop  # noqa: E402

ROUTE_PAGED = EndpointShape(
    route_detail,
    max_page={"trips": 1000},  # page[trips] from 0 to 1000
    sortable={"trips": ["trip_id", "trip_headsign", "direction_id"]},
)
departures = ts.include("trip", order_by="departure_time", limit=10)
stop_detail = ts.shape(Stop, {"stop_times": departures})
STOP = EndpointShape(stop_detail)  # stop_times declare limit=10: page[stop_times] <= 10

# ?page[trips]=5&sort[trips]=-direction_id: the same as declaring these options.
shape = ROUTE_PAGED.from_query([("page[trips]", "5"), ("sort[trips]", "-direction_id")])
assert shape == ts.shape(
    Route,
    {"trips": ts.include("stop_times.stop", order_by="-direction_id", limit=5)},
    "agency",
)

# ?page[stop_times]=3&page[stop_times][offset]=3: the stop's 4th to 6th departures.
shape = STOP.from_query([("page[stop_times]", "3"), ("page[stop_times][offset]", "3")])
assert shape == ts.shape(
    Stop, {"stop_times": ts.include("trip", order_by="departure_time", limit=3, offset=3)}
)

for bad in (
    [("page[stop_times]", "11")],  # over the declared limit
    [("sort[stop_times]", "departure_time")],  # not declared sortable on this endpoint
    [("page[trips]", "5")],  # not a pageable path of this endpoint
    [("include", ""), ("page[stop_times]", "3")],  # paging what the include leaves out
):
    try:
        STOP.from_query(bad)
    except QueryError as error:
        print(error)
    else:
        raise AssertionError(bad)
# [end page-sort]
