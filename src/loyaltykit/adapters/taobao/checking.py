"""The first pass of an import: read every file completely, ingest nothing.

Each file is recognised by its header, every row is parsed, and all problems of all files
are collected; only when there are none does the second pass write anything. Item lines
and refunds are parked in the :class:`Spill` on the way, so the second pass only re-reads
the order report and the referral list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from loyaltykit.adapters.taobao.cells import Cells, Problems, RowShape
from loyaltykit.adapters.taobao.headers import Report, detect_report, match_header
from loyaltykit.adapters.taobao.items import parse_item
from loyaltykit.adapters.taobao.orders import parse_order
from loyaltykit.adapters.taobao.referrals import parse_referral
from loyaltykit.adapters.taobao.refunds import parse_refund
from loyaltykit.adapters.taobao.spill import Spill
from loyaltykit.adapters.taobao.table import Table
from loyaltykit.adapters.taobao.values import OrderStatus
from loyaltykit.canonical.tables import sha256_of as file_sha256
from loyaltykit.errors import InputError, InputProblem

_EXPORT_STAMP = re.compile(r"ExportOrder(?:Detail)?List(\d{12})")
PROGRESS_EVERY = 1000


@dataclass(frozen=True, slots=True)
class Progress:
    """How far an import got: ``phase`` is "check" (first pass) or "import"."""

    phase: str
    file: str
    done: int
    total: int | None
    unit: str  # "bytes" for CSV, "rows" for xlsx


ProgressCallback = Callable[[Progress], None]


@dataclass
class FileSummary:
    """One input file as the import saw it."""

    path: Path
    report: Report
    sha256: str
    encoding: str
    rows: int = 0
    has_paid_column: bool = False
    latest_at: datetime | None = None
    export_stamp: datetime | None = None
    unknown_statuses: dict[str, tuple[int, int]] = field(default_factory=dict)
    refund_states: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def source(self, line: int) -> str:
        """Provenance of one row: ``file name:line sha256:<12 hex>``."""
        return f"{self.name}:{line} sha256:{self.sha256[:12]}"

    def as_of(self, override: datetime | None) -> datetime | None:
        """When the export was taken: the stated time, the file-name stamp, or its latest time."""
        return override or self.export_stamp or self.latest_at


def recognise(path: Path, encoding: str, given: Report | None) -> Report:
    """Which report a file is, from its header (or as the caller says)."""
    with Table(path, encoding) as table:
        report = given or detect_report(table.header)
        if report is None:
            found = ", ".join(h.strip() for h in table.header if h.strip())[:300]
            raise InputError([InputProblem(
                path.name, table.header_line, None,
                "not a known report: the header matches neither the order, item or refund"
                f" report nor the referral list (decoded as {table.encoding})",
                f"header found: {found}; if it looks garbled, pass the right --encoding")])
        match_header(report, table.header, path.name, table.header_line)
        return report


def check_file(
    path: Path,
    report: Report,
    *,
    encoding: str,
    tz: tzinfo,
    spill: Spill,
    problems: Problems,
    progress: ProgressCallback | None,
) -> FileSummary:
    sha = file_sha256(path)
    with Table(path, encoding) as table:
        header = match_header(report, table.header, path.name, table.header_line)
        summary = FileSummary(path, report, sha, table.encoding,
                              has_paid_column="paid_at" in header.index,
                              export_stamp=_stamp(path, tz))
        unit = "bytes" if table.total is not None else "rows"
        shape = RowShape(len(table.header))
        for row in table.rows():
            cells = Cells(header, row, path.name, problems, shape)
            _check_row(report, cells, summary, tz, spill)
            summary.rows += 1
            if progress and summary.rows % PROGRESS_EVERY == 0:
                progress(Progress("check", path.name, table.done, table.total, unit))
            if problems.full:
                break
        if progress:
            progress(Progress("check", path.name, table.done, table.total, unit))
    return summary


def _check_row(
    report: Report, cells: Cells, summary: FileSummary, tz: tzinfo, spill: Spill
) -> None:
    if report is Report.ORDERS:
        order = parse_order(cells, tz)
        if order is None:
            return
        if summary.latest_at is None or order.latest_at > summary.latest_at:
            summary.latest_at = order.latest_at
        if order.status is OrderStatus.UNKNOWN:
            count, first = summary.unknown_statuses.get(order.status_text, (0, order.line))
            summary.unknown_statuses[order.status_text] = (count + 1, first)
        spill.add_customer(order, summary.source(order.line))
    elif report is Report.ITEMS:
        item = parse_item(cells)
        if item is not None:
            spill.add_item(item)
    elif report is Report.REFUNDS:
        refund = parse_refund(cells, tz)
        if refund is None:
            return
        summary.refund_states[refund.status_text] = (
            summary.refund_states.get(refund.status_text, 0) + 1)
        if refund.succeeded:
            spill.add_refund(refund, summary.source(refund.line))
    else:
        parse_referral(cells, tz)


def _stamp(path: Path, tz: tzinfo) -> datetime | None:
    match = _EXPORT_STAMP.search(path.name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d%H%M").replace(tzinfo=tz)
    except ValueError:
        return None


def check_all(
    paths: Sequence[tuple[Path, Report]],
    *,
    encoding: str,
    tz: tzinfo,
    spill: Spill,
    progress: ProgressCallback | None,
) -> list[FileSummary]:
    """Check every file; raise one InputError with the problems of all of them."""
    problems = Problems()
    summaries = []
    for path, report in paths:
        try:
            summaries.append(check_file(
                path, report, encoding=encoding, tz=tz, spill=spill, problems=problems,
                progress=progress))
        except InputError as exc:
            for problem in exc.problems:
                problems.add(problem)
    problems.raise_if_any()
    spill.flush()
    return summaries
