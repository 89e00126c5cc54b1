"""Why an order earned what it earned: every earning rule, fired or not, with the inputs it saw.

A support agent asked "why did this order earn 312 points?" needs more than the total: which
multipliers and bonuses applied, with the inputs they saw (the order's day in the shop's
timezone, the customer's tier at the time), and why each of the others did not. The numbers
come from the same pure functions the engine uses (:mod:`loyaltykit.rules.earning`), so an
explanation cannot drift from what the engine does; only the sentences are added here.
"""

from __future__ import annotations

import calendar
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from loyaltykit.money import format_money, to_minor
from loyaltykit.rules.earning import BonusAward, BonusContext, EarningPlan, Line, plan_for
from loyaltykit.rules.program import (
    BirthdayBonus,
    Bonus,
    CampaignBonus,
    CategoryMultiplier,
    DateWindow,
    FirstOrderBonus,
    MemberDay,
    Multiplier,
    Program,
    SkuMultiplier,
    SpecificDates,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One rule's verdict on one order: fired or not, and the sentence that says why."""

    rule_id: str
    kind: str  # base, multiplier, tier, combine, cap, bonus
    fired: bool
    detail: str
    points: int | None = None

    def __str__(self) -> str:
        points = f" {self.points:+d}" if self.points is not None else ""
        return f"[{'x' if self.fired else ' '}] {self.rule_id}{points}: {self.detail}"


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the earning rules saw when the order was paid.

    ``birthday_years`` and ``campaigns`` are the bonuses the customer had received *before*
    this order; ``year_earned_before`` the points credited earlier in the same calendar year.
    """

    order_id: str
    customer_id: str
    placed_at: datetime
    amount_minor: int
    lines: tuple[Line, ...] = ()
    tier: str | None = None
    first_paid_order_id: str | None = None
    birthday: date | None = None
    birthday_years: frozenset[int] = frozenset()
    campaigns: frozenset[str] = frozenset()
    year_earned_before: int = 0


@dataclass(frozen=True, slots=True)
class OrderExplanation:
    order_id: str
    program: str
    local_day: date
    outcomes: tuple[Outcome, ...]
    points: int
    bonuses: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.points + sum(self.bonuses.values())

    def fired(self) -> list[str]:
        return [o.rule_id for o in self.outcomes if o.fired]

    def lines(self) -> list[str]:
        head = (f"order {self.order_id} under {self.program}, placed on {self.local_day} "
                f"(shop time): {self.points} points earned"
                + (f" + {sum(self.bonuses.values())} bonus" if self.bonuses else ""))
        return [head, *(f"  {outcome}" for outcome in self.outcomes)]


def explain_order(program: Program, facts: OrderFacts) -> OrderExplanation:
    """Every earning rule of ``program`` against one order, in program order."""
    plan = plan_for(program)
    local_day = facts.placed_at.astimezone(program.tz).date()
    lines = list(facts.lines) if plan.has_line_rules else []
    earned = plan.order_points(facts.amount_minor, local_day, facts.tier, lines)
    points, caps = _caps(plan, facts, local_day, lines, earned.points)
    used = {rule_id for rule_id, _ in earned.factors}
    outcomes = [Outcome("earn.base", "base", True, earned.trace, points)]
    outcomes += [_multiplier(m, m.id in used, local_day, facts.lines, plan)
                 for m in program.earning.multipliers]
    tier_outcome = _tier(plan, facts.tier, program)
    if tier_outcome is not None:
        outcomes.append(tier_outcome)
    if len(earned.factors) > 1:
        factors = " ".join(f"x{f}" for _, f in earned.factors)
        outcomes.append(Outcome("combine", "combine", True,
                                f"{len(earned.factors)} factors combine by "
                                f"{plan.combine}: {factors}"))
    outcomes += caps
    bonuses, bonus_outcomes = _bonuses(program, plan, facts, local_day, points)
    outcomes += bonus_outcomes
    return OrderExplanation(facts.order_id, program.label, local_day, tuple(outcomes), points,
                            bonuses)


# --------------------------------------------------------------------------- base and factors


def _multiplier(m: Multiplier, fired: bool, day: date, lines: Sequence[Line],
                plan: EarningPlan) -> Outcome:
    if isinstance(m, MemberDay):
        why = _member_day(m, day)
    elif isinstance(m, SpecificDates):
        listed = ", ".join(str(d) for d in m.dates)
        why = f"{day} is {'' if fired else 'not '}one of {listed}"
    elif isinstance(m, DateWindow):
        why = f"{day} is {'inside' if fired else 'outside'} {m.start} to {m.end}"
    else:
        why = _line_rule(m, lines, plan)
    return Outcome(m.id, "multiplier", fired, f"x{m.factor} {m.type}: {why}")


def _member_day(m: MemberDay, day: date) -> str:
    last = calendar.monthrange(day.year, day.month)[1]
    if m.day_of_month > last and not m.clamp_to_month_end:
        return (f"member day is the {_nth(m.day_of_month)}; {day:%B %Y} has {last} days and "
                "clamp_to_month_end is false, so there is none this month")
    target = min(m.day_of_month, last) if m.clamp_to_month_end else m.day_of_month
    if day.day == target:
        return f"{day} is member day (the {_nth(target)})"
    return f"member day is the {_nth(target)}; the order was placed on the {_nth(day.day)}"


def _line_rule(m: CategoryMultiplier | SkuMultiplier, lines: Sequence[Line],
               plan: EarningPlan) -> str:
    wanted = m.categories if isinstance(m, CategoryMultiplier) else m.skus
    what = "categories" if isinstance(m, CategoryMultiplier) else "SKUs"
    if not lines:
        return f"the order has no line items, so its {what} are unknown"
    hits = [ln for ln in lines if m.id in {r for r, _ in plan.line_factors(ln)}]
    seen = sorted({(ln.category or "-") if what == "categories" else ln.sku for ln in lines})
    if hits:
        share = sum(ln.amount_minor for ln in hits)
        return (f"{len(hits)} of {len(lines)} lines match {', '.join(wanted)} "
                f"({format_money(share, plan.currency)} of the lines)")
    return f"no line in {', '.join(wanted)} (the order has {', '.join(seen)})"


def _tier(plan: EarningPlan, tier: str | None, program: Program) -> Outcome | None:
    if program.tiers is None:
        return None
    if tier is None:
        return Outcome("tier", "tier", False, "the customer had no tier yet when ordering")
    factor = plan.tier_factor.get(tier)
    if factor is None:
        return Outcome(f"tier.{tier}", "tier", False, f"tier {tier} is not in {program.label}")
    if factor == 1:
        return Outcome(f"tier.{tier}", "tier", False, f"tier {tier} has no earn multiplier")
    return Outcome(f"tier.{tier}", "tier", True, f"x{factor}: the customer was {tier}")


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --------------------------------------------------------------------------- caps and bonuses


def _caps(plan: EarningPlan, facts: OrderFacts, day: date, lines: Sequence[Line],
          points: int) -> tuple[int, list[Outcome]]:
    outcomes = []
    if plan.per_order_cap is not None:
        uncapped_plan = copy.copy(plan)
        uncapped_plan.per_order_cap = None
        uncapped = uncapped_plan.order_points(facts.amount_minor, day, facts.tier, lines).points
        capped = uncapped > plan.per_order_cap
        outcomes.append(Outcome(
            "cap.per_order", "cap", capped,
            f"{uncapped} points {'exceed' if capped else 'are within'} the cap of "
            f"{plan.per_order_cap} per order"))
    if plan.yearly_cap is not None:
        room = max(0, plan.yearly_cap - facts.year_earned_before)
        capped = points > room
        outcomes.append(Outcome(
            "cap.per_customer_per_year", "cap", capped,
            f"{facts.year_earned_before} points earned earlier in {day.year}; "
            f"{room} of the yearly {plan.yearly_cap} left"))
        points = min(points, room)
    return points, outcomes


def _bonuses(program: Program, plan: EarningPlan, facts: OrderFacts, day: date,
             earned: int) -> tuple[dict[str, int], list[Outcome]]:
    ctx = BonusContext(
        is_first_paid_order=facts.first_paid_order_id in (None, facts.order_id),
        birthday_month=facts.birthday.month if facts.birthday else None,
        birthday_years=facts.birthday_years, campaigns=facts.campaigns)
    awards: dict[str, BonusAward] = {
        a.rule_id: a for a in plan.bonuses_for(facts.amount_minor, day, ctx)}
    room = None if plan.yearly_cap is None else max(
        0, plan.yearly_cap - facts.year_earned_before - earned)
    given: dict[str, int] = {}
    outcomes = []
    for bonus in program.earning.bonuses:
        award = awards.get(bonus.id)
        if award is None:
            outcomes.append(Outcome(bonus.id, "bonus", False,
                                    _why_no_bonus(bonus, facts, day, program)))
            continue
        points = award.points if room is None else min(award.points, room)
        if room is not None:
            room -= points
        given[bonus.id] = points
        capped = "" if points == award.points else f" (cut to {points} by the yearly cap)"
        outcomes.append(Outcome(bonus.id, "bonus", True, award.trace + capped, points))
    return given, outcomes


def _why_no_bonus(bonus: Bonus, facts: OrderFacts, day: date, program: Program) -> str:
    minimum = to_minor(bonus.min_amount, program.currency)
    if facts.amount_minor < minimum:
        return (f"{format_money(facts.amount_minor, program.currency)} is below the minimum "
                f"of {format_money(minimum, program.currency)}")
    if isinstance(bonus, FirstOrderBonus):
        return f"not the first paid order (that was {facts.first_paid_order_id})"
    if isinstance(bonus, BirthdayBonus):
        if facts.birthday is None:
            return "no birthday on record for the customer"
        if facts.birthday.month != day.month:
            return f"birthday month is {facts.birthday:%B}, the order is in {day:%B}"
        return f"already given for the birthday month of {day.year}"
    assert isinstance(bonus, CampaignBonus)
    if not bonus.start <= day <= bonus.end:
        return f"{day} is outside the campaign, {bonus.start} to {bonus.end}"
    return "already given to this customer in this campaign"
