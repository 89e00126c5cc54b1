"""The testing kit: builders, the in-memory ledger, and the conformance suites, which must pass
for correct stores and adapters and fail for the classic mistakes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from loyaltykit import open_ledger
from loyaltykit.adapters.base import EventSink, OutboxSource
from loyaltykit.adapters.sync import Page, Window, sync_stream
from loyaltykit.clock import FixedClock
from loyaltykit.commands import IssueDiscount
from loyaltykit.events import Event, OrderPaid
from loyaltykit.ledger.ledger import Ledger
from loyaltykit.rules.program import Program
from loyaltykit.testing import EventBuilder, line, memory_ledger
from loyaltykit.testing.adapter_conformance import (
    PullConformance,
    PushConformance,
    sample_commands,
)
from loyaltykit.testing.conformance import SUITE_PROGRAM, LedgerStoreConformance, story
from loyaltykit.testing.fakes import FakeOutbox, RecordingSink, SimulatedCrash

SHANGHAI = timezone(timedelta(hours=8))
NOON = datetime(2025, 3, 1, 12, tzinfo=SHANGHAI)


# --------------------------------------------------------------------------- builders


def test_builders_fill_in_ids_currency_and_the_clock() -> None:
    shop = EventBuilder(currency="CNY", start=NOON)
    customer = shop.customer("alice", birthday=date(1990, 3, 8))
    first = shop.order("alice", "120.00")
    shop.advance(days=2)
    second = shop.order("alice", lines=[line("cup", "30.00", category="teaware"),
                                        line("leaf", "20.50")])
    refund = shop.refund(first)
    assert customer.occurred_at == first.occurred_at == NOON
    assert (first.order_id, second.order_id, first.currency) == ("o1", "o2", "CNY")
    assert second.amount == Decimal("50.50") and second.occurred_at == NOON + timedelta(days=2)
    assert (refund.refund_id, refund.amount) == ("o1-refund-1", Decimal("120.00"))
    assert shop.events == [customer, first, second, refund]


def test_the_same_story_gives_the_same_event_keys() -> None:
    assert [e.key for e in story()] == [e.key for e in story()]


def test_a_second_refund_defaults_to_what_is_left() -> None:
    shop = EventBuilder(currency="CNY", start=NOON)
    order = shop.order("bob", "100.00")
    shop.refund(order, "30.00")
    assert shop.refund(order).amount == Decimal("70.00")


def test_builders_refuse_floats_naive_times_and_a_backwards_clock() -> None:
    shop = EventBuilder(currency="CNY", start=NOON)
    with pytest.raises(TypeError, match="write money as a string"):
        shop.order("alice", 12.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no timezone"):
        EventBuilder(currency="CNY", start=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="only moves forward"):
        shop.advance(days=-1)
    with pytest.raises(ValueError, match="start= or clock="):
        EventBuilder(currency="CNY")
    with pytest.raises(ValueError, match="give customer_id"):
        shop.cancel("elsewhere")


def test_builders_share_a_clock_given_to_them() -> None:
    clock = FixedClock(NOON)
    shop = EventBuilder(currency="USD", clock=clock)
    clock.set(NOON + timedelta(hours=3))
    assert shop.order("ana", "5.00").occurred_at == NOON + timedelta(hours=3)


# --------------------------------------------------------------------------- memory ledger


def test_the_memory_ledger_keeps_one_database_across_connections_and_threads() -> None:
    with memory_ledger(SUITE_PROGRAM) as ledger:
        ledger.ingest(story())
        worker = threading.Thread(target=ledger.run,
                                  args=(datetime(2025, 3, 20, tzinfo=SHANGHAI),))
        worker.start()
        worker.join()
        assert ledger.customer("alice").balance == 950
        assert ledger.processed_until() == datetime(2025, 3, 20, tzinfo=SHANGHAI)


def test_memory_ledgers_do_not_share_data() -> None:
    with memory_ledger(SUITE_PROGRAM) as one, memory_ledger(SUITE_PROGRAM) as two:
        one.ingest(story())
        assert two.ingest(story()).new == len(story())


# --------------------------------------------------------------------------- ledger stores


class TestMemoryLedgerStore(LedgerStoreConformance):
    @pytest.fixture
    def make_ledger(self) -> Callable[[Sequence[Program]], Ledger]:
        return memory_ledger


class TestSqliteFileLedgerStore(LedgerStoreConformance):
    @pytest.fixture
    def make_ledger(self, tmp_path: Path) -> Callable[[Sequence[Program]], Ledger]:
        counter = iter(range(100))
        return lambda programs: open_ledger(tmp_path / f"ledger{next(counter)}.db", programs)


class CursorFirstLedger(Ledger):
    """The classic mistake: the cursor committed on its own, before the events."""

    def ingest(self, events: Iterable[Event], *, cursor: tuple[str, str] | None = None,
               sources: Sequence[str | None] | None = None, **kw: Any) -> Any:
        if cursor is not None:
            super().ingest([], cursor=cursor)
        return super().ingest(events, sources=sources)


def test_the_store_suite_catches_a_cursor_committed_without_its_events() -> None:
    engine = create_engine("sqlite://")
    broken = CursorFirstLedger(engine, [SUITE_PROGRAM])
    with pytest.raises(AssertionError):
        LedgerStoreConformance().test_a_failed_ingest_keeps_neither_events_nor_cursor(broken)


# --------------------------------------------------------------------------- adapters


@dataclass(frozen=True)
class ToyOrder:
    id: str
    customer: str
    amount: str
    updated_at: datetime


TOY_ORDERS = [ToyOrder(f"{n}", f"c{n % 3}", f"{10 + n}.00", NOON + timedelta(minutes=n))
              for n in range(7)]
NOW = NOON + timedelta(days=1)


class ToyStream:
    """A platform double paging two orders at a time, ordered by update time."""

    cursor_name = "toy:orders"

    def __init__(self, records: Sequence[ToyOrder], *, key: Callable[[ToyOrder], str]) -> None:
        self.records, self.key = records, key

    def fetch(self, window: Window) -> Page[ToyOrder]:
        rows = sorted((r for r in self.records if (window.since is None or
                       r.updated_at >= window.since) and r.updated_at < window.until),
                      key=lambda r: (r.updated_at, r.id))
        start = int(window.after or 0)
        more = start + 2 < len(rows)
        return Page(rows[start:start + 2], str(start + 2) if more else None)

    def identity(self, record: ToyOrder) -> tuple[str, datetime]:
        return record.id, record.updated_at

    def events(self, record: ToyOrder) -> Iterable[Event]:
        return [OrderPaid(self.key(record), record.customer, record.updated_at,
                          Decimal(record.amount), "CNY")]


def toy_pull(sink: EventSink) -> None:
    sync_stream(ToyStream(TOY_ORDERS, key=lambda r: r.id), sink, now=NOW)


class TestToyPull(PullConformance):
    """The shared incremental sync (adapters/sync.py) passes the pull suite."""

    @pytest.fixture
    def pull(self) -> Callable[[EventSink], object]:
        return toy_pull


def test_the_pull_suite_catches_keys_that_change_between_runs() -> None:
    counter = iter(range(10_000))

    def unstable(sink: EventSink) -> None:
        sync_stream(ToyStream(TOY_ORDERS, key=lambda r: f"{r.id}-{next(counter)}"), sink,
                    now=NOW)

    with pytest.raises(AssertionError):
        PullConformance().test_the_same_data_gives_the_same_events(unstable)


def test_the_pull_suite_catches_a_cursor_saved_before_its_events() -> None:
    def cursor_first(sink: EventSink) -> None:
        if sink.cursor("toy:orders") == "done":
            return
        events = [e for r in TOY_ORDERS for e in ToyStream(TOY_ORDERS, key=lambda r: r.id)
                  .events(r)]
        sink.ingest([], cursor=("toy:orders", "done"))
        sink.ingest(events)

    with pytest.raises(AssertionError, match="lost"):
        PullConformance().test_a_crash_at_any_point_loses_nothing(cursor_first)


class ToyPlatform:
    """Discount codes and tags as a platform would hold them."""

    def __init__(self, *, check_existing: bool = True) -> None:
        self.codes: list[str] = []
        self.tags: dict[str, set[str]] = {}
        self.check_existing = check_existing

    def push(self, outbox: OutboxSource) -> None:
        for item in outbox.pending_commands(limit=1000):
            command = item.command
            if isinstance(command, IssueDiscount):
                if not (self.check_existing and command.code in self.codes):
                    self.codes.append(command.code)
            elif command.kind == "set_customer_tags":
                self.tags.setdefault(command.customer_id, set()).update(
                    command.add)  # type: ignore[union-attr]
            outbox.mark_sent(item.id)

    def discount_codes(self) -> list[str]:
        return list(self.codes)


class TestToyPush(PushConformance):
    @pytest.fixture
    def push_harness(self) -> ToyPlatform:
        return ToyPlatform()


def test_the_push_suite_catches_a_retry_that_creates_a_second_code() -> None:
    with pytest.raises(AssertionError, match="duplicate discount codes"):
        PushConformance().test_a_lost_acknowledgement_creates_no_duplicate(
            ToyPlatform(check_existing=False), sample_commands(["1001"]))


def test_the_fakes_record_what_happened() -> None:
    sink = RecordingSink(crash_on_call=2)
    toy_pull_events = list(ToyStream(TOY_ORDERS, key=lambda r: r.id).events(TOY_ORDERS[0]))
    assert sink.ingest(toy_pull_events, cursor=("c", "1")).new == 1
    with pytest.raises(SimulatedCrash):
        sink.ingest(toy_pull_events, cursor=("c", "2"))
    assert sink.cursor("c") == "1" and len(sink.calls) == 1
    outbox = FakeOutbox(sample_commands(["1001"]))
    first, second, third = (item.id for item in outbox.pending_commands())
    outbox.mark_failed(first, "HTTP 503", retriable=True)
    outbox.mark_failed(second, "customer deleted", retriable=False)
    outbox.mark_sent(third)
    [left] = outbox.pending_commands()
    assert (left.id, left.attempts) == (first, 1)
    assert [d.outcome for d in outbox.deliveries] == ["failed", "failed", "sent"]
