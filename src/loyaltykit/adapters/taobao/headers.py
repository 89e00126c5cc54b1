"""Header names of the seller-center reports, their aliases, and matching by name.

Exports changed layout many times (28, 41, 44, 46, 54 and 67 columns, then a 21-column xlsx),
renamed a few columns (买家实际支付金额 -> 买家实付金额, 宝贝标题 -> 商品标题) and padded
names with blanks ("收货地址 "). Columns are therefore found by name, never by position;
unknown columns are ignored so the next layout change does not break an import.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from loyaltykit.adapters.taobao.values import clean_text
from loyaltykit.errors import InputError, InputProblem


class Report(str, enum.Enum):
    ORDERS = "orders"  # 订单报表 ExportOrderList*.csv
    ITEMS = "items"  # 宝贝报表 ExportOrderDetailList*.csv
    REFUNDS = "refunds"  # 退款报表
    REFERRALS = "referrals"  # loyaltykit's own small CSV

    @property
    def label(self) -> str:
        return _TITLES[self]


_TITLES = {
    Report.ORDERS: "order report (订单报表)",
    Report.ITEMS: "item report (宝贝报表)",
    Report.REFUNDS: "refund report (退款报表)",
    Report.REFERRALS: "referral list",
}


@dataclass(frozen=True, slots=True)
class Column:
    """One logical column: its canonical key and every header name it has had."""

    key: str
    names: tuple[str, ...]
    required: bool = False


def _col(key: str, *names: str, required: bool = False) -> Column:
    return Column(key, names, required)


SPECS: dict[Report, tuple[Column, ...]] = {
    Report.ORDERS: (
        _col("order_id", "订单编号", required=True),
        _col("buyer", "买家会员名", "买家昵称", "买家会员名称", required=True),
        _col("alipay_account", "买家支付宝账号"),
        _col("paid_amount", "买家实际支付金额", "买家实付金额", required=True),
        _col("total_amount", "总金额"),
        _col("postage", "买家应付邮费"),
        _col("status", "订单状态", required=True),
        _col("address", "收货地址"),
        _col("modified_address", "修改后的收货地址"),
        _col("telephone", "联系电话"),
        _col("mobile", "联系手机"),
        _col("buyer_mobile", "买家手机号"),
        _col("created_at", "订单创建时间", required=True),
        _col("paid_at", "订单付款时间"),
        _col("shipped_at", "发货时间"),
        _col("confirmed_at", "确认收货时间"),
        _col("title", "宝贝标题", "商品标题"),
        _col("item_count", "宝贝总数量"),
        _col("refund_amount", "退款金额"),
        _col("close_reason", "订单关闭原因"),
    ),
    Report.ITEMS: (
        _col("order_id", "订单编号", "主订单编号", required=True),
        _col("title", "标题", "商品标题", "宝贝标题"),
        _col("price", "价格", "商品价格", required=True),
        _col("quantity", "购买数量", required=True),
        _col("merchant_code", "商家编码"),
        _col("external_code", "外部系统编号"),
        _col("item_id", "商品ID"),
        _col("properties", "商品属性"),
        _col("status", "订单状态"),
    ),
    Report.REFUNDS: (
        _col("order_id", "订单编号", required=True),
        _col("refund_id", "退款编号", required=True),
        _col("buyer", "买家会员名称", "买家会员名", "买家昵称"),
        _col("amount", "买家退款金额", "退款金额", required=True),
        _col("status", "退款状态", required=True),
        _col("completed_at", "退款完结时间", required=True),
        _col("finished_at", "完结时间"),
    ),
    Report.REFERRALS: (
        _col("referee", "referee", "被推荐人", "买家会员名", required=True),
        _col("referrer_code", "referrer_code", "推荐码", "推荐人", required=True),
        _col("referred_at", "referred_at", "推荐时间"),
    ),
}


def normalize_name(raw: str) -> str:
    """Header names compare after trimming, NFKC (full-width letters) and ASCII lower case."""
    return unicodedata.normalize("NFKC", clean_text(raw)).strip().lower()


_LOOKUP: dict[Report, dict[str, Column]] = {
    report: {normalize_name(name): column for column in columns for name in column.names}
    for report, columns in SPECS.items()
}


def column_label(name: str, index: int) -> str:
    """How a column is named in messages: its header and its spreadsheet letter."""
    letter = f"column {get_column_letter(index + 1)}"
    return f"{name}, {letter}" if name else letter


@dataclass(frozen=True, slots=True)
class HeaderMap:
    """Where each known column sits in one file, and the header as found."""

    report: Report
    found: tuple[str, ...]
    index: dict[str, int]

    def label(self, key: str) -> str:
        return self.label_at(self.index[key])

    def label_at(self, position: int) -> str:
        name = self.found[position].strip() if 0 <= position < len(self.found) else ""
        return column_label(name, max(position, 0))


def match_header(report: Report, header: Sequence[str], file: str, line: int = 1) -> HeaderMap:
    """Map ``header`` onto ``report``'s columns, or raise naming every problem at once."""
    lookup = _LOOKUP[report]
    index: dict[str, int] = {}
    problems: list[InputProblem] = []
    for position, raw in enumerate(header):
        column = lookup.get(normalize_name(raw))
        if column is None:
            continue
        if column.key in index:
            first = index[column.key]
            problems.append(InputProblem(
                file, line, column_label(raw.strip(), position),
                f"duplicated column: {header[first].strip()!r} (column "
                f"{get_column_letter(first + 1)}) already holds {column.names[0]}",
                "keep one of the two columns"))
            continue
        index[column.key] = position
    missing = [c for c in SPECS[report] if c.required and c.key not in index]
    if missing:
        problems.append(_missing_problem(report, missing, header, file, line))
    if problems:
        raise InputError(problems)
    return HeaderMap(report, tuple(header), index)


def _missing_problem(
    report: Report, missing: Sequence[Column], header: Sequence[str], file: str, line: int
) -> InputProblem:
    names = ", ".join(" / ".join(c.names) for c in missing)
    found = ", ".join(h.strip() for h in header if h.strip()) or "nothing"
    hint = f"columns found: {found}"
    if report is Report.ORDERS and any(c.key == "buyer" for c in missing):
        hint = ("this export has no buyer column (the 21-column 千牛 export leaves it out), so"
                " customers cannot be told apart; export with 买家会员名 included. " + hint)
    return InputProblem(file, line, None, f"the {report.label} is missing the column {names}",
                        hint)


def detect_report(header: Sequence[str]) -> Report | None:
    """Which report a header belongs to: the one whose required columns it has most of.

    Returns None when no report has even half its required columns, which means the file is
    something else altogether (or was decoded with the wrong encoding).
    """
    names = {normalize_name(h) for h in header}
    best: tuple[float, Report] | None = None
    for report, columns in SPECS.items():
        required = [c for c in columns if c.required]
        hits = sum(1 for c in required if any(normalize_name(n) in names for n in c.names))
        score = hits / len(required)
        if score >= 0.5 and (best is None or score > best[0]):
            best = (score, report)
    return best[1] if best else None
