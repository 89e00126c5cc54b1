"""``--fail-if`` conditions: the documented language, evaluated on real comparison figures."""

from __future__ import annotations

from decimal import Decimal

import pytest
from whatif_kit import program, referral_history, tier_history

from loyaltykit.errors import ConfigurationError
from loyaltykit.whatif import (
    ConditionError,
    figure_names,
    history_from_events,
    metric_values,
    parse_condition,
    simulate,
)

KNOWN = figure_names(["member", "gold"])


@pytest.fixture(scope="module")
def values() -> dict[str, Decimal | None]:
    """liability 1705 -> 1630 (-4.40%), referral points 600 -> 400 (see the simulate tests)."""
    history = history_from_events(referral_history())
    return metric_values(simulate(history, [program("shop-v1.yaml")],
                                  [program("shop-v2.yaml")]))


@pytest.mark.parametrize(("text", "holds"), [
    ("liability_delta_pct > 10", False),
    ("liability_delta_pct < -4", True),
    ("liability_delta_pct <= -4.40", True),
    ("liability_delta_pct < -4.40", False),
    ("liability_delta == -75", True),
    ("-75 == liability_delta", True),
    ("10 < liability_delta_pct", False),  # the number may come first
    ("liability_candidate >= 1630 and liability_baseline != 1705", False),
    ("liability_delta_pct > 10 or referral_points_delta < -100", True),
    ("not (liability_delta_pct > 10)", True),
    ("NOT liability_delta < 0 OR tier_moves > 0", False),
    ("(liability_delta < 0 or tier_moves_up > 0) and points_reversed_delta == 25", True),
    ("liability_value_delta == -0.75", True),
])
def test_conditions_evaluate_on_the_figures(values: dict[str, Decimal | None], text: str,
                                            holds: bool) -> None:
    assert parse_condition(text, KNOWN).holds(values) is holds


def test_and_binds_tighter_than_or(values: dict[str, Decimal | None]) -> None:
    # true or (false and false) = true; (true or false) and false would be false
    text = "liability_delta < 0 or tier_moves > 0 and tier_moves_down > 0"
    assert parse_condition(text, KNOWN).holds(values) is True


def test_an_unknown_metric_is_named_with_the_valid_ones() -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition("liabilty_delta_pct > 10 or tier_platinum_delta > 0", KNOWN)
    message = str(caught.value)
    assert ("unknown metrics liabilty_delta_pct (did you mean liability_delta_pct?), "
            "tier_platinum_delta") in message
    assert "a figure followed by _baseline, _candidate, _delta, _delta_pct" in message
    assert "tier_moves_down" in message
    figures = message.split("Figures: ")[1].split(", ")
    assert figures == KNOWN
    assert isinstance(caught.value, ConfigurationError)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "needs a condition"),
    ("liability_delta_pct >", "ends too early"),
    ("liability_delta_pct > 10 and", "ends too early"),
    ("liability_delta_pct 10", "expected a comparison"),
    ("liability_delta_pct > tier_moves", "one metric name and one number"),
    ("3 > 4", "one metric name and one number"),
    ("(liability_delta_pct > 10", "expected ')'"),
    ("liability_delta_pct > 10)", "unexpected ')'"),
    ("liability_delta_pct > 1e5", "unexpected 'e5'"),
    ("__import__('os').system('x') > 1", "unexpected"),
    ("liability_delta_pct => 10", "unexpected '='"),
    ("liability_delta_pct >> 10", "unexpected '>' at column 22"),
    ("liability_delta_pct > 10 ; rm", "unexpected ';'"),
])
def test_bad_conditions_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ConditionError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_condition(text, KNOWN)


def test_movement_counts_and_unknown_money_figures_compare_false() -> None:
    """Under the candidate no one stays a member (Silver from 1 order)."""
    history = history_from_events(tier_history())
    result = simulate(history, [program("tiers-v1.yaml")], [program("tiers-v2.yaml")])
    values = metric_values(result)
    assert values["tier_member_delta_pct"] == Decimal("-100.00")
    assert values["tier_moves"] == 2
    assert values["tier_moves_up"] == values["tier_moves_down"] == 1
    # neither program states a point value: money comparisons are unknown, hence false
    assert values["liability_value_delta"] is None
    names = figure_names(["member", "silver", "gold"])
    assert not parse_condition("liability_value_delta > -1000000", names).holds(values)
    assert parse_condition("not liability_value_delta > 0", names).holds(values)


def test_a_percentage_from_a_zero_baseline_is_infinite() -> None:
    history = history_from_events(tier_history())
    result = simulate(history, [program("tiers-v1.yaml")], [program("tiers-v2.yaml")])
    figure = result.figures["tier_member"]
    assert (figure.baseline, figure.candidate) == (1, 0)
    # swap the sides: member grows from 0 to 1
    swapped = simulate(history, [program("tiers-v2.yaml")], [program("tiers-v1.yaml")])
    values = metric_values(swapped)
    assert swapped.figures["tier_member"].delta_pct is None
    assert values["tier_member_delta_pct"] == Decimal("Infinity")
    names = figure_names(["member", "silver", "gold"])
    assert parse_condition("tier_member_delta_pct > 1000", names).holds(values)
