"""Loading engine state from, and saving it to, the database.

A chunk of processing is saved in one transaction: entries, lots, customers, orders,
referrals, tier changes, outbox commands and the inbox status of its events. A crash
loses at most the chunk in flight, which the next run redoes from the same inputs.

While the runner holds a page transaction, state is loaded through that transaction's
connection (:meth:`Store.bound`): the reads then happen under the processing lock, and an
engine with a single connection (an in-memory ledger) is never asked for a second one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Connection,
    Engine,
    Row,
    Table,
    bindparam,
    func,
    literal_column,
    null,
    select,
    union_all,
)

from loyaltykit.engine.changes import Changes
from loyaltykit.engine.postings import TIMER_EXPIRE, TIMER_REFERRAL, TIMER_REVIEW, expiry_ref
from loyaltykit.engine.state import CustomerState, Lot, OrderState, ReferralState
from loyaltykit.engine.world import World
from loyaltykit.ledger import bulk
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.bulk import Write

CHUNK = 500

# Built once: an incremental run issues each of these, and building a statement costs more
# than running it on a small SQLite ledger.
_IDS: BindParameter[str] = bindparam("ids", expanding=True)
_AS_OF = bindparam("as_of", type_=t.UtcDateTime())
# Lots and orders come back in their dataclass's field order, to be built positionally: a
# big customer's window holds hundreds of orders, and name lookups per row showed.
_LOT = select(*(t.lots.c[f.name] for f in fields(Lot)))
ORDER_ROWS = select(*(t.orders.c[f.name] for f in fields(OrderState) if f.name != "stored"))
_CUSTOMERS = select(t.customers).where(t.customers.c.customer_id.in_(_IDS))
_OPEN_LOTS = (_LOT.where(t.lots.c.customer_id.in_(_IDS), t.OPEN_LOT)
              .order_by(t.lots.c.credited_at, t.lots.c.lot_key))
_LOTS_BY_KEY = _LOT.where(t.lots.c.lot_key.in_(_IDS), t.OPEN_LOT)
_WINDOW_ORDERS = (ORDER_ROWS.where(t.orders.c.customer_id.in_(_IDS), t.orders.c.in_window)
                  .order_by(t.orders.c.placed_at))
_ORDERS = ORDER_ROWS.where(t.orders.c.order_id.in_(_IDS))
_BEFORE = bindparam("before", type_=t.UtcDateTime())
_OF_CUSTOMER = (t.orders.c.customer_id == bindparam("customer_id"), t.orders.c.in_window)
_WINDOW_BEFORE = (ORDER_ROWS.where(*_OF_CUSTOMER, t.orders.c.placed_at < _BEFORE)
                  .order_by(t.orders.c.placed_at))
_WINDOW_FIRST_FROM = select(func.min(t.orders.c.placed_at)).where(
    *_OF_CUSTOMER, t.orders.c.placed_at >= _BEFORE)
_PROFILES_DUE = select(t.profiles_due)
_REFERRALS = select(t.referrals).where(t.referrals.c.referee_id.in_(_IDS))
_CODE_OWNER = select(t.customers.c.customer_id).where(
    t.customers.c.referral_code == bindparam("code")).limit(1)
_DUE_TIMERS = union_all(  # (due, kind, customer or referee, lot key of an expiry)
    select(t.lots.c.expires_at.label("due"), literal_column(str(TIMER_EXPIRE)).label("kind"),
           t.lots.c.customer_id.label("ref"), t.lots.c.lot_key.label("lot"))
    .where(t.OPEN_LOT, t.lots.c.expires_at <= _AS_OF),
    select(t.referrals.c.due_at, literal_column(str(TIMER_REFERRAL)),
           t.referrals.c.referee_id, null())
    .where(t.referrals.c.status == "qualified", t.referrals.c.due_at <= _AS_OF),
    select(t.customers.c.review_at, literal_column(str(TIMER_REVIEW)),
           t.customers.c.customer_id, null())
    .where(t.customers.c.review_at <= _AS_OF))


@functools.cache
def _last_paid_in(ranges: int) -> CompoundSelect[Any]:
    """Customers whose last paid order falls in one of ``ranges`` ranges: one statement,
    each branch an index range scan."""
    last_paid, instant = t.customers.c.last_paid_at, t.UtcDateTime()
    return union_all(*(select(t.customers.c.customer_id).where(
        last_paid >= bindparam(f"from{n}", type_=instant),
        last_paid < bindparam(f"before{n}", type_=instant)) for n in range(ranges)))


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for v in values:
        batch.append(v)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


upsert = bulk.upsert


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; returns how many rows were new."""
    return bulk.insert(conn, table, rows, ignore=True)


class Store:
    """State persistence for the engine; also the world's :class:`StateLoader`."""

    def __init__(self, engine: Engine, *, window_expires: bool) -> None:
        self.engine = engine
        self.window_expires = window_expires
        self._conn: Connection | None = None

    @contextmanager
    def bound(self, conn: Connection) -> Iterator[None]:
        """Load through ``conn`` (the page transaction) until the block ends."""
        previous, self._conn = self._conn, conn
        try:
            yield
        finally:
            self._conn = previous

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self.engine.connect() as conn:
                yield conn

    # ------------------------------------------------------------------ loading

    def load_customers(self, ids: Iterable[str]) -> dict[str, CustomerState]:
        found: dict[str, CustomerState] = {}
        with self._connect() as conn:
            for batch in _chunks(ids):
                legacy = []  # rows saved before the window was read lazily: read it now
                for row in conn.execute(_CUSTOMERS, {"ids": batch}).mappings():
                    found[row["customer_id"]] = _customer(row)
                    if "window_first" not in (row["counters"] or {}):
                        legacy.append(row["customer_id"])
                if self.window_expires and legacy:
                    for order in conn.execute(_WINDOW_ORDERS, {"ids": legacy}).all():
                        found[order.customer_id].window.append(order_from_row(order))
        return found

    def load_lots(self, customer_ids: Iterable[str]) -> dict[str, list[Lot]]:
        """Open lots per customer, oldest first."""
        found: dict[str, list[Lot]] = {}
        with self._connect() as conn:
            for batch in _chunks(customer_ids):
                for lot in conn.execute(_OPEN_LOTS, {"ids": batch}).all():
                    found.setdefault(lot.customer_id, []).append(Lot(*lot))
        return found

    def load_lots_by_key(self, lot_keys: Iterable[str]) -> list[Lot]:
        """The named lots that are still open."""
        with self._connect() as conn:
            return [Lot(*lot) for batch in _chunks(lot_keys)
                    for lot in conn.execute(_LOTS_BY_KEY, {"ids": batch}).all()]

    def load_window(self, customer_id: str, before: datetime
                    ) -> tuple[list[OrderState], datetime | None]:
        """The customer's window orders placed before ``before``; when the next one was."""
        params = {"customer_id": customer_id, "before": before}
        with self._connect() as conn:
            leaving = [order_from_row(row) for row in conn.execute(_WINDOW_BEFORE, params).all()]
            return leaving, conn.execute(_WINDOW_FIRST_FROM, params).scalar()

    def load_orders(self, ids: Iterable[str]) -> dict[str, OrderState]:
        with self._connect() as conn:
            return {row.order_id: order_from_row(row) for batch in _chunks(ids)
                    for row in conn.execute(_ORDERS, {"ids": batch}).all()}

    def load_referrals(self, referee_ids: Iterable[str]) -> dict[str, ReferralState]:
        with self._connect() as conn:
            return {row["referee_id"]: ReferralState(**row) for batch in _chunks(referee_ids)
                    for row in conn.execute(_REFERRALS, {"ids": batch}).mappings()}

    def owner_of_code(self, code: str) -> str | None:
        with self._connect() as conn:
            return conn.execute(_CODE_OWNER, {"code": code}).scalar()

    def due_timers(self, as_of: datetime) -> Iterator[tuple[datetime, int, str]]:
        """Timers persisted by earlier runs that fall due by ``as_of``."""
        with self._connect() as conn:
            for due, kind, ref, lot in conn.execute(_DUE_TIMERS, {"as_of": as_of}).all():
                yield due, kind, ref if lot is None else expiry_ref(ref, lot)

    # ------------------------------------------------------------------ profiles owed

    def segment_crossings(self, conn: Connection, since: datetime, until: datetime,
                          ages: Iterable[timedelta]) -> set[str]:
        """Customers whose last paid order passed one of ``ages`` in ``(since, until]``:
        their segment changed with time alone."""
        distinct = sorted(set(ages))
        bounds: dict[str, datetime] = {}
        for n, age in enumerate(distinct):
            bounds[f"from{n}"], bounds[f"before{n}"] = since - age, until - age
        return set(conn.execute(_last_paid_in(len(distinct)), bounds).scalars())

    def profiles_due(self, conn: Connection) -> dict[str, datetime]:
        return {r.customer_id: r.as_of for r in conn.execute(_PROFILES_DUE)}

    def clear_profiles_due(self, conn: Connection) -> None:
        conn.execute(t.profiles_due.delete())

    # ------------------------------------------------------------------ saving

def profiles_due_write(customer_ids: Iterable[str], as_of: datetime) -> Write:
    """Record customers a run touched, so that its last transaction publishes their profiles
    even if a later page's process dies first."""
    return Write("upsert", t.profiles_due, [{"customer_id": c, "as_of": as_of}
                                            for c in sorted(customer_ids)], ("customer_id",))


def page_writes(changes: Changes, world: World, dialect: str) -> Iterator[Write]:
    """The statements that save a page, in order, each one's rows built from the state as
    it is when it is taken (one table's rows in memory at a time)."""
    return (w for w in _writes(changes, world, dialect) if w.rows)


def _writes(changes: Changes, world: World, dialect: str) -> Iterator[Write]:
    yield Write("insert", t.entries, changes.entries)
    yield Write("insert", t.tier_changes, changes.tier_changes)
    yield Write("ignore", t.outbox, changes.outbox)
    yield Write("insert", t.lots, [_lot_row(lot) for lot in changes.new_lots.values()])
    yield Write("update", t.lots, [{"remaining": lot.remaining, "lot_key": k}
                                   for k, lot in changes.changed_lots.items()], ("lot_key",))
    yield from _customer_writes([world.customers[c] for c in sorted(changes.customers)],
                                changes.profiles, dialect)
    yield from _order_writes([world.orders[o] for o in sorted(changes.orders)], dialect)
    yield Write("upsert", t.referrals, [_referral_row(world.referrals[r])
                                        for r in sorted(changes.referrals)], ("referee_id",))
    yield Write("update", t.inbox, [{"status": st, "note": n, "seq": s}
                                    for s, st, n in changes.events], ("seq",))


# New customers and orders are inserted whole (COPY on PostgreSQL); on SQLite, saved ones
# are updated in the columns events change alone (a customer's contact data only when an
# event changed it): rewriting whole rows (and every index on them) through an upsert was
# a third of the cost of saving a page at 1M orders. PostgreSQL upserts saved rows:
# batched a thousand rows a statement, that beats an UPDATE per row there.
def _customer_writes(customers: list[CustomerState], profiles: set[str], dialect: str
                     ) -> list[Write]:
    writes = [Write("insert", t.customers, [_customer_row(cs) for cs in customers
                                            if not cs.stored])]
    saved = [cs for cs in customers if cs.stored]
    key = ("customer_id",)
    if dialect != "sqlite":
        writes.append(Write("upsert", t.customers, [_customer_row(cs) for cs in saved], key))
    else:
        writes.append(Write("update", t.customers, [
            _customer_row(cs) for cs in saved if cs.customer_id in profiles], key))
        writes.append(Write("update", t.customers, [
            _state_row(cs) for cs in saved if cs.customer_id not in profiles], key))
    for cs in customers:
        cs.stored = True
    return writes


def _order_writes(orders: list[OrderState], dialect: str) -> list[Write]:
    writes = [Write("insert", t.orders, [_order_row(o) for o in orders if not o.stored])]
    saved = [o for o in orders if o.stored]
    key = ("order_id",)
    if dialect != "sqlite":
        writes.append(Write("upsert", t.orders, [_order_row(o) for o in saved], key))
    else:
        writes.append(Write("update", t.orders, [  # what events change in an order
            {"refunded_minor": o.refunded_minor, "status": o.status,
             "cancelled_at": o.cancelled_at, "earned": o.earned, "reversed": o.reversed,
             "bonuses": o.bonuses or {}, "in_window": o.in_window, "order_id": o.order_id}
            for o in saved], key))
    for order in orders:
        order.stored = True
    return writes


def _customer(row: Any) -> CustomerState:
    counters = dict(row["counters"] or {})
    window = counters.pop("window", [0, 0, 0])
    first = counters.pop("window_first", None)
    cs = CustomerState(
        row["customer_id"], row["email"], row["phone"], row["address"],
        date.fromisoformat(row["birthday"]) if row["birthday"] else None,
        row["referral_code"], dict(row["attributes"] or {}), row["first_seen_at"], row["tier"],
        row["tier_since"], row["below_since"], row["review_at"], row["balance"],
        row["lifetime_earned"], row["first_paid_order_id"], row["last_paid_at"])
    cs.load_counters(counters)
    cs.window_net, cs.window_orders, cs.window_points = window
    cs.window_first_at = datetime.fromisoformat(first) if first else None
    cs.stored = True
    cs.lots_loaded = False  # read when a debit needs them (see CustomerState)
    return cs


def _customer_row(cs: CustomerState) -> dict[str, Any]:
    return {
        "email": cs.email, "phone": cs.phone, "address": cs.address,
        "birthday": cs.birthday.isoformat() if cs.birthday else None,
        "referral_code": cs.referral_code, "attributes": cs.attributes,
        "first_seen_at": cs.first_seen_at, **_state_row(cs),
    }


def _state_row(cs: CustomerState) -> dict[str, Any]:
    """What events change in a customer's row (and its key)."""
    counters = cs.counters()
    counters["window"] = [cs.window_net, cs.window_orders, cs.window_points]
    first = cs.window_first()
    counters["window_first"] = first.isoformat() if first else None
    return {
        "customer_id": cs.customer_id, "tier": cs.tier, "tier_since": cs.tier_since,
        "below_since": cs.below_since, "review_at": cs.review_at, "balance": cs.balance,
        "lifetime_earned": cs.lifetime_earned, "first_paid_order_id": cs.first_paid_order_id,
        "last_paid_at": cs.last_paid_at, "counters": counters,
    }


def order_from_row(row: Row[Any]) -> OrderState:
    """An order's engine state from a row of :data:`ORDER_ROWS` (queries read them too)."""
    order = OrderState(*tuple(row))
    order.stored = True
    order.bonuses = {k: list(v) for k, v in order.bonuses.items()} if order.bonuses else None
    return order


def _order_row(o: OrderState) -> dict[str, Any]:
    return {
        "order_id": o.order_id, "customer_id": o.customer_id, "placed_at": o.placed_at,
        "amount_minor": o.amount_minor, "refunded_minor": o.refunded_minor, "status": o.status,
        "cancelled_at": o.cancelled_at, "program_version": o.program_version,
        "earned": o.earned, "reversed": o.reversed, "bonuses": o.bonuses or {},
        "in_window": o.in_window,
    }


def _lot_row(lot: Lot) -> dict[str, Any]:
    return {
        "lot_key": lot.lot_key, "customer_id": lot.customer_id,
        "credited_at": lot.credited_at, "expires_at": lot.expires_at, "points": lot.points,
        "remaining": lot.remaining, "program_version": lot.program_version,
    }


def _referral_row(r: ReferralState) -> dict[str, Any]:
    return {
        "referee_id": r.referee_id, "referrer_id": r.referrer_id, "code": r.code,
        "recorded_at": r.recorded_at, "status": r.status, "reason": r.reason,
        "order_id": r.order_id, "due_at": r.due_at, "decided_at": r.decided_at,
    }
