"""The transit example on MariaDB answers every endpoint and narrowing byte for byte as on
SQLite (which tests/web/test_endpoints.py proves equal to PostgreSQL), with the same number of
statements, through both apps, each by its test client and over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mariadb_server import MariaDbServer
from tests.web.conftest import CAIRNS_FEED, SAMPLE_FEED, Api, _apis, _imported, _sqlite
from tests.web.expected import FeedBodies
from tests.web.test_endpoints import BOTH_DATABASES, _same_on_both

pytestmark = pytest.mark.mariadb


def _mariadb(server: MariaDbServer, feed: Path) -> Iterator[str]:
    template = server.template(f"transit:{feed.name}", lambda url: _imported(feed, url))
    with server.database(template=template) as db:
        yield db.url


@pytest.fixture(scope="module")
def sample_pair(
    mariadb_server: MariaDbServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Api], dict[str, Api]]]:
    sqlite_url = _sqlite(SAMPLE_FEED, tmp_path_factory.mktemp("sample"))
    for url in _mariadb(mariadb_server, SAMPLE_FEED):
        lite, maria = _apis(sqlite_url), _apis(url)
        yield next(lite), next(maria)
        for apis in (lite, maria):
            next(apis, None)


@pytest.fixture(scope="module")
def cairns_pair(
    mariadb_server: MariaDbServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Api], dict[str, Api]]]:
    sqlite_url = _sqlite(CAIRNS_FEED, tmp_path_factory.mktemp("cairns"))
    for url in _mariadb(mariadb_server, CAIRNS_FEED):
        lite, maria = _apis(sqlite_url), _apis(url)
        yield next(lite), next(maria)
        for apis in (lite, maria):
            next(apis, None)


SAMPLE_URLS = [
    *dict.fromkeys(BOTH_DATABASES),
    "/trips/aab1",  # ids compare byte for byte: 'AAb1' is not this trip
    "/stops/bullfrog",
]


@pytest.mark.parametrize("url", SAMPLE_URLS)
def test_sample_feed_same_answers_as_sqlite(
    sample_pair: tuple[dict[str, Api], dict[str, Api]], url: str
) -> None:
    _same_on_both(*sample_pair, url)


def test_lower_case_ids_find_nothing(sample_pair: tuple[dict[str, Api], dict[str, Api]]) -> None:
    """The server compares text case-insensitively; the example's keys do not."""
    _, maria = sample_pair
    assert maria["flask"].get("/stops/BULLFROG").status == 200
    assert maria["flask"].get("/stops/bullfrog").status == 404


def test_cairns_same_answers_as_sqlite(
    cairns_pair: tuple[dict[str, Api], dict[str, Api]],
) -> None:
    cairns = FeedBodies(CAIRNS_FEED)
    stop_id = max(cairns.trips_at, key=lambda s: len(cairns.trips_at[s]))
    for url in [
        "/routes",
        "/stops?limit=1000&offset=100",
        "/routes/110-423",
        "/routes/110-423?sort[trips]=-service_id,trip_headsign&page[trips]=7",
        f"/stops/{stop_id}",
        f"/stops/{stop_id}?sort[stop_times]=-departure_time&page[stop_times][offset]=5",
        *(f"/trips/{trip_id}" for trip_id in cairns.trips_with_repeated_stops()[::10]),
    ]:
        body = _same_on_both(*cairns_pair, url)
        assert body.startswith((b"[{", b"{")), url
