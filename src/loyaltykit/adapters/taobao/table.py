"""A report file as a header and a stream of rows, whatever its format.

Rows are read one at a time (constant memory for any file size) and carry the physical line
where they start, which is what a seller sees in a text editor; for xlsx it is the sheet row.
Structural damage (bad bytes, a quote that never closes, a runaway field, a corrupt
workbook) raises :class:`InputError` at once, because nothing after it can be trusted.
"""

from __future__ import annotations

import codecs
import csv
import warnings
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from loyaltykit.adapters.taobao.headers import column_label
from loyaltykit.adapters.taobao.sniff import Format, detect_format, sniff_encoding
from loyaltykit.errors import InputError, InputProblem

_CHUNK = 1 << 20  # longest piece of a physical line read at once
_FLOAT_EXACT = 2**53


@dataclass(frozen=True, slots=True)
class RawRow:
    line: int
    cells: list[str]


class Table:
    """An opened report. ``rows()`` can be iterated once; ``done`` counts progress units."""

    def __init__(self, path: Path, encoding: str = "auto") -> None:
        self.path = path
        self.name = path.name
        self.format = detect_format(path)
        self.total = path.stat().st_size if self.format is Format.CSV else None
        self.encoding = sniff_encoding(path, encoding) if self.format is Format.CSV else "xlsx"
        self.done = 0
        self._reader: _CsvReader | _XlsxReader = (
            _CsvReader(self) if self.format is Format.CSV else _XlsxReader(self))
        try:
            self.header_line, self.header = self._reader.header()
        except BaseException:
            self._reader.close()
            raise

    def rows(self) -> Iterator[RawRow]:
        return self._reader.rows()

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fail(self, line: int | None, field: str | None, message: str, hint: str = "") -> InputError:
        return InputError([InputProblem(self.name, line, field, message, hint)])


class _CsvReader:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._handle: IO[bytes] = table.path.open("rb")
        self._decoder = codecs.getincrementaldecoder(table.encoding)("strict")
        self._completed = 0  # physical lines fully read
        self._record: list[str] = []  # text of the record being parsed, to locate errors
        self.delimiter = self._delimiter()
        self._records = self._parse(self.delimiter)

    def _delimiter(self) -> str:
        first = self._handle.readline(_CHUNK).decode(self._table.encoding, "replace")
        self._handle.seek(0)
        return "\t" if first.count("\t") > first.count(",") else ","

    def header(self) -> tuple[int, list[str]]:
        for row in self.rows():
            return row.line, row.cells
        raise self._table.fail(1, None, "the file is empty: it has no header row",
                               "download the report again from the seller center")

    def rows(self) -> Iterator[RawRow]:
        for line, cells in self._records:
            if any(cell.strip() for cell in cells):
                yield RawRow(line, cells)

    def close(self) -> None:
        self._handle.close()

    def _lines(self) -> Iterator[str]:
        while True:
            chunk = self._handle.readline(_CHUNK)
            if not chunk:
                self._decode(b"", final=True)
                return
            self._table.done += len(chunk)
            text = self._decode(chunk, final=False)
            if chunk.endswith(b"\n"):
                self._completed += 1
            self._record.append(text)
            yield text

    def _decode(self, chunk: bytes, *, final: bool) -> str:
        try:
            return str(self._decoder.decode(chunk, final))
        except UnicodeDecodeError as exc:
            before = exc.object[:exc.start].decode(self._table.encoding, "replace")
            text = "".join(self._record) + before
            label = column_label(*_header_name(self._table, _open_field(text, self.delimiter)))
            if final and exc.end >= len(exc.object):
                raise self._table.fail(
                    self._completed + 1, label, "the file ends in the middle of a character:"
                    " it was cut short", "download the report again") from None
            raise self._table.fail(
                self._completed + 1, label, f"the bytes {exc.object[exc.start:exc.end]!r} are"
                f" not valid {self._table.encoding} text (wrong encoding, or part of the file"
                " was saved in another one)", "seller-center CSVs are GBK: try --encoding"
                " gb18030, or --encoding utf-8 for re-saved copies") from None

    def _parse(self, delimiter: str) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(self._lines(), delimiter=delimiter, strict=True)
        while True:
            start = self._completed + 1
            self._record.clear()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise self._csv_failure(start, str(exc), delimiter) from None
            yield start, cells

    def _csv_failure(self, start: int, detail: str, delimiter: str) -> InputError:
        text = "".join(self._record)
        label = column_label(*_header_name(self._table, _open_field(text, delimiter)))
        if "field limit" in detail:
            return self._table.fail(
                start, label, f"a field is longer than {csv.field_size_limit()} characters",
                "a quote is probably missing, or the file is not a seller-center export")
        if "end of data" in detail or "EOF" in detail:
            return self._table.fail(
                start, label, "the file ends inside a quoted field: it was cut short",
                "download the report again")
        return self._table.fail(start, label, f"badly quoted field ({detail})",
                                "re-export the report; do not edit it by hand")


def _open_field(text: str, delimiter: str) -> int:
    """Index of the field being read when parsing broke off: the first one longer than
    the csv module's limit, else the last one begun."""
    limit = csv.field_size_limit()
    index, quoted, position, length = 0, False, 0, 0
    while position < len(text) and length <= limit:
        char = text[position]
        length += 1
        if quoted and char == '"':
            if text[position + 1:position + 2] == '"':
                position += 1
            else:
                quoted = False
        elif not quoted and char == '"':
            quoted = True
        elif not quoted and char == delimiter:
            index, length = index + 1, 0
        position += 1
    return index


def _header_name(table: Table, index: int) -> tuple[str, int]:
    header = getattr(table, "header", None)
    if header is not None and index < len(header):
        return header[index].strip(), index
    return "", index


class _XlsxReader:
    """First worksheet of a workbook, streamed with openpyxl's read-only mode."""

    def __init__(self, table: Table) -> None:
        import openpyxl

        self._table = table
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about styles it does not need
                self._book = openpyxl.load_workbook(table.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise table.fail(None, None, f"the workbook cannot be opened ({exc})",
                             "it may be cut short: download it again") from None
        if not self._book.worksheets:
            self._book.close()
            raise table.fail(None, None, "the workbook has no worksheet",
                             "download the report again from the seller center")
        sheet = self._book.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong size; read what is there
        self._sheet = sheet
        self._rows = self._iterate()

    def header(self) -> tuple[int, list[str]]:
        for row in self.rows():
            return row.line, row.cells
        raise self._table.fail(1, None, "the workbook's first sheet is empty",
                               "download the report again from the seller center")

    def rows(self) -> Iterator[RawRow]:
        for line, values in self._rows:
            cells = [_cell_text(value) for value in values]
            if any(cell.strip() for cell in cells):
                yield RawRow(line, cells)

    def _iterate(self) -> Generator[tuple[int, tuple[Any, ...]], None, None]:
        line = 0
        try:
            for line, values in enumerate(self._sheet.iter_rows(values_only=True), start=1):
                self._table.done = line
                yield line, values
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
            raise self._table.fail(line + 1, None, f"the workbook is damaged ({exc})",
                                   "download it again") from None

    def close(self) -> None:
        self._rows.close()  # releases the sheet's open zip member before the archive
        self._book.close()


def _cell_text(value: Any) -> str:
    """A cell as the text the CSV export would hold, so one parser serves both formats."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _FLOAT_EXACT:
            return str(int(value))
        return repr(value)  # shortest text that round-trips: what Excel displays
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)
