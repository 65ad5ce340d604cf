"""What each endpoint should answer, computed from a feed's CSV files alone.

Independent of the importer, the models and the shapes module: the field lists below are the
API's documented bodies, written out again, and the values are the CSV's, typed by hand.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from .conftest import read_csv

INTS = {
    "route_type", "route_sort_order", "direction_id", "wheelchair_accessible", "bikes_allowed",
    "stop_sequence", "pickup_type", "drop_off_type", "timepoint", "location_type",
    "wheelchair_boarding",
}  # fmt: skip
FLOATS = {"stop_lat", "stop_lon", "shape_dist_traveled"}

AGENCY_BRIEF = ["agency_id", "agency_name", "agency_url"]
ROUTE_ALL = [
    "route_id", "agency_id", "route_short_name", "route_long_name", "route_desc", "route_type",
    "route_url", "route_color", "route_text_color", "route_sort_order",
]  # fmt: skip
ROUTE_BRIEF = ["route_id", "route_short_name", "route_long_name", "route_type", "route_color"]
STOP_ALL = [
    "stop_id", "stop_code", "stop_name", "stop_desc", "stop_lat", "stop_lon", "zone_id",
    "stop_url", "location_type", "parent_station", "stop_timezone", "wheelchair_boarding",
    "platform_code",
]  # fmt: skip
STOP_BRIEF = ["stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon"]
TRIP_BRIEF = ["trip_id", "route_id", "service_id", "trip_headsign", "direction_id"]
STOP_TIME = ["trip_id", "stop_sequence", "arrival_time", "departure_time", "stop_id"]
DEPARTURE = ["trip_id", "stop_sequence", "arrival_time", "departure_time"]
DEPARTURES = 10  # a stop's page shows its first 10 departures of the day
TIMES = ("arrival_time", "departure_time")


def padded_time(text: str) -> str:
    """A GTFS time as the API serves it, zero-padded: ``8:15:00`` -> ``08:15:00``
    (``25:10:00`` stays: service past midnight), so that text order is time order."""
    if not text:
        return text
    hours, rest = text.split(":", 1)
    return hours.zfill(2) + ":" + rest


def _value(column: str, text: str | None) -> Any:
    if text is None or text == "":
        return None
    if column in INTS:
        return int(text)
    if column in FLOATS:
        return float(text)
    return text


def _pick(row: dict[str, str], columns: list[str]) -> dict[str, Any]:
    return {c: _value(c, row.get(c)) for c in columns}


class FeedBodies:
    """Expected response bodies for one feed."""

    def __init__(self, feed: Path, default_agency_id: str = "default") -> None:
        agencies = read_csv(feed, "agency.txt")
        for agency in agencies:  # a single-agency feed may leave agency_id out
            agency["agency_id"] = agency.get("agency_id") or default_agency_id
        self.agencies = {a["agency_id"]: a for a in agencies}
        self.routes = {r["route_id"]: r for r in read_csv(feed, "routes.txt")}
        for route in self.routes.values():
            route["agency_id"] = route.get("agency_id") or default_agency_id
        self.stops = {s["stop_id"]: s for s in read_csv(feed, "stops.txt")}
        self.trips = {t["trip_id"]: t for t in read_csv(feed, "trips.txt")}
        self.stop_times: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.calls_at: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.trips_at: dict[str, set[str]] = defaultdict(set)
        for st in read_csv(feed, "stop_times.txt"):
            for column in TIMES:
                if column in st:
                    st[column] = padded_time(st[column])
            self.stop_times[st["trip_id"]].append(st)
            self.calls_at[st["stop_id"]].append(st)
            self.trips_at[st["stop_id"]].add(st["trip_id"])
        for calls in self.stop_times.values():
            calls.sort(key=lambda st: int(st["stop_sequence"]))

    def stop_brief(self, stop_id: str | None) -> dict[str, Any] | None:
        return _pick(self.stops[stop_id], STOP_BRIEF) if stop_id else None

    def stop_time_with_stop(self, trip_id: str) -> list[dict[str, Any]]:
        return [
            {**_pick(st, STOP_TIME), "stop": self.stop_brief(st["stop_id"])}
            for st in self.stop_times[trip_id]
        ]

    def trip_detail(self, trip_id: str) -> dict[str, Any]:
        """A trip's page: its route, the stop of each of its calls in stop_sequence order (a
        stop called at twice, as on a loop, listed twice) and how many calls it has."""
        trip = self.trips[trip_id]
        calls = self.stop_times[trip_id]
        return {
            **_pick(trip, TRIP_BRIEF),
            "route": _pick(self.routes[trip["route_id"]], ROUTE_BRIEF),
            "stop_times_count": len(calls),
            "stops": [st["stop_id"] for st in calls],
        }

    def trips_with_repeated_stops(self) -> list[str]:
        """The trips that call at some stop more than once, sorted."""
        return sorted(
            trip_id
            for trip_id, calls in self.stop_times.items()
            if len({st["stop_id"] for st in calls}) < len(calls)
        )

    def trips_count(self, route_id: str) -> int:
        return sum(1 for trip in self.trips.values() if trip["route_id"] == route_id)

    def route_list(self) -> list[dict[str, Any]]:
        return [
            {
                **_pick(route, ROUTE_BRIEF),
                "agency": _pick(self.agencies[route["agency_id"]], AGENCY_BRIEF),
                "trips_count": self.trips_count(route_id),
            }
            for route_id, route in sorted(self.routes.items())
        ]

    def departures(
        self, stop_id: str, key: Any = None, limit: int | None = DEPARTURES, offset: int = 0
    ) -> list[dict[str, Any]]:
        """A stop's calls in departure-time order (no time last), ties by (trip_id,
        stop_sequence), the primary key; ``key`` sorts otherwise (before the same ties)."""
        calls = sorted(
            self.calls_at[stop_id], key=lambda st: (st["trip_id"], int(st["stop_sequence"]))
        )
        if key is None:
            calls.sort(key=lambda st: (not st["departure_time"], st["departure_time"]))
        else:
            calls.sort(key=key)
        end = None if limit is None else offset + limit
        return [
            {**_pick(st, DEPARTURE), "trip": _pick(self.trips[st["trip_id"]], TRIP_BRIEF)}
            for st in calls[offset:end]
        ]

    def stop_list(self) -> list[dict[str, Any]]:
        return [
            {**_pick(stop, STOP_BRIEF), "parent": self.stop_brief(stop.get("parent_station"))}
            for _, stop in sorted(self.stops.items())
        ]

    def route_detail(self, route_id: str) -> dict[str, Any]:
        route = self.routes[route_id]
        trips = sorted(t for t, trip in self.trips.items() if trip["route_id"] == route_id)
        return {
            **_pick(route, ROUTE_ALL),
            "agency": _pick(self.agencies[route["agency_id"]], AGENCY_BRIEF),
            "trips": [
                {**_pick(self.trips[t], TRIP_BRIEF), "stop_times": self.stop_time_with_stop(t)}
                for t in trips
            ],
        }

    def stop_detail(self, stop_id: str) -> dict[str, Any]:
        stop = self.stops[stop_id]
        return {
            **_pick(stop, STOP_ALL),
            "parent": self.stop_brief(stop.get("parent_station")),
            "trips": [
                {
                    **_pick(self.trips[t], TRIP_BRIEF),
                    "route": _pick(self.routes[self.trips[t]["route_id"]], ROUTE_BRIEF),
                }
                for t in sorted(self.trips_at[stop_id])
            ],
            "stop_times": self.departures(stop_id),
        }
