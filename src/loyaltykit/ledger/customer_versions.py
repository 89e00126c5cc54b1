"""Which delivered customer versions are new, and under which key.

A customer event's key is its content (:attr:`CustomerUpserted.key`), so that a customer
read again unchanged (every WooCommerce sync reads them all) is a duplicate. Content alone
would also make a change reverted later (A -> B -> A) a duplicate of the first A, and the
ledger would keep B. So ingestion looks at the customer's stored versions: a delivery of
the same content at the same instant is a duplicate; the same content at another instant
is a new version, keyed with its instant as well (which keeps re-delivering it a
duplicate too). The engine lets the latest version win, whatever order they arrive in, and
a version equal to the one in effect changes nothing: the platform's echo of our own tag
push (same content, a newer modification time) queues no new push.

Two processes ingesting one customer's same, never seen content at two instants at the
same moment both take the plain content key, and one of the two is kept: the customer's
data then changes at the other's instant, and the latest version still wins.
"""

from __future__ import annotations

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


def new_versions(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (inbox rows) without the customer versions already stored, those with a
    content seen before re-keyed; other events pass as they are."""
    ids = {row["customer_id"] for row in rows if row["kind"] == CUSTOMER}
    if not ids:
        return rows
    seen = _stored(conn, ids)
    kept = []
    for row in rows:
        if row["kind"] == CUSTOMER:
            customer_id, at, key = row["customer_id"], row["occurred_at"], row["event_key"]
            versions = seen.setdefault(customer_id, set())
            digest = _digest(customer_id, key)
            if (at, digest) in versions:
                continue
            if any(content == digest for _, content in versions):
                row = {**row, "event_key": f"{key}@{utc_key(at)}"}
            versions.add((at, digest))
        kept.append(row)
    return kept


def _stored(conn: Connection, ids: Iterable[str]) -> dict[str, set[tuple[datetime, str]]]:
    """Each customer's stored versions as (instant, content digest)."""
    ordered = sorted(ids)
    seen: dict[str, set[tuple[datetime, str]]] = {}
    for n in range(0, len(ordered), _IDS_AT_ONCE):
        for customer_id, at, key in conn.execute(_STORED, {"ids": ordered[n:n + _IDS_AT_ONCE]}):
            seen.setdefault(customer_id, set()).add((at, _digest(customer_id, key)))
    return seen


def _digest(customer_id: str, key: str) -> str:
    """The content part of a customer event's key (``customer:ID:DIGEST[@INSTANT]``)."""
    return key[len(f"customer:{customer_id}:"):].partition("@")[0]
