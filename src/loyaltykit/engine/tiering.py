"""Tier reviews: apply the qualification rules, retention and the window as time passes.

A review runs after every event that changes a customer's activity and at scheduled
instants (an order leaving a rolling window, a calendar year ending, a grace period
running out), so tiers are right at any instant without scanning every customer daily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loyaltykit.clock import utc_key
from loyaltykit.commands import SetCustomerTags
from loyaltykit.engine.changes import Changes
from loyaltykit.engine.postings import TIMER_REVIEW, Timers
from loyaltykit.engine.state import CustomerState, OrderState
from loyaltykit.money import format_money
from loyaltykit.rules.program import GracePeriod, LifetimeWindow, Program, RollingWindow
from loyaltykit.rules.tiers import Metrics, next_window_boundary, qualified_index, window_start
from loyaltykit.rules.versions import ProgramSet


class TierReviewer:
    def __init__(self, programs: ProgramSet, changes: Changes, timers: Timers,
                 drop_window: Callable[[CustomerState, datetime], list[OrderState]]) -> None:
        self.programs = programs
        self.changes = changes
        self.timers = timers
        self.drop_window = drop_window

    def add_order(self, cs: CustomerState, order: OrderState, at: datetime) -> None:
        program = self.programs.at(at)
        if program is None or program.tiers is None:
            return
        cs.window_add(order, expires=not isinstance(program.tiers.window, LifetimeWindow))

    def review(self, cs: CustomerState, now: datetime) -> None:
        program = self.programs.at(now)
        if program is None or program.tiers is None:
            return
        plan = _plan_for(program)
        start = (now - plan.rolling_start if plan.rolling_start is not None
                 else window_start(program.tiers, now, plan.tz))
        first = cs.window_first()
        if start is not None and first is not None and first < start:
            self.changes.orders.update(o.order_id for o in self.drop_window(cs, start))
        metrics = Metrics(cs.window_net, cs.window_orders, cs.window_points)
        ids = plan.ids
        best = qualified_index(program.tiers, metrics, program.currency)
        current = plan.index.get(cs.tier or "")
        grace = plan.grace
        if current is None:
            why = "entry tier" if cs.tier is None else f"tier {cs.tier} is not in {program.label}"
            self._change(cs, ids[best], now, program,
                         f"{why}; {_describe(metrics, program.currency)}")
        elif best > current:
            self._change(cs, ids[best], now, program,
                         f"qualified: {_describe(metrics, program.currency)}")
        elif best < current:
            if cs.below_since is None:
                cs.below_since = now
            if grace == 0 or now >= cs.below_since + plan.grace_period:
                held = "" if grace == 0 else f" after a {grace}-day grace period"
                self._change(cs, ids[best], now, program, f"no longer qualifies{held}: "
                             f"{_describe(metrics, program.currency)}")
        if best >= plan.index.get(cs.tier or "", len(ids)):
            cs.below_since = None
        self._schedule(cs, now, program, plan)
        self.changes.customers.add(cs.customer_id)

    def _change(self, cs: CustomerState, to: str, now: datetime, program: Program,
                reason: str) -> None:
        before = cs.tier
        if before == to:
            return
        cs.tier, cs.tier_since, cs.below_since = to, now, None
        key = f"tier:{cs.customer_id}:{utc_key(now)}:{to}"
        self.changes.tier_changes.append({
            "change_key": key, "customer_id": cs.customer_id, "changed_at": now,
            "from_tier": before, "to_tier": to, "program_version": program.version,
            "reason": reason})
        assert program.tiers is not None
        tags = {lvl.id: lvl.benefits.tags for lvl in program.tiers.levels}
        add = tuple(tags.get(to, ()))
        remove = tuple(t for t in tags.get(before or "", ()) if t not in add)
        if add or remove:
            self.changes.command(SetCustomerTags(f"tags:{key}", cs.customer_id, add, remove), now)

    def _schedule(self, cs: CustomerState, now: datetime, program: Program,
                  plan: _TierPlan) -> None:
        next_due = None
        if cs.below_since is not None and plan.grace:
            next_due = cs.below_since + plan.grace_period
        if cs.tier != plan.ids[0]:
            first = cs.window_first()
            if plan.rolling is not None and first is not None:
                leaves = first + plan.rolling
                next_due = leaves if next_due is None else min(next_due, leaves)
            if plan.rolling is None:
                assert program.tiers is not None
                boundary = next_window_boundary(program.tiers, now, plan.tz)
                if boundary is not None:
                    next_due = boundary if next_due is None else min(next_due, boundary)
        if next_due != cs.review_at:
            cs.review_at = next_due
            if next_due is not None:
                self.timers.push(next_due, TIMER_REVIEW, cs.customer_id)


@dataclass(frozen=True, slots=True)
class _TierPlan:
    """What every review of one program needs, worked out once (reviews are hot)."""

    ids: list[str]
    index: dict[str, int]
    grace: int
    grace_period: timedelta
    rolling: timedelta | None  # how long an order counts, for a rolling window
    rolling_start: timedelta | None  # now - this = the earliest instant still counted
    tz: ZoneInfo


_PLANS: dict[int, tuple[Program, _TierPlan]] = {}


def _plan_for(program: Program) -> _TierPlan:
    found = _PLANS.get(id(program))
    if found is None or found[0] is not program:
        assert program.tiers is not None
        ids = program.tier_ids()
        retention, window = program.tiers.retention, program.tiers.window
        grace = retention.days if isinstance(retention, GracePeriod) else 0
        rolling = timedelta(days=window.days) if isinstance(window, RollingWindow) else None
        plan = _TierPlan(ids, {tier: i for i, tier in enumerate(ids)}, grace,
                         timedelta(days=grace), rolling,
                         None if rolling is None else rolling - timedelta(microseconds=1),
                         program.tz)
        if len(_PLANS) > 64:
            _PLANS.clear()
        found = _PLANS[id(program)] = (program, plan)
    return found[1]


def _describe(m: Metrics, currency: str) -> str:
    return (f"net spend {format_money(m.net_spend_minor, currency)}, {m.paid_orders} paid "
            f"orders, {m.points_earned} points in the window")
