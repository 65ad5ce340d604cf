"""The endpoints of the transit API, declared once for both apps.

Each `EndpointShape` pairs an endpoint's declared shape (from `shapes`) with what a request may
change in it: how many rows a page of a collection may hold (``max_page``) and which fields it
may be sorted by (``sortable``). `flask_app` and `fastapi_app` both serve these objects, so
the same request is accepted or refused the same way by both, their OpenAPI documents show the
same parameters with the same bounds, and a change made here reaches both apps at once. One
object per endpoint also means one cache of narrowed shapes per endpoint, whichever app asks.
"""

from __future__ import annotations

import os

from treeshape.web import EndpointShape, ListEndpoint

from . import queries, shapes

CURSOR_SECRET_ENV = "TRANSIT_CURSOR_SECRET"
"""The environment variable whose value keys the list cursors' HMAC (see `ListEndpoint`);
without it the key comes from the declaration, which catches edited cursors but not forged
ones."""

_SECRET = os.environ.get(CURSOR_SECRET_ENV) or None

#: ``GET /routes``: the paginated route list: ``?limit=`` (1 to 1000, default 50), ``?offset=``
#: or the ``after``/``before`` cursors of the ``Link`` header, ``?sort=`` and ``?total=true``.
ROUTE_LIST = ListEndpoint(
    shapes.route_list_item,
    max_limit=queries.MAX_LIMIT,
    default_limit=queries.DEFAULT_LIMIT,
    max_offset=queries.MAX_OFFSET,
    sortable=["route_id", "route_short_name", "route_long_name", "route_type"],
    total=True,
    secret=_SECRET,
)

#: ``GET /stops``: the paginated stop list, sortable by name and code.
STOP_LIST = ListEndpoint(
    shapes.stop_list_item,
    max_limit=queries.MAX_LIMIT,
    default_limit=queries.DEFAULT_LIMIT,
    max_offset=queries.MAX_OFFSET,
    sortable=["stop_id", "stop_code", "stop_name"],
    total=True,
    secret=_SECRET,
)

#: The narrowing part (``include``, ``fields[...]``) of ``GET /routes`` and ``GET /stops``.
ROUTES = ROUTE_LIST.endpoint
STOPS = STOP_LIST.endpoint

#: ``GET /routes/{route_id}``: requests may page and sort the route's trips
#: (``?page[trips]=5&sort[trips]=-direction_id``) and page each trip's stop_times; a route has
#: at most a few hundred trips, so 1000 rows per page is a bound, not a limit.
ROUTE = EndpointShape(
    shapes.route_detail,
    max_page={"trips": 1000, "trips.stop_times": 1000},
    sortable={"trips": ["trip_id", "trip_headsign", "direction_id", "service_id"]},
)

#: ``GET /stops/{stop_id}``: requests may page the stop's departures
#: (``?page[stop_times]=3&page[stop_times][offset]=3``: at most the declared
#: `shapes.DEPARTURES` per page) and sort them (``sort[stop_times]=-departure_time`` for the
#: last ones of the day; times are zero-padded, so text order is time order).
STOP = EndpointShape(
    shapes.stop_detail,
    sortable={"stop_times": ["departure_time", "arrival_time", "trip_id", "stop_sequence"]},
)

#: ``GET /trips/{trip_id}``: a trip, its route and its stops' ids. Nothing to page or sort: a
#: trip has a few dozen calls, and call order is the only order of its stops that means
#: anything.
TRIP = EndpointShape(shapes.trip_detail)

#: ``GET /trips/{trip_id}/stop_times``: a trip's calls with their stops.
TRIP_STOP_TIMES = EndpointShape(shapes.trip_stop_times)

__all__ = [
    "CURSOR_SECRET_ENV",
    "ROUTE",
    "ROUTES",
    "ROUTE_LIST",
    "STOP",
    "STOPS",
    "STOP_LIST",
    "TRIP",
    "TRIP_STOP_TIMES",
]
