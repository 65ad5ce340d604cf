"""`Agency.agency_internal_note` is private: a feed can neither set it nor wipe it, and no
shape can contain it (the web side is proven in ``tests/web/test_never_exposed.py``)."""

from __future__ import annotations

import zipfile

import pytest
import sqlalchemy as sa
from examples.transit import importer
from examples.transit.importer import import_feed
from examples.transit.models import Agency

import treeshape as ts

from .conftest import SAMPLE_FEED, MakeZip

NOTE = "agency_internal_note"


def _set_note(engine: sa.Engine, text: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(Agency).values(agency_internal_note=text))


def _notes(engine: sa.Engine) -> list[str | None]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(Agency.agency_internal_note)))


def _feed_with_note(make_zip: MakeZip) -> str:
    with zipfile.ZipFile(SAMPLE_FEED) as zf:
        files: dict[str, str | bytes] = {n: zf.read(n) for n in zf.namelist()}
    files["agency.txt"] = (
        f"agency_id,agency_name,agency_url,agency_timezone,{NOTE}\n"
        "DTA,Demo Transit Authority,http://google.com,America/Los_Angeles,from the feed\n"
    )
    return str(make_zip("noted.zip", files))


@pytest.mark.parametrize("generic", [False, True], ids=["upsert", "generic-upsert"])
def test_feed_cannot_set_or_wipe_the_note(
    engine: sa.Engine, make_zip: MakeZip, monkeypatch: pytest.MonkeyPatch, generic: bool
) -> None:
    if generic:
        monkeypatch.setattr(importer, "_upsert_statement", lambda table, dialect: None)
    first = import_feed(_feed_with_note(make_zip), engine, progress=False)
    assert first.ok
    assert first.ignored_columns["agency.txt"] == [NOTE]
    assert _notes(engine) == [None]
    _set_note(engine, "call before 9")
    again = import_feed(_feed_with_note(make_zip), engine, progress=False)
    assert again.ok
    assert _notes(engine) == ["call before 9"]
    import_feed(SAMPLE_FEED, engine, progress=False)
    assert _notes(engine) == ["call before 9"]


def test_no_shape_outputs_the_note() -> None:
    assert NOTE not in ts.shape(Agency).fields
    with pytest.raises(ts.SpecError, match="private"):
        ts.shape(Agency, fields=["agency_id", NOTE])
    with pytest.raises(ts.SpecError, match="private"):
        ts.shape(Agency).narrow(fields=[NOTE])
    full = ts.shape(Agency, "routes.trips")
    for backend in (full.pydantic_model, full.marshmallow_schema):
        assert NOTE not in str(backend.__dict__)
    assert NOTE not in str(full.json_schema())


def test_fetch_and_dump_never_read_out_the_note(engine: sa.Engine) -> None:
    import_feed(SAMPLE_FEED, engine, progress=False)
    _set_note(engine, "secret")
    full = ts.shape(Agency, "routes.trips")
    with sa.orm.Session(engine) as session:
        fetched = full.fetch_json(session)
        agencies = session.scalars(sa.select(Agency).options(*full.loader_options())).all()
        dumped = full.dump_json(agencies, many=True)
    assert b"secret" not in fetched and NOTE.encode() not in fetched
    assert b"secret" not in dumped and NOTE.encode() not in dumped
