"""Running one scenario: its history into a fresh in-memory ledger, the clock forward, checks.

Each scenario gets its own ledger, so scenarios never see each other's customers and can run
in any order or in parallel. The result holds every mismatch (not only the first) and the
trace a reader needs to see why: ledger entries with their reasons, tier changes, refused
events, and the rule-by-rule explanation of orders whose points were not as expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from loyaltykit.errors import ConfigurationError
from loyaltykit.events import Event
from loyaltykit.rules.program import Program
from loyaltykit.rules.scenarios import (
    Expectations,
    Given,
    GivenCancellation,
    GivenOrder,
    GivenRedemption,
    GivenReferral,
    GivenRefund,
    Scenario,
)
from loyaltykit.rules.versions import ProgramSet
from loyaltykit.testing.builders import EventBuilder, line
from loyaltykit.testing.checks import Mismatch, check_expectations
from loyaltykit.testing.ledger import memory_ledger
from loyaltykit.testing.trace import scenario_trace

_Dated = GivenOrder | GivenRefund | GivenCancellation | GivenReferral | GivenRedemption


@dataclass
class ScenarioResult:
    """What a scenario found: mismatches per checkpoint and the trace of the decisions."""

    name: str
    mismatches: list[Mismatch] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    checked: list[datetime] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches


def run_scenario(programs: Program | Sequence[Program], scenario: Scenario) -> ScenarioResult:
    """Run ``scenario`` against the program (or its versions) and check every expectation.

    Raises ConfigurationError when the scenario cannot run at all (a refund of an order it
    does not give the amount of, a checkpoint before the one it follows).
    """
    versions = ProgramSet([programs] if isinstance(programs, Program) else list(programs))
    events, orders = scenario_events(scenario.given, versions.first.currency)
    checkpoints = _checkpoints(scenario, events)
    result = ScenarioResult(scenario.name)
    with memory_ledger(list(versions)) as ledger:
        ledger.ingest(events)
        for index, (as_of, expect) in enumerate(checkpoints):
            ledger.run(as_of)
            prefix = "" if len(checkpoints) == 1 else f"at {as_of.isoformat()}: "
            found = check_expectations(ledger, expect, as_of, orders)
            result.mismatches += [m.prefixed(prefix) for m in found]
            result.checked.append(as_of)
            if found or index == len(checkpoints) - 1:
                result.trace = scenario_trace(ledger, versions, _people(scenario.given, orders),
                                              found, orders)
                if found:
                    break
    return result


def scenario_events(given: Given, currency: str) -> tuple[list[Event], dict[str, str]]:
    """The given history as events, and the customer of every order (repeats expanded).

    Customers without ``at`` are known from the scenario's first event on, so they exist
    (with their birthday, phone, referral code) before anything happens to them.
    """
    dated: list[Sequence[_Dated]] = [given.orders, given.refunds, given.cancellations,
                                     given.referrals, given.redemptions]
    times = [item.at for items in dated for item in items]
    times += [c.at for c in given.customers if c.at]
    if not times:
        if given.customers:
            raise ConfigurationError("customers without any dated event need 'at:'")
        return [], {}
    shop = EventBuilder(currency=currency, start=min(times))
    for c in given.customers:
        shop.customer(c.id, email=c.email, phone=c.phone, address=c.address,
                      birthday=c.birthday, referral_code=c.referral_code,
                      attributes=c.attributes, at=c.at or min(times))
    orders = _add_orders(shop, given.orders)
    for refund in given.refunds:
        if refund.amount is None and refund.order not in orders:
            raise ConfigurationError(f"refund of order {refund.order!r}: the scenario does not "
                                     "give that order, so state the refund's amount")
        shop.refund(refund.order, refund.amount, refund_id=refund.id, at=refund.at)
    for cancel in given.cancellations:
        if cancel.order not in orders:
            raise ConfigurationError(f"cancellation of order {cancel.order!r}: add the order to "
                                     "given.orders")
        shop.cancel(cancel.order, at=cancel.at)
    for ref in given.referrals:
        shop.referral(ref.referee, ref.code, at=ref.at)
    for red in given.redemptions:
        shop.redemption(red.customer, red.reward, redemption_id=red.id, at=red.at)
    return shop.events, orders


def _add_orders(shop: EventBuilder, given: Sequence[GivenOrder]) -> dict[str, str]:
    orders: dict[str, str] = {}
    for o in given:
        count, step = (o.repeat.times, o.repeat.every_days) if o.repeat else (1, 0)
        lines = [line(ln.sku, ln.amount, quantity=ln.quantity, category=ln.category)
                 for ln in o.lines]
        for n in range(count):
            order_id = f"{o.id}-{n + 1}" if o.repeat else o.id
            shop.order(o.customer, o.paid, order_id=order_id, currency=o.currency,
                       at=o.at + timedelta(days=step * n), lines=lines)
            orders[order_id] = o.customer
    return orders


def _checkpoints(
    scenario: Scenario, events: Sequence[Event],
) -> list[tuple[datetime, Expectations]]:
    first_at = scenario.as_of or max((e.occurred_at for e in events), default=None)
    points: list[tuple[datetime, Expectations]] = []
    if scenario.expect is not None:
        if first_at is None:
            raise ConfigurationError(f"scenario {scenario.name!r}: add 'as_of' (there is no "
                                     "given event to take the clock from)")
        points.append((first_at, scenario.expect))
    for index, later in enumerate(scenario.then):
        if points and later.as_of < points[-1][0]:
            raise ConfigurationError(
                f"scenario {scenario.name!r}: then[{index}].as_of {later.as_of.isoformat()} is "
                f"before {points[-1][0].isoformat()}; checkpoints go forward in time")
        points.append((later.as_of, later.expect))
    return points


def _people(given: Given, orders: dict[str, str]) -> list[str]:
    """Every customer the scenario mentions, in the order it mentions them."""
    names = [c.id for c in given.customers] + list(orders.values()) + \
        [r.referee for r in given.referrals] + [r.customer for r in given.redemptions]
    return list(dict.fromkeys(names))
