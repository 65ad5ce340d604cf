"""The framework-free core of the web integrations: ``?include=`` and ``?fields[Model]=``.

An endpoint declares one shape; a request may only narrow it, JSON:API style:

* ``include`` absent: the full declared shape; ``include=`` (empty): no relationships;
  ``include=trips,trips.stop_times``: exactly those paths and their prefixes;
* ``fields[Trip]=trip_id,trip_headsign``: exactly those fields of every ``Trip`` in the response;
* ``page[trips]=5``, ``page[trips][offset]=10``, ``sort[trips]=-departure_time``: how many rows
  of a collection per parent, from where, in which order, within what the endpoint declares.

Anything else that looks like one of these parameters is an error, never ignored. Every
problem is collected (not just the first) into one `QueryError`, which the Flask and FastAPI
modules turn into a 400 in their framework's own format. Nothing here touches the database, so
a bad request costs no query. Request parameters are untrusted input that turns into schemas
and queries, so `Limits` bounds what one request may ask before any narrowing work, and the
narrowed shapes live in a bounded LRU cache.

One job per module: `problems` (what is wrong, and how much of it is echoed), `parameters`
(reading ``include``/``fields``), `paging` (page and sort declarations and parameters),
`openapi` (parameter schemas and descriptions), `endpoint` (`EndpointShape`, composing them),
`listing` (`ListEndpoint`: a page of roots, by offset or cursor, with ``Link`` headers).
`treeshape.flask` and `treeshape.fastapi` are thin adapters over `EndpointShape`; any other
framework needs only ``EndpointShape.from_query(list_of_name_value_pairs)``.
"""

from __future__ import annotations

from .endpoint import EndpointShape
from .listing import ListEndpoint, Page, PageQuery
from .narrowing import Narrowing
from .problems import DEFAULT_LIMITS, Limits, Problem, QueryError

__all__ = [
    "DEFAULT_LIMITS",
    "EndpointShape",
    "Limits",
    "ListEndpoint",
    "Narrowing",
    "Page",
    "PageQuery",
    "Problem",
    "QueryError",
]
