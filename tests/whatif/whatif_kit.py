"""Helpers for the what-if tests: program fixtures, a hand-built history and a small shop."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import loyaltykit
from loyaltykit.events import CustomerUpserted, Event, OrderPaid, OrderRefunded, ReferralRecorded
from loyaltykit.rules.loader import load_program
from loyaltykit.rules.program import Program

PROGRAMS = Path(__file__).parent / "programs"
SAMPLE_PROGRAM = Path(loyaltykit.__file__).parent / "samples" / "program.yaml"
SHANGHAI = timezone(timedelta(hours=8))


def program(name: str) -> Program:
    return load_program(PROGRAMS / name)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=SHANGHAI)


def paid(order_id: str, customer_id: str, when: datetime, amount: str) -> OrderPaid:
    return OrderPaid(order_id, customer_id, when, Decimal(amount), "CNY")


def referral_history() -> list[Event]:
    """A and C reach Gold (2 paid orders) and order again; B arrives through A's code.

    Delivered out of order on purpose: the history sorts them as the ledger would.
    """
    return [
        paid("a4", "A", at(2, 3), "100.00"),
        CustomerUpserted("A", at(1, 2), email="a@example.com", referral_code="AAA"),
        CustomerUpserted("C", at(1, 2), email="c@example.com"),
        CustomerUpserted("B", at(1, 3, 9), email="b@example.com"),
        ReferralRecorded("B", "AAA", at(1, 3, 9)),
        paid("a1", "A", at(1, 5), "100.00"),
        paid("a2", "A", at(1, 6), "200.00"),
        paid("a3", "A", at(1, 10), "100.00"),
        paid("b1", "B", at(1, 7), "80.00"),
        paid("c1", "C", at(1, 4), "300.00"),
        paid("c2", "C", at(1, 6, 12), "50.00"),
        paid("c3", "C", at(1, 8), "100.00"),
        OrderRefunded("r1", "c3", at(1, 9), Decimal("50.00")),
    ]


def tier_history() -> list[Event]:
    """Customer cN pays N orders (N = 1..4) in January and February 2025."""
    events: list[Event] = []
    for n in range(1, 5):
        events.append(CustomerUpserted(f"c{n}", at(1, 1)))
        events += [paid(f"c{n}-{k}", f"c{n}", at(1 + k // 3, 2 + k * 5), "20.00")
                   for k in range(n)]
    return events
