"""Cell values as seller-center exports write them, made plain.

Every parser raises ``ValueError`` with a message a seller understands; the caller adds the
file, line and column. Nothing here guesses: a value that could mean two things is refused.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime, tzinfo
from decimal import Decimal

from loyaltykit.money import parse_decimal

# Excel turns long ids into 3.5E+16 when a seller opens and re-saves an export.
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_EXCEL_DECIMAL_TAIL = re.compile(r"^(\d+)\.0+$")
_POSTCODE_TAIL = re.compile(r"\s*[(（]\s*\d{6}\s*[)）]\s*$")
_PLAIN_AMOUNT = re.compile(r"\d{1,15}(\.\d{1,2})?\Z")
_FEN = Decimal("0.01")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)


def clean_text(raw: str) -> str:
    """Trim ASCII and full-width blanks and the tab Excel users add to keep digits as text."""
    return raw.strip(" \t\r\n\u3000\ufeff")


def clean_id(raw: str) -> str:
    """An id as written in an export: ``="35000000000000001"``, ``'3500...``, ``\\t3500...``."""
    text = clean_text(raw)
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    elif text.startswith("="):
        text = text[1:]
    text = clean_text(text.strip('"').lstrip("'"))
    if _SCIENTIFIC.match(text):
        raise ValueError(
            f"{raw!r} is an id that Excel turned into scientific notation, so its digits are lost;"
            " use the file as downloaded from the seller center, without re-saving it in Excel")
    match = _EXCEL_DECIMAL_TAIL.match(text)
    return match.group(1) if match else text


def clean_phone(raw: str) -> str | None:
    """A phone as written in an export (``'13800000000``), or None when empty or masked."""
    text = clean_id(raw).replace(" ", "").replace("-", "")
    if not text or is_masked(text):
        return None
    return text


def is_masked(value: str) -> bool:
    """Desensitised exports hide parts of names, phones and addresses behind asterisks."""
    return "*" in value or "＊" in value


def clean_address(raw: str) -> str | None:
    """An address normalised for comparison, or None when empty or masked.

    Exports write "省 市 区 详细地址(邮编)"; the postcode and runs of blanks are dropped so
    two orders to the same door compare equal however the postcode was typed.
    """
    text = unicodedata.normalize("NFKC", clean_text(raw))
    text = _POSTCODE_TAIL.sub("", text)
    text = " ".join(text.split())
    if not text or is_masked(text):
        return None
    return text


def parse_amount(raw: str) -> Decimal | None:
    """``"201.12"``, ``"0元"``, ``"123.00元"``, ``"￥1,234.50"`` -> Decimal; empty -> None."""
    if _PLAIN_AMOUNT.match(raw):  # the common case, parsed without the clean-up below
        return Decimal(raw)
    text = clean_text(raw)
    for mark in ("元", "¥", "￥", "RMB"):
        text = text.replace(mark, "")
    text = clean_text(text)
    if not text:
        return None
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        value = parse_decimal(text)
    except ValueError:
        raise ValueError(f"{raw!r} is not an amount; expected a number such as 201.12") from None
    if value < 0:
        raise ValueError(f"{raw!r} is negative; export amounts are never below zero")
    if value != value.quantize(_FEN):
        raise ValueError(f"{raw!r} has more than two decimal places, which yuan do not have")
    return value


def parse_count(raw: str) -> int | None:
    """A quantity: ``"2"`` (or ``"2.0"`` after an Excel round trip); empty -> None."""
    text = clean_text(raw)
    if not text:
        return None
    match = _EXCEL_DECIMAL_TAIL.match(text)
    if match:
        text = match.group(1)
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"{raw!r} is not a whole number of items")
    return int(text)


def parse_local_datetime(raw: str, tz: tzinfo) -> datetime | None:
    """``2017-07-08 00:42:32`` or Excel's ``2016/5/23 22:02``, local time of the shop."""
    text = clean_text(raw)
    if not text:
        return None
    if len(text) == 19 and text[4] == "-":  # 2017-07-08 00:42:32, parsed in C
        try:
            return datetime.fromisoformat(text).replace(tzinfo=tz)
        except ValueError:
            pass
    for fmt in _DATETIME_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=tz)
    raise ValueError(
        f"{raw!r} is not a date and time; expected 2017-07-08 00:42:32 or 2017/7/8 0:42")


class OrderStatus(str, enum.Enum):
    """The normalized lifecycle of a Taobao order."""

    PENDING = "pending"  # created, not paid
    PAID = "paid"  # 买家已付款，等待卖家发货
    SHIPPED = "shipped"  # 卖家已发货，等待买家确认
    COMPLETED = "completed"  # 交易成功
    CLOSED = "closed"  # 交易关闭
    UNKNOWN = "unknown"  # reported and kept, never treated as paid

    @property
    def is_paid(self) -> bool:
        return self in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


# Statuses seen in exports, split at their comma: exports write a full-width "，", an ASCII
# ",", or a mangled separator ("｜｜｜", mojibake), so only the two halves are compared.
_SPLIT_STATUSES: tuple[tuple[str, str, OrderStatus], ...] = (
    ("买家已付款", "等待卖家发货", OrderStatus.PAID),
    ("卖家已发货", "等待买家确认", OrderStatus.SHIPPED),
)
_PLAIN_STATUSES: dict[str, OrderStatus] = {
    "交易成功": OrderStatus.COMPLETED,
    "交易关闭": OrderStatus.CLOSED,
    "交易已关闭": OrderStatus.CLOSED,
    "等待买家付款": OrderStatus.PENDING,  # glossed by the API docs, not seen in exports
    # Open-platform API names, which some tools write into re-exported files.
    "TRADE_NO_CREATE_PAY": OrderStatus.PENDING,
    "WAIT_BUYER_PAY": OrderStatus.PENDING,
    "WAIT_SELLER_SEND_GOODS": OrderStatus.PAID,
    "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.SHIPPED,
    "TRADE_BUYER_SIGNED": OrderStatus.SHIPPED,
    "TRADE_FINISHED": OrderStatus.COMPLETED,
    "TRADE_CLOSED": OrderStatus.CLOSED,
    "TRADE_CLOSED_BY_TAOBAO": OrderStatus.CLOSED,
}
_MAX_SEPARATOR = 4


def parse_status(raw: str) -> OrderStatus:
    """Map an 订单状态 string; anything unrecognised is UNKNOWN, never a guess."""
    text = unicodedata.normalize("NFKC", clean_text(raw)).replace(" ", "")
    plain = _PLAIN_STATUSES.get(text) or _PLAIN_STATUSES.get(text.upper())
    if plain is not None:
        return plain
    for head, tail, status in _SPLIT_STATUSES:
        if (text.startswith(head) and text.endswith(tail)
                and len(text) - len(head) - len(tail) <= _MAX_SEPARATOR):
            return status
    return OrderStatus.UNKNOWN
