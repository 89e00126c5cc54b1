"""Builders for normalized events: a shop's history written in a few lines, on an explicit clock.

Every event a test needs has defaults that make sense for a shop (ids counted up, the
program currency, the builder's clock), so a test states only what it is about::

    shop = EventBuilder(currency="CNY", start=datetime(2025, 3, 1, 10, tzinfo=SHANGHAI))
    shop.customer("alice", birthday=date(1990, 3, 8))
    first = shop.order("alice", "120.00")
    shop.advance(days=3)
    shop.refund(first, "20.00")
    ledger.ingest(shop.events)

The clock moves only when told to (``advance``, ``at``), so the same test builds the same
events on every run, and event keys (which the ledger deduplicates on) are stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from loyaltykit.clock import FixedClock, require_aware
from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    OrderRefunded,
    PointsRedeemed,
    ReferralRecorded,
    validate_event,
)
from loyaltykit.money import parse_decimal

Money = Decimal | str | int
EventT = TypeVar("EventT", CustomerUpserted, OrderPaid, OrderRefunded, OrderCancelled,
                 ReferralRecorded, PointsRedeemed)


def money(value: Money) -> Decimal:
    """``"12.50"``, ``12`` or ``Decimal("12.50")`` as a Decimal; floats are refused."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, str, int)):
        raise TypeError(f"amount {value!r}: write money as a string such as '12.50', not a "
                        f"{type(value).__name__}")
    return value if isinstance(value, Decimal) else parse_decimal(str(value))


def line(sku: str, amount: Money, *, quantity: int = 1, category: str | None = None) -> OrderLine:
    return OrderLine(sku=sku, amount=money(amount), quantity=quantity, category=category)


class EventBuilder:
    """Builds events in the order a test tells the story; ``events`` lists them all.

    ``start`` (or ``clock``) is the instant of the first event; nothing reads the wall clock.
    """

    def __init__(self, *, currency: str, start: datetime | None = None,
                 clock: FixedClock | None = None) -> None:
        if clock is None:
            if start is None:
                raise ValueError("give the builder start= or clock=, so tests never depend on "
                                 "the wall clock")
            clock = FixedClock(start)
        elif start is not None:
            raise ValueError("give the builder start= or clock=, not both")
        self.clock = clock
        self.currency = currency
        self.events: list[Event] = []
        self._counters: dict[str, int] = {}
        self._orders: dict[str, OrderPaid] = {}
        self._refunded: dict[str, Decimal] = {}

    # ------------------------------------------------------------------ the clock

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        """Move the clock forward; returns the new instant."""
        step = timedelta(days=days, hours=hours, minutes=minutes)
        if step < timedelta(0):
            raise ValueError("the clock only moves forward; use at() to set an instant")
        self.clock.set(self.now + step)
        return self.now

    def at(self, instant: datetime) -> EventBuilder:
        """Set the clock (forward or back) for the events built next."""
        self.clock.set(instant)
        return self

    # ------------------------------------------------------------------ events

    def customer(
        self, customer_id: str, *, email: str | None = None, phone: str | None = None,
        address: str | None = None, birthday: date | None = None,
        referral_code: str | None = None, attributes: Mapping[str, str] | None = None,
        at: datetime | None = None,
    ) -> CustomerUpserted:
        return self._add(CustomerUpserted(
            customer_id=customer_id, occurred_at=self._when(at), email=email, phone=phone,
            address=address, birthday=birthday, referral_code=referral_code,
            attributes=dict(attributes or {})))

    def order(
        self, customer_id: str, amount: Money | None = None, *, order_id: str | None = None,
        lines: Iterable[OrderLine] = (), currency: str | None = None, at: datetime | None = None,
    ) -> OrderPaid:
        """A paid order; ``amount`` defaults to the sum of ``lines``; ids run o1, o2, ..."""
        items = tuple(lines)
        if amount is None and not items:
            raise ValueError("an order needs an amount or lines")
        paid = money(amount) if amount is not None else sum(
            (item.amount for item in items), Decimal(0))
        event = OrderPaid(
            order_id=order_id or self._next("o"), customer_id=customer_id,
            occurred_at=self._when(at), amount=paid, currency=currency or self.currency,
            lines=items)
        self._orders[event.order_id] = event
        return self._add(event)

    def refund(self, order: OrderPaid | str, amount: Money | None = None, *,
               refund_id: str | None = None, at: datetime | None = None) -> OrderRefunded:
        """Money back; without ``amount``, what is left of an order this builder made."""
        order_id = order if isinstance(order, str) else order.order_id
        if amount is None:
            paid = self._orders.get(order_id)
            if paid is None:
                raise ValueError(f"refund of {order_id}: give the amount of an order this "
                                 "builder did not make")
            value = paid.amount - self._refunded.get(order_id, Decimal(0))
        else:
            value = money(amount)
        self._refunded[order_id] = self._refunded.get(order_id, Decimal(0)) + value
        return self._add(OrderRefunded(
            refund_id=refund_id or self._next(f"{order_id}-refund-"), order_id=order_id,
            occurred_at=self._when(at), amount=value))

    def cancel(self, order: OrderPaid | str, *, customer_id: str | None = None,
               at: datetime | None = None) -> OrderCancelled:
        if isinstance(order, OrderPaid):
            order_id, owner = order.order_id, order.customer_id
        else:
            known = self._orders.get(order)
            order_id, owner = order, customer_id or (known.customer_id if known else "")
        if not owner:
            raise ValueError(f"cancel {order_id}: give customer_id for an order this builder "
                             "did not make")
        return self._add(OrderCancelled(order_id=order_id, customer_id=owner,
                                        occurred_at=self._when(at)))

    def referral(self, referee_id: str, code: str, *,
                 at: datetime | None = None) -> ReferralRecorded:
        return self._add(ReferralRecorded(referee_id=referee_id, referrer_code=code,
                                          occurred_at=self._when(at)))

    def redemption(self, customer_id: str, reward_id: str, *, redemption_id: str | None = None,
                   at: datetime | None = None) -> PointsRedeemed:
        return self._add(PointsRedeemed(
            redemption_id=redemption_id or self._next(f"{customer_id}-redeem-"),
            customer_id=customer_id, occurred_at=self._when(at), reward_id=reward_id))

    # ------------------------------------------------------------------ helpers

    def _when(self, at: datetime | None) -> datetime:
        return require_aware(at, "at") if at is not None else self.now

    def _next(self, prefix: str) -> str:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}{self._counters[prefix]}"

    def _add(self, event: EventT) -> EventT:
        validate_event(event)
        self.events.append(event)
        return event
