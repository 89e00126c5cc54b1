"""Comparing a scenario's expectations with what the ledger holds, one mismatch per fact.

Only what a scenario states is compared. Values are read through the ledger's public views
(:meth:`Ledger.customer`, :meth:`Ledger.pending_commands`), the same ones a shop backend
uses, so a passing scenario says something about what the shop will see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from loyaltykit.commands import IssueDiscount
from loyaltykit.errors import NotFoundError
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.ledger import Ledger
from loyaltykit.ledger.queries import CustomerView, EntryView
from loyaltykit.rules.scenarios import (
    Expectations,
    ExpectCustomer,
    ExpectDiscount,
    ExpectEntry,
    ExpectOrder,
    ExpectReferral,
    ExpectRejected,
)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One expectation that does not hold; ``subject`` names the customer or order it is about."""

    where: str
    expected: str
    actual: str
    subject: str = ""

    def prefixed(self, prefix: str) -> Mismatch:
        return replace(self, where=prefix + self.where) if prefix else self

    def __str__(self) -> str:
        if "\n" in self.expected or "\n" in self.actual:
            return (f"{self.where}:\n    expected:\n{_indent(self.expected)}\n"
                    f"    actual:\n{_indent(self.actual)}")
        return f"{self.where}: expected {self.expected}, got {self.actual}"


def _indent(text: str) -> str:
    return "\n".join(f"      {line}" for line in text.splitlines())


def check_expectations(ledger: Ledger, expect: Expectations, as_of: datetime,
                       orders: dict[str, str]) -> list[Mismatch]:
    """Every mismatch between ``expect`` and the ledger at ``as_of``."""
    views = _Views(ledger, as_of)
    found: list[Mismatch] = []
    for customer_id, wanted in expect.customers.items():
        found += _customer(views, customer_id, wanted)
    for order_id, order in expect.orders.items():
        found += _order(views, order_id, order, orders.get(order_id))
    for referee, referral in expect.referrals.items():
        view = views.get(referee)
        where = f"referrals.{referee}"
        found += _referral(where, view, referral, referee)
    if expect.discounts is not None:
        found += _discounts(ledger, expect.discounts)
    found += _rejected(ledger, expect.rejected)
    return found


class _Views:
    """Customer views read once per checkpoint."""

    def __init__(self, ledger: Ledger, as_of: datetime) -> None:
        self.ledger, self.as_of = ledger, as_of
        self._cache: dict[str, CustomerView | None] = {}

    def get(self, customer_id: str) -> CustomerView | None:
        if customer_id not in self._cache:
            try:
                self._cache[customer_id] = self.ledger.customer(customer_id, as_of=self.as_of)
            except NotFoundError:
                self._cache[customer_id] = None
        return self._cache[customer_id]


def _compare(where: str, expected: Any, actual: Any, subject: str) -> list[Mismatch]:
    if expected is None or expected == actual:
        return []
    return [Mismatch(where, _show(expected), _show(actual), subject)]


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return "nothing" if value is None else str(value)


# --------------------------------------------------------------------------- customers


def _customer(views: _Views, customer_id: str, wanted: ExpectCustomer) -> list[Mismatch]:
    where = f"customers.{customer_id}"
    view = views.get(customer_id)
    if view is None:
        return [Mismatch(where, "a customer in the ledger", "no such customer", customer_id)]
    found = []
    simple: list[tuple[str, Any, Any]] = [
        ("balance", wanted.balance, view.balance), ("tier", wanted.tier, view.tier),
        ("segment", wanted.segment, view.segment),
        ("lifetime_earned", wanted.lifetime_earned, view.lifetime_earned),
        ("discount_percent", wanted.discount_percent, view.discount_percent),
        ("tier_path", wanted.tier_path, [after for _, _, after, _ in view.tier_history]),
    ]
    for name, expected, actual in simple:
        found += _compare(f"{where}.{name}", expected, actual, customer_id)
    if wanted.progress is not None and wanted.progress not in str(view.progress):
        found.append(Mismatch(f"{where}.progress", f"text containing {wanted.progress!r}",
                              repr(str(view.progress)), customer_id))
    if wanted.entries is not None:
        found += _entries(f"{where}.entries", wanted.entries, view.history, customer_id)
    if wanted.referral is not None:
        found += _referral(f"{where}.referral", view, wanted.referral, customer_id)
    return found


def _entries(where: str, wanted: Sequence[ExpectEntry], actual: Sequence[EntryView],
             subject: str) -> list[Mismatch]:
    if len(wanted) == len(actual) and all(map(_entry_matches, wanted, actual)):
        return []
    expected = "\n".join(_describe_expected_entry(e) for e in wanted) or "(no entries)"
    got = "\n".join(_describe_entry(e) for e in actual) or "(no entries)"
    return [Mismatch(where, expected, got, subject)]


def _entry_matches(wanted: ExpectEntry, entry: EntryView) -> bool:
    checks: list[tuple[Any, Any]] = [
        (wanted.kind, entry.kind), (wanted.points, entry.points),
        (wanted.rule, entry.rule_id), (wanted.order, entry.order_id)]
    if any(want is not None and want != got for want, got in checks):
        return False
    return wanted.reason is None or wanted.reason in entry.reason


def _describe_expected_entry(e: ExpectEntry) -> str:
    parts = [f"{e.points:+d}" if e.points is not None else "any points", e.kind or "any kind"]
    if e.rule:
        parts.append(f"rule {e.rule}")
    if e.order:
        parts.append(f"order {e.order}")
    if e.reason:
        parts.append(f"reason containing {e.reason!r}")
    return " ".join(parts)


def _describe_entry(e: EntryView) -> str:
    order = f" order {e.order_id}" if e.order_id else ""
    return f"{e.points:+d} {e.kind} rule {e.rule_id}{order}: {e.reason}"


def _referral(where: str, view: CustomerView | None, wanted: ExpectReferral,
              subject: str) -> list[Mismatch]:
    if view is None or view.referred_by is None:
        return [Mismatch(where, "a referral", "no referral recorded for this customer", subject)]
    referrer, status, reason = view.referred_by
    found = _compare(f"{where}.status", wanted.status, status, subject)
    found += _compare(f"{where}.referrer", wanted.referrer, referrer, subject)
    if wanted.reason is not None and wanted.reason not in (reason or ""):
        found.append(Mismatch(f"{where}.reason", f"text containing {wanted.reason!r}",
                              repr(reason), subject))
    return found


# --------------------------------------------------------------------------- orders


def _order(views: _Views, order_id: str, wanted: ExpectOrder,
           customer_id: str | None) -> list[Mismatch]:
    where = f"orders.{order_id}"
    view = views.get(customer_id) if customer_id else None
    if view is None:
        return [Mismatch(where, "an order of a known customer",
                         "the scenario does not give this order", order_id)]
    mine = [e for e in view.history if e.order_id == order_id]
    bonuses = {e.rule_id: e.points for e in mine if e.kind == "bonus"}
    actual: list[tuple[str, Any, Any]] = [
        ("points", wanted.points, sum(e.points for e in mine)),
        ("earned", wanted.earned, sum(e.points for e in mine if e.kind == "earn")),
        ("bonuses", wanted.bonuses, bonuses),
        ("reversed", wanted.reversed, -sum(e.points for e in mine if e.kind == "reversal")),
    ]
    found = []
    for name, expected, got in actual:
        found += _compare(f"{where}.{name}", expected, got, order_id)
    return found


# --------------------------------------------------------------------------- ledger-wide


def _discounts(ledger: Ledger, wanted: Sequence[ExpectDiscount]) -> list[Mismatch]:
    issued = [item.command for item in ledger.pending_commands(limit=100_000,
                                                                 kinds=["issue_discount"])]
    left = [c for c in issued if isinstance(c, IssueDiscount)]
    unmatched = []
    for want in wanted:
        match = next((c for c in left if _discount_matches(want, c)), None)
        if match is None:
            unmatched.append(want)
        else:
            left.remove(match)
    if not unmatched and not left:
        return []
    expected = "\n".join(_describe_discount_expected(d) for d in wanted) or "(none)"
    actual = "\n".join(f"{c.customer_id}: {c.value_type} {c.value} ({c.reason})"
                       for c in issued if isinstance(c, IssueDiscount)) or "(none)"
    return [Mismatch("discounts", expected, actual)]


def _discount_matches(want: ExpectDiscount, command: IssueDiscount) -> bool:
    checks: list[tuple[Any, Any]] = [(want.customer, command.customer_id),
                                     (want.value_type, command.value_type),
                                     (want.value, command.value)]
    if any(w is not None and w != got for w, got in checks):
        return False
    return want.reason is None or want.reason in command.reason


def _describe_discount_expected(d: ExpectDiscount) -> str:
    return (f"{d.customer}: {d.value_type or 'any type'} {d.value or 'any value'}"
            + (f" (reason containing {d.reason!r})" if d.reason else ""))


def rejected_events(ledger: Ledger) -> list[tuple[str, str]]:
    """(event key, why) of every event the ledger refused, in arrival order."""
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(t.inbox.c.event_key, t.inbox.c.note).where(
            t.inbox.c.status == "rejected").order_by(t.inbox.c.seq)).all()
    return [(key, note or "") for key, note in rows]


def _rejected(ledger: Ledger, wanted: Sequence[ExpectRejected]) -> list[Mismatch]:
    actual = rejected_events(ledger)
    left = list(actual)
    unmatched = []
    for want in wanted:
        hit = next((r for r in left if _rejection_matches(want, r)), None)
        if hit is None:
            unmatched.append(want)
        else:
            left.remove(hit)
    if not unmatched and not left:
        return []
    expected = "\n".join(f"{w.event}" + (f" ({w.reason!r})" if w.reason else "")
                         for w in wanted) or "(none refused)"
    got = "\n".join(f"{key}: {why}" for key, why in actual) or "(none refused)"
    return [Mismatch("rejected", expected, got)]


def _rejection_matches(want: ExpectRejected, got: tuple[str, str]) -> bool:
    return want.event == got[0] and (want.reason is None or want.reason in got[1])
