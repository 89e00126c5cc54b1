"""The facts :mod:`loyaltykit.rules.explain` needs, read from a ledger (read-only).

The engine does not store "what the rules saw"; it stores what happened. The rules' inputs
are rebuilt from that: the order and its lines from the inbox, the customer's tier from the
tier changes *before* the order was placed, the bonuses already received from earlier
entries. An explanation then recomputes the decision with the same pure functions and sets
it beside the entries the ledger recorded, so any difference is visible rather than hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from loyaltykit.errors import NotFoundError
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.ledger import Ledger
from loyaltykit.ledger.queries import EntryView, history
from loyaltykit.money import to_minor
from loyaltykit.rules.earning import Line
from loyaltykit.rules.explain import CustomerFacts, OrderFacts, ReferralFacts
from loyaltykit.rules.program import BirthdayBonus, CampaignBonus, Program
from loyaltykit.rules.tiers import Metrics, window_start

CREDITS = ("earn", "bonus")


@dataclass(frozen=True)
class OrderRecord:
    """An order as the ledger holds it: the program that applied, the facts, the entries."""

    program: Program
    facts: OrderFacts
    status: str
    entries: tuple[EntryView, ...]


def order_record(ledger: Ledger, order_id: str) -> OrderRecord:
    with ledger.engine.connect() as conn:
        row = conn.execute(select(t.orders).where(t.orders.c.order_id == order_id)) \
            .mappings().first()
        if row is None:
            raise NotFoundError(f"no order {order_id!r} in this ledger")
        customer = _customer_row(conn, row["customer_id"])
        payload = conn.execute(select(t.inbox.c.payload).where(
            t.inbox.c.event_key == f"order:{order_id}:paid")).scalar()
        tier = conn.execute(select(t.tier_changes.c.to_tier).where(
            t.tier_changes.c.customer_id == row["customer_id"],
            t.tier_changes.c.changed_at < row["placed_at"])
            .order_by(t.tier_changes.c.seq.desc()).limit(1)).scalar()
    programs = ledger.programs
    program = (programs.version(row["program_version"]) if row["program_version"] is not None
               else programs.current_or_first(row["placed_at"]))
    entries = history(ledger.engine, row["customer_id"])
    earlier = _before(entries, f"order:{order_id}:paid", row["placed_at"])
    facts = OrderFacts(
        order_id=order_id, customer_id=row["customer_id"], placed_at=row["placed_at"],
        amount_minor=row["amount_minor"], lines=_lines(payload, program.currency), tier=tier,
        first_paid_order_id=customer["first_paid_order_id"],
        birthday=date.fromisoformat(customer["birthday"]) if customer["birthday"] else None,
        birthday_years=frozenset(e.effective_at.astimezone(program.tz).year for e in earlier
                                 if e.rule_id in _bonus_ids(program, BirthdayBonus)),
        campaigns=frozenset(e.rule_id for e in earlier
                            if e.rule_id in _bonus_ids(program, CampaignBonus)),
        year_earned_before=sum(
            e.points for e in earlier if e.kind in CREDITS and
            e.effective_at.astimezone(program.tz).year ==
            row["placed_at"].astimezone(program.tz).year))
    mine = tuple(e for e in entries if e.order_id == order_id)
    return OrderRecord(program, facts, row["status"], mine)


def _customer_row(conn: Connection, customer_id: str) -> Any:
    row = conn.execute(select(t.customers).where(
        t.customers.c.customer_id == customer_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no customer {customer_id!r} in this ledger")
    return row


def _before(entries: list[EntryView], source: str, placed_at: datetime) -> list[EntryView]:
    """Entries written before the order's own (entries are in ledger order)."""
    for index, entry in enumerate(entries):
        if entry.source_event == source:
            return entries[:index]
    return [e for e in entries if e.effective_at <= placed_at]


def _lines(payload: dict[str, Any] | None, currency: str) -> tuple[Line, ...]:
    from decimal import Decimal

    if not payload:
        return ()
    return tuple(Line(ln["sku"], ln.get("category"), to_minor(Decimal(ln["amount"]), currency))
                 for ln in payload.get("lines") or ())


def _bonus_ids(program: Program, kind: type) -> set[str]:
    return {b.id for b in program.earning.bonuses if isinstance(b, kind)}


# --------------------------------------------------------------------------- customers


def customer_facts(ledger: Ledger, customer_id: str, as_of: datetime) -> tuple[Program,
                                                                                CustomerFacts]:
    program = ledger.programs.current_or_first(as_of)
    with ledger.engine.connect() as conn:
        row = _customer_row(conn, customer_id)
        orders = conn.execute(select(t.orders).where(
            t.orders.c.customer_id == customer_id, t.orders.c.placed_at <= as_of)).mappings().all()
        refs = [ReferralFacts(
            r["referee_id"], r["referrer_id"], r["code"], r["status"], r["reason"],
            r["order_id"], r["due_at"], r["decided_at"])
            for r in conn.execute(select(t.referrals).where(or_(
                t.referrals.c.referee_id == customer_id,
                t.referrals.c.referrer_id == customer_id))
                .order_by(t.referrals.c.recorded_at)).mappings()]
    start = window_start(program.tiers, as_of, program.tz) if program.tiers else None
    window = [o for o in orders if start is None or o["placed_at"] >= start]
    year = str(as_of.astimezone(program.tz).year)
    rewards = dict((row["counters"] or {}).get("referrer_rewards") or {})
    return program, CustomerFacts(
        customer_id=customer_id, as_of=as_of, tier=row["tier"], tier_since=row["tier_since"],
        below_since=row["below_since"], metrics=_metrics(window),
        last_paid_at=row["last_paid_at"],
        referred=next((r for r in refs if r.referee_id == customer_id), None),
        referrals_made=tuple(r for r in refs if r.referrer_id == customer_id),
        referrer_rewards_this_year=int(rewards.get(year, 0)))


def _metrics(orders: list[Any]) -> Metrics:
    """The tier window's totals, the way the engine counts them (see ``OrderState``)."""
    net = count = points = 0
    for o in orders:
        paid = o["status"] == "paid"
        net += o["amount_minor"] - o["refunded_minor"] if paid else 0
        count += 1 if paid and o["refunded_minor"] < o["amount_minor"] else 0
        live = sum(b[0] for b in (o["bonuses"] or {}).values() if not b[1])
        points += o["earned"] - o["reversed"] + live
    return Metrics(net, count, points)
