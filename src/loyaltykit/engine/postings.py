"""Credits and debits against a customer's lots: FIFO spending, expiry, forgiven excess.

Every posting becomes one immutable ledger entry that names its rule, program version and
source event, and carries the balance after it; lots are the projection that makes FIFO and
expiry cheap.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta, timezone

from loyaltykit.clock import utc_key
from loyaltykit.engine.changes import Changes
from loyaltykit.engine.state import CustomerState, Lot
from loyaltykit.rules.program import Program

CREDIT_KINDS = frozenset({"earn", "bonus", "referral"})

# Timers due at the same instant run in this order, and before events at that instant.
TIMER_EXPIRE, TIMER_REFERRAL, TIMER_REVIEW = 0, 1, 2


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)


def micros(instant: datetime) -> int:
    """Exact integer microseconds since the epoch: cheap to compare, unlike aware datetimes."""
    return (instant - EPOCH) // MICROSECOND


class Timers:
    """Future work (lot expiry, delayed referral rewards, tier reviews) in due order."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, str, datetime]] = []

    def push(self, due: datetime, kind: int, ref: str) -> None:
        heapq.heappush(self._heap, (micros(due), kind, ref, due))

    def peek(self) -> int | None:
        """When the next timer is due, in :func:`micros`."""
        return self._heap[0][0] if self._heap else None

    def pop(self) -> tuple[datetime, int, str]:
        _, kind, ref, due = heapq.heappop(self._heap)
        return due, kind, ref

    def __len__(self) -> int:
        return len(self._heap)


class Postings:
    def __init__(self, changes: Changes, timers: Timers) -> None:
        self.changes = changes
        self.timers = timers

    def credit(
        self, cs: CustomerState, *, key: str, kind: str, points: int, at: datetime,
        rule_id: str, program: Program, source_event: str, reason: str,
        order_id: str | None = None,
    ) -> None:
        expires = at + timedelta(days=program.expiry.days) if program.expiry else None
        lot = Lot(key, cs.customer_id, at, expires, points, points, program.version)
        cs.add_lot(lot)
        cs.balance += points
        cs.lifetime_earned += points
        self.changes.lot_created(lot)
        if expires is not None:
            self.timers.push(expires, TIMER_EXPIRE, f"{cs.customer_id}\x00{key}")
        self._entry(cs, key=key, kind=kind, points=points, at=at, rule_id=rule_id,
                    program_id=program.id, version=program.version, source_event=source_event,
                    reason=reason, order_id=order_id, lot_key=key)

    def debit(
        self, cs: CustomerState, *, key: str, kind: str, points: int, at: datetime,
        rule_id: str, program_id: str, version: int, source_event: str, reason: str,
        order_id: str | None = None,
    ) -> int:
        """Spend ``points`` from the oldest lots; what the balance cannot cover is forgiven."""
        wanted = points
        for lot in cs.lots:
            if wanted == 0:
                break
            if lot.remaining == 0:
                continue
            take = min(lot.remaining, wanted)
            lot.remaining -= take
            wanted -= take
            self.changes.lot_touched(lot)
        cs.lots = [lot for lot in cs.lots if lot.remaining > 0]
        consumed = points - wanted
        cs.balance -= consumed
        if kind == "reversal":
            cs.lifetime_earned -= points
        if wanted:
            reason += f"; {wanted} forgiven: the balance was {consumed}"
        self._entry(cs, key=key, kind=kind, points=-consumed, at=at, rule_id=rule_id,
                    program_id=program_id, version=version, source_event=source_event,
                    reason=reason, order_id=order_id, forgiven=wanted)
        return consumed

    def expire(self, cs: CustomerState, lot_key: str, at: datetime, program_id: str) -> None:
        lot = next((lot for lot in cs.lots if lot.lot_key == lot_key), None)
        if lot is None or lot.remaining == 0:
            return
        points = lot.remaining
        lot.remaining = 0
        cs.lots.remove(lot)
        cs.balance -= points
        self.changes.lot_touched(lot)
        self._entry(cs, key=f"expiry:{lot_key}", kind="expiry", points=-points, at=at,
                    rule_id="expiry", program_id=program_id, version=lot.program_version,
                    source_event=lot_key, reason=f"{points} points credited "
                    f"{utc_key(lot.credited_at)} expired", lot_key=lot_key)

    def _entry(
        self, cs: CustomerState, *, key: str, kind: str, points: int, at: datetime,
        rule_id: str, program_id: str, version: int, source_event: str, reason: str,
        order_id: str | None = None, lot_key: str | None = None, forgiven: int = 0,
    ) -> None:
        self.changes.customers.add(cs.customer_id)
        self.changes.entry(
            entry_key=key, customer_id=cs.customer_id, kind=kind, points=points,
            forgiven=forgiven, balance_after=cs.balance, effective_at=at, rule_id=rule_id,
            program_id=program_id, program_version=version, source_event=source_event,
            order_id=order_id, lot_key=lot_key, reason=reason)
