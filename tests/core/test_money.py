from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltykit.money import (
    Rounding,
    currency_exponent,
    divide,
    format_money,
    from_minor,
    to_minor,
)


@pytest.mark.parametrize(("num", "den", "policy", "expected"), [
    (7, 2, Rounding.FLOOR, 3), (7, 2, Rounding.CEIL, 4), (7, 2, Rounding.HALF_UP, 4),
    (7, 2, Rounding.HALF_EVEN, 4), (5, 2, Rounding.HALF_EVEN, 2), (5, 2, Rounding.HALF_UP, 3),
    (10, 3, Rounding.HALF_UP, 3), (11, 3, Rounding.HALF_UP, 4), (9, 3, Rounding.CEIL, 3),
    (-7, 2, Rounding.FLOOR, -4), (-7, 2, Rounding.CEIL, -3),
])
def test_divide_follows_the_stated_rounding_policy(num, den, policy, expected):
    assert divide(num, den, policy) == expected


def test_minor_units_follow_the_currency():
    assert currency_exponent("CNY") == 2
    assert currency_exponent("JPY") == 0
    assert to_minor(Decimal("129.50"), "CNY") == 12950
    assert to_minor(Decimal("1500"), "JPY") == 1500
    assert from_minor(12950, "CNY") == Decimal("129.50")


def test_amounts_finer_than_the_currency_are_refused():
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        to_minor(Decimal("1.005"), "CNY")
    with pytest.raises(ValueError, match="unknown currency"):
        currency_exponent("XYZ")


def test_points_are_valued_once_so_sub_cent_point_values_work():
    from loyaltykit.money import value_of_points

    assert value_of_points(100, Decimal("0.005"), "CNY") == Decimal("0.50")
    assert value_of_points(101, Decimal("0.005"), "CNY") == Decimal("0.50")  # half even
    assert value_of_points(103, Decimal("0.005"), "CNY") == Decimal("0.52")
    assert value_of_points(7, Decimal("1.5"), "JPY") == Decimal("10")


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (12345, "CNY", "123.45 CNY"), (5, "CNY", "0.05 CNY"), (-5, "CNY", "-0.05 CNY"),
    (0, "CNY", "0.00 CNY"), (-120000, "USD", "-1200.00 USD"), (1500, "JPY", "1500 JPY"),
    (1, "BHD", "0.001 BHD"),
])
def test_amounts_in_reasons_read_as_the_currency_writes_them(minor, currency, text):
    assert format_money(minor, currency) == text


@given(st.integers(-10**15, 10**15), st.sampled_from(["CNY", "JPY", "BHD"]))
def test_formatted_amounts_are_the_decimal_amounts(minor, currency):
    assert format_money(minor, currency) == f"{from_minor(minor, currency)} {currency}"
