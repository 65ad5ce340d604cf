"""Turning a feed's text values into typed column values, or a reason why not.

The converters are derived from the models' columns (type, length, nullability), so the models
stay the single description of what a valid row is; the few rules the column types cannot say
(GTFS enumerations, coordinates) are listed in `EXTRA_CHECKS`, and the values stored in another
form than the feed's text (times of day, zero-padded) have their own converter in `CONVERTERS`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, Date, Float, Integer, String, Table

from treeshape.inspection import PRIVATE_INFO_KEY

Converter = Callable[[str], Any]


class InvalidValue(ValueError):
    """A value that does not fit its column; the message says why, for the report."""


def _to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not an integer") from None


def _to_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidValue(f"{text!r} is not a finite number")
    return value


_DATE = re.compile(r"\d{8}")


def _to_date(text: str) -> dt.date:
    """GTFS dates are YYYYMMDD, nothing else (no dashes, no two-digit years)."""
    if not _DATE.fullmatch(text):
        raise InvalidValue(f"{text!r} is not a YYYYMMDD date")
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise InvalidValue(f"{text!r} is not a valid date") from None


def _to_bool(text: str) -> bool:
    """Calendar days are 0 or 1; "true"/"yes" are not GTFS and usually hide a broken export."""
    if text == "1":
        return True
    if text == "0":
        return False
    raise InvalidValue(f"{text!r} is not 0 or 1")


def _text(max_length: int | None) -> Converter:
    def convert(text: str) -> str:
        if max_length is not None and len(text) > max_length:
            raise InvalidValue(f"is {len(text)} characters long, at most {max_length} allowed")
        return text

    return convert


_TIME = re.compile(r"(\d{1,2}):([0-5]\d):([0-5]\d)")


def _to_time(text: str) -> str:
    """A GTFS time of day as ``HH:MM:SS``, zero-padded.

    GTFS allows ``H:MM:SS`` (``8:15:00``) as well as ``HH:MM:SS``, and hours past 23 for service
    after midnight (``25:10:00``), so the column stays text rather than a SQL ``time``. Padding
    the hour is what makes that text sort in time order (``08:15:00`` before ``10:00:00``), in
    Python and in every database's ``ORDER BY``: the stop page's "first departures of the day"
    are ordered by ``departure_time`` in SQL.
    """
    match = _TIME.fullmatch(text)
    if match is None:
        raise InvalidValue(f"{text!r} is not a H:MM:SS time")
    hours, minutes, seconds = match.groups()
    return f"{int(hours):02d}:{minutes}:{seconds}"


def _one_of(*allowed: int) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value not in allowed:
            raise InvalidValue(f"{value!r} is not one of {', '.join(map(str, allowed))}")

    return check


def _between(low: float, high: float) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not low <= value <= high:
            raise InvalidValue(f"{value!r} is not between {low:g} and {high:g}")

    return check


def _non_negative(value: Any) -> None:
    if value < 0:
        raise InvalidValue(f"{value!r} is negative")


# (table, column) -> a check on the converted value, for rules beyond the column type.
EXTRA_CHECKS: dict[tuple[str, str], Callable[[Any], None]] = {
    ("routes", "route_type"): _non_negative,  # 0-12 and the extended types 100-1702
    ("routes", "route_sort_order"): _non_negative,
    ("trips", "direction_id"): _one_of(0, 1),
    ("trips", "wheelchair_accessible"): _one_of(0, 1, 2),
    ("trips", "bikes_allowed"): _one_of(0, 1, 2),
    ("stop_times", "stop_sequence"): _non_negative,
    ("stop_times", "pickup_type"): _one_of(0, 1, 2, 3),
    ("stop_times", "drop_off_type"): _one_of(0, 1, 2, 3),
    ("stop_times", "timepoint"): _one_of(0, 1),
    ("stop_times", "shape_dist_traveled"): _non_negative,
    ("stops", "stop_lat"): _between(-90, 90),
    ("stops", "stop_lon"): _between(-180, 180),
    ("stops", "location_type"): _one_of(0, 1, 2, 3, 4),
    ("stops", "wheelchair_boarding"): _one_of(0, 1, 2),
}


# (table, column) -> the converter of a column whose text needs more than its type says.
CONVERTERS: dict[tuple[str, str], Converter] = {
    ("stop_times", "arrival_time"): _to_time,
    ("stop_times", "departure_time"): _to_time,
}


def _converter(column: Column[Any]) -> Converter:
    special = CONVERTERS.get((column.table.name, column.name))
    if special is not None:
        return special
    kind = column.type
    if isinstance(kind, Boolean):
        return _to_bool
    if isinstance(kind, Integer):
        return _to_int
    if isinstance(kind, Float):
        return _to_float
    if isinstance(kind, Date):
        return _to_date
    if isinstance(kind, String):
        return _text(kind.length)
    raise TypeError(f"no GTFS converter for {column.table.name}.{column.name}: {kind!r}")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    convert: Converter
    required: bool
    check: Callable[[Any], None] | None


def feed_columns(table: Table) -> list[Column[Any]]:
    """The columns a feed fills: all but the private ones (``info={"treeshape_private": True}``),
    which belong to the operator, so a feed can neither set them nor wipe them on re-import."""
    return [column for column in table.columns if not column.info.get(PRIVATE_INFO_KEY)]


class RowConverter:
    """Converts a feed row (column name -> text) into a row for one table.

    Every column of the table is present in the result, `None` where the feed has no such
    column or an empty value, so that batches share one set of keys (one executemany) and a
    re-import overwrites a value the feed no longer has. Columns the table does not know, and
    private columns (see `feed_columns`), are ignored.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.fields = [
            FieldSpec(
                column.name,
                _converter(column),
                required=not column.nullable,
                check=EXTRA_CHECKS.get((table.name, column.name)),
            )
            for column in feed_columns(table)
        ]
        self.required = [spec.name for spec in self.fields if spec.required]

    def convert(self, values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
        """The typed row and the list of problems (empty if the row is valid)."""
        row: dict[str, Any] = {}
        problems: list[str] = []
        for spec in self.fields:
            text = values.get(spec.name, "")
            if text == "":
                row[spec.name] = None
                if spec.required:
                    problems.append(f"{spec.name} is required")
                continue
            try:
                value = spec.convert(text)
                if spec.check is not None:
                    spec.check(value)
            except InvalidValue as exc:
                problems.append(f"{spec.name}: {exc}")
                row[spec.name] = None
            else:
                row[spec.name] = value
        return row, problems
