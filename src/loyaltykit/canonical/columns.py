"""The four canonical files' columns, and the parsers of their cell values.

Values are parsed by C-implemented parsers (``datetime.fromisoformat``, ``Decimal``) instead of
per-row regexes or models, because a large shop has millions of rows. A cell that cannot be used
raises :class:`BadCell` with the message and the fix, which the validation reports with its file,
line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from loyaltykit.money import currency_exponent, parse_decimal, to_minor


@dataclass(frozen=True, slots=True)
class FileFormat:
    """One canonical file: the reader checks ``required``, the writer emits ``columns``."""

    name: str
    columns: tuple[str, ...]  # every column the writer emits, in order
    required: tuple[str, ...]  # columns the header must have
    required_file: bool


CUSTOMERS = FileFormat(
    "customers.csv",
    ("customer_id", "email", "phone", "address", "created_at", "referral_code",
     "referred_by_code", "birthday"),
    ("customer_id", "email", "phone", "address", "created_at", "referral_code",
     "referred_by_code"),
    True,
)
ORDERS = FileFormat(
    "orders.csv",
    ("order_id", "customer_id", "created_at", "currency", "paid_amount", "status", "cancelled_at"),
    ("order_id", "customer_id", "created_at", "currency", "paid_amount", "status"),
    True,
)
REFUNDS = FileFormat("refunds.csv", ("refund_id", "order_id", "amount", "refunded_at"),
                     ("refund_id", "order_id", "amount", "refunded_at"), False)
LINES = FileFormat("order_lines.csv", ("order_id", "sku", "category", "quantity", "amount"),
                   ("order_id", "sku", "category", "quantity", "amount"), False)
FORMATS = (CUSTOMERS, ORDERS, REFUNDS, LINES)

_TIME_HINT = "write it like 2024-11-01T09:30:00+08:00"
_AMOUNT_HINT = "write amounts like 129.00: a dot for decimals, no thousands separator or symbol"


class BadCell(Exception):
    """A cell that cannot be used, with the message and fix for the user."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 with an offset. A 'Z' is rewritten because Python 3.10 does not accept it."""
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadCell(f"{text!r} is not an ISO 8601 timestamp", _TIME_HINT) from None
    if value.tzinfo is None:
        raise BadCell(f"{text!r} has no UTC offset, so the moment is ambiguous",
                      "add an offset such as +08:00, e.g. 2024-11-01T09:30:00+08:00")
    return value


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadCell(f"{text!r} is not a date",
                      "write it as YYYY-MM-DD, e.g. 1990-05-03") from None


def parse_minor(text: str, currency: str) -> int:
    try:
        value = parse_decimal(text)
    except ValueError:
        raise BadCell(f"{text!r} is not a number", _AMOUNT_HINT) from None
    if value < 0:
        raise BadCell(f"{text} is negative",
                      "amounts are never negative; refunds go in refunds.csv")
    try:
        return to_minor(value, currency)
    except ValueError as exc:
        raise BadCell(str(exc), f"round to {currency_exponent(currency)} decimal places") from None


def parse_quantity(text: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) == 0:
        raise BadCell(f"{text!r} is not a positive whole number", "write a quantity like 1 or 3")
    return int(text)


def exact_decimal(text: str, quantum: Decimal) -> Decimal:
    """A validated amount as a Decimal with the currency's decimals, so that "129.5" and
    "129.50" become the same value and the same payload in the ledger."""
    return Decimal(text).quantize(quantum)


def valid_time(text: str) -> datetime:
    """A timestamp validation accepted: parsed directly, the checks only when that fails
    ('Z' on Python 3.10, surrounding spaces)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return parse_timestamp(text)
