"""Read models: a customer's view, the shop report and the customer export.

Everything here reads the append-only tables, so any figure can be recomputed as of an
earlier instant (balances from entries, tiers from tier changes).

Each read model runs all its SELECTs in one :func:`snapshot`, so its figures agree with each
other (customer count, liability, entry sums) even while a run commits pages meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, or_, select

from loyaltykit.errors import NotFoundError
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.store import ORDER_ROWS, order_from_row
from loyaltykit.money import value_of_points
from loyaltykit.rules.segments import SEGMENTS, segment_of
from loyaltykit.rules.tiers import Metrics, Progress, progress_to_next, window_start
from loyaltykit.rules.versions import ProgramSet


@dataclass(frozen=True, slots=True)
class EntryView:
    entry_key: str
    kind: str
    points: int
    forgiven: int
    balance_after: int
    effective_at: datetime
    rule_id: str
    program_version: int
    source_event: str
    order_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class CustomerView:
    customer_id: str
    balance: int
    tier: str | None
    tier_since: datetime | None
    progress: Progress | None
    segment: str
    lifetime_earned: int
    discount_percent: Decimal
    next_expiry: tuple[datetime, int] | None
    referred_by: tuple[str | None, str, str | None] | None  # (referrer, status, reason)
    history: list[EntryView]
    tier_history: list[tuple[datetime, str | None, str, str]]

    def explain(self) -> list[str]:
        """The customer's standing in sentences a support agent can read out."""
        lines = [f"{self.customer_id}: {self.balance} points, tier {self.tier or '-'}, "
                 f"segment {self.segment}"]
        if self.progress is not None:
            lines.append(f"next tier: {self.progress}")
        if self.next_expiry is not None:
            lines.append(f"{self.next_expiry[1]} points expire {self.next_expiry[0]:%Y-%m-%d}")
        for when, before, after, reason in self.tier_history:
            lines.append(f"{when:%Y-%m-%d} tier {before or '-'} -> {after}: {reason}")
        for e in self.history:
            lines.append(f"{e.effective_at:%Y-%m-%d %H:%M} {e.points:+d} ({e.kind}, "
                         f"{e.rule_id}, v{e.program_version}): {e.reason}")
        return lines


@dataclass(slots=True)
class Report:
    as_of: datetime
    program: str
    currency: str
    customers: int
    tiers: dict[str, int]
    segments: dict[str, int]
    liability_points: int
    liability_value: Decimal | None
    points: dict[str, int]
    forgiven: int
    top_referrers: list[dict[str, Any]]
    flagged_referrals: list[dict[str, Any]]
    referrals: dict[str, int]
    rejected_events: int
    pending_commands: int
    orders: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "program": self.program,
            "currency": self.currency, "customers": self.customers, "tiers": self.tiers,
            "segments": self.segments, "liability_points": self.liability_points,
            "liability_value": None if self.liability_value is None else str(self.liability_value),
            "points": self.points, "forgiven": self.forgiven, "orders": self.orders,
            "referrals": self.referrals, "top_referrers": self.top_referrers,
            "flagged_referrals": self.flagged_referrals,
            "rejected_events": self.rejected_events, "pending_commands": self.pending_commands,
        }


@dataclass(frozen=True, slots=True)
class CustomerRow:
    customer_id: str
    points_balance: int
    tier: str
    lifetime_points_earned: int
    referral_rewards_as_referrer: int
    referral_points_as_referrer: int
    segment: str


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one committed state of the ledger, then nothing.

    Without it every SELECT sees the latest commit: PostgreSQL's READ COMMITTED takes a new
    snapshot per statement, and the sqlite3 driver sends no BEGIN before a SELECT, so each
    one reads the WAL on its own. PostgreSQL gets a REPEATABLE READ, READ ONLY transaction.
    SQLite gets a deferred BEGIN of our own (its snapshot starts at the first SELECT), the way
    SQLAlchemy documents for the sqlite3 driver: the driver's own BEGIN handling is switched
    off for this connection (``isolation_level=None``, which SQLAlchemy names AUTOCOMMIT and
    restores when the connection goes back to the pool), and the transaction, which never
    writes, is rolled back at the end.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            options: dict[str, Any] = {"isolation_level": "REPEATABLE READ"}
            if conn.dialect.name == "postgresql":
                options["postgresql_readonly"] = True
            yield conn.execution_options(**options)
            return  # closing the connection rolls the read-only transaction back
        conn.execution_options(isolation_level="AUTOCOMMIT")
        driver: Any = conn.connection.driver_connection
        began = not driver.in_transaction  # else the driver opened one (autocommit=False)
        if began:
            conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            if began and driver.in_transaction:
                conn.exec_driver_sql("ROLLBACK")


def history(bind: Engine | Connection, customer_id: str) -> list[EntryView]:
    """A customer's entries in order; on ``bind``, or a connection of its own from an engine."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return history(conn, customer_id)
    rows = bind.execute(select(t.entries).where(t.entries.c.customer_id == customer_id)
                        .order_by(t.entries.c.seq)).mappings().all()
    return [EntryView(r["entry_key"], r["kind"], r["points"], r["forgiven"], r["balance_after"],
                      r["effective_at"], r["rule_id"], r["program_version"], r["source_event"],
                      r["order_id"], r["reason"]) for r in rows]


def customer_view(engine: Engine, programs: ProgramSet, customer_id: str,
                  as_of: datetime) -> CustomerView:
    program = programs.current_or_first(as_of)
    with snapshot(engine) as conn:
        row = conn.execute(select(t.customers).where(
            t.customers.c.customer_id == customer_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no customer {customer_id!r} in this ledger")
        expiry = conn.execute(select(t.lots.c.expires_at, t.lots.c.remaining).where(
            t.lots.c.customer_id == customer_id, t.OPEN_LOT,
            t.lots.c.expires_at.is_not(None)).order_by(t.lots.c.expires_at).limit(1)).first()
        ref = conn.execute(select(t.referrals.c.referrer_id, t.referrals.c.status,
                                  t.referrals.c.reason).where(
            t.referrals.c.referee_id == customer_id)).first()
        tiers = conn.execute(select(t.tier_changes.c.changed_at, t.tier_changes.c.from_tier,
                                    t.tier_changes.c.to_tier, t.tier_changes.c.reason).where(
            t.tier_changes.c.customer_id == customer_id).order_by(t.tier_changes.c.seq)).all()
        entries = history(conn, customer_id)
        window = _window_metrics(conn, programs, customer_id, as_of) or Metrics(
            *(row["counters"] or {}).get("window", [0, 0, 0]))
    progress = None
    discount = Decimal(0)
    if program.tiers is not None and row["tier"] in program.tier_ids():
        index = program.tier_ids().index(row["tier"])
        progress = progress_to_next(program.tiers, index, window, program.currency)
        discount = program.tiers.levels[index].benefits.discount_percent
    return CustomerView(
        customer_id=customer_id, balance=row["balance"], tier=row["tier"],
        tier_since=row["tier_since"], progress=progress,
        segment=segment_of(row["last_paid_at"], as_of, program.segments),
        lifetime_earned=row["lifetime_earned"], discount_percent=discount,
        next_expiry=(expiry.expires_at, expiry.remaining) if expiry else None,
        referred_by=(ref.referrer_id, ref.status, ref.reason) if ref else None,
        history=entries,
        tier_history=[(r.changed_at, r.from_tier, r.to_tier, r.reason) for r in tiers])


def _window_metrics(conn: Connection, programs: ProgramSet, customer_id: str,
                    as_of: datetime) -> Metrics | None:
    """Tier-window activity exactly at ``as_of`` (stored totals only move at reviews)."""
    program = programs.current_or_first(as_of)
    if program.tiers is None:
        return None
    start = window_start(program.tiers, as_of, program.tz)
    if start is None:
        return None
    rows = conn.execute(ORDER_ROWS.where(
        t.orders.c.customer_id == customer_id, t.orders.c.in_window,
        t.orders.c.placed_at >= start, t.orders.c.placed_at <= as_of)).all()
    orders = [order_from_row(r) for r in rows]
    return Metrics(sum(o.net_minor for o in orders), sum(1 for o in orders if o.counts),
                   sum(o.net_points for o in orders))


def report(engine: Engine, programs: ProgramSet, as_of: datetime) -> Report:
    program = programs.current_or_first(as_of)
    with snapshot(engine) as conn:
        customers = conn.execute(select(t.customers.c.tier, t.customers.c.last_paid_at,
                                        t.customers.c.balance)).all()
        kinds = dict(conn.execute(select(t.entries.c.kind, func.sum(t.entries.c.points))
                                  .group_by(t.entries.c.kind)).all())
        forgiven = conn.execute(select(func.coalesce(func.sum(t.entries.c.forgiven), 0))).scalar()
        statuses: dict[str, int] = dict(conn.execute(select(t.referrals.c.status, func.count())
                                     .group_by(t.referrals.c.status)).all())
        order_statuses: dict[str, int] = dict(conn.execute(select(t.orders.c.status, func.count())
                                           .group_by(t.orders.c.status)).all())
        top = conn.execute(
            select(t.referrals.c.referrer_id, func.count().label("rewarded"))
            .where(t.referrals.c.status == "rewarded").group_by(t.referrals.c.referrer_id)
            .order_by(func.count().desc(), t.referrals.c.referrer_id).limit(10)).all()
        referrer_points = dict(conn.execute(
            select(t.entries.c.customer_id, func.sum(t.entries.c.points))
            .where(t.entries.c.rule_id == "referral.referrer")
            .group_by(t.entries.c.customer_id)).all())
        flagged = conn.execute(
            select(t.referrals.c.referee_id, t.referrals.c.referrer_id, t.referrals.c.status,
                   t.referrals.c.reason)
            .where(t.referrals.c.status.in_(["flagged", "void"]))
            .order_by(t.referrals.c.referee_id)).all()
        rejected = conn.execute(select(func.count()).where(
            t.inbox.c.status == "rejected")).scalar()
        pending = conn.execute(select(func.count()).where(t.outbox.c.status == "pending")).scalar()
    tier_counts = {tier: 0 for tier in program.tier_ids()}
    segment_counts = dict.fromkeys(SEGMENTS, 0)
    liability = 0
    for tier, last_paid, balance in customers:
        if tier is not None:
            tier_counts[tier] = tier_counts.get(tier, 0) + 1
        segment_counts[segment_of(last_paid, as_of, program.segments)] += 1
        liability += balance
    value = None
    if program.redemption.point_value is not None:
        value = value_of_points(liability, program.redemption.point_value, program.currency)
    return Report(
        as_of=as_of, program=program.label, currency=program.currency, customers=len(customers),
        tiers=tier_counts, segments=segment_counts, liability_points=liability,
        liability_value=value,
        points={k: int(kinds.get(k) or 0) for k in t.ENTRY_KINDS if k in kinds},
        forgiven=int(forgiven or 0),
        top_referrers=[{"customer_id": r.referrer_id, "rewarded_referrals": r.rewarded,
                        "points": int(referrer_points.get(r.referrer_id) or 0)} for r in top],
        flagged_referrals=[{"referee_id": r.referee_id, "referrer_id": r.referrer_id,
                            "status": r.status, "reason": r.reason} for r in flagged],
        referrals={k: int(v) for k, v in statuses.items()}, rejected_events=int(rejected or 0),
        pending_commands=int(pending or 0),
        orders={k: int(v) for k, v in order_statuses.items()})


def export_customers(engine: Engine, programs: ProgramSet, as_of: datetime) -> list[CustomerRow]:
    """One row per customer as the ledger stood at ``as_of`` (entries and tier changes)."""
    program = programs.current_or_first(as_of)
    e = t.entries.c
    credit = e.kind.in_(["earn", "bonus", "referral"])
    with snapshot(engine) as conn:
        ids = conn.execute(select(t.customers.c.customer_id).where(or_(
            t.customers.c.first_seen_at <= as_of, t.customers.c.first_seen_at.is_(None)))
            .order_by(t.customers.c.customer_id)).scalars().all()
        sums = {r.customer_id: r for r in conn.execute(
            select(e.customer_id, func.sum(e.points).label("balance"),
                   func.sum(case((credit, e.points), else_=0)).label("credits"),
                   func.sum(case((e.kind == "reversal", e.points - e.forgiven), else_=0))
                   .label("reversed"),
                   func.sum(case((e.rule_id == "referral.referrer", 1), else_=0)).label("refs"),
                   func.sum(case((e.rule_id == "referral.referrer", e.points), else_=0))
                   .label("ref_points"))
            .where(e.effective_at <= as_of).group_by(e.customer_id))}
        latest = (select(t.tier_changes.c.customer_id,
                         func.max(t.tier_changes.c.seq).label("seq"))
                  .where(t.tier_changes.c.changed_at <= as_of)
                  .group_by(t.tier_changes.c.customer_id).subquery())
        tiers = dict(conn.execute(select(t.tier_changes.c.customer_id, t.tier_changes.c.to_tier)
                                  .join(latest, t.tier_changes.c.seq == latest.c.seq)).all())
        o = t.orders.c
        last_paid = dict(conn.execute(
            select(o.customer_id, func.max(o.placed_at)).where(
                o.placed_at <= as_of, o.amount_minor > 0,
                or_(o.status == "paid", and_(o.status == "cancelled", o.cancelled_at > as_of)))
            .group_by(o.customer_id)).all())
    rows = []
    for customer_id in ids:
        s = sums.get(customer_id)
        rows.append(CustomerRow(
            customer_id=customer_id, points_balance=int(s.balance) if s else 0,
            tier=tiers.get(customer_id, ""),
            lifetime_points_earned=int(s.credits + s.reversed) if s else 0,
            referral_rewards_as_referrer=int(s.refs) if s else 0,
            referral_points_as_referrer=int(s.ref_points) if s else 0,
            segment=segment_of(last_paid.get(customer_id), as_of, program.segments)))
    return rows
