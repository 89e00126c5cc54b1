"""In-memory stand-ins for the two seams between adapters and the ledger.

:class:`RecordingSink` is an :class:`~loyaltykit.adapters.base.EventSink` that keeps events
and cursors in memory, deduplicates by key like the ledger, and can simulate a crash on its
n-th ``ingest`` call. :class:`FakeOutbox` is an :class:`~loyaltykit.adapters.base.OutboxSource`
over a list of commands that records every delivery, and can lose an acknowledgement to
simulate an answer that never came back. Both are what the adapter conformance suite uses,
and they are small enough to use directly in an adapter's own tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from loyaltykit.adapters.base import IngestResult, OutboxItem
from loyaltykit.commands import Command
from loyaltykit.events import Event, validate_event


class SimulatedCrash(BaseException):
    """The process died here. A BaseException, so ``except Exception`` cannot swallow it,
    just as it cannot swallow a real crash."""


@dataclass(frozen=True)
class IngestCall:
    events: tuple[Event, ...]
    cursor: tuple[str, str] | None
    sources: tuple[str | None, ...] | None


class RecordingSink:
    """An EventSink in memory: events by key, cursors, and every call in order.

    ``crash_on_call=n`` raises :class:`SimulatedCrash` on the n-th ``ingest`` call *before*
    anything of that call is kept, as a database transaction that never committed.
    """

    def __init__(self, *, crash_on_call: int | None = None) -> None:
        self.events: dict[str, Event] = {}
        self.cursors: dict[str, str] = {}
        self.calls: list[IngestCall] = []
        self.crash_on_call = crash_on_call
        self._attempts = 0

    def ingest(
        self, events: Iterable[Event], *, cursor: tuple[str, str] | None = None,
        sources: Sequence[str | None] | None = None,
    ) -> IngestResult:
        batch = tuple(events)
        self._attempts += 1
        if self.crash_on_call == self._attempts:
            raise SimulatedCrash(f"simulated crash in ingest call {self._attempts}")
        for event in batch:
            validate_event(event)
        new = 0
        for event in batch:
            if event.key not in self.events:
                self.events[event.key] = event
                new += 1
        if cursor is not None:
            self.cursors[cursor[0]] = cursor[1]
        self.calls.append(IngestCall(batch, cursor, tuple(sources) if sources else None))
        return IngestResult(new=new, duplicate=len(batch) - new)

    def cursor(self, name: str) -> str | None:
        return self.cursors.get(name)


@dataclass
class Delivery:
    item_id: int
    outcome: str  # "sent" or "failed"
    detail: str
    retriable: bool = False


@dataclass
class FakeOutbox:
    """An OutboxSource over ``commands``; ``deliveries`` records every mark, in order.

    ``lose_acks=n`` makes the first n ``mark_sent`` calls raise :class:`SimulatedCrash`
    without recording anything: the platform did the work, the ledger never heard.
    """

    commands: Sequence[Command]
    lose_acks: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    _status: dict[int, str] = field(default_factory=dict)
    _attempts: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._status = {index: "pending" for index in range(1, len(self.commands) + 1)}

    def pending_commands(self, *, limit: int = 100,
                         kinds: Sequence[str] | None = None) -> list[OutboxItem]:
        created = datetime(2025, 1, 1, tzinfo=timezone.utc)
        items = [OutboxItem(index, self.commands[index - 1], self._attempts.get(index, 0),
                            created)
                 for index, status in sorted(self._status.items()) if status == "pending"
                 and (not kinds or self.commands[index - 1].kind in kinds)]
        return items[:limit]

    def mark_sent(self, item_id: int, *, detail: str = "") -> None:
        if self.lose_acks > 0:
            self.lose_acks -= 1
            raise SimulatedCrash(f"acknowledgement of outbox item {item_id} lost")
        self._mark(item_id, "sent", Delivery(item_id, "sent", detail))

    def mark_failed(self, item_id: int, error: str, *, retriable: bool) -> None:
        status = "pending" if retriable else "failed"
        self._mark(item_id, status, Delivery(item_id, "failed", error, retriable))

    def _mark(self, item_id: int, status: str, delivery: Delivery) -> None:
        if item_id not in self._status:
            raise KeyError(f"no outbox item {item_id}")
        self._status[item_id] = status
        self._attempts[item_id] = self._attempts.get(item_id, 0) + 1
        self.deliveries.append(delivery)

    def status(self, item_id: int) -> str:
        return self._status[item_id]
