"""Referral lifecycle: recorded -> qualified by the referee's first big-enough order ->
referrer rewarded after the delay, unless the order was refunded, the referrer hit the
yearly cap, or the referral looks like a self-referral.

Every referral that does not pay out keeps its status and reason (flagged or void), so a
shop can see why; nothing is silently dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from loyaltykit.commands import IssueDiscount, discount_code
from loyaltykit.engine.changes import Changes
from loyaltykit.engine.postings import TIMER_REFERRAL, Postings, Timers
from loyaltykit.engine.state import CustomerState, OrderState, ReferralState
from loyaltykit.engine.world import World
from loyaltykit.events import ReferralRecorded
from loyaltykit.money import to_minor
from loyaltykit.rules.program import DiscountReward, DiscountSpec, PointsReward, Program, Reward
from loyaltykit.rules.referrals import Identity, self_referral_reason
from loyaltykit.rules.versions import ProgramSet


def _identity(cs: CustomerState) -> Identity:
    return Identity(cs.customer_id, cs.email, cs.phone, cs.address)


class ReferralHandler:
    def __init__(self, programs: ProgramSet, world: World, changes: Changes, timers: Timers,
                 postings: Postings) -> None:
        self.programs = programs
        self.world = world
        self.changes = changes
        self.timers = timers
        self.postings = postings

    def recorded(self, ev: ReferralRecorded) -> None:
        referee = self.world.ensure_customer(ev.referee_id)
        self.changes.customers.add(referee.customer_id)
        if self.world.referral(ev.referee_id) is not None:
            return
        owner = self.world.owner_of(ev.referrer_code)
        ref = ReferralState(ev.referee_id, owner, ev.referrer_code, ev.occurred_at)
        self.world.add_referral(ref)
        self.changes.referrals.add(ref.referee_id)
        if owner is None:
            self._flag(ref, f"unknown_referral_code: no customer has code {ev.referrer_code!r}",
                       ev.occurred_at)
        elif referee.first_paid_order_id is not None:
            self._flag(ref, "not_new_customer: the referee had already paid order "
                       f"{referee.first_paid_order_id}", ev.occurred_at)

    def order_paid(self, cs: CustomerState, order: OrderState, program: Program) -> None:
        ref = self.world.referral(cs.customer_id)
        rules = program.referrals
        if ref is None or ref.status != "pending" or rules is None:
            return
        if order.amount_minor < to_minor(rules.trigger.min_order_amount, program.currency):
            return
        referrer = self.world.customer(ref.referrer_id or "")
        if referrer is None:
            self._flag(ref, "unknown_referrer: the referrer is not a known customer",
                       order.placed_at)
            return
        reason = self_referral_reason(_identity(cs), _identity(referrer),
                                      rules.block_self_referral_on)
        if reason is not None:
            self._flag(ref, reason, order.placed_at)
            return
        ref.status, ref.order_id, ref.decided_at = "qualified", order.order_id, order.placed_at
        self.changes.referrals.add(ref.referee_id)
        if rules.referee_reward is not None:
            self._reward(cs, rules.referee_reward, program, f"referral:{cs.customer_id}:referee",
                         order.placed_at, "referral.referee", order)
        ref.due_at = order.placed_at + timedelta(days=rules.referrer_delay_days)
        self.timers.push(ref.due_at, TIMER_REFERRAL, ref.referee_id)

    def mature(self, referee_id: str, due: datetime) -> None:
        """The referrer's reward falls due: pay it unless the order was undone or capped."""
        ref = self.world.referral(referee_id)
        if ref is None or ref.status != "qualified" or ref.due_at != due:
            return
        self.changes.referrals.add(referee_id)
        order = self.world.order(ref.order_id or "")
        if order is None or not order.counts:
            ref.status, ref.decided_at = "void", due
            ref.reason = f"trigger order {ref.order_id} was cancelled or fully refunded"
            return
        assert order.program_version is not None
        program = self.programs.version(order.program_version)
        rules = program.referrals
        referrer = self.world.customer(ref.referrer_id or "")
        if rules is None or referrer is None:
            return
        year = due.astimezone(program.tz).year
        given = referrer.referrer_rewards.get(year, 0)
        cap = rules.cap_per_referrer_per_year
        if cap is not None and given >= cap:
            self._flag(ref, f"referrer_cap_reached: {referrer.customer_id} already had {given} "
                       f"referral rewards in {year}", due)
            return
        referrer.referrer_rewards[year] = given + 1
        self.changes.customers.add(referrer.customer_id)
        ref.status, ref.decided_at = "rewarded", due
        if rules.referrer_reward is not None:
            self._reward(referrer, rules.referrer_reward, program,
                         f"referral:{referee_id}:referrer", due, "referral.referrer", None)

    def _reward(self, cs: CustomerState, reward: Reward, program: Program, key: str,
                at: datetime, rule_id: str, order: OrderState | None) -> None:
        if isinstance(reward, PointsReward):
            self.postings.credit(
                cs, key=key, kind="referral", points=reward.points, at=at, rule_id=rule_id,
                program=program, source_event=key,
                reason=f"{rule_id.split('.')[1]} reward for referral",
                order_id=order.order_id if order else None)
            if order is not None:  # the referee's reward goes if the order is fully refunded
                order.add_bonus(rule_id, reward.points, key)
        elif isinstance(reward, DiscountReward):
            self.issue_discount(cs, reward.discount, program, key=key, at=at,
                                reason=f"{rule_id.split('.')[1]} reward for referral")

    def issue_discount(self, cs: CustomerState, spec: DiscountSpec, program: Program, *,
                       key: str, at: datetime, reason: str) -> None:
        ends = at + timedelta(days=spec.valid_days) if spec.valid_days else None
        self.changes.command(IssueDiscount(
            key=f"discount:{key}", customer_id=cs.customer_id, code=discount_code(key),
            value_type=spec.value_type, value=spec.value, currency=program.currency,
            starts_at=at, ends_at=ends, reason=reason), at)

    def _flag(self, ref: ReferralState, reason: str, at: datetime) -> None:
        ref.status, ref.reason, ref.decided_at = "flagged", reason, at
        self.changes.referrals.add(ref.referee_id)
