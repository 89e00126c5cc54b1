"""The two seams between adapters and the ledger.

An adapter *pulls* by handing normalized events to an :class:`EventSink` together with the
cursor it reached; the sink stores both in one transaction, so a crash either keeps both or
neither and the next sync resumes from the last committed cursor (re-reading the boundary is
harmless because events are deduplicated by key).

An adapter *pushes* by draining an :class:`OutboxSource`: pending commands, each marked
sent or failed after the platform answered. Commands are idempotent by key, so a command
re-sent after a lost answer does no harm.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from loyaltykit.commands import Command
from loyaltykit.events import Event


@dataclass(frozen=True, slots=True)
class IngestResult:
    new: int
    duplicate: int


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    command: Command
    attempts: int
    created_at: datetime


class EventSink(Protocol):
    def ingest(
        self,
        events: Iterable[Event],
        *,
        cursor: tuple[str, str] | None = None,
        sources: Sequence[str | None] | None = None,
    ) -> IngestResult:
        """Store events (deduplicated by key) and, in the same transaction, the cursor
        ``(name, value)``. ``sources`` gives each event's provenance (file, hash, line)."""
        ...

    def cursor(self, name: str) -> str | None:
        """The last committed value of a sync cursor, or None before the first sync."""
        ...


class OutboxSource(Protocol):
    def pending_commands(
        self, *, limit: int = 100, kinds: Sequence[str] | None = None
    ) -> list[OutboxItem]:
        """Commands not yet delivered, oldest first."""
        ...

    def mark_sent(self, item_id: int, *, detail: str = "") -> None: ...

    def mark_failed(self, item_id: int, error: str, *, retriable: bool) -> None:
        """Record a failed delivery; a permanent failure is not offered again."""
        ...
