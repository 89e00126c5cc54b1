"""Applies one event (or one due timer) to the world: rules decide, postings record.

Handlers run in time order. Each uses the program version in effect when the thing
happened (the order's time for earning); reversals use the version that earned.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from loyaltykit.engine.changes import Changes
from loyaltykit.engine.postings import TIMER_EXPIRE, TIMER_REFERRAL, TIMER_REVIEW, Postings, Timers
from loyaltykit.engine.referrals import ReferralHandler
from loyaltykit.engine.state import CustomerState, Lot, OrderState
from loyaltykit.engine.tiering import TierReviewer
from loyaltykit.engine.world import World
from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    PointsRedeemed,
    ReferralRecorded,
)
from loyaltykit.money import divide, format_money, to_minor
from loyaltykit.rules.earning import BonusContext, Line, plan_for
from loyaltykit.rules.program import Program
from loyaltykit.rules.versions import ProgramSet


class Rejected(Exception):
    """An event that cannot apply (e.g. a refund of an unknown order); kept with the reason."""


class Processor:
    def __init__(self, programs: ProgramSet, world: World, changes: Changes, timers: Timers):
        self.programs = programs
        self.world = world
        self.changes = changes
        self.timers = timers
        self.postings = Postings(changes, timers, world)
        self.tiers = TierReviewer(programs, changes, timers, world.drop_window_before)
        self.referrals = ReferralHandler(programs, world, changes, timers, self.postings)

    # ------------------------------------------------------------------ dispatch

    def apply(self, event: Event) -> None:
        if isinstance(event, OrderPaid):
            self._order_paid(event)
        elif isinstance(event, OrderRefunded):
            self._order_refunded(event)
        elif isinstance(event, OrderCancelled):
            self._order_cancelled(event)
        elif isinstance(event, CustomerUpserted):
            self._customer_upserted(event)
        elif isinstance(event, ReferralRecorded):
            self.referrals.recorded(event)
        elif isinstance(event, PointsRedeemed):
            self._redeemed(event)

    def fire(self, due: datetime, kind: int, ref: str | Lot) -> None:
        if kind == TIMER_EXPIRE:
            customer_id, lot_key = ((ref.customer_id, ref.lot_key) if isinstance(ref, Lot)
                                    else ref.split("\x00", 1))
            cs = self.world.customer(customer_id)
            # only a lot that still held points: a run reloads timers of open lots alone,
            # so reviewing for spent ones too made a replay's state differ from runs'
            if cs is not None and self.postings.expire(cs, lot_key, due, self.programs.id):
                self.tiers.review(cs, due)
        elif kind == TIMER_REFERRAL:
            assert isinstance(ref, str)
            self.referrals.mature(ref, due)
        elif kind == TIMER_REVIEW:
            assert isinstance(ref, str)
            cs = self.world.customer(ref)
            if cs is not None and cs.review_at is not None and cs.review_at <= due:
                self.tiers.review(cs, due)

    # ------------------------------------------------------------------ customers

    def _customer_upserted(self, ev: CustomerUpserted) -> None:
        """The latest version wins, whatever order versions arrive in; one equal to the
        version in effect (a platform's echo of our own push) changes nothing, so it
        queues no profile push to be echoed again."""
        cs = self.world.customer(ev.customer_id)
        if cs is not None and cs.version_at is not None:
            if ev.occurred_at < cs.version_at:
                if cs.first_seen_at is None or ev.occurred_at < cs.first_seen_at:
                    cs.first_seen_at = ev.occurred_at  # delivered late: only its instant counts
                    self.changes.customers.add(cs.customer_id)
                    self.changes.profiles.add(cs.customer_id)
                return
            if _same_version(cs, ev):
                return
        if ev.referral_code:
            owner = self.world.owner_of(ev.referral_code)
            if owner is not None and owner != ev.customer_id:
                raise Rejected(f"referral code {ev.referral_code!r} already belongs to {owner}")
        cs = self.world.ensure_customer(ev.customer_id)
        cs.version_at = ev.occurred_at
        cs.email, cs.phone, cs.address = ev.email, ev.phone, ev.address
        cs.birthday = ev.birthday
        cs.attributes = dict(ev.attributes)
        if cs.first_seen_at is None or ev.occurred_at < cs.first_seen_at:
            cs.first_seen_at = ev.occurred_at
        if ev.referral_code and ev.referral_code != cs.referral_code:
            self.world.move_code(cs.customer_id, cs.referral_code, ev.referral_code)
            cs.referral_code = ev.referral_code
        self.changes.customers.add(cs.customer_id)
        self.changes.profiles.add(cs.customer_id)
        if cs.tier is None:
            self.tiers.review(cs, ev.occurred_at)

    # ------------------------------------------------------------------ orders

    def _order_paid(self, ev: OrderPaid) -> None:
        existing = self.world.order(ev.order_id)
        if existing is not None:
            raise Rejected(f"order {ev.order_id} is already {existing.status}")
        program = self.programs.at(ev.occurred_at)
        currency = program.currency if program else self.programs.first.currency
        if ev.currency != currency:
            raise Rejected(f"order currency {ev.currency} differs from the program's {currency}")
        cs = self.world.ensure_customer(ev.customer_id)
        order = OrderState(ev.order_id, cs.customer_id, ev.occurred_at,
                           to_minor(ev.amount, currency))
        self.world.add_order(order)
        self.changes.orders.add(order.order_id)
        is_first = cs.first_paid_order_id is None
        if is_first:
            cs.first_paid_order_id = order.order_id
        if cs.last_paid_at is None or ev.occurred_at > cs.last_paid_at:
            cs.last_paid_at = ev.occurred_at
        if program is not None:
            order.program_version = program.version
            self._earn(cs, order, ev, program, is_first)
            self.referrals.order_paid(cs, order, program)
        self.tiers.add_order(cs, order, ev.occurred_at)
        self.tiers.review(cs, ev.occurred_at)

    def _earn(self, cs: CustomerState, order: OrderState, ev: OrderPaid, program: Program,
              is_first: bool) -> None:
        plan = plan_for(program)
        local_day = ev.occurred_at.astimezone(plan.tz).date()
        lines = [Line(ln.sku, ln.category, to_minor(ln.amount, program.currency))
                 for ln in ev.lines] if plan.has_line_rules else []
        earned = plan.order_points(order.amount_minor, local_day, cs.tier, lines)
        year = local_day.year
        points = self._year_capped(cs, plan.yearly_cap, year, earned.points)
        trace = earned.trace + ("" if points == earned.points
                                else f", capped at {points} by the yearly cap")
        if points > 0:
            self.postings.credit(
                cs, key=f"{ev.key}:earn", kind="earn", points=points, at=ev.occurred_at,
                rule_id="earn.base", program=program, source_event=ev.key, reason=trace,
                order_id=order.order_id)
            order.earned = points
        ctx = BonusContext(is_first, cs.birthday.month if cs.birthday else None,
                           frozenset(cs.birthday_years), frozenset(cs.campaigns))
        for award in plan.bonuses_for(order.amount_minor, local_day, ctx):
            bonus_points = self._year_capped(cs, plan.yearly_cap, year, award.points)
            if award.kind == "birthday_month":
                cs.birthday_years.add(year)
            elif award.kind == "campaign":
                cs.campaigns.add(award.rule_id)
            if bonus_points <= 0:
                continue
            key = f"{ev.key}:bonus:{award.rule_id}"
            self.postings.credit(
                cs, key=key, kind="bonus", points=bonus_points, at=ev.occurred_at,
                rule_id=award.rule_id, program=program, source_event=ev.key,
                reason=award.trace, order_id=order.order_id)
            order.add_bonus(award.rule_id, bonus_points, key)

    @staticmethod
    def _year_capped(cs: CustomerState, cap: int | None, year: int, points: int) -> int:
        if cap is not None:
            points = max(0, min(points, cap - cs.year_earned.get(year, 0)))
        cs.year_earned[year] = cs.year_earned.get(year, 0) + points
        return points

    def _order_refunded(self, ev: OrderRefunded) -> None:
        order = self.world.order(ev.order_id)
        if order is None:
            raise Rejected(f"refund {ev.refund_id} is for unknown order {ev.order_id}")
        if order.status != "paid":
            raise Rejected(f"refund {ev.refund_id}: order {ev.order_id} was cancelled")
        currency = self._currency(order)
        amount = to_minor(ev.amount, currency)
        left = order.amount_minor - order.refunded_minor
        if amount > left:
            raise Rejected(f"refund {ev.refund_id} of {format_money(amount, currency)} exceeds "
                           f"the {format_money(left, currency)} left on order {ev.order_id}")
        cs = self.world.ensure_customer(order.customer_id)
        self._window_change(cs, order, lambda: setattr(order, "refunded_minor",
                                                        order.refunded_minor + amount))
        full = order.refunded_minor == order.amount_minor
        share = f"{format_money(order.refunded_minor, currency)} of " \
                f"{format_money(order.amount_minor, currency)} refunded"
        self._reverse(cs, order, ev.key, ev.occurred_at, share, full)
        self.tiers.review(cs, ev.occurred_at)

    def _order_cancelled(self, ev: OrderCancelled) -> None:
        order = self.world.order(ev.order_id)
        if order is None:  # cancelled before we saw it paid: it counts for nothing
            order = OrderState(ev.order_id, ev.customer_id, ev.occurred_at, 0, status="cancelled",
                               cancelled_at=ev.occurred_at)
            self.world.add_order(order)
            self.changes.orders.add(order.order_id)
            return
        if order.status == "cancelled":
            return
        cs = self.world.ensure_customer(order.customer_id)
        self._reverse(cs, order, ev.key, ev.occurred_at, "order cancelled", full=True)
        self._window_change(cs, order, lambda: setattr(order, "status", "cancelled"))
        order.cancelled_at = ev.occurred_at
        self.tiers.review(cs, ev.occurred_at)

    def _window_change(self, cs: CustomerState, order: OrderState,
                       mutate: Callable[[], None]) -> None:
        if order.in_window:
            cs.window_take(order)
        mutate()
        if order.in_window:
            cs.window_put(order)
        self.changes.orders.add(order.order_id)

    def _reverse(self, cs: CustomerState, order: OrderState, source: str, at: datetime,
                 why: str, full: bool) -> None:
        """Reverse earned points in proportion, with cumulative rounding, plus bonuses if full.

        The target is computed on the cumulative refunded share, so partial refunds never
        reverse more in total than the order earned.
        """
        if order.program_version is None:
            return
        program = self.programs.version(order.program_version)
        if order.in_window:
            cs.window_take(order)
        if full:
            target = order.earned
        else:
            target = divide(order.earned * order.refunded_minor, order.amount_minor,
                            plan_for(program).rounding)
        delta = target - order.reversed
        if delta > 0:
            self.postings.debit(
                cs, key=f"{source}:reverse:earn", kind="reversal", points=delta, at=at,
                rule_id="earn.base", program_id=program.id, version=program.version,
                source_event=source, order_id=order.order_id,
                reason=f"{why}: reverses {delta} of the {order.earned} points the order earned")
            order.reversed = target
        if full and order.bonuses:
            for rule_id, bonus in order.bonuses.items():
                if bonus[1]:
                    continue
                self.postings.debit(
                    cs, key=f"{source}:reverse:{rule_id}", kind="reversal", points=bonus[0],
                    at=at, rule_id=rule_id, program_id=program.id, version=program.version,
                    source_event=source, order_id=order.order_id,
                    reason=f"{why}: reverses the {bonus[0]}-point {rule_id} bonus")
                bonus[1] = True
        if order.in_window:
            cs.window_put(order)
        self.changes.orders.add(order.order_id)

    def _currency(self, order: OrderState) -> str:
        if order.program_version is not None:
            return self.programs.version(order.program_version).currency
        return self.programs.first.currency

    # ------------------------------------------------------------------ redemption

    def _redeemed(self, ev: PointsRedeemed) -> None:
        program = self.programs.at(ev.occurred_at)
        if program is None:
            raise Rejected("no program in effect at the time of the redemption")
        reward = next((r for r in program.redemption.rewards if r.id == ev.reward_id), None)
        if reward is None:
            known = ", ".join(r.id for r in program.redemption.rewards) or "none"
            raise Rejected(f"unknown reward {ev.reward_id!r} (rewards: {known})")
        cs = self.world.customer(ev.customer_id)
        if cs is None:
            raise Rejected(f"unknown customer {ev.customer_id}")
        if cs.balance < reward.points:
            raise Rejected(f"{reward.points} points needed for {reward.id}, "
                           f"balance is {cs.balance}")
        self.postings.debit(
            cs, key=ev.key, kind="redemption", points=reward.points, at=ev.occurred_at,
            rule_id=f"redemption.{reward.id}", program_id=program.id, version=program.version,
            source_event=ev.key, reason=f"redeemed for {reward.name or reward.id}")
        self.referrals.issue_discount(cs, reward.discount, program, key=ev.key,
                                      at=ev.occurred_at, reason=f"redemption {reward.id}")


def _same_version(cs: CustomerState, ev: CustomerUpserted) -> bool:
    return ((cs.email, cs.phone, cs.address, cs.birthday) == (ev.email, ev.phone, ev.address,
                                                             ev.birthday)
            and cs.attributes == ev.attributes
            and ev.referral_code in (None, cs.referral_code))


__all__ = ["Processor", "Rejected"]
