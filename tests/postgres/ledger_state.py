"""What a ledger holds, as plain sorted rows, to compare two ledgers table by table.

Row ids (inbox and entry sequence numbers, outbox ids) depend on arrival order across
workers and are left out; everything a shop sees is kept. With ``profiles="latest"``
profile commands are compared by what a platform ends up showing: the last one queued for
each customer and instant. How many were queued on the way depends on timing (a
redemption processed in the same run as the round's orders, or in a run of its own, at the
same instant), the last one does not.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from loyaltykit.ledger import schema as t

SKIP = {"seq", "id", "received_at", "source", "attempts", "status", "last_error", "sent_at",
        "claimed_by", "claimed_until"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()  # the schema returns aware UTC instants on every backend
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value


def snapshot(engine: Engine, *, profiles: str = "full") -> dict[str, list[tuple[Any, ...]]]:
    tables = [t.entries, t.lots, t.customers, t.orders, t.referrals, t.tier_changes]
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in tables:
            columns = [c for c in table.columns if c.name not in SKIP]
            out[table.name] = sorted(tuple(_plain(v) for v in row)
                                     for row in conn.execute(select(*columns)))
        out["inbox"] = sorted(tuple(row) for row in conn.execute(
            select(t.inbox.c.event_key, t.inbox.c.status, t.inbox.c.note)))
        commands = conn.execute(select(t.outbox.c.command_key, t.outbox.c.kind,
                                       t.outbox.c.customer_id, t.outbox.c.payload,
                                       t.outbox.c.created_at).order_by(t.outbox.c.id)).all()
    rows, last_profile = [], {}
    for key, kind, customer, payload, created in commands:
        if kind == "update_customer_profile" and profiles == "latest":
            last_profile[customer, payload["as_of"]] = (
                f"profile:{customer}:{payload['as_of']}", kind, customer, _plain(payload),
                _plain(created))
        else:
            rows.append((key, kind, customer, _plain(payload), _plain(created)))
    out["outbox"] = sorted([*rows, *last_profile.values()])
    return out


def assert_same_ledger(actual: dict[str, list[tuple[Any, ...]]],
                       expected: dict[str, list[tuple[Any, ...]]]) -> None:
    """Table by table, so a failure names the table and the first differing rows."""
    for name in expected:
        missing = sorted(set(expected[name]) - set(actual[name]))[:3]
        extra = sorted(set(actual[name]) - set(expected[name]))[:3]
        assert actual[name] == expected[name], (
            f"{name}: {len(actual[name])} rows, expected {len(expected[name])}; "
            f"missing {missing}; unexpected {extra}")
