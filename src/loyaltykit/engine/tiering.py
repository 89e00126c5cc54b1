"""Tier reviews: apply the qualification rules, retention and the window as time passes.

A review runs after every event that changes a customer's activity and at scheduled
instants (an order leaving a rolling window, a calendar year ending, a grace period
running out), so tiers are right at any instant without scanning every customer daily.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

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
        tiers = program.tiers
        start = window_start(tiers, now, program.tz)
        first = cs.window_first()
        if start is not None and first is not None and first < start:
            self.changes.orders.update(o.order_id for o in self.drop_window(cs, start))
        metrics = Metrics(cs.window_net, cs.window_orders, cs.window_points)
        ids = program.tier_ids()
        best = qualified_index(tiers, metrics, program.currency)
        current = ids.index(cs.tier) if cs.tier in ids else None
        grace = tiers.retention.days if isinstance(tiers.retention, GracePeriod) else 0
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
            if grace == 0 or now >= cs.below_since + timedelta(days=grace):
                held = "" if grace == 0 else f" after a {grace}-day grace period"
                self._change(cs, ids[best], now, program, f"no longer qualifies{held}: "
                             f"{_describe(metrics, program.currency)}")
        if cs.tier in ids and best >= ids.index(cs.tier):
            cs.below_since = None
        self._schedule(cs, now, program, grace)
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

    def _schedule(self, cs: CustomerState, now: datetime, program: Program, grace: int) -> None:
        assert program.tiers is not None
        due: list[datetime] = []
        if cs.below_since is not None and grace:
            due.append(cs.below_since + timedelta(days=grace))
        if cs.tier != program.tier_ids()[0]:
            window = program.tiers.window
            first = cs.window_first()
            if isinstance(window, RollingWindow) and first is not None:
                due.append(first + timedelta(days=window.days))
            boundary = next_window_boundary(program.tiers, now, program.tz)
            if boundary is not None:
                due.append(boundary)
        next_due = min(due) if due else None
        if next_due != cs.review_at:
            cs.review_at = next_due
            if next_due is not None:
                self.timers.push(next_due, TIMER_REVIEW, cs.customer_id)


def _describe(m: Metrics, currency: str) -> str:
    return (f"net spend {format_money(m.net_spend_minor, currency)}, {m.paid_orders} paid "
            f"orders, {m.points_earned} points in the window")
