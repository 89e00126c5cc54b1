"""Pure earning rules: base rate, multipliers and how they combine, caps, bonuses."""

from datetime import date
from decimal import Decimal

import pytest

from loyaltykit.rules.earning import BonusContext, EarningPlan, Line

from .builders import program


def plan(**earning):
    earning.setdefault("base", {"amount": "1.00", "points": 1, "rounding": "floor"})
    tiers = {"levels": [{"id": "member"},
                        {"id": "gold", "qualify": {"paid_orders": 5},
                         "benefits": {"earn_multiplier": "1.5"}}]}
    return EarningPlan(program(earning=earning, tiers=tiers))


ORDINARY_DAY = date(2025, 3, 12)
MEMBER_DAY = date(2025, 3, 30)


def test_base_rate_rounds_once_per_order_with_the_stated_policy():
    floor = plan(base={"amount": "10.00", "points": 3, "rounding": "floor"})
    half_up = plan(base={"amount": "10.00", "points": 3, "rounding": "half_up"})
    # 129.99 CNY at 3 pt per 10.00 = 38.997 points
    assert floor.order_points(12999, ORDINARY_DAY, None).points == 38
    assert half_up.order_points(12999, ORDINARY_DAY, None).points == 39


def test_member_day_multiplies_only_on_that_day_of_the_month():
    p = plan(multipliers=[{"type": "member_day", "id": "md", "day_of_month": 30, "factor": 2}])
    assert p.order_points(10000, MEMBER_DAY, None).points == 200
    assert p.order_points(10000, ORDINARY_DAY, None).points == 100
    # February has no 30th: skipped unless clamp_to_month_end
    assert p.order_points(10000, date(2025, 2, 28), None).points == 100
    clamped = plan(multipliers=[{"type": "member_day", "id": "md", "day_of_month": 30,
                                 "factor": 2, "clamp_to_month_end": True}])
    assert clamped.order_points(10000, date(2025, 2, 28), None).points == 200


def test_dates_and_windows_are_calendar_days_inclusive():
    p = plan(multipliers=[
        {"type": "dates", "id": "d11", "dates": ["2025-11-11"], "factor": 3},
        {"type": "date_window", "id": "spring", "start": "2025-04-01", "end": "2025-04-07",
         "factor": "1.5"}])
    assert p.order_points(10000, date(2025, 11, 11), None).points == 300
    assert p.order_points(10000, date(2025, 4, 7), None).points == 150
    assert p.order_points(10000, date(2025, 4, 8), None).points == 100


@pytest.mark.parametrize(("combine", "expected"), [
    # member day x2 at gold x1.5 on 100.00
    ("multiply", 300),   # 2 * 1.5 = 3
    ("max", 200),        # the larger factor
    ("add", 250),        # 1 + (2-1) + (1.5-1) = 2.5
])
def test_how_multipliers_combine_is_the_stated_policy(combine, expected):
    p = plan(combine=combine,
             multipliers=[{"type": "member_day", "id": "md", "day_of_month": 30, "factor": 2}])
    earned = p.order_points(10000, MEMBER_DAY, "gold")
    assert earned.points == expected
    assert dict(earned.factors) == {"md": Decimal(2), "tier.gold": Decimal("1.5")}


def test_category_multiplier_applies_to_its_share_of_the_paid_amount():
    p = plan(multipliers=[{"type": "category", "id": "ware", "categories": ["teaware"],
                           "factor": 2}])
    # lines list 150.00 (teaware) + 50.00 (tea) = 200.00, but 180.00 was paid (discount)
    lines = [Line("cup", "teaware", 15000), Line("leaf", "tea", 5000)]
    # teaware share 135.00 x2 = 270 + tea share 45.00 x1 = 45 -> 315
    assert p.order_points(18000, ORDINARY_DAY, None, lines).points == 315
    # without lines the order earns the base rate
    assert p.order_points(18000, ORDINARY_DAY, None).points == 180


def test_per_order_cap_limits_earned_points_and_says_so():
    p = plan(caps={"per_order": 500})
    earned = p.order_points(99900, ORDINARY_DAY, None)
    assert earned.points == 500
    assert "capped at 500" in earned.trace


def test_bonuses_first_order_birthday_once_a_year_and_campaign_once():
    p = plan(bonuses=[
        {"type": "first_order", "id": "welcome", "points": 100, "min_amount": "20.00"},
        {"type": "birthday_month", "id": "bday", "points": 200},
        {"type": "campaign", "id": "spring", "points": 50, "start": "2025-03-01",
         "end": "2025-03-31"}])
    fresh = BonusContext(True, 3, frozenset(), frozenset())
    got = {a.rule_id for a in p.bonuses_for(5000, ORDINARY_DAY, fresh)}
    assert got == {"welcome", "bday", "spring"}
    assert {a.rule_id for a in p.bonuses_for(1000, ORDINARY_DAY, fresh)} == {"bday", "spring"}
    seen = BonusContext(False, 3, frozenset({2025}), frozenset({"spring"}))
    assert p.bonuses_for(5000, ORDINARY_DAY, seen) == []
    next_year = BonusContext(False, 3, frozenset({2025}), frozenset())
    assert [a.rule_id for a in p.bonuses_for(5000, date(2026, 3, 2), next_year)] == ["bday"]
