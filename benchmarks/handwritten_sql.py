"""Hand-tuned SQL baselines: the document without building a single ORM object.

Two ways a user who measured would write each endpoint:

- Core: one SELECT per table of the tree (four for a route), each of only the needed columns,
  the first by the root's key and each next one by the keys the one before fetched (bound
  values), so the statement count does not grow with the number of rows; the rows are stitched
  into dicts in Python. Tuned on Cairns and NYC (SQLite): statements built once, rows fetched in
  one call, the stops fetched once each by their distinct ids (not through a join back to the
  route), the route's stop_times by its trips' ids in primary-key order (no sort).
- SQLite JSON: one statement whose ``json_object`` / ``json_group_array`` subqueries build the
  whole document in the database; Python only encodes the text it gets back.

Caveats that a generic implementation has to handle and these do not need to: SQLite's JSON
functions print REAL values with 15 significant digits (enough for GTFS coordinates, not for every
float), and would print booleans as 0/1 and dates as stored; the endpoints here have neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from examples.transit.models import Route, Stop, StopTime, Trip
from sqlalchemy import Connection, CursorResult, Engine, Table, TextClause, bindparam, select, text

routes: Table = Route.__table__  # type: ignore[assignment]
trips: Table = Trip.__table__  # type: ignore[assignment]
stop_times: Table = StopTime.__table__  # type: ignore[assignment]
stops: Table = Stop.__table__  # type: ignore[assignment]

Document = dict[str, Any]

# -- Core ----------------------------------------------------------------------------------------


def _dicts(result: CursorResult[Any]) -> list[Document]:
    """The rows as dicts: fetched in one call, keys zipped on (no per-row Row access)."""
    keys = tuple(result.keys())
    return [dict(zip(keys, row)) for row in result.fetchall()]  # noqa: B905 (same length)


def _stitch(parents: Sequence[Document], key: str, name: str, children: list[Document]) -> None:
    """Set ``parent[name]`` to the list of ``children`` whose ``key`` is the parent's ``key``."""
    by_key: dict[Any, list[Document]] = {}
    for parent in parents:
        by_key[parent[key]] = parent[name] = []
    for child in children:
        by_key[child[key]].append(child)


def _stops(conn: Connection, sts: list[Document]) -> None:
    """Each stop_time's ``stop``: the distinct stops in one SELECT, by the ids fetched."""
    ids = list({st["stop_id"]: None for st in sts})
    by_id = {s["stop_id"]: s for s in _dicts(conn.execute(_STOPS_BY_ID, {"ids": ids}))}
    for st in sts:
        st["stop"] = by_id[st["stop_id"]]


# Built once: SQLAlchemy's compiled cache serves them, and the keys fetched by one level drive
# the next as bound values (an index lookup each, no join back to the root, no sort: SQLite
# reads ``stop_times`` in primary-key order for an ``IN`` list on its first column).
_ROUTE = select(*routes.c).where(routes.c.route_id == bindparam("key"))
_ROUTE_TRIPS = (
    select(*trips.c).where(trips.c.route_id == bindparam("key")).order_by(trips.c.trip_id)
)
_TRIPS_STOP_TIMES = (
    select(*stop_times.c)
    .where(stop_times.c.trip_id.in_(bindparam("ids", expanding=True)))
    .order_by(stop_times.c.trip_id, stop_times.c.stop_sequence)
)
_STOPS_BY_ID = select(*stops.c).where(stops.c.stop_id.in_(bindparam("ids", expanding=True)))
_STOP = select(*stops.c).where(stops.c.stop_id == bindparam("key"))
_STOP_TRIPS = (
    select(*trips.c)
    .where(
        trips.c.trip_id.in_(
            select(stop_times.c.trip_id).where(stop_times.c.stop_id == bindparam("key"))
        )
    )
    .order_by(trips.c.trip_id)
)
_TRIP = select(*trips.c).where(trips.c.trip_id == bindparam("key"))
_TRIP_STOP_TIMES = (
    select(*stop_times.c)
    .where(stop_times.c.trip_id == bindparam("key"))
    .order_by(stop_times.c.stop_sequence)
)


def route_core(conn: Connection, route_id: str) -> Document:
    """Route, trips, stop_times, stops: four SELECTs."""
    (route,) = _dicts(conn.execute(_ROUTE, {"key": route_id}))
    route_trips = route["trips"] = _dicts(conn.execute(_ROUTE_TRIPS, {"key": route_id}))
    ids = [t["trip_id"] for t in route_trips]
    sts = _dicts(conn.execute(_TRIPS_STOP_TIMES, {"ids": ids}))
    _stops(conn, sts)
    _stitch(route_trips, "trip_id", "stop_times", sts)
    return route


def stop_core(conn: Connection, stop_id: str) -> Document:
    """Stop and the trips calling at it: two SELECTs."""
    (stop,) = _dicts(conn.execute(_STOP, {"key": stop_id}))
    stop["trips"] = _dicts(conn.execute(_STOP_TRIPS, {"key": stop_id}))
    return stop


def trip_core(conn: Connection, trip_id: str) -> Document:
    """Trip, its stop_times, their stops: three SELECTs."""
    (trip,) = _dicts(conn.execute(_TRIP, {"key": trip_id}))
    sts = _dicts(conn.execute(_TRIP_STOP_TIMES, {"key": trip_id}))
    _stops(conn, sts)
    trip["stop_times"] = sts
    return trip


CORE: dict[str, Callable[[Connection, str], Document]] = {
    "route": route_core,
    "stop": stop_core,
    "trip": trip_core,
}


def core_document(engine: Engine, workload: str, key: str) -> Document:
    """The ``workload`` document for ``key``, through Core."""
    with engine.connect() as conn:
        return CORE[workload](conn, key)


# -- SQLite JSON ---------------------------------------------------------------------------------
#
# Written for speed, as measured on the Cairns route (SQLite 3.40): ``json_object`` is called
# directly inside ``json_group_array`` over an ordered derived table of plain columns (SQLite before
# 3.44 has no ORDER BY inside an aggregate, and aggregating over an ordered subquery keeps its
# order), and the stop comes from a join rather than a scalar subquery per stop_time: 15 ms instead
# of 42 ms for the straightforward version that builds each level's objects in a subquery and
# re-parses them with ``json(doc)``. A value loses its JSON subtype when it passes through a
# table column (a derived table, a view), so nothing JSON crosses one here. Whether it survives a
# scalar subquery is version-dependent, so :func:`_wrap` probes once and wraps with ``json()`` only
# where needed.


def _pairs(alias: str, table: Table, prefix: str = "") -> str:
    """``'col', alias.prefixcol, ...`` for every column: the arguments of ``json_object``."""
    return ", ".join(f"'{c.name}', {alias}.{prefix}{c.name}" for c in table.columns)


def _columns(alias: str, table: Table, prefix: str) -> str:
    """``alias.col AS prefixcol, ...``: a table's columns in a derived table, without clashes."""
    return ", ".join(f"{alias}.{c.name} AS {prefix}{c.name}" for c in table.columns)


_STOP_TIMES = f"""(
    SELECT json_group_array(json_object({_pairs("x", stop_times)},
                                        'stop', json_object({_pairs("x", stops, "s_")})))
    FROM (SELECT st.*, {_columns("s", stops, "s_")}
          FROM stop_times st JOIN stops s ON s.stop_id = st.stop_id
          WHERE st.trip_id = t.trip_id ORDER BY st.stop_sequence) x)"""

ROUTE_JSON = f"""
SELECT json_object({_pairs("r", routes)}, 'trips', {{wrap}}((
    SELECT json_group_array(json_object({_pairs("t", trips)},
                                        'stop_times', {{wrap}}({_STOP_TIMES})))
    FROM (SELECT * FROM trips WHERE route_id = r.route_id ORDER BY trip_id) t)))
FROM routes r WHERE r.route_id = :key
"""

STOP_JSON = f"""
SELECT json_object({_pairs("s", stops)}, 'trips', {{wrap}}((
    SELECT json_group_array(json_object({_pairs("t", trips)}))
    FROM (SELECT * FROM trips
          WHERE trip_id IN (SELECT trip_id FROM stop_times WHERE stop_id = s.stop_id)
          ORDER BY trip_id) t)))
FROM stops s WHERE s.stop_id = :key
"""

TRIP_JSON = f"""
SELECT json_object({_pairs("t", trips)}, 'stop_times', {{wrap}}({_STOP_TIMES}))
FROM trips t WHERE t.trip_id = :key
"""

_TEMPLATES = {"route": ROUTE_JSON, "stop": STOP_JSON, "trip": TRIP_JSON}
_statements: dict[tuple[str, bool], TextClause] = {}


_subtype_kept: list[bool] = []


def _keeps_subtype(conn: Connection) -> bool:
    """Whether this SQLite keeps the JSON subtype of a scalar subquery's value (probed once)."""
    if not _subtype_kept:
        probe = "SELECT json_object('a', (SELECT json_array(1)))"
        _subtype_kept.append(conn.exec_driver_sql(probe).scalar_one() == '{"a":[1]}')
    return _subtype_kept[0]


def json_statement(conn: Connection, workload: str) -> TextClause:
    """The ``workload`` query, with ``json()`` around subqueries only where this SQLite needs it."""
    wrap = not _keeps_subtype(conn)
    key = (workload, wrap)
    if key not in _statements:
        _statements[key] = text(_TEMPLATES[workload].replace("{wrap}", "json" if wrap else ""))
    return _statements[key]


def json_document(engine: Engine, workload: str, key: str) -> bytes:
    """The ``workload`` document for ``key`` as JSON bytes, built by SQLite in one statement."""
    with engine.connect() as conn:
        return conn.execute(json_statement(conn, workload), {"key": key}).scalar_one().encode()
