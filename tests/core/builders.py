"""Small builders for core tests: a program from a dict of overrides, events at shop times."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from loyaltykit.events import (
    CustomerUpserted,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    OrderRefunded,
    ReferralRecorded,
)
from loyaltykit.rules.program import Program

SHOP_TZ = timezone(timedelta(hours=8))

BASE: dict[str, Any] = {
    "id": "shop",
    "version": 1,
    "effective_from": "2024-01-01T00:00:00+08:00",
    "timezone": "Asia/Shanghai",
    "currency": "CNY",
    "earning": {"base": {"amount": "1.00", "points": 1, "rounding": "floor"}},
}


def program(**overrides: Any) -> Program:
    """BASE with top-level sections replaced (not merged) by ``overrides``."""
    data = copy.deepcopy(BASE)
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return Program.model_validate(data)


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    """A shop-local (UTC+8) instant."""
    return datetime(y, m, d, hh, mm, tzinfo=SHOP_TZ)


def customer(cid: str, when: datetime, **kw: Any) -> CustomerUpserted:
    return CustomerUpserted(cid, when, **kw)


def paid(oid: str, cid: str, when: datetime, amount: str,
         lines: tuple[OrderLine, ...] = ()) -> OrderPaid:
    return OrderPaid(oid, cid, when, Decimal(amount), "CNY", lines)


def refund(rid: str, oid: str, when: datetime, amount: str) -> OrderRefunded:
    return OrderRefunded(rid, oid, when, Decimal(amount))


def cancel(oid: str, cid: str, when: datetime) -> OrderCancelled:
    return OrderCancelled(oid, cid, when)


def referral(referee: str, code: str, when: datetime) -> ReferralRecorded:
    return ReferralRecorded(referee, code, when)


def birthday(month: int, day: int = 1) -> date:
    return date(1990, month, day)
