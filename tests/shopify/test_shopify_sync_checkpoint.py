"""The shared incremental-sync driver (loyaltykit.adapters.sync) on an in-memory stream:
checkpoints survive a round trip, boundary ids stay bounded, and windows restart before a
platform's cursor depth cap without losing or repeating records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from shopify_kit import MemoryLedger

from loyaltykit.adapters.sync import MAX_SEEN, Checkpoint, Page, Window, sync_stream
from loyaltykit.events import CustomerUpserted, Event

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
NOW = T0 + timedelta(days=1)


@dataclass
class ListStream:
    """Records (id, updated_at) paged by offset within a window; counts how deep it pages."""

    records: list[tuple[str, datetime]]
    page_size: int = 2
    cursor_name: str = "test:customers"
    deepest: int = 0
    windows: list[Window] = field(default_factory=list)

    def fetch(self, window: Window) -> Page[tuple[str, datetime]]:
        self.windows.append(window)
        rows = sorted((r for r in self.records
                       if (window.since is None or r[1] >= window.since) and r[1] < window.until),
                      key=lambda r: (r[1], r[0]))
        offset = int(window.after or 0)
        self.deepest = max(self.deepest, offset + self.page_size)
        chunk = rows[offset:offset + self.page_size]
        more = offset + self.page_size < len(rows)
        return Page(chunk, str(offset + self.page_size) if more else None)

    def identity(self, record: tuple[str, datetime]) -> tuple[str, datetime]:
        return record

    def events(self, record: tuple[str, datetime]) -> Iterable[Event]:
        return [CustomerUpserted(customer_id=record[0], occurred_at=record[1])]


def test_checkpoint_round_trips_through_json() -> None:
    checkpoint = Checkpoint(high=T0, seen={"7": T0.isoformat()},
                            window=Window(since=None, until=NOW, after="abc"))
    assert Checkpoint.loads(checkpoint.dumps()) == checkpoint
    assert Checkpoint.loads(None) == Checkpoint()


def test_boundary_ids_are_kept_only_within_the_overlap_and_capped() -> None:
    overlap = timedelta(minutes=5)
    old = [(f"old{i}", T0) for i in range(3)]
    recent = [(str(i), T0 + timedelta(hours=1)) for i in range(MAX_SEEN + 50)]
    checkpoint = Checkpoint().advance(old + recent, after=None, overlap=overlap)
    assert checkpoint.high == T0 + timedelta(hours=1)
    assert len(checkpoint.seen) == MAX_SEEN and not any(k.startswith("old")
                                                        for k in checkpoint.seen)


def test_windows_restart_before_the_depth_cap_without_loss_or_repeats() -> None:
    records = [(f"c{i:02d}", T0 + timedelta(hours=i)) for i in range(11)]
    stream = ListStream(records)
    ledger = MemoryLedger()
    stats = sync_stream(stream, ledger, now=NOW, overlap=timedelta(0), max_window_pages=2)
    assert sorted(e.split(":")[1] for e in ledger.delivered) == [r[0] for r in records]
    assert len(ledger.delivered) == len(set(ledger.delivered))
    assert stream.deepest <= 2 * stream.page_size  # never paged past two pages on one cursor
    assert stats.records > len(records) and stats.skipped == stats.records - len(records)


def test_a_mass_update_in_one_instant_does_not_loop() -> None:
    records = [(f"c{i:02d}", T0) for i in range(9)]  # all updated at the same moment
    stream = ListStream(records)
    ledger = MemoryLedger()
    sync_stream(stream, ledger, now=NOW, overlap=timedelta(0), max_window_pages=2)
    assert len(ledger.delivered) == 9 == len(set(ledger.delivered))


def test_the_next_window_starts_overlap_before_the_newest_update() -> None:
    stream = ListStream([("a", T0), ("b", T0 + timedelta(hours=2))])
    ledger = MemoryLedger()
    sync_stream(stream, ledger, now=NOW, overlap=timedelta(minutes=5))
    later = NOW + timedelta(hours=1)
    stats = sync_stream(stream, ledger, now=later, overlap=timedelta(minutes=5))
    assert stream.windows[-1].since == T0 + timedelta(hours=2) - timedelta(minutes=5)
    assert stream.windows[-1].until == later
    assert (stats.records, stats.skipped, len(ledger.delivered)) == (1, 1, 2)
