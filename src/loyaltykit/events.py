"""Normalized events: the one shape every platform adapter produces and the engine consumes.

Each event has a deterministic ``key``. The ledger stores events under that key with
``INSERT ... ON CONFLICT DO NOTHING``, so delivering the same event twice (a webhook and a
sync, a re-imported file, a status that flaps paid -> paid) changes nothing.

Events with equal timestamps are processed in ``PRIORITY`` order, then by key, which makes
a replay deterministic however the events were delivered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, ClassVar, TypeAlias

from loyaltykit.clock import require_aware


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    amount: Decimal
    quantity: int = 1
    category: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerUpserted:
    """A customer was created or changed. The latest delivered version wins."""

    customer_id: str
    occurred_at: datetime
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    birthday: date | None = None
    referral_code: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    kind: ClassVar[str] = "customer_upserted"

    @property
    def key(self) -> str:
        """The content, not the instant: a customer read again unchanged is a duplicate.

        Ingestion adds the instant to a content seen before at another instant (the
        platform's echo of our own tag push, a change reverted later: A -> B -> A); the
        latest version wins, and one equal to the version in effect changes nothing
        (:mod:`loyaltykit.ledger.customer_versions`).
        """
        body = {f.name: _plain(getattr(self, f.name))
                for f in fields(self) if f.name != "occurred_at"}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        return f"customer:{self.customer_id}:{digest}"


@dataclass(frozen=True, slots=True)
class ReferralRecorded:
    """``referee_id`` arrived through ``referrer_code``. The first attribution of a referee wins."""

    referee_id: str
    referrer_code: str
    occurred_at: datetime

    kind: ClassVar[str] = "referral_recorded"

    @property
    def key(self) -> str:
        return f"referral:{self.referee_id}"


@dataclass(frozen=True, slots=True)
class OrderPaid:
    """An order was paid. ``amount`` is what the customer paid when the order was placed,
    before any later refund; refunds arrive as their own events."""

    order_id: str
    customer_id: str
    occurred_at: datetime
    amount: Decimal
    currency: str
    lines: tuple[OrderLine, ...] = ()

    kind: ClassVar[str] = "order_paid"

    @property
    def key(self) -> str:
        return f"order:{self.order_id}:paid"


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """An order was cancelled. If it had been paid, everything it earned is reversed."""

    order_id: str
    customer_id: str
    occurred_at: datetime

    kind: ClassVar[str] = "order_cancelled"

    @property
    def key(self) -> str:
        return f"order:{self.order_id}:cancelled"


@dataclass(frozen=True, slots=True)
class OrderRefunded:
    """Money went back to the customer for part or all of an order."""

    refund_id: str
    order_id: str
    occurred_at: datetime
    amount: Decimal

    kind: ClassVar[str] = "order_refunded"

    @property
    def key(self) -> str:
        return f"refund:{self.refund_id}"


@dataclass(frozen=True, slots=True)
class PointsRedeemed:
    """A customer spends points on one of the program's rewards."""

    redemption_id: str
    customer_id: str
    occurred_at: datetime
    reward_id: str

    kind: ClassVar[str] = "points_redeemed"

    @property
    def key(self) -> str:
        return f"redemption:{self.redemption_id}"


Event: TypeAlias = (
    CustomerUpserted | ReferralRecorded | OrderPaid | OrderCancelled | OrderRefunded
    | PointsRedeemed
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (CustomerUpserted, ReferralRecorded, OrderPaid, OrderCancelled, OrderRefunded,
                PointsRedeemed)
}

# dataclasses.fields() builds its tuple on every call: 5 % of importing a shop
_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in EVENT_TYPES.values()}

# Within one instant: know the customer, then the referral, then money in, then money out.
PRIORITY: dict[str, int] = {
    "customer_upserted": 0,
    "referral_recorded": 1,
    "order_paid": 2,
    "order_cancelled": 3,
    "order_refunded": 4,
    "points_redeemed": 5,
}


def validate_event(event: Event) -> Event:
    """Refuse events that would corrupt the ledger: naive times, negative money."""
    require_aware(event.occurred_at, f"{event.kind} {event.key}")
    if isinstance(event, OrderPaid):
        if event.amount < 0:
            raise ValueError(f"{event.key}: amount {event.amount} is negative")
        for line in event.lines:
            if line.amount < 0 or line.quantity < 0:
                raise ValueError(f"{event.key}: line {line.sku} has a negative amount or quantity")
    if isinstance(event, OrderRefunded) and event.amount <= 0:
        raise ValueError(f"{event.key}: refund amount {event.amount} must be positive")
    return event


def to_payload(event: Event) -> dict[str, Any]:
    """JSON-safe dict of an event (Decimal and datetimes as strings)."""
    return {name: _plain(getattr(event, name)) for name in _FIELD_NAMES[type(event)]}


def from_payload(kind: str, payload: Mapping[str, Any]) -> Event:
    cls = EVENT_TYPES[kind]
    values: dict[str, Any] = dict(payload)
    # one shared tzinfo instead of one per parsed offset: a replay holds a million instants
    values["occurred_at"] = datetime.fromisoformat(values["occurred_at"]).astimezone(timezone.utc)
    if "amount" in values:
        values["amount"] = Decimal(values["amount"])
    if values.get("birthday"):
        values["birthday"] = date.fromisoformat(values["birthday"])
    if "lines" in values:
        values["lines"] = tuple(
            OrderLine(sku=ln["sku"], amount=Decimal(ln["amount"]), quantity=int(ln["quantity"]),
                      category=ln.get("category"))
            for ln in values["lines"]
        )
    return cls(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, OrderLine):
        return {"sku": value.sku, "amount": str(value.amount), "quantity": value.quantity,
                "category": value.category}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    return value
