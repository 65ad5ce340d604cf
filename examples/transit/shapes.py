"""Every view of the transit API, declared once and composed.

Read this module top to bottom: the *fragments* say how one kind of object looks wherever it
appears (a stop inside a timetable, a trip inside a stop's page); the *endpoint shapes* are built
from them. Change `stop_brief` and every response that shows a stop changes with it: the
timetable of `GET /routes/{route_id}`, the parent station in `GET /stops`, the stops of
`GET /trips/{trip_id}/stop_times`. Identical sub-trees give the same generated class, so the
OpenAPI documents show one `StopBrief` component, referenced from everywhere.

Relationships carry options where a real API needs them: a stop's page shows its next
departures (``order_by`` and a per-parent ``limit``, cut in SQL), the route list a route's
number of trips (a count, without the trips), and a trip's page the ids of its stops (``ids``:
keys instead of embedded objects).

Each shape also yields the SQLAlchemy loader options that load exactly its tree (one statement
per relationship, never a lazy load), a marshmallow schema (Flask, apispec) and a Pydantic model
(FastAPI's ``response_model``). ``name=`` gives the generated classes the names the OpenAPI
documents show.
"""

from __future__ import annotations

from sqlalchemy import func, select

import treeshape as ts

from .models import Agency, Route, Stop, StopTime, Trip

# -- fragments: how an object looks when it appears inside another one ---------------------------

agency_brief = ts.shape(
    Agency, fields=["agency_id", "agency_name", "agency_url"], name="AgencyBrief"
)

route_brief = ts.shape(
    Route,
    fields=["route_id", "route_short_name", "route_long_name", "route_type", "route_color"],
    name="RouteBrief",
)

stop_brief = ts.shape(
    Stop, fields=["stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon"], name="StopBrief"
)

trip_brief = ts.shape(
    Trip,
    fields=["trip_id", "route_id", "service_id", "trip_headsign", "direction_id"],
    name="TripBrief",
)

# A call of a trip at a stop, with the stop as a `stop_brief`: composition at a relationship.
stop_time_with_stop = ts.shape(
    StopTime,
    {"stop": stop_brief},
    fields=["trip_id", "stop_sequence", "arrival_time", "departure_time", "stop_id"],
    name="StopTimeWithStop",
)

# A trip's timetable: the trip fragment (composition at the root) plus its stop_times.
trip_timetable = ts.shape(
    Trip, trip_brief, {"stop_times": stop_time_with_stop}, name="TripTimetable"
)

# A trip as a stop's page lists it: which route it runs on.
trip_with_route = ts.shape(Trip, trip_brief, {"route": route_brief}, name="TripWithRoute")

# A departure from a stop: when, and which trip (as a `trip_brief`).
departure = ts.shape(
    StopTime,
    {"trip": trip_brief},
    fields=["trip_id", "stop_sequence", "arrival_time", "departure_time"],
    name="Departure",
)

#: How many departures a stop's page shows (and the most ``?page[stop_times]=`` may ask).
DEPARTURES = 10

# -- endpoint shapes ----------------------------------------------------------------------------

#: ``GET /routes``: one item of the paginated list, with its number of trips (``trips_count``,
#: counted in SQL; the trips themselves are not loaded).
route_list_item = ts.shape(
    Route,
    route_brief,
    {"agency": agency_brief, "trips": ts.include(count=True, embed=False)},
    name="RouteListItem",
)

#: ``GET /stops``: one item of the paginated list, with its parent station if it has one.
stop_list_item = ts.shape(Stop, stop_brief, {"parent": stop_brief}, name="StopListItem")

#: ``GET /routes/{route_id}``: the route, its agency, and every trip's timetable with its stops.
route_detail = ts.shape(
    Route, {"agency": agency_brief, "trips": trip_timetable}, name="RouteDetail"
)

#: ``GET /stops/{stop_id}``: the stop, its parent station, every trip that calls at it, and its
#: first `DEPARTURES` departures of the day (``stop_times`` by departure time, each with its
#: trip). A busy stop has thousands of stop_times; the window is cut in SQL.
stop_detail = ts.shape(
    Stop,
    {
        "parent": stop_brief,
        "trips": trip_with_route,
        "stop_times": ts.include(departure, order_by="departure_time", limit=DEPARTURES),
    },
    name="StopDetail",
)

#: ``GET /trips/{trip_id}``: the trip, its route, the ids of the stops it calls at in call order
#: (``stops``; a loop that passes a stop twice lists it twice) and its number of calls
#: (``stop_times_count``, counted in SQL; ``?include=stop_times`` asks for it alone). Ids, not
#: objects: a client drawing the trip already has the stops from ``GET /stops``, so a list of
#: keys is all it needs, and only the keys are read; ``GET /trips/{trip_id}/stop_times`` has
#: the full timetable.
trip_detail = ts.shape(
    Trip,
    trip_brief,
    {
        "route": route_brief,
        "stops": ts.include(ids=True),
        "stop_times": ts.include(count=True, embed=False),
    },
    name="TripDetail",
)

#: ``GET /trips/{trip_id}/stop_times``: the list of a trip's calls, each with its stop.
trip_stop_times = stop_time_with_stop

# -- computed fields: values of an object and its relationships, with what they read declared ----


# [start computed]
def _first_departure(trip: Trip) -> str | None:
    times = [st.departure_time for st in trip.stop_times if st.departure_time is not None]
    return min(times, default=None)  # zero-padded HH:MM:SS: text order is time order


def _last_arrival(trip: Trip) -> str | None:
    times = [st.arrival_time for st in trip.stop_times if st.arrival_time is not None]
    return max(times, default=None)


#: A trip's first departure: read from its stop_times, which the loader plan loads for it (the
#: shape need not output them), or computed by the database in `fetch`.
first_departure = ts.computed(
    _first_departure,
    type=str | None,
    reads=["stop_times"],
    sql=lambda trip: (
        select(func.min(StopTime.departure_time))
        .where(StopTime.trip_id == trip.trip_id)
        .scalar_subquery()
    ),
    doc="The trip's first departure time (HH:MM:SS, past 24:00 after midnight); null if none.",
)

#: A trip's last arrival, the same way.
last_arrival = ts.computed(
    _last_arrival,
    type=str | None,
    reads=["stop_times"],
    sql=lambda trip: (
        select(func.max(StopTime.arrival_time))
        .where(StopTime.trip_id == trip.trip_id)
        .scalar_subquery()
    ),
    doc="The trip's last arrival time (HH:MM:SS); null if none.",
)

#: How many routes serve a stop: the distinct routes of the trips calling at it.
route_count = ts.computed(
    lambda stop: len({trip.route_id for trip in stop.trips}),
    type=int,
    reads=["trips"],
    sql=lambda stop: (
        select(func.count(func.distinct(Trip.route_id)))
        .select_from(StopTime)
        .join(Trip, Trip.trip_id == StopTime.trip_id)
        .where(StopTime.stop_id == stop.stop_id)
        .scalar_subquery()
    ),
    doc="The number of distinct routes whose trips call at the stop.",
)

#: A trip's span of service, for a timetable overview: the trip fragment and its first and last
#: times, without the stop_times themselves. Not an endpoint of the apps (their documents stay
#: as they are); `docs/howto/computed-fields.md` shows it, and `tests/computed/test_transit.py`
#: checks it against the feed on every backend.
trip_span = ts.shape(
    Trip,
    trip_brief,
    computed={"first_departure": first_departure, "last_arrival": last_arrival},
    name="TripSpan",
)

#: A stop with the number of routes serving it.
stop_with_route_count = ts.shape(
    Stop, stop_brief, computed={"route_count": route_count}, name="StopWithRouteCount"
)
# [end computed]

__all__ = [
    "DEPARTURES",
    "agency_brief",
    "departure",
    "first_departure",
    "last_arrival",
    "route_brief",
    "route_count",
    "route_detail",
    "route_list_item",
    "stop_brief",
    "stop_detail",
    "stop_list_item",
    "stop_time_with_stop",
    "stop_with_route_count",
    "trip_brief",
    "trip_detail",
    "trip_span",
    "trip_stop_times",
    "trip_timetable",
    "trip_with_route",
]
