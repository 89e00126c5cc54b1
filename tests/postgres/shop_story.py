"""A random but reproducible shop history, cut into rounds ending at clock instants.

Customers (with referral codes, some referred), orders, partial and full refunds,
cancellations: every event of a round happens before the round's instant, so once a
round's events are in, running the clock to that instant processes them in time order
whatever the delivery order was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    ReferralRecorded,
)
from loyaltykit.testing.conformance import START

ROUND = timedelta(days=10)


@dataclass
class Round:
    as_of: datetime
    events: list[Event] = field(default_factory=list)


def shop_story(seed: int, *, customers: int = 24, rounds: int = 5,
               orders_per_round: int = 24) -> list[Round]:
    rng = random.Random(seed)
    out = [Round(START + ROUND * (n + 1)) for n in range(rounds)]

    def when(r: int) -> datetime:
        """A random instant inside round r, strictly before its end."""
        return START + ROUND * r + timedelta(minutes=rng.randrange(1, 10 * 24 * 60 - 1))

    ids = [f"c{n:02d}" for n in range(customers)]
    for n, cid in enumerate(ids):
        out[0].events.append(CustomerUpserted(cid, START, phone=f"1380000{n:04d}",
                                              referral_code=f"CODE{n:02d}"))
    for cid in ids[customers // 2:customers // 2 + 8]:
        out[0].events.append(ReferralRecorded(cid, f"CODE{rng.randrange(customers // 2):02d}",
                                              START))
    order_no = 0
    for r in range(rounds):
        for _ in range(orders_per_round):
            order_no += 1
            oid, cid = f"o{order_no:03d}", rng.choice(ids)
            paid_at = when(r)
            amount = Decimal(rng.randrange(2000, 40000)) / 100
            out[r].events.append(OrderPaid(oid, cid, paid_at, amount, "CNY"))
            later = rng.randrange(r, rounds)
            fate = rng.random()
            if fate < 0.1:
                out[later].events.append(OrderCancelled(oid, cid, _after(paid_at, when(later))))
            elif fate < 0.35:
                part = (amount * Decimal(rng.choice([25, 50, 100])) / 100).quantize(
                    Decimal("0.01"))
                out[later].events.append(OrderRefunded(f"{oid}-r1", oid,
                                                       _after(paid_at, when(later)), part))
    return out


def _after(first: datetime, candidate: datetime) -> datetime:
    return candidate if candidate > first else first + timedelta(minutes=1)
