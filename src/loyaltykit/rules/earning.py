"""Points an order earns: base rate, multipliers, caps and fixed bonuses.

Arithmetic is exact (integers and Fractions over minor units) and rounding happens once per
order, with the program's stated policy. Each decision carries a human-readable trace so
that "why did this order earn 312 points?" has an answer.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from loyaltykit.money import divide, format_money, to_minor
from loyaltykit.rules.program import (
    BirthdayBonus,
    CampaignBonus,
    CategoryMultiplier,
    DateWindow,
    FirstOrderBonus,
    MemberDay,
    Program,
    SkuMultiplier,
    SpecificDates,
)


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    category: str | None
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Earned:
    points: int
    factors: tuple[tuple[str, Decimal], ...]
    trace: str


@dataclass(frozen=True, slots=True)
class BonusAward:
    rule_id: str
    kind: str
    points: int
    trace: str


@dataclass(frozen=True, slots=True)
class BonusContext:
    """What the bonus rules need to know about the customer before this order."""

    is_first_paid_order: bool
    birthday_month: int | None
    birthday_years: frozenset[int]
    campaigns: frozenset[str]


class EarningPlan:
    """A program's earning rules compiled once into lookups, because they run per order."""

    def __init__(self, program: Program) -> None:
        earning = program.earning
        self.program = program
        self.currency = program.currency
        self.tz = program.tz
        self.points_per = earning.base.points
        self.amount_unit = to_minor(earning.base.amount, program.currency)
        self.unit_text = format_money(self.amount_unit, program.currency)
        self.rounding = earning.base.rounding
        self.combine = earning.combine
        self.per_order_cap = earning.caps.per_order
        self.yearly_cap = earning.caps.per_customer_per_year
        self.member_days = [m for m in earning.multipliers if isinstance(m, MemberDay)]
        self.dates: dict[date, list[tuple[str, Decimal]]] = {}
        for m in earning.multipliers:
            if isinstance(m, SpecificDates):
                for day in m.dates:
                    self.dates.setdefault(day, []).append((m.id, m.factor))
        self.windows = [m for m in earning.multipliers if isinstance(m, DateWindow)]
        self.categories: dict[str, list[tuple[str, Decimal]]] = {}
        self.skus: dict[str, list[tuple[str, Decimal]]] = {}
        for m in earning.multipliers:
            if isinstance(m, CategoryMultiplier):
                for cat in m.categories:
                    self.categories.setdefault(cat, []).append((m.id, m.factor))
            elif isinstance(m, SkuMultiplier):
                for sku in m.skus:
                    self.skus.setdefault(sku, []).append((m.id, m.factor))
        self.has_line_rules = bool(self.categories or self.skus)
        self.bonuses = earning.bonuses
        self.bonus_min = {b.id: to_minor(b.min_amount, program.currency) for b in self.bonuses}
        self._days: dict[date, tuple[tuple[str, Decimal], ...]] = {}  # a shop's few hundred days
        self._combos: dict[tuple[tuple[str, Decimal], ...], tuple[int, int]] = {}
        tiers = program.tiers
        self.tier_factor = {
            lvl.id: lvl.benefits.earn_multiplier for lvl in (tiers.levels if tiers else [])}

    # ------------------------------------------------------------------ multipliers

    def calendar_factors(self, day: date) -> list[tuple[str, Decimal]]:
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = tuple(self._calendar_factors(day))
        return list(known)

    def _calendar_factors(self, day: date) -> list[tuple[str, Decimal]]:
        found = list(self.dates.get(day, ()))
        last_day = calendar.monthrange(day.year, day.month)[1]
        for m in self.member_days:
            target = min(m.day_of_month, last_day) if m.clamp_to_month_end else m.day_of_month
            if day.day == target:
                found.append((m.id, m.factor))
        for w in self.windows:
            if w.start <= day <= w.end:
                found.append((w.id, w.factor))
        return found

    def line_factors(self, line: Line) -> list[tuple[str, Decimal]]:
        found = list(self.skus.get(line.sku, ()))
        if line.category is not None:
            found.extend(self.categories.get(line.category, ()))
        return found

    def _combined(self, factors: Sequence[tuple[str, Decimal]]) -> tuple[int, int]:
        """The combined factor as (numerator, denominator), memoized per factor set."""
        key = tuple(factors)
        found = self._combos.get(key)
        if found is None:
            combined = self._combine(key)
            found = self._combos[key] = (combined.numerator, combined.denominator)
        return found

    def _combine(self, factors: Sequence[tuple[str, Decimal]]) -> Fraction:
        if not factors:
            return Fraction(1)
        values = [Fraction(f) for _, f in factors]
        if self.combine == "max":
            return max(values)
        if self.combine == "add":
            return 1 + sum((v - 1 for v in values), Fraction(0))
        product = Fraction(1)
        for v in values:
            product *= v
        return product

    # ------------------------------------------------------------------ points

    def order_points(
        self, amount_minor: int, local_day: date, tier_id: str | None, lines: Sequence[Line] = ()
    ) -> Earned:
        """Base points times the combined factors, rounded once, capped per order."""
        order_factors = self.calendar_factors(local_day)
        tier_factor = self.tier_factor.get(tier_id or "", Decimal(1))
        if tier_factor != 1 and tier_id is not None:
            order_factors.append((f"tier.{tier_id}", tier_factor))
        base_text = (f"{format_money(amount_minor, self.currency)} at {self.points_per} pt per "
                     f"{self.unit_text}")
        line_total = sum(line.amount_minor for line in lines)
        if not order_factors and not (self.has_line_rules and line_total > 0):
            points = divide(amount_minor * self.points_per, self.amount_unit, self.rounding)
            return self._capped(points, (), f"{base_text} = {points}")
        numerator, denominator, used = self._weighted(order_factors, lines, line_total)
        points = divide(amount_minor * self.points_per * numerator,
                        self.amount_unit * denominator, self.rounding)
        described = " ".join(f"x{f} {rule}" for rule, f in used)
        trace = f"{base_text} {described} ({self.combine}) = {points}".replace("  ", " ")
        return self._capped(points, tuple(used), trace)

    def _weighted(
        self, order_factors: list[tuple[str, Decimal]], lines: Sequence[Line], line_total: int,
    ) -> tuple[int, int, list[tuple[str, Decimal]]]:
        """The effective factor of the whole order as an exact integer fraction.

        Line amounts share the paid amount in proportion (discounts and shipping make the
        two differ); each line combines the order's factors with its own product factors.
        """
        used: dict[str, Decimal] = dict(order_factors)
        if not (self.has_line_rules and line_total > 0):
            n, d = self._combined(order_factors)
            return n, d, list(used.items())
        by_factor: dict[tuple[int, int], int] = {}
        for line in lines:
            own = self.line_factors(line)
            used.update(own)
            factor = self._combined(order_factors + own)
            by_factor[factor] = by_factor.get(factor, 0) + line.amount_minor
        common = math.lcm(*(d for _, d in by_factor))
        numerator = sum(minor * n * (common // d) for (n, d), minor in by_factor.items())
        return numerator, common * line_total, list(used.items())

    def _capped(self, points: int, factors: tuple[tuple[str, Decimal], ...], trace: str) -> Earned:
        if self.per_order_cap is not None and points > self.per_order_cap:
            trace += f", capped at {self.per_order_cap} per order"
            points = self.per_order_cap
        return Earned(points, factors, trace)

    def bonuses_for(
        self, amount_minor: int, local_day: date, ctx: BonusContext
    ) -> list[BonusAward]:
        """Fixed bonuses this order earns, given what the customer already received."""
        awards: list[BonusAward] = []
        for bonus in self.bonuses:
            if amount_minor < self.bonus_min[bonus.id]:
                continue
            if isinstance(bonus, FirstOrderBonus) and ctx.is_first_paid_order:
                awards.append(BonusAward(bonus.id, bonus.type, bonus.points, "first paid order"))
            elif (isinstance(bonus, BirthdayBonus) and ctx.birthday_month == local_day.month
                  and local_day.year not in ctx.birthday_years):
                awards.append(BonusAward(bonus.id, bonus.type, bonus.points,
                                         f"first order in birthday month {local_day:%Y-%m}"))
            elif (isinstance(bonus, CampaignBonus) and bonus.start <= local_day <= bonus.end
                  and bonus.id not in ctx.campaigns):
                awards.append(BonusAward(bonus.id, bonus.type, bonus.points,
                                         f"campaign {bonus.start} to {bonus.end}"))
        return awards


_PLANS: dict[int, EarningPlan] = {}


def plan_for(program: Program) -> EarningPlan:
    """The compiled plan of a program object (programs are immutable, so identity is enough)."""
    plan = _PLANS.get(id(program))
    if plan is None or plan.program is not program:
        if len(_PLANS) > 64:
            _PLANS.clear()
        plan = _PLANS[id(program)] = EarningPlan(program)
    return plan
