"""Money as integer minor units at rest, Decimal at the edges; never floats.

The engine works in minor units (cents, fen) because integer arithmetic is exact and fast;
Decimal appears only where humans and files meet the library.
"""

from __future__ import annotations

import enum
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, is_currency


class Rounding(str, enum.Enum):
    """How a fractional number of points becomes an integer."""

    FLOOR = "floor"
    CEIL = "ceil"
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


@lru_cache(maxsize=64)
def currency_exponent(code: str) -> int:
    """Number of minor-unit digits (2 for CNY and USD, 0 for JPY), from CLDR via babel."""
    if not is_valid_currency(code):
        raise ValueError(f"unknown currency {code!r}: use an ISO 4217 code such as CNY or USD")
    return int(get_currency_precision(code))


@lru_cache(maxsize=256)
def is_valid_currency(code: str) -> bool:
    return len(code) == 3 and code.isupper() and bool(is_currency(code))


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal string (``"129.00"``); refuse floats' exponents and junk."""
    cleaned = text.strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number; write amounts like 129.00") from None
    if not value.is_finite() or "e" in cleaned.lower():
        raise ValueError(f"{text!r} is not a plain amount; write amounts like 129.00")
    return value


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal amount -> integer minor units, refusing sub-minor-unit precision."""
    exponent = currency_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{amount} has more than {exponent} decimal places, which {currency} does not have"
        )
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    exponent = currency_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def format_money(minor: int, currency: str) -> str:
    """``12345, "CNY"`` -> ``"123.45 CNY"``; in integers, as every ledger entry's reason
    formats an amount or two."""
    exponent = currency_exponent(currency)
    if exponent == 0:
        return f"{minor} {currency}"
    whole, fraction = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{whole}.{fraction:0{exponent}d} {currency}"


def value_of_points(points: int, point_value: Decimal, currency: str) -> Decimal:
    """Money value of points, to the currency's minor unit (half even).

    A point may be worth less than a minor unit (200 points = 1 CNY is 0.005 each), so the
    product is rounded once, not the per-point value.
    """
    quantum = Decimal(1).scaleb(-currency_exponent(currency))
    return (Decimal(points) * point_value).quantize(quantum, ROUND_HALF_EVEN)


def divide(numerator: int, denominator: int, rounding: Rounding) -> int:
    """Integer division of non-negative numbers with an explicit rounding policy."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        return -divide(-numerator, denominator, _mirror(rounding))
    quotient, remainder = divmod(numerator, denominator)
    if remainder == 0 or rounding is Rounding.FLOOR:
        return quotient
    if rounding is Rounding.CEIL:
        return quotient + 1
    twice = 2 * remainder
    if twice > denominator:
        return quotient + 1
    if twice < denominator:
        return quotient
    if rounding is Rounding.HALF_UP:
        return quotient + 1
    return quotient + (quotient % 2)


def _mirror(rounding: Rounding) -> Rounding:
    return {Rounding.FLOOR: Rounding.CEIL, Rounding.CEIL: Rounding.FLOOR}.get(rounding, rounding)


def ratio(value: Decimal) -> tuple[int, int]:
    """A Decimal factor as an exact integer fraction, so 1.5x is (3, 2) and stays exact."""
    numerator, denominator = value.as_integer_ratio()
    return numerator, denominator
