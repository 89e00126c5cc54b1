"""Records of the reports -> normalized events, with keys that make re-imports harmless.

The ledger stores events under deterministic keys and ignores a key it already has, so the
mapping only has to make *the same state give the same key* and *a new state a new key*:

- an order is paid once (``order:<id>:paid``) however often it is exported, at its
  payment time and for 买家实际支付金额;
- a 交易关闭 order that had been paid gets ``order:<id>:cancelled`` when it is first seen
  closed, so an order that moved 已付款 -> 交易关闭 between two exports adds exactly that;
- refunds are keyed by the refund report's 退款编号, or, when only the order report's
  cumulative 退款金额 is known, by ``<order id>-total-<cumulative amount>`` (see
  :mod:`loyaltykit.adapters.taobao.refund_sync` for how the amount of each is found);
- a customer is upserted once per import with the newest phone, address and Alipay account
  of their orders; the key hashes those values, so an unchanged profile is stored once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from loyaltykit.adapters.taobao.orders import OrderRecord
from loyaltykit.adapters.taobao.referrals import ReferralRecord
from loyaltykit.adapters.taobao.spill import CustomerProfile
from loyaltykit.adapters.taobao.values import OrderStatus
from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    ReferralRecorded,
)

LineSource = Callable[[str], Sequence[tuple[str, Decimal, int]]]
CancelTime = Callable[[OrderRecord], datetime]


def customer_event(profile: CustomerProfile, *, member_name_is_code: bool) -> CustomerUpserted:
    """The buyer as of their first order in the import, with the newest contact details.

    Dated at the first order so that the referral self-checks, which run when the
    referee's first order is paid, already see the phone and address.
    """
    attributes = {"alipay_account": profile.alipay_account} if profile.alipay_account else {}
    return CustomerUpserted(
        customer_id=profile.buyer, occurred_at=profile.first_order_at, email=profile.email,
        phone=profile.phone, address=profile.address, attributes=attributes,
        referral_code=profile.buyer if member_name_is_code else None)


def was_paid(order: OrderRecord, *, has_paid_column: bool) -> bool:
    """Paid by its status, or closed after a payment the report records.

    An unknown status is never taken as paid, whatever the other columns say.
    """
    if order.status.is_paid:
        return True
    return order.status is OrderStatus.CLOSED and has_paid_column and order.paid_at is not None


def order_events(
    order: OrderRecord,
    *,
    currency: str,
    has_paid_column: bool,
    lines: LineSource | None = None,
    categories: Mapping[str, str] | None = None,
    cancel_time: CancelTime,
) -> list[Event]:
    """Events for one order row: its payment and cancellation, if any.

    Layouts without 订单付款时间 (the 21-column xlsx) date the payment at creation and
    cancel every closed order: a cancel of an order that was never paid changes nothing.
    """
    events: list[Event] = []
    if was_paid(order, has_paid_column=has_paid_column):
        events.append(OrderPaid(
            order_id=order.order_id, customer_id=order.buyer,
            occurred_at=order.paid_at or order.created_at, amount=order.paid_amount,
            currency=currency, lines=_lines(order.order_id, lines, categories)))
    closed = order.status is OrderStatus.CLOSED
    if closed and (order.paid_at is not None or not has_paid_column):
        events.append(OrderCancelled(order_id=order.order_id, customer_id=order.buyer,
                                     occurred_at=cancel_time(order)))
    return events


def _lines(
    order_id: str, lines: LineSource | None, categories: Mapping[str, str] | None
) -> tuple[OrderLine, ...]:
    if lines is None:
        return ()
    found = categories or {}
    return tuple(OrderLine(sku=sku, amount=amount, quantity=quantity, category=found.get(sku))
                 for sku, amount, quantity in lines(order_id))


def referral_event(referral: ReferralRecord, default_time: datetime) -> ReferralRecorded:
    return ReferralRecorded(referee_id=referral.referee, referrer_code=referral.referrer_code,
                            occurred_at=referral.referred_at or default_time)


def derived_refund_id(order_id: str, cumulative: Decimal) -> str:
    """Refund id when only the cumulative 退款金额 is known: a new total, a new id."""
    return f"{order_id}-total-{cumulative.quantize(Decimal('0.01'))}"
