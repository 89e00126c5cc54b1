"""Credits and debits against a customer's lots: FIFO spending, expiry, forgiven excess.

Every posting becomes one immutable ledger entry that names its rule, program version and
source event, and carries the balance after it; lots are the projection that makes FIFO and
expiry cheap.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from loyaltykit.clock import utc_key
from loyaltykit.engine.changes import Changes
from loyaltykit.engine.state import CustomerState, Lot
from loyaltykit.engine.world import World
from loyaltykit.rules.program import Program

CREDIT_KINDS = frozenset({"earn", "bonus", "referral"})

# Timers due at the same instant run in this order, and before events at that instant.
TIMER_EXPIRE, TIMER_REFERRAL, TIMER_REVIEW = 0, 1, 2


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)


def expiry_ref(customer_id: str, lot_key: str) -> str:
    """How a lot-expiry timer names its lot; orders like (customer, lot key)."""
    return f"{customer_id}\x00{lot_key}"


def micros(instant: datetime) -> int:
    """Exact integer microseconds since the epoch: cheap to compare, unlike aware datetimes."""
    return (instant - EPOCH) // MICROSECOND


class Timers:
    """Future work (lot expiry, delayed referral rewards, tier reviews) in due order.

    Ties at one instant go by kind, then by reference ("customer\\x00lot" for an expiry).
    Lot expiries are most of the timers and mostly arrive in due order (a replay credits
    lots in time order, and expiry is a fixed number of days), so they wait in a queue
    holding the lot itself; only one that would jump the queue goes to the heap. At a
    million orders that is 600,000 timers without a heap entry and reference string each.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, str, datetime]] = []
        self._lots: deque[Lot] = deque()  # expiries in (due, customer, lot key) order
        self._lots_due: deque[int] = deque()  # the same expiries' due times, in micros
        self._last: tuple[int, str, str] | None = None  # the queue's last (due, customer, lot)

    def push(self, due: datetime, kind: int, ref: str) -> None:
        heapq.heappush(self._heap, (micros(due), kind, ref, due))

    def push_expiry(self, lot: Lot) -> None:
        assert lot.expires_at is not None
        key = (micros(lot.expires_at), lot.customer_id, lot.lot_key)
        if self._last is None or key >= self._last:
            self._lots.append(lot)
            self._lots_due.append(key[0])
            self._last = key
        else:
            self.push(lot.expires_at, TIMER_EXPIRE, expiry_ref(lot.customer_id, lot.lot_key))

    def peek(self) -> int | None:
        """When the next timer is due, in :func:`micros`."""
        if not self._lots_due:
            return self._heap[0][0] if self._heap else None
        return min(self._lots_due[0], self._heap[0][0]) if self._heap else self._lots_due[0]

    def pop(self) -> tuple[datetime, int, str | Lot]:
        if self._lots and (not self._heap or self._queue_first()):
            self._lots_due.popleft()
            lot = self._lots.popleft()
            if not self._lots:
                self._last = None
            assert lot.expires_at is not None
            return lot.expires_at, TIMER_EXPIRE, lot
        _, kind, ref, due = heapq.heappop(self._heap)
        return due, kind, ref

    def due_by(self, limit: datetime) -> Iterator[tuple[datetime, int, str | Lot]]:
        """Take the timers due at or before ``limit``, in order."""
        bound = micros(limit)
        while (due := self.peek()) is not None and due <= bound:
            yield self.pop()

    def _queue_first(self) -> bool:
        head, top = self._lots_due[0], self._heap[0]
        if head != top[0]:
            return head < top[0]
        lot = self._lots[0]  # a tie at one instant: compare as two heap entries would
        return (TIMER_EXPIRE, expiry_ref(lot.customer_id, lot.lot_key)) < (top[1], top[2])

    def __len__(self) -> int:
        return len(self._heap) + len(self._lots)


class Postings:
    def __init__(self, changes: Changes, timers: Timers, world: World) -> None:
        self.changes = changes
        self.timers = timers
        self.world = world  # reads a customer's stored lots when they are needed

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
            self.timers.push_expiry(lot)
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
        for lot in self.world.open_lots(cs):
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

    def expire(self, cs: CustomerState, lot_key: str, at: datetime, program_id: str) -> bool:
        """Expire what is left of a lot; False if nothing was (spent or reversed before)."""
        lot = self.world.lot(cs, lot_key)
        if lot is None or lot.remaining == 0:
            return False
        points = lot.remaining
        lot.remaining = 0
        if cs.lots_loaded:
            cs.lots.remove(lot)
        # else it stays listed, spent: reading the stored lots later in this page (which
        # still hold it open) must not bring it back
        cs.balance -= points
        self.changes.lot_touched(lot)
        self._entry(cs, key=f"expiry:{lot_key}", kind="expiry", points=-points, at=at,
                    rule_id="expiry", program_id=program_id, version=lot.program_version,
                    source_event=lot_key, reason=f"{points} points credited "
                    f"{utc_key(lot.credited_at)} expired", lot_key=lot_key)
        return True

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
