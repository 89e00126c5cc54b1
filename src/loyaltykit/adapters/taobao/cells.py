"""One data row seen through its header, with every bad value collected as a problem.

Parsers ask for columns by key ("paid_amount"), never by position. A value that does not
parse becomes an :class:`InputProblem` naming file, line and column, and parsing goes on so
that a file with ten problems reports all ten at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from loyaltykit.adapters.taobao.headers import HeaderMap
from loyaltykit.adapters.taobao.table import RawRow
from loyaltykit.adapters.taobao.values import clean_id, clean_text
from loyaltykit.errors import InputError, InputProblem

T = TypeVar("T")

MAX_CELL = 32767  # Excel's own cell limit: no genuine export holds a longer value
MAX_PROBLEMS = 1000
VALUE_HINT = "use the file as downloaded from the seller center; if it was edited, fix this cell"


class Problems:
    """Problems of one import, capped so that a hopeless file cannot exhaust memory."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.items: list[InputProblem] = []
        self.limit = limit
        self.dropped = 0

    def add(self, problem: InputProblem) -> None:
        if len(self.items) < self.limit:
            self.items.append(problem)
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def full(self) -> bool:
        return self.dropped > 0

    def raise_if_any(self) -> None:
        if self.items:
            problems = list(self.items)
            if self.dropped:
                problems.append(InputProblem(problems[-1].file, None, None,
                                             f"{self.dropped} more problems not listed"))
            raise InputError(problems)


class Cells:
    """The cells of one row, looked up by column key."""

    __slots__ = ("_header", "_problems", "_row", "file", "ok")

    def __init__(self, header: HeaderMap, row: RawRow, file: str, problems: Problems,
                 shape: RowShape) -> None:
        self._header = header
        self._row = row
        self._problems = problems
        self.file = file
        self.ok = self._check_shape(shape)

    @property
    def line(self) -> int:
        return self._row.line

    def has(self, key: str) -> bool:
        return key in self._header.index

    def text(self, key: str) -> str:
        """The trimmed cell, or "" when this layout has no such column."""
        position = self._header.index.get(key)
        if position is None or position >= len(self._row.cells):
            return ""
        return clean_text(self._row.cells[position])

    def parse(self, key: str, parser: Callable[[str], T], hint: str = VALUE_HINT) -> T | None:
        """``parser(cell)``, or None (and a problem) when it refuses the value."""
        position = self._header.index.get(key)
        if position is None or position >= len(self._row.cells):
            return None
        try:
            return parser(self._row.cells[position])
        except ValueError as exc:
            self.problem(key, str(exc), hint)
            return None

    def identifier(self, key: str, what: str) -> str | None:
        """A required id column: cleaned of Excel protection, never empty."""
        value = self.parse(key, clean_id)
        if value is None:
            return None
        if not value:
            self.problem(key, f"the {what} is empty", VALUE_HINT)
            return None
        return value

    def problem(self, key: str | None, message: str, hint: str = VALUE_HINT) -> None:
        label = self._header.label(key) if key is not None and self.has(key) else None
        self._problems.add(InputProblem(self.file, self.line, label, message, hint))
        self.ok = False

    def _check_shape(self, shape: RowShape) -> bool:
        problem = shape.check(self._row, self._header, self.file)
        if problem is not None:
            self._problems.add(problem)
            return False
        cells = self._row.cells[:shape.width]
        if max(map(len, cells), default=0) <= MAX_CELL:
            return True
        for position, cell in enumerate(cells):
            if len(cell) > MAX_CELL:
                self._problems.add(InputProblem(
                    self.file, self.line, self._header.label_at(position),
                    f"the value is {len(cell)} characters long; no export field is longer than"
                    f" {MAX_CELL}", "the file is damaged or is not a seller-center export"))
                return False
        return True


class RowShape:
    """How many fields the data rows of one file have.

    The item report ends every data row with a comma, one empty field more than its
    header; the first data row tells which kind of file this is, and every row must then
    agree, so a value with an unquoted comma shows up as one field too many.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.expected: int | None = None

    def check(self, row: RawRow, header: HeaderMap, file: str) -> InputProblem | None:
        cells, width = row.cells, self.width
        if self.expected is None:
            trailing = len(cells) == width + 1 and not cells[width].strip()
            self.expected = width + 1 if trailing else width
        if len(cells) > self.expected or any(c.strip() for c in cells[width:]):
            return InputProblem(
                file, row.line, header.label_at(min(len(cells) - 1, self.expected)),
                f"the row has {len(cells)} fields but the header has {width}",
                "a value holds an unquoted comma or the columns are shifted; re-export the"
                " report instead of editing it")
        if len(cells) < width:
            return InputProblem(
                file, row.line, header.label_at(len(cells)),
                f"the row has {len(cells)} fields but the header has {width}",
                "the line is cut short (an incomplete download?) or the columns are shifted")
        return None


def header_repeated(cells: Cells, key: str, names: tuple[str, ...]) -> bool:
    """A data row that is the header again: two exports were pasted into one file."""
    if cells.text(key) in names:
        cells.problem(key, "the header row appears again inside the data",
                      "two exports were joined into one file; import them separately")
        return True
    return False
