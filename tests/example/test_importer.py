"""The GTFS importer and the example's command line, on the shipped feeds and hand-made ones.

Expected values come from reading the feeds' CSV files here, with the csv module and explicit
column types, not from the importer's own converters.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import types
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from examples.transit import cli, importer
from examples.transit.feed import FeedError
from examples.transit.importer import DEFAULT_AGENCY_ID, ImportReport, import_feed

from .conftest import CAIRNS_FEED, REPO, SAMPLE_FEED, MakeZip, read_csv, sqlite_engine

TABLES = {
    "agency.txt": ("agency", ["agency_id"]),
    "stops.txt": ("stops", ["stop_id"]),
    "calendar.txt": ("calendar", ["service_id"]),
    "routes.txt": ("routes", ["route_id"]),
    "trips.txt": ("trips", ["trip_id"]),
    "stop_times.txt": ("stop_times", ["trip_id", "stop_sequence"]),
}
INTS = {
    "route_type", "route_sort_order", "direction_id", "wheelchair_accessible", "bikes_allowed",
    "stop_sequence", "pickup_type", "drop_off_type", "timepoint", "location_type",
    "wheelchair_boarding",
}  # fmt: skip
FLOATS = {"stop_lat", "stop_lon", "shape_dist_traveled"}
DATES = {"start_date", "end_date"}
DAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
TIMES = {"arrival_time", "departure_time"}


def padded_time(text: str) -> str:
    """A GTFS time as the importer stores it: ``8:15:00`` -> ``08:15:00`` (``25:10:00`` kept)."""
    hours, rest = text.split(":", 1)
    return hours.zfill(2) + ":" + rest


def typed(column: str, text: str) -> Any:
    """What a CSV value should be in the database."""
    text = text.strip()
    if text == "":
        return None
    if column in INTS:
        return int(text)
    if column in FLOATS:
        return float(text)
    if column in DATES:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    if column in DAYS:
        return {"0": False, "1": True}[text]
    if column in TIMES:
        return padded_time(text)
    return text


def table_rows(engine: sa.Engine, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """A table's rows by primary key."""
    _, pk = next(v for v in TABLES.values() if v[0] == table)
    metadata = sa.MetaData()
    t = sa.Table(table, metadata, autoload_with=engine)
    for column in t.columns:
        if isinstance(column.type, sa.Float):
            column.type.asdecimal = False  # MySQL's reflected DOUBLE reads Decimal by default
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(t)).mappings()]
    return {tuple(r[c] for c in pk): r for r in rows}


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table, _ in TABLES.values()
        }


def assert_matches_csv(engine: sa.Engine, feed: Path) -> None:
    """Every row of every modelled file is in the database, field by field, and nothing else."""
    with zipfile.ZipFile(feed) as zf:
        present = {Path(n).name for n in zf.namelist()}
    for file_name, (table, pk) in TABLES.items():
        if file_name not in present:
            continue
        csv_rows = read_csv(feed, file_name)
        db_rows = table_rows(engine, table)
        assert len(db_rows) == len(csv_rows), table
        columns = set(next(iter(db_rows.values())))
        for csv_row in csv_rows:
            key = tuple(typed(c, csv_row[c]) for c in pk if c in csv_row)
            if table == "agency" and not csv_row.get("agency_id"):
                key = (DEFAULT_AGENCY_ID,)
            db_row = db_rows[key]
            for column in columns:
                if column in csv_row:
                    expected = typed(column, csv_row[column])
                else:  # a column the feed does not have: NULL, the single agency's id aside
                    expected = DEFAULT_AGENCY_ID if column == "agency_id" else None
                if column == "agency_id" and expected is None and table != "agency":
                    expected = DEFAULT_AGENCY_ID
                assert db_row[column] == expected, (table, key, column)


# -- the shipped feeds --------------------------------------------------------------------------


def test_sample_feed_is_imported_field_by_field(engine: sa.Engine) -> None:
    report = import_feed(SAMPLE_FEED, engine, progress=False)

    assert report.problems == []
    assert report.rows == {
        "agency": 1, "stops": 9, "calendar": 2, "routes": 5, "trips": 11, "stop_times": 28,
    }  # fmt: skip
    assert counts(engine) == report.rows
    assert_matches_csv(engine, SAMPLE_FEED)
    # Files the example does not model are reported, not silently dropped.
    assert "frequencies.txt" in report.ignored_files
    assert "calendar_dates.txt" in report.ignored_files
    # Spot checks against values read off the CSV by eye.
    stops = table_rows(engine, "stops")
    assert stops[("STAGECOACH",)]["stop_name"] == "Stagecoach Hotel & Casino (Demo)"
    assert stops[("STAGECOACH",)]["stop_lat"] == pytest.approx(36.915682)
    assert table_rows(engine, "stop_times")[("STBA", 2)]["arrival_time"] == "06:20:00"
    assert table_rows(engine, "calendar")[("WE",)]["saturday"] is True
    assert table_rows(engine, "calendar")[("WE",)]["monday"] is False


@pytest.fixture(scope="module")
def cairns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sa.Engine, ImportReport]]:
    """The Cairns feed imported once for the module (with foreign keys enforced)."""
    engine = sqlite_engine(tmp_path_factory.mktemp("cairns") / "cairns.sqlite")
    started = time.perf_counter()
    report = import_feed(CAIRNS_FEED, engine, progress=False)
    print(f"Cairns import: {time.perf_counter() - started:.2f} s")
    yield engine, report
    engine.dispose()


def test_cairns_feed_is_imported_field_by_field(cairns: tuple[sa.Engine, ImportReport]) -> None:
    engine, report = cairns
    assert report.problems == []
    assert report.rows == {
        "agency": 1, "stops": 416, "calendar": 4, "routes": 22, "trips": 1339,
        "stop_times": 37790,
    }  # fmt: skip
    assert counts(engine) == report.rows
    assert_matches_csv(engine, CAIRNS_FEED)


def test_cairns_single_agency_gets_an_id_and_its_routes(
    cairns: tuple[sa.Engine, ImportReport],
) -> None:
    """agency.txt and routes.txt have no agency_id column: the routes belong to the agency."""
    engine, _ = cairns
    (agency,) = table_rows(engine, "agency").values()
    assert agency["agency_id"] == DEFAULT_AGENCY_ID
    assert agency["agency_name"].endswith("TransLink Division (qconnect)")
    assert {r["agency_id"] for r in table_rows(engine, "routes").values()} == {DEFAULT_AGENCY_ID}
    route = table_rows(engine, "routes")[("110-423",)]
    assert (route["route_short_name"], route["route_color"]) == ("110", "7BC142")


def test_importing_twice_does_not_duplicate(cairns: tuple[sa.Engine, ImportReport]) -> None:
    engine, first = cairns
    before = counts(engine)
    again = import_feed(CAIRNS_FEED, engine, progress=False, batch_size=777)
    assert again.rows == first.rows
    assert counts(engine) == before == first.rows


# -- re-imports: updates and replace ------------------------------------------------------------


def _sample_with(make_zip: MakeZip, name: str, **changes: str) -> Path:
    """The sample feed with some files' texts replaced."""
    with zipfile.ZipFile(SAMPLE_FEED) as zf:
        files: dict[str, str | bytes] = {n: zf.read(n) for n in zf.namelist()}
    files.update(changes)
    return make_zip(name, files)


def _without_stop(feed: Path, file_name: str, stop_id: str) -> str:
    lines = zipfile.ZipFile(feed).read(file_name).decode().splitlines()
    return "\n".join(line for line in lines if f",{stop_id}," not in line and not
                     line.startswith(f"{stop_id},")) + "\n"  # fmt: skip


def test_reimport_updates_changed_rows_in_place(engine: sa.Engine, make_zip: MakeZip) -> None:
    import_feed(SAMPLE_FEED, engine, progress=False)
    stops = zipfile.ZipFile(SAMPLE_FEED).read("stops.txt").decode()
    renamed = stops.replace("Amargosa Valley (Demo)", "Amargosa Valley (renamed)")
    assert renamed != stops
    import_feed(_sample_with(make_zip, "v2.zip", **{"stops.txt": renamed}), engine, progress=False)
    assert table_rows(engine, "stops")[("AMV",)]["stop_name"] == "Amargosa Valley (renamed)"
    assert counts(engine)["stops"] == 9


def test_replace_drops_rows_the_new_feed_lacks(engine: sa.Engine, make_zip: MakeZip) -> None:
    v2 = _sample_with(
        make_zip,
        "v2.zip",
        **{
            "stops.txt": _without_stop(SAMPLE_FEED, "stops.txt", "AMV"),
            "stop_times.txt": _without_stop(SAMPLE_FEED, "stop_times.txt", "AMV"),
        },
    )
    import_feed(SAMPLE_FEED, engine, progress=False)
    merged = import_feed(v2, engine, progress=False)
    assert merged.problems == []
    assert ("AMV",) in table_rows(engine, "stops")  # an upsert keeps rows it was not given
    replaced = import_feed(v2, engine, progress=False, replace=True)
    assert ("AMV",) not in table_rows(engine, "stops")
    assert counts(engine) == replaced.rows
    assert replaced.rows["stops"] == 8
    assert replaced.rows["stop_times"] < 28


def test_generic_upsert_for_databases_without_one(
    engine: sa.Engine, make_zip: MakeZip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback used for dialects other than SQLite, PostgreSQL and MySQL."""
    monkeypatch.setattr(importer, "_upsert_statement", lambda table, dialect: None)
    import_feed(SAMPLE_FEED, engine, progress=False, batch_size=4)
    stops = zipfile.ZipFile(SAMPLE_FEED).read("stops.txt").decode()
    renamed = stops.replace("Bullfrog (Demo)", "Bullfrog (renamed)")
    report = import_feed(
        _sample_with(make_zip, "v2.zip", **{"stops.txt": renamed}), engine, progress=False
    )
    assert counts(engine) == report.rows
    assert table_rows(engine, "stops")[("BULLFROG",)]["stop_name"] == "Bullfrog (renamed)"


# -- a broken feed ------------------------------------------------------------------------------

BROKEN = {
    # A byte order mark, CRLF line ends, blanks around names and values, an unknown column.
    "agency.txt": "\ufeffagency_id, agency_name ,agency_url,agency_timezone,agency_mascot\r\n"
    "A1,  Alpha Transit ,http://a.example,Europe/Paris,owl\r\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        "P1,Platform 1,48.85,2.35,0,ST\n"  # 2: the child before its parent
        "ST,Station,48.85,2.35,1,\n"  # 3
        "S2,Lost child,48.86,2.36,0,NOWHERE\n"  # 4: unknown parent -> NULL
        "S3,Bad lat,abc,2.36,0,\n"  # 5: not a number
        'S4,"Two\nlines",48.87,2.37,,\n'  # 6-7: one record over two lines
        "S5,Too far north,95,2.3,,\n"  # 8: out of range
        "S6,Empty fields,,,,\n"  # 9: fine, NULLs
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20240101,20241231\n"
        "BAD,1,1,1,1,1,0,0,2024-01-01,20241231\n"  # 3: not YYYYMMDD
        "BOOL,yes,1,1,1,1,0,0,20240101,20241231\n"  # 4: not 0/1
        "FEB,1,1,1,1,1,0,0,20240230,20241231\n"  # 5: no such day
    ),
    "routes.txt": (
        "route_id,agency_id,route_short_name,route_long_name,route_type,route_color\n"
        "R1,A1,1,,3,\n"  # 2: empty strings -> NULL
        "R2,A1,2,Two,bus,\n"  # 3: not an integer
        "R3,ZZ,3,Three,3,\n"  # 4: unknown agency
    ),
    "trips.txt": (
        "route_id,service_id,trip_id,direction_id\n"
        "R1,WK,T1,0\n"
        "R1,WK,T2,\n"
        "R2,WK,T3,1\n"  # 4: its route was rejected
        "R1,WK,T1,1\n"  # 5: duplicate trip_id
        "R1,WK,T4,2\n"  # 6: direction_id is 0 or 1
    ),
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,P1,1\n"
        "T1,8:05:00,8:06:00,S2,2\n"
        "T1,25:10:00,25:10:00,S4,3\n"  # past midnight: valid
        "TX,08:00:00,08:00:00,P1,1\n"  # 5: unknown trip
        "T2,08:00:00,08:00:00,S3,1\n"  # 6: its stop was rejected
        "T2,8:7:00,08:00:00,P1,2\n"  # 7: not H:MM:SS
        "T2,08:00:00,08:00:00,P1,x\n"  # 8: not an integer
        "T2,08:00:00,08:00:00,P1\n"  # 9: a field short
        "\n"  # 10: blank lines are nothing
        "T2,,,ST,3\n"  # 11: no times (not a timepoint): fine
    ),
    "notes.txt": "not GTFS\n",
}

# (file, line, skipped, words the reason must contain)
BROKEN_PROBLEMS = {
    ("stops.txt", 4, False, ("parent_station", "NOWHERE")),
    ("stops.txt", 5, True, ("stop_lat", "abc")),
    ("stops.txt", 8, True, ("stop_lat", "95")),
    ("calendar.txt", 3, True, ("start_date", "YYYYMMDD")),
    ("calendar.txt", 4, True, ("monday", "0 or 1")),
    ("calendar.txt", 5, True, ("start_date", "20240230")),
    ("routes.txt", 3, True, ("route_type", "bus")),
    ("routes.txt", 4, True, ("agency_id", "ZZ", "agency.txt")),
    ("trips.txt", 4, True, ("route_id", "R2", "routes.txt")),
    ("trips.txt", 5, True, ("duplicate", "T1", "line 2")),
    ("trips.txt", 6, True, ("direction_id",)),
    ("stop_times.txt", 5, True, ("trip_id", "TX", "trips.txt")),
    ("stop_times.txt", 6, True, ("stop_id", "S3", "stops.txt")),
    ("stop_times.txt", 7, True, ("arrival_time", "8:7:00")),
    ("stop_times.txt", 8, True, ("stop_sequence", "x")),
    ("stop_times.txt", 9, True, ("4 fields", "header has 5")),
}


def _assert_broken_report(report: ImportReport) -> None:
    found = {(p.file, p.line, p.skipped): p.reason for p in report.problems}
    assert len(found) == len(report.problems) == len(BROKEN_PROBLEMS), report.problems
    for file, line, skipped, words in BROKEN_PROBLEMS:
        reason = found[(file, line, skipped)]
        for word in words:
            assert word in reason, (file, line, reason)
    assert report.skipped_rows == len(BROKEN_PROBLEMS) - 1


def test_broken_feed_loads_the_good_rows_and_reports_the_bad(
    engine: sa.Engine, make_zip: MakeZip
) -> None:
    report = import_feed(make_zip("broken.zip", BROKEN), engine, progress=False, batch_size=2)

    _assert_broken_report(report)
    assert report.rows == {
        "agency": 1, "stops": 5, "calendar": 1, "routes": 1, "trips": 2, "stop_times": 4,
    }  # fmt: skip
    assert counts(engine) == report.rows
    assert report.ignored_columns == {"agency.txt": ["agency_mascot"]}
    assert report.ignored_files == ["notes.txt"]

    assert table_rows(engine, "agency")[("A1",)]["agency_name"] == "Alpha Transit"
    stops = table_rows(engine, "stops")
    assert stops[("P1",)]["parent_station"] == "ST"
    assert stops[("S2",)]["parent_station"] is None
    assert stops[("S4",)]["stop_name"] == "Two\nlines"
    assert (stops[("S6",)]["stop_lat"], stops[("S6",)]["location_type"]) == (None, None)
    route = table_rows(engine, "routes")[("R1",)]
    assert (route["route_long_name"], route["route_color"], route["route_type"]) == (None, None, 3)
    assert table_rows(engine, "trips")[("T2",)]["direction_id"] is None
    stop_times = table_rows(engine, "stop_times")
    assert set(stop_times) == {("T1", 1), ("T1", 2), ("T1", 3), ("T2", 3)}
    # H:MM:SS is stored zero-padded (so that times sort as text), past midnight kept.
    assert (stop_times[("T1", 2)]["arrival_time"], stop_times[("T1", 2)]["departure_time"]) == (
        "08:05:00",
        "08:06:00",
    )
    assert stop_times[("T1", 3)]["arrival_time"] == "25:10:00"
    assert stop_times[("T2", 3)]["arrival_time"] is None
    assert table_rows(engine, "calendar")[("WK",)]["end_date"] == dt.date(2024, 12, 31)


def test_broken_feed_twice_gives_the_same_rows(engine: sa.Engine, make_zip: MakeZip) -> None:
    feed = make_zip("broken.zip", BROKEN)
    first = import_feed(feed, engine, progress=False)
    second = import_feed(feed, engine, progress=False)
    assert first.rows == second.rows == counts(engine)
    assert [str(p) for p in first.problems] == [str(p) for p in second.problems]


def test_calendar_dates_only_feed_in_a_folder(engine: sa.Engine, make_zip: MakeZip) -> None:
    """No calendar.txt (optional), files in a folder inside the zip, no agency_id anywhere."""
    feed = make_zip(
        "dates_only.zip",
        {
            "agency.txt": "agency_name,agency_url,agency_timezone\nSolo,http://s.example,UTC\n",
            "stops.txt": "stop_id,stop_name\nA,Alpha\nB,Beta\n",
            "calendar_dates.txt": "service_id,date,exception_type\nX,20240101,1\n",
            "routes.txt": "route_id,route_type\nR,3\n",
            "trips.txt": "route_id,service_id,trip_id\nR,X,T\n",
            "stop_times.txt": "trip_id,stop_id,stop_sequence,arrival_time,departure_time\n"
            "T,A,1,10:00:00,10:00:00\nT,B,2,10:05:00,10:05:00\n",
        },
        folder="gtfs/",
    )
    report = import_feed(feed, engine, progress=False)
    assert report.problems == []
    assert report.rows == {
        "agency": 1, "stops": 2, "calendar": 0, "routes": 1, "trips": 1, "stop_times": 2,
    }  # fmt: skip
    assert table_rows(engine, "routes")[("R",)]["agency_id"] == DEFAULT_AGENCY_ID
    assert table_rows(engine, "trips")[("T",)]["service_id"] == "X"


def test_missing_required_file_and_column(engine: sa.Engine, make_zip: MakeZip) -> None:
    feed = make_zip(
        "partial.zip",
        {
            "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,A,http://a,UTC\n",
            "stops.txt": "stop_id,stop_name\nS,Stop\n",
            "routes.txt": "route_id,agency_id\nR,A\n",  # no route_type: required
        },
    )
    report = import_feed(feed, engine, progress=False)
    problems = {(p.file, p.line): p.reason for p in report.problems}
    assert problems[("routes.txt", None)] == "no route_type column (required); file skipped"
    assert problems[("trips.txt", None)] == "required file is missing"
    assert problems[("stop_times.txt", None)] == "required file is missing"
    assert report.rows["routes"] == 0
    assert counts(engine)["stops"] == 1


def test_parent_station_cycle_is_broken_and_reported(engine: sa.Engine, make_zip: MakeZip) -> None:
    feed = make_zip(
        "cycle.zip",
        {
            "stops.txt": "stop_id,parent_station\nA,B\nB,A\nC,C\nD,A\n",
            "agency.txt": "agency_name,agency_url,agency_timezone\nSolo,http://s.example,UTC\n",
        },
    )
    report = import_feed(feed, engine, progress=False)
    stop_problems = [p for p in report.problems if p.file == "stops.txt"]
    assert {(p.line, p.skipped) for p in stop_problems} == {(2, False), (4, False)}
    stops = table_rows(engine, "stops")
    assert len(stops) == 4  # every stop loaded, in an order the enforced foreign key accepts
    assert stops[("C",)]["parent_station"] is None
    assert stops[("D",)]["parent_station"] == "A"
    assert [stops[(s,)]["parent_station"] for s in "AB"].count(None) == 1


def test_undecodable_file_is_reported_and_the_rest_loads(
    engine: sa.Engine, make_zip: MakeZip
) -> None:
    feed = make_zip(
        "latin1.zip",
        {
            "agency.txt": "agency_name,agency_url,agency_timezone\nSolo,http://s.example,UTC\n",
            "stops.txt": "stop_id,stop_name\nA,Alpha\nB,Gare de l'Est\n",
            "routes.txt": "route_id,route_short_name,route_type\nR,Caf\xe9,3\n".encode("latin-1"),
        },
    )
    report = import_feed(feed, engine, progress=False)
    (problem,) = [p for p in report.problems if p.file == "routes.txt"]
    assert "utf-8" in problem.reason.lower()
    assert counts(engine)["stops"] == 2


def _missing(tmp: Path) -> Path:
    return tmp / "nope.zip"


def _not_a_zip(tmp: Path) -> Path:
    (tmp / "x.zip").write_text("agency_id,agency_name\n")
    return tmp / "x.zip"


def _no_gtfs_files(tmp: Path) -> Path:
    with zipfile.ZipFile(tmp / "e.zip", "w") as zf:
        zf.writestr("readme.md", "hi")
    return tmp / "e.zip"


@pytest.mark.parametrize(
    ("make", "message"),
    [(_missing, "no such file"), (_not_a_zip, "not a zip"), (_no_gtfs_files, "not a GTFS feed")],
)
def test_unusable_sources_raise_feed_error(
    tmp_path: Path, engine: sa.Engine, make: Callable[[Path], Path], message: str
) -> None:
    with pytest.raises(FeedError, match=message):
        import_feed(make(tmp_path), engine, progress=False)


# -- PostgreSQL (enforced foreign keys, a real upsert) ------------------------------------------


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """The suite's PostgreSQL database, when its fixtures (tests/pg_fixtures.py) are enabled."""
    try:
        return str(request.getfixturevalue("pg_url"))
    except pytest.FixtureLookupError:
        pytest.skip("the PostgreSQL fixtures (tests.pg_fixtures) are not enabled")


@pytest.mark.postgres
def test_postgresql_import_twice_and_broken_feed(pg_url: str, make_zip: MakeZip) -> None:
    engine = sa.create_engine(pg_url)
    try:
        first = import_feed(CAIRNS_FEED, engine, progress=False)
        again = import_feed(CAIRNS_FEED, engine, progress=False)
        assert first.problems == again.problems == []
        assert counts(engine) == first.rows == again.rows
        assert (
            table_rows(engine, "stop_times")[("CNS2014-CNS_MUL-Weekday-00-4165878", 2)]["stop_id"]
            == "750000"
        )
        broken = import_feed(make_zip("broken.zip", BROKEN), engine, progress=False, replace=True)
        _assert_broken_report(broken)
        assert counts(engine) == broken.rows
    finally:
        engine.dispose()


# -- the command line ---------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TRANSIT_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "examples.transit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_import_prints_the_summary(tmp_path: Path) -> None:
    result = run_cli("import", str(SAMPLE_FEED), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "sqlite:///transit.sqlite" in out  # the default: a file in the current directory
    for table, count in [("stops", 9), ("trips", 11), ("stop_times", 28)]:
        assert any(line.split() == [table, str(count)] for line in out.splitlines()), out
    assert "No problems found." in out
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'transit.sqlite'}")
    assert counts(engine)["stop_times"] == 28
    engine.dispose()


def test_cli_import_lists_bad_rows_with_file_and_line(tmp_path: Path, make_zip: MakeZip) -> None:
    feed = make_zip("broken.zip", BROKEN)
    result = run_cli("import", str(feed), "--db", str(tmp_path / "b.sqlite"), "--show", "3",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "16 problems, 15 rows skipped:" in out
    assert "stops.txt:4: parent_station 'NOWHERE' is not in stops.txt (loaded with NULL)" in out
    assert "stops.txt:5: stop_lat: 'abc' is not a number" in out
    assert "... and 13 more" in out
    assert "stop_times.txt:5" not in out  # beyond --show 3
    assert "Unknown columns ignored in agency.txt: agency_mascot" in out


BAD_INPUT = [
    (["import", "missing.zip"], "missing.zip: no such file"),
    (["import", "not_a_zip.txt"], "not a zip file"),
    (["import", str(SAMPLE_FEED), "--db", "nosuchdb://x"], "unknown database kind"),
    (["import", str(SAMPLE_FEED), "--db", "sqlite:////no/such/dir/x.db"], "unable to open"),
    (["import", str(SAMPLE_FEED), "--batch-size", "0"], "not a positive integer"),
    (["import"], "the following arguments are required: FEED.zip"),
    (["serve", "--port", "70000"], "not a port number"),
    (["serve", "--app", "django"], "invalid choice"),
    # Port 0: the port is checked first, and 8000 may be busy on a developer's machine.
    (["serve", "--db", "nosuchdb://x", "--port", "0"], "unknown database kind"),
    (["frobnicate"], "invalid choice"),
]


def _one_error_line(stderr: str, message: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], stderr


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_cli_bad_input_is_one_clear_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not_a_zip.txt").write_text("agency_id\n")
    status: int | str | None
    try:
        status = cli.main(args)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    assert status == 2
    _one_error_line(capsys.readouterr().err, message)
    assert not (tmp_path / "transit.sqlite").exists()


@pytest.mark.parametrize(("args", "message"), [BAD_INPUT[0], BAD_INPUT[2], BAD_INPUT[6]])
def test_cli_bad_input_in_a_real_process(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    _one_error_line(result.stderr, message)


def test_cli_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "import" in result.stdout and "serve" in result.stdout
    result = run_cli("serve", "--help", cwd=tmp_path)
    assert all(option in result.stdout for option in ["--app", "--db", "--port", "--host"])


# -- serve: imports the shipped feed into an empty database, then hands over ---------------------


@pytest.fixture
def fake_apps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Stand-ins for the web apps and the servers, recording what `serve` passes them."""
    calls: dict[str, Any] = {}
    for name in ("flask", "fastapi"):
        module = types.ModuleType(f"examples.transit.{name}_app")
        module.create_app = lambda db, name=name: calls.setdefault("app", (name, db))  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module.__name__, module)
    import uvicorn
    import waitress  # type: ignore[import-untyped, unused-ignore]

    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.setdefault("waitress", kw))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.setdefault("uvicorn", kw))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRANSIT_DB", raising=False)
    return calls


def test_serve_imports_the_shipped_feed_first(
    fake_apps: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The listening check is recorded, not run: the default port 8000 may be busy here (the
    # real check has its own test, on a busy port).
    probes: list[tuple[str, int]] = []
    monkeypatch.setattr(cli, "_check_can_listen", lambda host, port: probes.append((host, port)))
    assert cli.main(["serve", "--port", "8123"]) == 0
    assert fake_apps["app"] == ("flask", "sqlite:///transit.sqlite")
    assert fake_apps["waitress"] == {"host": "127.0.0.1", "port": 8123}
    assert "importing" in capsys.readouterr().err
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'transit.sqlite'}")
    assert counts(engine)["routes"] == 22
    engine.dispose()

    fake_apps.clear()
    db = tmp_path / "transit.sqlite"
    assert cli.main(["serve", "--app", "fastapi", "--db", str(db), "--host", "0.0.0.0"]) == 0
    assert "importing" not in capsys.readouterr().err  # the data is there now
    assert fake_apps["app"] == ("fastapi", f"sqlite:///{db}")
    assert fake_apps["uvicorn"] == {"host": "0.0.0.0", "port": 8000}
    assert probes == [("127.0.0.1", 8123), ("0.0.0.0", 8000)]


def test_serve_on_a_busy_port_is_one_clear_line(
    fake_apps: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["serve", "--app", "fastapi", "--port", str(port)]) == 2
    _one_error_line(capsys.readouterr().err, f"cannot listen on 127.0.0.1:{port}")
    assert fake_apps == {}
    assert not (tmp_path / "transit.sqlite").exists()  # checked before importing anything


# -- every database: MariaDB too, and ids that differ by case only ------------------------------


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database with enforced foreign keys: SQLite, PostgreSQL or MariaDB."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path / "transit.sqlite")
    else:
        fixture = "pg_url" if request.param == "postgresql" else "mariadb_url"
        engine = sa.create_engine(str(request.getfixturevalue(fixture)))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_mariadb_import_twice_keeps_every_value_and_reports_a_broken_feed(
    mariadb_url: str, make_zip: MakeZip
) -> None:
    """Coordinates and distances read back exactly (8-byte DOUBLE, not MariaDB's 4-byte FLOAT),
    a second import changes nothing, and a broken feed gives the same report as elsewhere."""
    engine = sa.create_engine(mariadb_url)
    try:
        first = import_feed(CAIRNS_FEED, engine, progress=False)
        again = import_feed(CAIRNS_FEED, engine, progress=False)
        assert first.problems == again.problems == []
        assert counts(engine) == first.rows == again.rows
        assert_matches_csv(engine, CAIRNS_FEED)
        broken = import_feed(make_zip("broken.zip", BROKEN), engine, progress=False, replace=True)
        _assert_broken_report(broken)
        assert counts(engine) == broken.rows
    finally:
        engine.dispose()


CASE_FEED = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
    "A1,Alpha,http://a.example,Europe/Paris\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
    "BULLFROG,Upper case,36.88108,-116.81797\n"  # 2
    "bullfrog,lower case,-16.74359,145.7559991\n",  # 3
    "routes.txt": "route_id,agency_id,route_short_name,route_type\nR1,A1,1,3\n",
    "trips.txt": "route_id,service_id,trip_id\nR1,WK,T1\nR1,WK,t1\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "T1,08:00:00,08:00:00,BULLFROG,1\n"  # 2
    "T1,08:05:00,08:05:00,bullfrog,2\n"  # 3
    "t1,09:00:00,09:00:00,bullfrog,1\n",  # 4
}


def test_ids_that_differ_by_case_stay_distinct(any_engine: sa.Engine, make_zip: MakeZip) -> None:
    """The example's keys compare byte for byte on every database (a binary collation on
    MariaDB, whose server default is case-insensitive): both stops and both trips stay."""
    feed = make_zip("case.zip", CASE_FEED)
    report = import_feed(feed, any_engine, progress=False)
    assert report.problems == []
    assert report.rows == {
        "agency": 1, "stops": 2, "calendar": 0, "routes": 1, "trips": 2, "stop_times": 3
    }  # fmt: skip
    assert counts(any_engine) == report.rows
    stops = table_rows(any_engine, "stops")
    assert {k: (r["stop_name"], r["stop_lat"]) for k, r in stops.items()} == {
        ("BULLFROG",): ("Upper case", 36.88108),
        ("bullfrog",): ("lower case", -16.74359),
    }
    calls = table_rows(any_engine, "stop_times")
    assert {k: r["stop_id"] for k, r in calls.items()} == {
        ("T1", 1): "BULLFROG",
        ("T1", 2): "bullfrog",
        ("t1", 1): "bullfrog",
    }
    # Selecting by id finds exactly that id, as the ORM compares it.
    with any_engine.connect() as conn:
        found = conn.execute(sa.text("SELECT stop_name FROM stops WHERE stop_id = 'BULLFROG'"))
        assert found.scalars().all() == ["Upper case"]


CASE_INSENSITIVE = {
    "sqlite": "NOCASE",
    "postgresql": "treeshape_ci",
    "mariadb": "utf8mb4_general_ci",
}


def _case_insensitive_stops(engine: sa.Engine) -> None:
    """The example's tables, but with stop ids compared case-insensitively (what a table made
    without the binary collation has on MariaDB): the database would merge BULLFROG/bullfrog."""
    kind = "mariadb" if engine.dialect.name == "mysql" else engine.dialect.name
    metadata = sa.MetaData()
    for table in importer.Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    for table, column in (
        ("stops", "stop_id"),
        ("stops", "parent_station"),
        ("stop_times", "stop_id"),
    ):
        metadata.tables[table].c[column].type = sa.String(64, collation=CASE_INSENSITIVE[kind])
    with engine.begin() as conn:
        if kind == "postgresql":
            conn.exec_driver_sql(
                "CREATE COLLATION treeshape_ci "
                "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
            )
        metadata.create_all(conn)


def test_ids_the_database_would_merge_are_reported_not_merged(
    any_engine: sa.Engine, make_zip: MakeZip
) -> None:
    """Where the table compares ids case-insensitively, the second id is a duplicate for the
    database: it is reported with its file, line and key, and the first row keeps its values
    (an upsert would have overwritten them)."""
    _case_insensitive_stops(any_engine)
    report = import_feed(make_zip("case.zip", CASE_FEED), any_engine, progress=False)
    problems = {(p.file, p.line): p.reason for p in report.problems}
    assert set(problems) == {("stops.txt", 3), ("stop_times.txt", 3), ("stop_times.txt", 4)}
    for word in ("duplicate stop_id", "'bullfrog'", "'BULLFROG'", "line 2", "collation"):
        assert word in problems[("stops.txt", 3)]
    assert "stop_id 'bullfrog' is not in stops.txt" in problems[("stop_times.txt", 3)]
    assert all(p.skipped for p in report.problems)
    assert counts(any_engine) == report.rows
    assert report.rows["stops"] == 1
    stops = table_rows(any_engine, "stops")
    assert [(r["stop_id"], r["stop_name"]) for r in stops.values()] == [("BULLFROG", "Upper case")]
    # A second import of the same feed reports the same and still changes nothing.
    again = import_feed(make_zip("again.zip", CASE_FEED), any_engine, progress=False)
    assert again.problems == report.problems
    assert table_rows(any_engine, "stops") == stops
