"""Which delivered customer versions are new, and under which key.

A customer event's key is its content (:attr:`CustomerUpserted.key`): a platform bumps a
customer's modification time when we push tags and metafields back, and that echo must be
a duplicate, not a new event that pushes again. Content alone would also make a change
that is reverted later (A -> B -> A) a duplicate of the first A, and the ledger would keep
B. So ingestion decides with the customer's stored versions: a delivery is a duplicate when
the version in effect at its instant has the same content (a re-delivery, an echo); any
other is a new version, and one whose content the customer had before (the A back) is
keyed with its instant as well, which keeps re-delivering it a duplicate too.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from loyaltykit.clock import utc_key
from loyaltykit.events import CustomerUpserted
from loyaltykit.ledger import schema as t

CUSTOMER = CustomerUpserted.kind
_IDS_AT_ONCE = 500
_STORED = (
    select(t.inbox.c.customer_id, t.inbox.c.occurred_at, t.inbox.c.event_key)
    .where(t.inbox.c.kind == CUSTOMER, t.inbox.c.customer_id.in_(bindparam("ids", expanding=True)))
)

# (instant, event key), in the order the engine applies them: equal instants by key
Versions = list[tuple[datetime, str]]


def new_versions(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (inbox rows, in delivery order) without the customer versions already in
    effect at their instant, the reverted ones re-keyed; other events pass as they are."""
    ids = {row["customer_id"] for row in rows if row["kind"] == CUSTOMER}
    if not ids:
        return rows
    history = _stored(conn, ids)
    kept = []
    for row in rows:
        if row["kind"] == CUSTOMER:
            customer_id, at, key = row["customer_id"], row["occurred_at"], row["event_key"]
            versions = history.setdefault(customer_id, [])
            digest = _digest(customer_id, key)
            index = bisect_right(versions, at, key=lambda version: version[0])
            if index and _digest(customer_id, versions[index - 1][1]) == digest:
                continue  # the version in effect then
            if any(_digest(customer_id, seen) == digest for _, seen in versions):
                row = {**row, "event_key": f"{key}@{utc_key(at)}"}
            insort(versions, (at, row["event_key"]))
        kept.append(row)
    return kept


def _stored(conn: Connection, ids: Iterable[str]) -> dict[str, Versions]:
    ordered = sorted(ids)
    history: dict[str, Versions] = {}
    for n in range(0, len(ordered), _IDS_AT_ONCE):
        for customer_id, at, key in conn.execute(_STORED, {"ids": ordered[n:n + _IDS_AT_ONCE]}):
            history.setdefault(customer_id, []).append((at, key))
    for versions in history.values():
        versions.sort()
    return history


def _digest(customer_id: str, key: str) -> str:
    """The content part of a customer event's key (``customer:ID:DIGEST[@INSTANT]``)."""
    return key[len(f"customer:{customer_id}:"):].partition("@")[0]
