"""How-to: write endpoints in FastAPI and in Flask from one input shape. No database needed:
each app answers a body that does not validate with a 422 before any query."""

import warnings
from typing import Annotated, Any

from examples.transit.writes import trip_in
from fastapi import Depends, FastAPI
from flask import Flask

from treeshape.write.fastapi import INPUT_ERROR_RESPONSE, write_body
from treeshape.write.flask import body_from_request, init_app, request_body

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

# [start fastapi]
api = FastAPI()


@api.post("/trips", status_code=201, responses=INPUT_ERROR_RESPONSE)
def create_trip(body: Annotated[Any, Depends(write_body(trip_in, "create"))]) -> dict[str, str]:
    # body is a TripCreate; trip_in.load(body, session=...) writes it (see the example's
    # writes.py), and treeshape.write.fastapi.input_error(exc) turns its InputError into a 422
    return {"trip_id": body.trip_id}


answer = TestClient(api).post("/trips", json={"trip_id": "X", "stop_times": [{}]})
assert answer.status_code == 422
assert {tuple(e["loc"]) for e in answer.json()["detail"]} == {
    ("body", "route_id"),
    ("body", "service_id"),
    ("body", "stop_times", 0, "stop_sequence"),
    ("body", "stop_times", 0, "stop"),
}
assert "TripCreate" in api.openapi()["components"]["schemas"]
# [end fastapi]

# [start flask]
app = Flask(__name__)
init_app(app)  # InputError -> a JSON 422 with every problem and its path


@app.post("/trips")
def post_trip() -> tuple[dict[str, Any], int]:
    body = body_from_request(trip_in, "create")  # a dict, loaded by TripCreateSchema
    return {"trip_id": body["trip_id"]}, 201


answer = app.test_client().post("/trips", json={"trip_id": "X", "stop_times": [{}]})
assert answer.status_code == 422
assert {tuple(e["loc"]) for e in answer.get_json()["errors"]} == {
    ("route_id",),
    ("service_id",),
    ("stop_times", 0, "stop_sequence"),
    ("stop_times", 0, "stop"),
}
operation = {"requestBody": request_body(trip_in, "create")}  # for apispec's spec.path(...)
# [end flask]
