"""Where a customer stands: tier qualification level by level, lifecycle segment, referrals.

The figures come from the same pure functions the engine uses (:mod:`loyaltykit.rules.tiers`,
:mod:`loyaltykit.rules.segments`), so the explanation cannot drift from what the engine
decides; the ledger's view of the customer is passed in as :class:`CustomerFacts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from loyaltykit.money import format_money, to_minor
from loyaltykit.rules.program import GracePeriod, Program, TierLevel
from loyaltykit.rules.segments import segment_of
from loyaltykit.rules.tiers import (
    Metrics,
    progress_to_next,
    qualified_index,
    qualifies,
    window_start,
)


@dataclass(frozen=True, slots=True)
class ReferralFacts:
    referee_id: str
    referrer_id: str | None
    code: str
    status: str
    reason: str | None = None
    order_id: str | None = None
    due_at: datetime | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """A customer as the ledger holds them at ``as_of``; ``metrics`` are the tier window's."""

    customer_id: str
    as_of: datetime
    tier: str | None
    tier_since: datetime | None = None
    below_since: datetime | None = None
    metrics: Metrics = field(default_factory=Metrics)
    last_paid_at: datetime | None = None
    referred: ReferralFacts | None = None
    referrals_made: tuple[ReferralFacts, ...] = ()
    referrer_rewards_this_year: int = 0


@dataclass(frozen=True, slots=True)
class CustomerExplanation:
    customer_id: str
    qualified_tier: str | None
    sections: tuple[tuple[str, tuple[str, ...]], ...]

    def lines(self) -> list[str]:
        out = [f"customer {self.customer_id}"]
        for title, body in self.sections:
            out.append(f"  {title}:")
            out += [f"    {text}" for text in body]
        return out


def explain_customer(program: Program, facts: CustomerFacts) -> CustomerExplanation:
    """Tier qualification level by level, lifecycle segment and referral status."""
    sections: list[tuple[str, tuple[str, ...]]] = []
    qualified = None
    if program.tiers is not None:
        qualified, tier_lines = _tier_lines(program, facts)
        sections.append(("tier", tuple(tier_lines)))
    sections.append(("segment", (_segment_line(program, facts),)))
    if program.referrals is not None:
        sections.append(("referrals", tuple(_referral_lines(program, facts))))
    return CustomerExplanation(facts.customer_id, qualified, tuple(sections))


def _tier_lines(program: Program, facts: CustomerFacts) -> tuple[str, list[str]]:
    tiers = program.tiers
    assert tiers is not None
    currency, m = program.currency, facts.metrics
    start = window_start(tiers, facts.as_of, program.tz)
    scope = ("the whole history" if start is None
             else f"orders placed from {start.astimezone(program.tz):%Y-%m-%d %H:%M}")
    out = [f"window ({tiers.window.type}): {scope}; net spend "
           f"{format_money(m.net_spend_minor, currency)}, {m.paid_orders} paid orders, "
           f"{m.points_earned} points"]
    for level in tiers.levels:
        out.append(_level_line(level, m, currency))
    best = tiers.levels[qualified_index(tiers, m, currency)].id
    ids = program.tier_ids()
    current = facts.tier or "-"
    since = f" since {facts.tier_since.astimezone(program.tz):%Y-%m-%d}" if facts.tier_since \
        else ""
    out.append(f"qualifies for {best}; current tier {current}{since}")
    if facts.tier in ids and ids.index(best) < ids.index(facts.tier):
        out.append(_retention_line(program, facts, best))
    if facts.tier in ids:
        out.append(f"next: {progress_to_next(tiers, ids.index(facts.tier), m, currency)}")
    return best, out


def _level_line(level: TierLevel, m: Metrics, currency: str) -> str:
    q = level.qualify
    if q is None:
        return f"{level.id}: entry level, every customer qualifies"
    checks = []
    if q.net_spend is not None:
        need = to_minor(q.net_spend, currency)
        checks.append(_check("net spend", m.net_spend_minor, need,
                             lambda v: format_money(v, currency)))
    if q.paid_orders is not None:
        checks.append(_check("paid orders", m.paid_orders, q.paid_orders, str))
    if q.points_earned is not None:
        checks.append(_check("points earned", m.points_earned, q.points_earned, str))
    verdict = "qualifies" if qualifies(level, m, currency) else "does not qualify"
    joiner = " or " if q.match == "any" else " and "
    return f"{level.id}: {verdict} ({q.match}: {joiner.join(checks)})"


def _check(name: str, have: int, need: int, show: Callable[[int], str]) -> str:
    state = "met" if have >= need else f"{show(need - have)} short"
    return f"{name} {show(have)} of {show(need)} ({state})"


def _retention_line(program: Program, facts: CustomerFacts, best: str) -> str:
    assert program.tiers is not None
    retention = program.tiers.retention
    if isinstance(retention, GracePeriod) and facts.below_since is not None:
        until = facts.below_since + timedelta(days=retention.days)
        return (f"below {facts.tier} since {facts.below_since.astimezone(program.tz):%Y-%m-%d}; "
                f"the {retention.days}-day grace period keeps it until "
                f"{until.astimezone(program.tz):%Y-%m-%d %H:%M}, then {best}")
    return f"drops to {best} at the next review (no grace period)"


def _segment_line(program: Program, facts: CustomerFacts) -> str:
    segment = segment_of(facts.last_paid_at, facts.as_of, program.segments)
    if facts.last_paid_at is None:
        return f"{segment}: no paid order yet"
    days = (facts.as_of - facts.last_paid_at).days
    rules = program.segments
    return (f"{segment}: last paid order {days} days ago "
            f"({facts.last_paid_at.astimezone(program.tz):%Y-%m-%d}); thresholds active <= "
            f"{rules.active_days}, silent <= {rules.silent_days}, sleeping <= "
            f"{rules.sleeping_days}, at_risk <= {rules.at_risk_days} days")


def _referral_lines(program: Program, facts: CustomerFacts) -> list[str]:
    rules = program.referrals
    assert rules is not None
    out = []
    ref = facts.referred
    if ref is None:
        out.append("did not arrive through a referral")
    else:
        who = ref.referrer_id or "an unknown customer"
        out.append(f"referred by {who} (code {ref.code}): {ref.status}"
                   + _referral_detail(program, ref))
    if facts.referrals_made:
        counts: dict[str, int] = {}
        for made in facts.referrals_made:
            counts[made.status] = counts.get(made.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        count = len(facts.referrals_made)
        out.append(f"referred {count} customer{'s' if count != 1 else ''}: {summary}")
        for made in facts.referrals_made:
            if made.status in ("flagged", "void"):
                out.append(f"  {made.referee_id}: {made.status}: {made.reason}")
    cap = rules.cap_per_referrer_per_year
    if cap is not None and facts.referrals_made:
        year = facts.as_of.astimezone(program.tz).year
        out.append(f"referrer rewards in {year}: {facts.referrer_rewards_this_year} of {cap}")
    return out


def _referral_detail(program: Program, ref: ReferralFacts) -> str:
    rules = program.referrals
    assert rules is not None
    if ref.status == "pending":
        minimum = format_money(to_minor(rules.trigger.min_order_amount, program.currency),
                               program.currency)
        return f", waiting for a first paid order of at least {minimum}"
    if ref.status == "qualified" and ref.due_at is not None:
        return (f" by order {ref.order_id}; the referrer's reward is due "
                f"{ref.due_at.astimezone(program.tz):%Y-%m-%d %H:%M} "
                f"({rules.referrer_delay_days}-day delay) unless the order is undone")
    if ref.status == "rewarded":
        return f" by order {ref.order_id}"
    return f": {ref.reason}" if ref.reason else ""
