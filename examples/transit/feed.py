"""Reading the CSV files of a GTFS feed, with line numbers, whatever the zip looks like.

Real feeds differ in everything the GTFS reference leaves open or that producers get wrong:
UTF-8 byte order marks, CRLF line ends, whitespace around values and header names, files in a
folder inside the zip, missing optional files. This module hides all of that and yields plain
`Record`s (a header-keyed dict of stripped strings and the line it started on), so that the
importer only deals with meaning.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO


class FeedError(Exception):
    """The source is not a readable GTFS feed at all (no such file, not a zip, no GTFS files)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One data row of a feed file: values by column name, and where the row starts."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class MalformedRow:
    """A row the CSV layer itself cannot use (wrong number of fields)."""

    line: int
    reason: str


class _Lines:
    """The decoded lines of a binary stream, for csv.reader, keeping count of what it read.

    Decoding line by line (rather than through a TextIOWrapper, which decodes big chunks) is
    what lets an invalid UTF-8 sequence be reported on its own line and the rest still load:
    such a line is decoded with replacement characters and its number remembered.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.bytes_read = 0
        self.number = 0
        self.undecodable: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for raw in self._raw:
            self.number += 1
            self.bytes_read += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.undecodable[self.number] = (
                    f"not valid UTF-8 (byte {exc.object[exc.start : exc.end]!r} at column "
                    f"{exc.start + 1})"
                )
                text = raw.decode("utf-8", errors="replace")
            if self.number == 1:
                text = text.removeprefix("\ufeff")
            yield text

    def close(self) -> None:
        self._raw.close()


class Feed:
    """A GTFS feed: a zip file, or a directory of `.txt` files (handy for hand-made feeds).

    Files are found by their base name, so a zip that keeps them in a folder
    (`google_transit/stops.txt`) reads the same as one that keeps them at the top.
    """

    def __init__(self, source: str | Path) -> None:
        self.source = Path(source)
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, str] = {}
        self._sizes: dict[str, int] = {}
        if not self.source.exists():
            raise FeedError(f"{self.source}: no such file")
        if self.source.is_dir():
            for path in sorted(self.source.glob("*.txt")):
                self._members[path.name] = str(path)
                self._sizes[path.name] = path.stat().st_size
        else:
            try:
                self._zip = zipfile.ZipFile(self.source)
            except (zipfile.BadZipFile, OSError) as exc:
                raise FeedError(f"{self.source}: not a zip file ({exc})") from None
            for info in self._zip.infolist():
                name = PurePosixPath(info.filename).name
                # The first file of a name wins; macOS resource forks (__MACOSX/._x) never do.
                if (
                    not info.is_dir()
                    and name.endswith(".txt")
                    and "__MACOSX" not in info.filename
                    and name not in self._members
                ):
                    self._members[name] = info.filename
                    self._sizes[name] = info.file_size

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    @property
    def files(self) -> list[str]:
        """The base names of the feed's `.txt` files."""
        return sorted(self._members)

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def size(self, name: str) -> int:
        """The uncompressed size of a file in bytes (the progress bar's total)."""
        return self._sizes[name]

    def _open_binary(self, name: str) -> IO[bytes]:
        member = self._members[name]
        if self._zip is not None:
            return self._zip.open(member)
        return open(member, "rb")  # closed with the TextIOWrapper over it

    def read(
        self, name: str, on_bytes: Callable[[int], None] | None = None
    ) -> tuple[list[str], Iterator[Record | MalformedRow]]:
        """The header (stripped, BOM removed) and an iterator over the rows of one file.

        `on_bytes(n)` is called now and then with the number of bytes read so far. Blank lines
        are skipped; a row with a different number of fields than the header, or with bytes
        that are not UTF-8, comes out as a `MalformedRow`. A header that cannot be read, or a
        CSV error (such as a NUL byte), raises `FeedError` naming the file and line.
        """
        lines = _Lines(self._open_binary(name))
        reader = csv.reader(iter(lines))
        try:
            header = [column.strip() for column in next(reader, [])]
        except csv.Error as exc:
            lines.close()
            raise FeedError(f"{name}:1: cannot read the header ({exc})") from None
        if 1 in lines.undecodable:
            lines.close()
            raise FeedError(f"{name}:1: header {lines.undecodable[1]}")
        return header, self._rows(name, header, reader, lines, on_bytes)

    @staticmethod
    def _rows(
        name: str,
        header: list[str],
        reader: Iterator[list[str]],
        lines: _Lines,
        on_bytes: Callable[[int], None] | None,
    ) -> Iterator[Record | MalformedRow]:
        width = len(header)
        try:
            while True:
                first = lines.number + 1  # the record's first line (a quoted field may span more)
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    raise FeedError(f"{name}:{first}: cannot read the file ({exc})") from None
                if on_bytes is not None and first % 1000 == 0:
                    on_bytes(lines.bytes_read)
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                bad = [lines.undecodable[n] for n in range(first, lines.number + 1)
                       if n in lines.undecodable]  # fmt: skip
                if bad:
                    yield MalformedRow(first, bad[0])
                elif len(fields) != width:
                    yield MalformedRow(first, f"has {len(fields)} fields, the header has {width}")
                else:
                    yield Record(first, {h: v.strip() for h, v in zip(header, fields, strict=True)})
        finally:
            lines.close()
            if on_bytes is not None:
                on_bytes(lines.bytes_read)
