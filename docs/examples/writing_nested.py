"""How-to: writing nested bodies (create, replace, patch) with the transit example's trips.

Runs against a copy of ``$TRANSIT_DB`` (the sample feed), so the database the other pages read
stays as it was.
"""

import os
import shutil
import tempfile
from pathlib import Path

from examples.transit.models import StopTime, Trip
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import treeshape as ts
from treeshape.write import Limits

source = os.environ.get("TRANSIT_DB", "sqlite:///transit.sqlite").removeprefix("sqlite:///")
copy = Path(tempfile.mkdtemp()) / "transit.sqlite"
shutil.copy(source, copy)
engine = create_engine(f"sqlite:///{copy}")

# [start shapes]
from examples.transit.writes import trip_in  # noqa: E402 (the shapes above)

TripCreate = trip_in.input_model("create")  # POST: Pydantic, for FastAPI
TripReplace = trip_in.input_model("replace")  # PUT: the whole document
TripPatch = trip_in.input_model("patch")  # PATCH: JSON merge patch
TripCreateSchema = trip_in.input_schema("create")  # marshmallow, for Flask
assert TripCreate.__name__ == "TripCreate"
assert "trip_id" not in TripCreate.model_fields["stop_times"].annotation.__args__[0].model_fields
# [end shapes]

# [start create]
body = {
    "trip_id": "AB9",
    "route_id": "AB",
    "service_id": "FULLW",
    "trip_headsign": "to Bullfrog",
    "stop_times": [
        {"stop_sequence": 1, "stop": "BEATTY_AIRPORT", "arrival_time": "08:00:00"},
        {"stop_sequence": 2, "stop": "BULLFROG", "arrival_time": "08:15:00"},
    ],
}
with Session(engine) as session:
    trip = trip_in.load(body, session=session)  # added to the session, not flushed
    session.commit()
# [end create]

# [start replace]
with Session(engine) as session:
    trip = session.get(Trip, "AB9")
    trip_in.load(
        {
            **body,
            "stop_times": [  # 1 is left out: deleted; 2 updated; 3 added
                {"stop_sequence": 2, "stop": "BULLFROG", "arrival_time": "08:20:00"},
                {"stop_sequence": 3, "stop": "STAGECOACH", "arrival_time": "08:40:00"},
            ],
        },
        session=session,
        instance=trip,
    )
    session.commit()
    calls = session.scalars(select(StopTime).where(StopTime.trip_id == "AB9")).all()
    assert [(c.stop_sequence, c.arrival_time) for c in calls] == [(2, "08:20:00"), (3, "08:40:00")]
# [end replace]

# [start patch]
with Session(engine) as session:
    trip = session.get(Trip, "AB9")
    trip_in.load({"trip_headsign": None}, session=session, instance=trip, partial=True)
    session.commit()
    assert trip.trip_headsign is None and len(trip.stop_times) == 2
# [end patch]


# [start errors]
def problems(session: Session, data: dict, **options: object) -> list[tuple[tuple, str]]:
    """``(loc, type)`` of every problem `load` reports for ``data``."""
    try:
        trip_in.load(data, session=session, **options)
    except ts.InputError as error:
        return [(e["loc"], e["type"]) for e in error.errors]
    raise AssertionError("the body was accepted")


with Session(engine) as session:
    # validation first: a key the shape does not have, nothing read yet
    assert problems(session, {**body, "color": "red"}) == [(("color",), "extra_forbidden")]
    # then what only the database can tell, every problem at once
    calls = [{"stop_sequence": 1, "stop": "NOWHERE"}]
    assert set(problems(session, {**body, "trip_id": "AB1", "stop_times": calls})) == {
        (("trip_id",), "already_exists"),
        (("stop_times", 0, "stop"), "not_found"),
    }
    assert not session.new  # all or nothing
# [end errors]

# [start limits]
with Session(engine) as session:
    assert problems(session, body, limits=Limits(max_items=1)) == [
        (("stop_times",), "limit_max_items")
    ]
# [end limits]
