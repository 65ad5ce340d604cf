"""How-to: paginated lists with `ListEndpoint`, framework-free, on the demo feed ($TRANSIT_DB)."""

import os
from urllib.parse import parse_qsl, urlsplit

from examples.transit.models import Route
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import treeshape as ts
from treeshape.web import ListEndpoint, QueryError

route_item = ts.shape(Route, "agency", fields={Route: ["route_id", "route_short_name"]})

# [start declare]
ROUTES = ListEndpoint(
    route_item,
    max_limit=100,  # ?limit= from 1 to 100
    default_limit=2,  # without ?limit=
    sortable=["route_short_name", "route_id"],  # ?sort=-route_short_name,route_id
    total=True,  # ?total=true -> X-Total-Count (one count(*) more)
    secret=os.environ.get("CURSOR_SECRET", "change me"),  # keys the cursors' HMAC
)
# [end declare]

engine = create_engine(os.environ["TRANSIT_DB"])

# [start walk]
with Session(engine) as session:
    query = ROUTES.from_query([("sort", "-route_short_name"), ("total", "true")], path="/routes")
    page = query.load(session)  # the ORM: 1 statement for the routes, 1 for agencies, 1 count
    print(page.headers())
    # {'Link': '</routes?sort=-route_short_name&total=true>; rel="first", '
    #          '</routes?sort=-route_short_name&total=true&after=eyJz...>; rel="next"',
    #  'X-Total-Count': '...'}
    seen = list(page.data)
    while "next" in page.links:  # what a client does with the Link header
        params = parse_qsl(urlsplit(page.links["next"]).query)
        page = ROUTES.from_query(params, path="/routes").fetch(session)  # or fetch: no ORM
        seen += page.data
    assert len(seen) == page.total
# [end walk]

# [start errors]
try:
    ROUTES.from_query([("after", "not-a-cursor"), ("limit", "500")], path="/routes")
except QueryError as error:
    for problem in error.problems:  # both, as one 400
        print(problem.parameter, "-", problem.detail)
    # limit - limit must be an integer from 1 to 100.
    # after - after: not a cursor this endpoint gave out for this sort (cursors are opaque: ...
    assert {p.parameter for p in error.problems} == {"after", "limit"}
else:
    raise AssertionError("no QueryError")
# [end errors]
