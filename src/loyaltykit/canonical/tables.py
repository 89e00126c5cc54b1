"""One canonical file on disk: presence, encoding, header, and its data rows.

Rows are plain ``csv.reader`` lists read by column index; a :class:`Table` knows which index each
column has and the file's content hash, which goes into every event's provenance and lets the
event pass refuse a file edited since validation.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from loyaltykit.canonical.columns import FileFormat
from loyaltykit.errors import InputProblem

_PROGRESS_EVERY = 10_000
_UTF8_HINT = ("re-save the file as UTF-8 (Excel: Save As > 'CSV UTF-8'); a GBK/GB18030 file "
              "converts with: iconv -f GB18030 -t UTF-8 in.csv > out.csv")


class StopReading(Exception):
    """Enough problems collected (or the rest of the file is unreadable): stop reading."""


class Problems:
    """The problems found so far; adding the one over ``limit`` stops the import, since a
    file with a systematic mistake would otherwise report it on every row."""

    def __init__(self, limit: int) -> None:
        self.items: list[InputProblem] = []
        self.limit = limit

    def add(self, file: str, line: int | None, column: str | None, message: str,
            hint: str = "") -> None:
        self.items.append(InputProblem(file, line, column, message, hint))
        if len(self.items) >= self.limit:
            self.items.append(InputProblem(file, None, None, f"stopped after {self.limit} "
                                           "problems", "fix these and run again"))
            raise StopReading


@dataclass(frozen=True, slots=True)
class Table:
    """One input file whose header is valid: where each column is, and its content hash."""

    format: FileFormat
    path: Path
    columns: dict[str, int]
    extras: tuple[tuple[str, int], ...]
    width: int
    digest: str

    @property
    def name(self) -> str:
        return self.format.name

    def source(self) -> tuple[str, str]:
        """Prefix and suffix of the provenance of a line: ``orders.csv:`` 17 `` sha256:…``."""
        return f"{self.format.name}:", f" sha256:{self.digest[:12]}"


def sha256_of(path: Path) -> str:
    """The content hash, read in chunks so a file of any size costs constant memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _encoding_problem(path: Path, name: str, problems: Problems) -> NoReturn:
    """Report the physical line of the first byte that is not UTF-8, then stop."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.add(name, number, None, "the file is not UTF-8 (byte "
                             f"0x{raw[exc.start]:02x} at line {number})", _UTF8_HINT)
                break
    raise StopReading


def open_table(directory: Path, fmt: FileFormat, problems: Problems) -> Table | None:
    """Check a file's presence, encoding and header; None when absent or unusable."""
    path = directory / fmt.name
    if not path.is_file():
        if fmt.required_file:
            problems.add(fmt.name, None, None, "required file is missing",
                         f"create {path} with the header: {','.join(fmt.required)}")
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, strict=True), None)
    except UnicodeDecodeError:
        _encoding_problem(path, fmt.name, problems)
    except csv.Error as exc:
        problems.add(fmt.name, 1, None, f"the header line is not valid CSV: {exc}",
                     "write the column names on the first line, separated by commas")
        return None
    names = [name.strip() for name in header or ()]
    if not any(names):
        problems.add(fmt.name, 1, None, "the file is empty",
                     f"the first line must be the header: {','.join(fmt.required)}")
        return None
    return _check_header(path, fmt, names, problems)


def _check_header(path: Path, fmt: FileFormat, names: list[str],
                  problems: Problems) -> Table | None:
    columns: dict[str, int] = {}
    ok = True
    for index, name in enumerate(names):
        if name in columns:
            problems.add(fmt.name, 1, name, f"column {name!r} appears twice in the header",
                         "keep one column of that name")
            ok = False
        elif name:  # Excel leaves unnamed trailing columns; they carry nothing
            columns[name] = index
    for name in fmt.required:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.add(fmt.name, 1, name, f"missing required column {name!r}; columns found: "
                         f"{', '.join(n for n in names if n) or 'none'}",
                         hint + f"the header needs: {','.join(fmt.required)}")
            ok = False
    if not ok:
        return None
    extras = tuple((n, i) for n, i in columns.items() if n not in fmt.columns)
    return Table(fmt, path, columns, extras, len(names), sha256_of(path))


class Progress:
    """Reports rows read so far every few thousand rows, cheaply enough for a hot loop."""

    def __init__(self, callback: Callable[[int], None] | None) -> None:
        self.callback = callback
        self.done = 0

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.callback is not None:
            self.callback(self.done)


def read_rows(table: Table, problems: Problems | None,
              progress: Progress | None = None) -> Iterator[tuple[int, list[str]]]:
    """Data rows with the physical line each starts on (quoted cells may span lines).

    Blank lines and all-empty rows are skipped; rows of the wrong width are reported.
    """
    name, width = table.name, table.width
    count = 0
    with table.path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            next(reader)
            last = reader.line_num
            for row in reader:
                line, last = last + 1, reader.line_num
                if len(row) == width:
                    if row[0] or any(row):
                        yield line, row
                        count += 1
                        if progress is not None and count == _PROGRESS_EVERY:
                            progress.advance(count)
                            count = 0
                elif any(row) and problems is not None:
                    problems.add(name, line, None, f"the line has {len(row)} cells but the "
                                 f"header has {width}", "put double quotes around cells that "
                                 "contain commas, and keep one cell per column")
        except UnicodeDecodeError:
            if problems is None:
                raise
            _encoding_problem(table.path, name, problems)
        except csv.Error as exc:
            if problems is None:
                raise
            problems.add(name, reader.line_num, None, f"the CSV quoting is broken: {exc}",
                         'a cell with commas, quotes or line breaks must be in double quotes, '
                         'with each quote inside it doubled ("")')
            raise StopReading from None
        if progress is not None and count:
            progress.advance(count)
