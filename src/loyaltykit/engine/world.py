"""The working set of state, loaded on demand from the store and kept for the whole run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from loyaltykit.engine.state import CustomerState, Lot, OrderState, ReferralState


class StateLoader(Protocol):
    """How the world fetches state it does not hold yet (implemented by the ledger store)."""

    def load_customers(self, ids: Iterable[str]) -> dict[str, CustomerState]: ...
    def load_orders(self, ids: Iterable[str]) -> dict[str, OrderState]: ...
    def load_lots(self, customer_ids: Iterable[str]) -> dict[str, list[Lot]]: ...
    def load_lots_by_key(self, lot_keys: Iterable[str]) -> list[Lot]: ...
    def load_referrals(self, referee_ids: Iterable[str]) -> dict[str, ReferralState]: ...
    def load_window(self, customer_id: str, before: datetime
                    ) -> tuple[list[OrderState], datetime | None]: ...
    def owner_of_code(self, code: str) -> str | None: ...


class World:
    """Customers, orders and referrals touched by a run.

    A ``complete`` world (a replay into an empty ledger, or ``loader=None``) holds
    everything that exists, so a miss means "does not exist" without asking the database;
    the exception is an order it evicted (:meth:`evict_settled`), which the loader reads
    back when an event names it.
    """

    def __init__(self, loader: StateLoader | None, *, complete: bool = False) -> None:
        self.loader = loader
        self.asks = loader is not None and not complete  # ask the loader about misses
        self.customers: dict[str, CustomerState] = {}
        self.orders: dict[str, OrderState] = {}
        self.referrals: dict[str, ReferralState] = {}
        self.code_owner: dict[str, str] = {}
        self._missing_customers: set[str] = set()
        self._missing_orders: set[str] = set()
        self._missing_referrals: set[str] = set()
        self._evicted: set[str] = set()  # orders a complete world let go
        self._given_up: set[str] = set()  # referral codes replaced in this run

    def prefetch(self, customer_ids: Iterable[str], order_ids: Iterable[str]) -> None:
        """Load a chunk's state in a few queries instead of one per event."""
        if self.loader is None:
            return
        if not self.asks:
            evicted = {o for o in order_ids if o in self._evicted and o not in self.orders}
            if evicted:
                self.orders.update(self.loader.load_orders(evicted))
            return
        want_c = {c for c in customer_ids if c not in self.customers} - self._missing_customers
        if want_c:
            found = self.loader.load_customers(want_c)
            self._adopt_customers(found)
            self._missing_customers |= want_c - found.keys()
            refs = self.loader.load_referrals(want_c)
            for referee, ref in refs.items():  # never replace state changed in this run
                self.referrals.setdefault(referee, ref)
            self._missing_referrals |= want_c - refs.keys()
        want_o = {o for o in order_ids if o not in self.orders} - self._missing_orders
        if want_o:
            orders = self.loader.load_orders(want_o)
            self.orders.update(orders)
            self._missing_orders |= want_o - orders.keys()

    def _adopt_customers(self, found: dict[str, CustomerState]) -> None:
        self.customers.update(found)
        for cs in found.values():
            if cs.referral_code:
                self.code_owner.setdefault(cs.referral_code, cs.customer_id)
            window_orders = {o.order_id: o for o in cs.window}
            for order_id, order in window_orders.items():
                existing = self.orders.get(order_id)
                if existing is None:
                    self.orders[order_id] = order
                else:  # one object per order, so window totals stay consistent
                    cs.window = [existing if o.order_id == order_id else o for o in cs.window]

    def open_lots(self, cs: CustomerState) -> list[Lot]:
        """The customer's unspent lots, oldest first; read from the store on first need."""
        if not cs.lots_loaded:
            self.prefetch_lots([cs.customer_id])
        return cs.lots

    def lot(self, cs: CustomerState, lot_key: str) -> Lot | None:
        """One lot, for its expiry: expiring it needs none of the customer's other lots."""
        found = next((lot for lot in cs.lots if lot.lot_key == lot_key), None)
        if found is None and not cs.lots_loaded:
            self.prefetch_expiring([lot_key])
            found = next((lot for lot in cs.lots if lot.lot_key == lot_key), None)
        return found

    def prefetch_expiring(self, lot_keys: Iterable[str]) -> None:
        """Read the open lots a run's due expiries name, in one go."""
        if self.loader is None or not self.asks:
            return
        for lot in self.loader.load_lots_by_key(lot_keys):
            cs = self.customers.get(lot.customer_id)
            if cs is not None and not cs.lots_loaded and all(
                    known.lot_key != lot.lot_key for known in cs.lots):
                cs.add_lot(lot)

    def prefetch_lots(self, customer_ids: Iterable[str]) -> None:
        """Read all the open lots of customers that will spend points, in one go."""
        want = [c for c in customer_ids if c in self.customers
                and not self.customers[c].lots_loaded]
        if not want:
            return
        assert self.loader is not None, "a customer not read from the store has its lots"
        stored = self.loader.load_lots(want)
        for customer_id in want:
            cs = self.customers[customer_id]
            # Lots already in memory (credited since the customer was read, or read for an
            # expiry) may be saved too, by an earlier page, or changed since: keep those
            # objects, which timers and changes hold, and drop the ones spent meanwhile.
            known = {lot.lot_key: lot for lot in cs.lots}
            lots = [known.pop(lot.lot_key, lot) for lot in stored.get(customer_id, ())]
            cs.lots = sorted((lot for lot in (*lots, *known.values()) if lot.remaining > 0),
                             key=Lot.sort_key)
            cs.lots_loaded = True

    def drop_window_before(self, cs: CustomerState, start: datetime) -> list[OrderState]:
        """Orders placed before ``start`` leave the customer's tier window.

        For a customer loaded from the database only the leaving orders are read, and the
        placing time of the oldest one that stays: a window holds hundreds of orders for a
        big customer, and an incremental run should not read them all to drop one.
        """
        if cs.window_first_at is None:
            return cs.window_drop_before(start)
        assert self.loader is not None, "a customer created in this run has its window"
        stored, first_staying = self.loader.load_window(cs.customer_id, start)
        leaving = {o.order_id: self.orders.setdefault(o.order_id, o) for o in stored}
        leaving.update((o.order_id, o) for o in cs.window if o.placed_at < start)
        dropped = sorted((o for o in leaving.values() if o.in_window), key=lambda o: o.placed_at)
        for order in dropped:
            order.in_window = False
            cs.window_take(order)
        cs.window = [o for o in cs.window if o.placed_at >= start]
        cs.window_first_at = first_staying
        return dropped

    def evict_settled(self, order_ids: Iterable[str]) -> None:
        """Let go of saved orders that are out of the tier window, to bound a replay's memory.

        Such an order no longer moves any total until a refund or a cancellation names it,
        and then it is read back. Call with orders whose changes are saved.
        """
        if self.loader is None:
            return
        for order_id in order_ids:
            order = self.orders.get(order_id)
            if order is not None and not order.in_window:
                del self.orders[order_id]
                if not self.asks:
                    self._evicted.add(order_id)

    def customer(self, customer_id: str) -> CustomerState | None:
        cs = self.customers.get(customer_id)
        if cs is None and self.asks and customer_id not in self._missing_customers:
            self.prefetch([customer_id], [])
            cs = self.customers.get(customer_id)
        return cs

    def ensure_customer(self, customer_id: str) -> CustomerState:
        cs = self.customer(customer_id)
        if cs is None:
            cs = CustomerState(customer_id)
            self.customers[customer_id] = cs
            self._missing_customers.discard(customer_id)
        return cs

    def order(self, order_id: str) -> OrderState | None:
        order = self.orders.get(order_id)
        if order is None and self.loader is not None and (
                order_id in self._evicted if not self.asks
                else order_id not in self._missing_orders):
            self.prefetch([], [order_id])
            order = self.orders.get(order_id)
        return order

    def add_order(self, order: OrderState) -> None:
        self.orders[order.order_id] = order
        self._missing_orders.discard(order.order_id)

    def referral(self, referee_id: str) -> ReferralState | None:
        ref = self.referrals.get(referee_id)
        if ref is None and self.asks and referee_id not in self._missing_referrals:
            assert self.loader is not None
            found = self.loader.load_referrals([referee_id])
            self.referrals.update(found)
            if referee_id not in found:
                self._missing_referrals.add(referee_id)
            ref = found.get(referee_id)
        return ref

    def add_referral(self, ref: ReferralState) -> None:
        self.referrals[ref.referee_id] = ref
        self._missing_referrals.discard(ref.referee_id)

    def move_code(self, customer_id: str, old: str | None, new: str) -> None:
        """A customer's referral code replaced: the old one belongs to nobody from now on,
        though the saved customer row still holds it until this page is saved."""
        if old is not None and self.code_owner.get(old) == customer_id:
            del self.code_owner[old]
            self._given_up.add(old)
        self.code_owner[new] = customer_id
        self._given_up.discard(new)

    def owner_of(self, code: str) -> str | None:
        owner = self.code_owner.get(code)
        if owner is None and self.asks and code not in self._given_up:
            assert self.loader is not None
            owner = self.loader.owner_of_code(code)
            if owner is not None:
                self.code_owner[code] = owner
        return owner
