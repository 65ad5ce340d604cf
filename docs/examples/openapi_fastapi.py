"""How-to: the FastAPI OpenAPI document of the tutorial's app. No query is made."""

from transit_fastapi import app

# [start openapi]
document = app.openapi()
schemas = document["components"]["schemas"]
# One component per distinct sub-shape, named after the shapes: StopCall appears once and is
# referenced from RouteView's trips and from the stop_times list endpoint alike.
assert {"RouteView", "StopView", "StopCall", "StopSummary"} <= set(schemas)
assert schemas["StopCall"]["properties"]["stop"]["$ref"] == "#/components/schemas/StopSummary"
parameters = document["paths"]["/routes/{route_id}"]["get"]["parameters"]
assert {"include", "fields[Route]", "fields[Trip]"} <= {p["name"] for p in parameters}
# [end openapi]
