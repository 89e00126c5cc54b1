"""What one chunk of processing changed, collected as rows for a single transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loyaltykit.commands import Command, command_payload
from loyaltykit.engine.state import Lot


@dataclass(slots=True)
class Changes:
    entries: list[dict[str, Any]] = field(default_factory=list)
    tier_changes: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    new_lots: dict[str, Lot] = field(default_factory=dict)
    changed_lots: dict[str, Lot] = field(default_factory=dict)
    customers: set[str] = field(default_factory=set)
    profiles: set[str] = field(default_factory=set)  # customers whose contact data changed
    orders: set[str] = field(default_factory=set)
    referrals: set[str] = field(default_factory=set)
    events: list[tuple[int, str, str | None]] = field(default_factory=list)

    def entry(self, **row: Any) -> None:
        self.entries.append(row)

    def lot_created(self, lot: Lot) -> None:
        self.new_lots[lot.lot_key] = lot

    def lot_touched(self, lot: Lot) -> None:
        if lot.lot_key not in self.new_lots:
            self.changed_lots[lot.lot_key] = lot

    def command(self, command: Command, at: datetime) -> None:
        self.outbox.append({
            "command_key": command.key, "kind": command.kind,
            "customer_id": command.customer_id, "payload": command_payload(command),
            "status": "pending", "attempts": 0, "created_at": at,
        })

    def event_done(self, seq: int, status: str = "done", note: str | None = None) -> None:
        self.events.append((seq, status, note))

    def clear(self) -> None:
        """Start the next chunk; handlers keep their reference to this object."""
        for name in ("entries", "tier_changes", "outbox", "events"):
            getattr(self, name).clear()
        for name in ("new_lots", "changed_lots"):
            getattr(self, name).clear()
        for name in ("customers", "profiles", "orders", "referrals"):
            getattr(self, name).clear()

    def __len__(self) -> int:
        return len(self.entries) + len(self.events)
