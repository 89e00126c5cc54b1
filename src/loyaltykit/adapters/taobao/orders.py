"""Rows of the order report (订单报表) as typed records.

One row is one order. The buyer is identified by 买家会员名; the receiver's phone and
address and the buyer's Alipay account are kept because the referral self-checks compare
them. Masked values (``138****0000``) are dropped: two masked phones look equal without
being the same phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import partial

from loyaltykit.adapters.taobao.cells import Cells, header_repeated
from loyaltykit.adapters.taobao.values import (
    OrderStatus,
    clean_address,
    clean_phone,
    clean_text,
    is_masked,
    parse_amount,
    parse_local_datetime,
    parse_status,
)

_ORDER_ID = re.compile(r"^[0-9]{1,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class OrderRecord:
    line: int
    order_id: str
    buyer: str
    status: OrderStatus
    status_text: str
    created_at: datetime
    paid_at: datetime | None
    paid_amount: Decimal
    refund_amount: Decimal
    phone: str | None
    address: str | None
    email: str | None
    alipay_account: str | None
    latest_at: datetime  # the latest time the row mentions: a lower bound of the export time


def parse_order(cells: Cells, tz: tzinfo) -> OrderRecord | None:
    """The row as a record, or None after recording every problem it has."""
    if not cells.ok or header_repeated(cells, "order_id", ("订单编号",)):
        return None
    order_id = order_id_of(cells, "order_id")
    buyer = _buyer(cells)
    status_text = cells.text("status")
    status = parse_status(status_text)
    when = partial(parse_local_datetime, tz=tz)
    created_at = cells.parse("created_at", when)
    if not cells.text("created_at"):
        cells.problem("created_at", "the order has no creation time")
    paid_at = cells.parse("paid_at", when)
    times = [t for t in (created_at, paid_at, cells.parse("shipped_at", when),
                         cells.parse("confirmed_at", when)) if t is not None]
    paid_amount = cells.parse("paid_amount", parse_amount)
    if not cells.text("paid_amount") and status.is_paid:
        cells.problem("paid_amount", "a paid order has no amount paid")
    refund_amount = cells.parse("refund_amount", parse_amount)
    if not cells.ok or order_id is None or buyer is None or created_at is None:
        return None
    return OrderRecord(
        line=cells.line, order_id=order_id, buyer=buyer, status=status,
        status_text=status_text, created_at=created_at, paid_at=paid_at,
        paid_amount=paid_amount or Decimal(0), refund_amount=refund_amount or Decimal(0),
        phone=_phone(cells), address=_address(cells), email=_email(cells),
        alipay_account=_alipay(cells), latest_at=max(times),
    )


def order_id_of(cells: Cells, key: str) -> str | None:
    value = cells.identifier(key, "order number")
    if value is not None and not _ORDER_ID.match(value):
        cells.problem(key, f"{value!r} is not a Taobao order number (digits only)",
                      "the columns may be shifted; re-export the report")
        return None
    return value


def _buyer(cells: Cells) -> str | None:
    buyer = cells.text("buyer")
    if not buyer:
        cells.problem("buyer", "the buyer (买家会员名) is empty")
        return None
    if is_masked(buyer):
        cells.problem("buyer", f"the buyer name {buyer!r} is masked, so customers cannot be"
                      " told apart", "export the report with full member names")
        return None
    return buyer


def _phone(cells: Cells) -> str | None:
    for key in ("mobile", "buyer_mobile", "telephone"):
        phone = clean_phone(cells.text(key))
        if phone:
            return phone
    return None


def _address(cells: Cells) -> str | None:
    return clean_address(cells.text("modified_address")) or clean_address(cells.text("address"))


def _alipay(cells: Cells) -> str | None:
    account = clean_text(cells.text("alipay_account")).lstrip("'")
    return account if account and not is_masked(account) else None


def _email(cells: Cells) -> str | None:
    account = _alipay(cells)
    return account.lower() if account and _EMAIL.match(account) else None
