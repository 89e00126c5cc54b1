"""Files a seller uploads back to the seller center, since a small shop has no API.

Customer lists (per tier, segment or tag), coupon recipient lists and grade assignments,
all keyed by 买家会员名, the one identifier every seller tool accepts. The functions take
plain rows, so they work with any source of customers.

Encodings, because a garbled file is a file nobody uploads:

- ``csv-gbk`` (default): GBK with CRLF, the encoding the seller center writes its own
  CSVs in and that a Chinese-locale Excel or WPS opens by double-click. A value GBK cannot
  hold (a rare character, an emoji) is refused with its row, not replaced by "?".
- ``csv-utf8``: UTF-8 with a BOM; Excel and WPS open it without garbling in any locale.
- ``xlsx``: every value is written as text, so ids and codes keep their digits and a value
  starting with "=" is never taken for a formula.

Files are written to a temporary name and renamed at the end: a failed export leaves no
half-written file behind.
"""

from __future__ import annotations

import csv
import enum
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

MEMBER = "买家会员名"
TAOBAO_GRADES = ("店铺客户", "普通会员", "高级会员", "VIP会员", "至尊VIP会员")


class ExportFormat(str, enum.Enum):
    CSV_GBK = "csv-gbk"
    CSV_UTF8 = "csv-utf8"
    XLSX = "xlsx"

    @property
    def suffix(self) -> str:
        return ".xlsx" if self is ExportFormat.XLSX else ".csv"


@dataclass(frozen=True, slots=True)
class CustomerRow:
    customer_id: str
    tier: str = ""
    segment: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CouponRow:
    customer_id: str
    code: str
    value_type: str  # "fixed_amount" or "percentage", as in commands.IssueDiscount
    value: Decimal
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GradeRow:
    customer_id: str
    grade: str  # one of TAOBAO_GRADES


def write_table(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[str]], fmt: ExportFormat
) -> int:
    """Write one sheet atomically; returns the number of data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if fmt is ExportFormat.XLSX:
            count = _write_xlsx(Path(temporary), header, rows)
        else:
            count = _write_csv(Path(temporary), header, rows, fmt, path.name)
        os.replace(temporary, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
    return count


def _write_csv(temporary: Path, header: Sequence[str], rows: Iterable[Sequence[str]],
               fmt: ExportFormat, name: str) -> int:
    encoding = "gbk" if fmt is ExportFormat.CSV_GBK else "utf-8-sig"
    count = 0
    with temporary.open("w", encoding=encoding, errors="strict", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for count, row in enumerate(rows, start=1):
            try:
                writer.writerow(row)
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"{name} row {count + 1}: {exc.object[exc.start:exc.end]!r} cannot be"
                    " written in GBK; export as csv-utf8 or xlsx instead") from None
    return count


def _write_xlsx(temporary: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    count = 0

    def text_cells(values: Sequence[str]) -> list[WriteOnlyCell]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # never a formula or a number, whatever the text looks like
            cell.number_format = "@"
            cells.append(cell)
        return cells

    sheet.append(text_cells(header))
    for row in rows:
        sheet.append(text_cells(row))
        count += 1
    book.save(temporary)
    return count


def write_member_list(path: Path, customer_ids: Iterable[str], fmt: ExportFormat) -> int:
    """One column, 买家会员名: the list a seller pastes or uploads to build a customer group."""
    return write_table(path, [MEMBER], ([_member(c)] for c in customer_ids), fmt)


def write_lists(
    directory: Path, rows: Iterable[CustomerRow], by: str, fmt: ExportFormat
) -> dict[str, Path]:
    """One member list per tier, segment or tag, named ``<by>-<value>``; returns them.

    Rows are grouped in memory by value (a list of names per group), which is fine for
    the customer counts of a shop that uploads lists by hand.
    """
    if by not in ("tier", "segment", "tag"):
        raise ValueError(f"cannot group customer lists by {by!r}: use tier, segment or tag")
    groups: dict[str, list[str]] = {}
    for row in rows:
        values = row.tags if by == "tag" else ((row.tier,) if by == "tier" else (row.segment,))
        for value in values:
            if value:
                groups.setdefault(value, []).append(row.customer_id)
    written = {}
    for value in sorted(groups):
        path = directory / f"{by}-{safe_name(value)}{fmt.suffix}"
        write_member_list(path, sorted(groups[value]), fmt)
        written[value] = path
    return written


def write_coupon_recipients(
    path: Path, rows: Iterable[CouponRow], fmt: ExportFormat, *, tz: tzinfo | None = None
) -> int:
    """买家会员名, 优惠码, 优惠 (``5.00元`` or ``9折``), 有效期至 in the shop's local time."""
    zone = tz or ZoneInfo("Asia/Shanghai")
    return write_table(path, [MEMBER, "优惠码", "优惠", "有效期至"], (
        [_member(r.customer_id), r.code, _benefit(r), _local(r.ends_at, zone)] for r in rows), fmt)


def write_grades(path: Path, rows: Iterable[GradeRow], fmt: ExportFormat) -> int:
    """买家会员名, 会员等级: each customer's grade in the shop's Taobao CRM."""
    return write_table(path, [MEMBER, "会员等级"], (
        [_member(r.customer_id), _grade(r)] for r in rows), fmt)


def _member(customer_id: str) -> str:
    if not customer_id.strip():
        raise ValueError("a row has an empty customer id (买家会员名)")
    return customer_id


def _grade(row: GradeRow) -> str:
    if row.grade not in TAOBAO_GRADES:
        raise ValueError(f"{row.customer_id}: grade {row.grade!r} is not a Taobao CRM grade;"
                         f" map tiers to one of {', '.join(TAOBAO_GRADES)}")
    return row.grade


def _benefit(row: CouponRow) -> str:
    if row.value_type == "fixed_amount":
        return f"{row.value.quantize(Decimal('0.01'))}元"
    if row.value_type == "percentage":
        # 10% off is 9折: the customer pays nine tenths.
        tenths = ((Decimal(100) - row.value) / 10).normalize()
        return f"{tenths:f}折"
    raise ValueError(f"unknown coupon value type {row.value_type!r}")


def _local(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def safe_name(value: str) -> str:
    """A group value as a file name: path separators and control characters replaced."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", value).strip(" .") or "_"
