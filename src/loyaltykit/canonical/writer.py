"""Writing canonical files, for generators and adapters that convert another format."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO

from loyaltykit.canonical.columns import CUSTOMERS, FORMATS


def _text(value: object) -> str:
    """One cell. Floats are refused: a binary fraction is not an amount of money."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, float)):
        raise TypeError(f"cannot write {value!r}: use str, int, Decimal, date or datetime")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"datetime {value.isoformat()} has no timezone; add one")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to a canonical file")


class ShopWriter:
    """Writes the four canonical files side by side, so a generator or an adapter can emit an
    order with its lines and refunds without holding anything in memory.

    Files are written under temporary names and renamed on a clean exit from the ``with``
    block, so a failed conversion never leaves a half-written set behind. Values are written
    as given (only the reader validates); rows are mappings of column name to value.
    """

    def __init__(self, directory: Path, *, customer_attributes: Sequence[str] = ()) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.counts = {fmt.name: 0 for fmt in FORMATS}
        self.columns: dict[str, tuple[str, ...]] = {}
        self._outputs: list[tuple[str, tuple[str, ...], frozenset[str], IO[str],
                                  Callable[[Iterable[str]], object]]] = []
        for fmt in FORMATS:
            columns = fmt.columns + (tuple(customer_attributes) if fmt is CUSTOMERS else ())
            handle = self._temporary(fmt.name).open("w", encoding="utf-8", newline="")
            writer = csv.writer(handle, lineterminator="\r\n")  # quotes \r on every Python
            writer.writerow(columns)
            self._outputs.append((fmt.name, columns, frozenset(columns), handle, writer.writerow))
            self.columns[fmt.name] = columns
        self._position = {name: index for index, name in enumerate(self.columns)}

    def _temporary(self, name: str) -> Path:
        return self.directory / f".{name}.partial"

    def customer(self, row: Mapping[str, object]) -> None:
        self._write(0, row)

    def order(self, row: Mapping[str, object]) -> None:
        self._write(1, row)

    def refund(self, row: Mapping[str, object]) -> None:
        self._write(2, row)

    def line(self, row: Mapping[str, object]) -> None:
        self._write(3, row)

    def append(self, name: str, cells: Sequence[str]) -> None:
        """Write one row of ``name`` given as text in the order of ``columns[name]``, without
        conversion or checks: the fast path for generators that already hold text."""
        self._outputs[self._position[name]][4](cells)
        self.counts[name] += 1

    def _write(self, which: int, row: Mapping[str, object]) -> None:
        name, columns, known, _, writerow = self._outputs[which]
        if not row.keys() <= known:
            unknown = sorted(row.keys() - known)
            raise ValueError(f"{name} has no column {', '.join(unknown)}; columns: "
                             f"{', '.join(columns)}")
        writerow([v if type(v) is str else _text(v) for v in map(row.get, columns)])
        self.counts[name] += 1

    def close(self, *, keep: bool = True) -> None:
        """Finish: rename the files into place, or with ``keep=False`` delete them."""
        for name, _, _, handle, _ in self._outputs:
            handle.close()
            if keep:
                os.replace(self._temporary(name), self.directory / name)
            else:
                self._temporary(name).unlink(missing_ok=True)
        self._outputs = []

    def __enter__(self) -> ShopWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close(keep=kind is None)


def write_shop_files(directory: Path, *, customers: Iterable[Mapping[str, object]],
                     orders: Iterable[Mapping[str, object]],
                     refunds: Iterable[Mapping[str, object]] = (),
                     lines: Iterable[Mapping[str, object]] = ()) -> None:
    """Write a complete canonical set (all four files; empty ones get just the header).

    Customer columns beyond the standard ones are taken from the first customer row.
    """
    rows = iter(customers)
    first = next(rows, None)
    extras = [key for key in first if key not in CUSTOMERS.columns] if first else []
    with ShopWriter(directory, customer_attributes=extras) as writer:
        if first is not None:
            writer.customer(first)
        for row in rows:
            writer.customer(row)
        for row in orders:
            writer.order(row)
        for row in refunds:
            writer.refund(row)
        for row in lines:
            writer.line(row)
