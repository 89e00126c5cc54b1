"""Refunds of an order, turned into events that never count the same money twice.

Exports say how much was refunded, not which refunds the ledger already has. The order
report only has the cumulative 退款金额; the refund report lists each refund; a seller may
import either, both over time, and overlapping exports of each. So every order keeps a
sync cursor ``taobao:refunded:<order id>`` holding the refunded total already turned into
events, and it is stored in the same transaction as the refund events that advanced it:

- from the refund report, an order's 退款成功 refunds are taken oldest first and each one
  adds only what lifts the running total above the recorded total (a refund already
  covered by an earlier cumulative import adds nothing);
- from the order report, a cumulative amount above the recorded total adds one refund of
  the difference, keyed by order id and cumulative amount (same total, same key).

The same file imported twice finds the cursor already at its totals and adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from loyaltykit.adapters.taobao.mapping import derived_refund_id
from loyaltykit.events import OrderRefunded

CURSOR_PREFIX = "taobao:refunded:"


def cursor_name(order_id: str) -> str:
    return CURSOR_PREFIX + order_id


@dataclass(frozen=True, slots=True)
class RefundStep:
    """The refund events one order needs now, their sources, and the new recorded total."""

    events: tuple[OrderRefunded, ...]
    sources: tuple[str, ...]
    total: Decimal


def from_refund_report(
    order_id: str,
    refunds: Sequence[tuple[str, Decimal, datetime, str]],
    recorded: Decimal,
) -> RefundStep:
    """``refunds`` are (退款编号, amount, completion time, source), oldest first."""
    running = Decimal(0)
    events: list[OrderRefunded] = []
    sources: list[str] = []
    for refund_id, amount, completed_at, source in refunds:
        before, running = running, running + amount
        if running > recorded:
            events.append(OrderRefunded(refund_id=refund_id, order_id=order_id,
                                        occurred_at=completed_at,
                                        amount=running - max(recorded, before)))
            sources.append(source)
    return RefundStep(tuple(events), tuple(sources), max(recorded, running))


def from_cumulative(
    order_id: str, cumulative: Decimal, as_of: datetime, source: str, recorded: Decimal
) -> RefundStep:
    """The order report's 退款金额 (all refunds so far), dated at ``as_of``."""
    if cumulative <= recorded:
        return RefundStep((), (), recorded)
    event = OrderRefunded(refund_id=derived_refund_id(order_id, cumulative), order_id=order_id,
                          occurred_at=as_of, amount=cumulative - recorded)
    return RefundStep((event,), (source,), cumulative)
