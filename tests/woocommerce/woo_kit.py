"""Helpers for the WooCommerce adapter tests: a client on the local server with instant
retries, a sink that crashes mid-sync, and an in-memory outbox."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from fake_woo import KEY, SECRET
from sqlalchemy import select

from loyaltykit.adapters.base import IngestResult, OutboxItem
from loyaltykit.adapters.http import HttpTransport, RetryPolicy
from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.adapters.woocommerce.config import WooSettings
from loyaltykit.commands import Command
from loyaltykit.events import Event
from loyaltykit.ledger import Ledger
from loyaltykit.ledger import schema as t

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def make_client(url: str, sleeps: list[float], *, secret: str = SECRET, attempts: int = 4,
                timeout: tuple[float, float] = (2.0, 5.0), role: str = "all") -> WooClient:
    settings = WooSettings(url=url, key=KEY, secret=secret, customer_role=role)
    return WooClient(settings, retry=RetryPolicy(attempts=attempts, sleep=sleeps.append),
                     transport=HttpTransport(timeout=timeout, redactor=settings.redactor()))


class CrashingSink:
    """The real ledger, failing on the ``crash_on``-th ingest like a process killed there."""

    def __init__(self, ledger: Ledger, crash_on: int) -> None:
        self.ledger = ledger
        self.crash_on = crash_on
        self.calls = 0

    def ingest(self, events: Iterable[Event], *, cursor: tuple[str, str] | None = None,
               sources: Sequence[str | None] | None = None) -> IngestResult:
        self.calls += 1
        if self.calls == self.crash_on:
            raise RuntimeError("killed mid-sync")
        return self.ledger.ingest(events, cursor=cursor, sources=sources)

    def cursor(self, name: str) -> str | None:
        return self.ledger.cursor(name)


class MemoryOutbox:
    """An OutboxSource holding commands in memory, recording what push marked."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self.items: dict[int, dict[str, Any]] = {}
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> int:
        item_id = len(self.items) + 1
        self.items[item_id] = {"command": command, "status": "pending", "attempts": 0,
                               "detail": "", "error": ""}
        return item_id

    def pending_commands(self, *, limit: int = 100,
                         kinds: Sequence[str] | None = None) -> list[OutboxItem]:
        return [OutboxItem(i, row["command"], row["attempts"], T0)
                for i, row in self.items.items()
                if row["status"] == "pending" and (not kinds or row["command"].kind in kinds)
                ][:limit]

    def mark_sent(self, item_id: int, *, detail: str = "") -> None:
        row = self.items[item_id]
        row.update(status="sent", detail=detail, attempts=row["attempts"] + 1)

    def mark_failed(self, item_id: int, error: str, *, retriable: bool) -> None:
        row = self.items[item_id]
        row.update(status="pending" if retriable else "failed", error=error,
                   attempts=row["attempts"] + 1)

    def status(self) -> dict[int, str]:
        return {i: row["status"] for i, row in self.items.items()}


def inbox_keys(ledger: Ledger) -> list[str]:
    """Every event key the ledger holds, processed or not."""
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(t.inbox.c.event_key)).scalars())


def occurred(ledger: Ledger, key: str) -> str:
    """When the stored event ``key`` happened, as ISO text in UTC."""
    with ledger.engine.connect() as conn:
        value = conn.execute(select(t.inbox.c.occurred_at).where(
            t.inbox.c.event_key == key)).scalar_one()
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
