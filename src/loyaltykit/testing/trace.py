"""The trace printed under a failing scenario: what the ledger decided and why.

For each customer of the scenario, ledger entries (with the reason the engine wrote) and
tier changes in time order, in the shop's timezone; then refused events; then, for each
order whose points were not as expected, every earning rule with why it fired or not.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from loyaltykit.errors import NotFoundError
from loyaltykit.ledger.ledger import Ledger
from loyaltykit.rules.explain import explain_order
from loyaltykit.rules.versions import ProgramSet
from loyaltykit.testing.checks import Mismatch, rejected_events
from loyaltykit.testing.facts import order_record

TIMELINE_LIMIT = 40


def scenario_trace(ledger: Ledger, programs: ProgramSet, customers: Sequence[str],
                   mismatches: Sequence[Mismatch], orders: dict[str, str]) -> list[str]:
    tz = programs.latest.tz
    lines: list[str] = []
    for customer_id in customers:
        lines += customer_timeline(ledger, customer_id, tz)
    refused = rejected_events(ledger)
    if refused:
        lines.append("refused events")
        lines += [f"  {key}: {why}" for key, why in refused]
    for order_id in dict.fromkeys(m.subject for m in mismatches if m.subject in orders):
        lines += order_explanation(ledger, order_id)
    return lines


def customer_timeline(ledger: Ledger, customer_id: str, tz: ZoneInfo) -> list[str]:
    """Entries and tier changes of one customer, oldest first."""
    try:
        view = ledger.customer(customer_id)
    except NotFoundError:
        return [f"{customer_id}: not in the ledger"]
    rows: list[tuple[datetime, int, str]] = []
    for when, before, after, reason in view.tier_history:
        rows.append((when, 1, f"tier {before or '-'} -> {after}: {reason}"))
    for e in view.history:
        order = f", order {e.order_id}" if e.order_id else ""
        rows.append((e.effective_at, 0,
                     f"{e.points:+d} {e.kind} ({e.rule_id}{order}): {e.reason}"))
    rows.sort(key=lambda row: (row[0], row[1]))
    head = f"{customer_id}: balance {view.balance}, tier {view.tier or '-'}, {view.segment}"
    lines = [f"  {when.astimezone(tz):%Y-%m-%d %H:%M} {text}" for when, _, text in rows]
    if len(lines) > TIMELINE_LIMIT:
        hidden = len(lines) - TIMELINE_LIMIT
        lines = [f"  ... {hidden} earlier lines", *lines[-TIMELINE_LIMIT:]]
    return [head, *lines]


def order_explanation(ledger: Ledger, order_id: str) -> list[str]:
    """The earning rules against one order, then what the ledger recorded for it."""
    try:
        record = order_record(ledger, order_id)
    except NotFoundError as missing:
        return [f"order {order_id}: {missing}"]
    explained = explain_order(record.program, record.facts)
    lines = explained.lines()
    if record.status != "paid":
        lines.append(f"  the order is {record.status}")
    recorded = [f"{e.points:+d} {e.kind} ({e.rule_id})" for e in record.entries]
    lines.append("  recorded: " + (", ".join(recorded) or "no entries"))
    return lines


def failure_text(name: str, where: str, mismatches: Sequence[Mismatch],
                 trace: Sequence[str]) -> str:
    """A failed scenario as plain text: what differed, then what the ledger did and why."""
    lines = [f"scenario {name!r} ({where}) failed:"]
    lines += [textwrap.indent(str(m), "  ") for m in mismatches]
    if trace:
        lines += ["", "trace:"] + [f"  {line}" for line in trace]
    return "\n".join(lines)
