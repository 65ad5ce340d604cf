"""How-to: OpenAPI for Flask, with apispec or flask-smorest. No database needed."""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from examples.transit.models import Route, Stop, StopTime
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint

import treeshape as ts
from treeshape.flask import openapi_operation
from treeshape.web import EndpointShape

stop_summary = ts.shape(Stop, fields=["stop_id", "stop_name"], name="OpenapiStop")
route_detail = ts.shape(
    Route,
    {"trips": {"stop_times": {"stop": stop_summary}}},
    fields={StopTime: ["stop_sequence", "departure_time"]},
    name="OpenapiRoute",
)

# [start apispec]
ROUTE = EndpointShape(route_detail)
spec = APISpec(
    title="Transit", version="1.0.0", openapi_version="3.1.0", plugins=[MarshmallowPlugin()]
)
spec.path(
    path="/routes/{route_id}",
    operations={"get": openapi_operation(ROUTE, summary="A route with its timetable")},
)
document = spec.to_dict()
# Components named after the shapes, the nesting as $refs, include and fields[...] documented.
assert {"OpenapiRoute", "OpenapiStop"} <= set(document["components"]["schemas"])
parameters = document["paths"]["/routes/{route_id}"]["get"]["parameters"]
assert [p["name"] for p in parameters][:2] == ["include", "fields[Route]"]
# [end apispec]

# [start smorest]
app = Flask(__name__)
app.config.update(API_TITLE="Transit", API_VERSION="1.0.0", OPENAPI_VERSION="3.1.0")
api = Api(app)
blp = Blueprint("routes", __name__)


@blp.route("/routes/<route_id>")
class RouteView(MethodView):
    @blp.response(200, route_detail.marshmallow_schema)
    def get(self, route_id: str) -> Route:
        raise NotImplementedError  # load with route_detail.loader_options(), return the Route


api.register_blueprint(blp)
schemas = api.spec.to_dict()["components"]["schemas"]
assert {"OpenapiRoute", "OpenapiStop"} <= set(schemas)
# [end smorest]
