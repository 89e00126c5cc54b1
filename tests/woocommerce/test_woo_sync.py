"""Incremental sync over real HTTP into a real SQLite ledger: pages until X-WP-TotalPages,
checkpoints committed with each page, the overlap at the boundary, orders edited during a
sync, crash and resume, customers by full scan."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

import pytest
from fake_woo import FakeWoo, gmt
from woo_kit import T0, CrashingSink, inbox_keys

from loyaltykit.adapters.base import IngestResult
from loyaltykit.adapters.woocommerce import incremental
from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.clock import FixedClock
from loyaltykit.events import Event, OrderRefunded
from loyaltykit.ledger import Ledger


def fill(woo: FakeWoo, count: int, *, first_id: int = 1000) -> list[int]:
    """``count`` completed orders, the newest modified at T0, one minute apart."""
    ids = list(range(first_id, first_id + count))
    for n, order_id in enumerate(ids):
        when = T0 - timedelta(minutes=count - 1 - n)
        woo.add_order(order_id, customer_id=100 + n % 7, status="completed", total="12.50",
                      modified=when, paid=when)
    return ids


def pages_asked(woo: FakeWoo, endpoint: str = "orders") -> list[str]:
    return [dict(r.query)["page"] for r in woo.calls("GET", endpoint)]


def sync_orders(client: WooClient, sink: object, at: datetime) -> incremental.SyncStats:
    report = incremental.sync(client, sink, clock=FixedClock(at),  # type: ignore[arg-type]
                              resources=["orders"])
    return report["orders"]


class Spy:
    """The ledger, plus a hook run after each committed page."""

    def __init__(self, ledger: Ledger, after: Callable[[int], None] = lambda n: None) -> None:
        self.ledger, self.after, self.cursors = ledger, after, []

    def ingest(self, events: Iterable[Event], *, cursor: tuple[str, str] | None = None,
               sources: Sequence[str | None] | None = None) -> IngestResult:
        result = self.ledger.ingest(events, cursor=cursor, sources=sources)
        self.cursors.append(cursor)
        self.after(len(self.cursors))
        return result

    def cursor(self, name: str) -> str | None:
        return self.ledger.cursor(name)


def test_first_sync_reads_every_page_and_commits_the_checkpoint_with_each(
        woo: FakeWoo, client: WooClient, ledger: Ledger) -> None:
    ids = fill(woo, 248)  # with examples 723 and 727: 250 orders, 3 pages
    spy = Spy(ledger)
    stats = sync_orders(client, spy, T0 + timedelta(hours=1))
    assert pages_asked(woo) == ["1", "2", "3"]
    for request in woo.calls("GET", "orders"):
        query = dict(request.query)
        assert (query["per_page"], query["orderby"], query["order"], query["dates_are_gmt"]) \
            == ("100", "id", "asc", "true")
        assert "modified_after" not in query  # the first sync reads all history
    windows = [json.loads(c[1])["window"] for c in spy.cursors if c is not None]
    assert [w and w["after"] for w in windows] == ["2", "3", None]
    expected = {f"order:{i}:paid" for i in [*ids, 723]} | {"refund:726", "refund:724"}
    assert sorted(inbox_keys(ledger)) == sorted(expected)  # guest order 727 earns nothing
    assert stats.records == 250 and stats.new == len(expected)


def test_refunds_are_read_with_their_own_dates(woo: FakeWoo, client: WooClient,
                                                ledger: Ledger) -> None:
    events: list[Event] = []
    spy = Spy(ledger)
    original = spy.ingest

    def keep(evs: Iterable[Event], **kwargs: object) -> IngestResult:
        batch = list(evs)
        events.extend(batch)
        return original(batch, **kwargs)  # type: ignore[arg-type]

    spy.ingest = keep  # type: ignore[method-assign]
    sync_orders(client, spy, T0)
    refunds = {e.refund_id: gmt(e.occurred_at) for e in events if isinstance(e, OrderRefunded)}
    assert refunds == {"726": "2017-03-21T20:07:11", "724": "2017-03-21T19:55:37"}
    assert len(woo.calls("GET", "orders/723/refunds")) == 1


def test_the_next_sync_asks_only_for_changes_since_the_last_minus_the_overlap(
        woo: FakeWoo, client: WooClient, ledger: Ledger) -> None:
    fill(woo, 30)
    sync_orders(client, ledger, T0 + timedelta(hours=1))
    woo.update_order(1005, T0 + timedelta(minutes=90), status="cancelled")
    stats = sync_orders(client, ledger, T0 + timedelta(hours=2))
    last = woo.calls("GET", "orders")[-1]
    assert dict(last.query)["modified_after"] == gmt(T0 - timedelta(minutes=5))
    assert stats.new == 1 and "order:1005:cancelled" in inbox_keys(ledger)


def test_an_order_stamped_in_the_boundary_second_is_read_and_known_ones_skipped(
        woo: FakeWoo, client: WooClient, ledger: Ledger) -> None:
    fill(woo, 3)
    sync_orders(client, ledger, T0 + timedelta(minutes=1))
    # committed late with the same modification second as the newest order already read
    woo.add_order(2000, customer_id=5, status="processing", total="8.00", modified=T0, paid=T0)
    stats = sync_orders(client, ledger, T0 + timedelta(minutes=2))
    assert stats.new == 1 and "order:2000:paid" in inbox_keys(ledger)
    assert stats.records == 4 and stats.skipped == 3  # 1000-1002, re-read in the overlap


def test_an_order_edited_during_a_sync_is_neither_lost_nor_missed_later(
        woo: FakeWoo, client: WooClient, ledger: Ledger) -> None:
    ids = fill(woo, 248)
    until = T0 + timedelta(hours=1)

    def edit(page: int) -> None:
        if page == 1:  # while page 2 is still to come: edit orders on pages 1 and 3
            woo.update_order(ids[0], until + timedelta(hours=1), status="cancelled")
            woo.update_order(ids[-1], until + timedelta(hours=2), customer_note="gift")

    sync_orders(client, Spy(ledger, edit), until)
    assert {f"order:{i}:paid" for i in ids} <= set(inbox_keys(ledger))  # no page shifted
    sync_orders(client, ledger, until + timedelta(hours=3))
    assert f"order:{ids[0]}:cancelled" in inbox_keys(ledger)


def test_a_crash_mid_sync_resumes_at_the_next_page_without_loss_or_duplicates(
        woo: FakeWoo, client: WooClient, ledger: Ledger) -> None:
    ids = fill(woo, 248)
    with pytest.raises(RuntimeError, match="killed"):
        sync_orders(client, CrashingSink(ledger, crash_on=2), T0 + timedelta(hours=1))
    page_one = {"order:723:paid", *(f"order:{i}:paid" for i in ids[:98])}  # 727 is a guest
    assert {k for k in inbox_keys(ledger) if k.endswith(":paid")} == page_one
    before = len(woo.calls("GET", "orders"))
    stats = sync_orders(client, ledger, T0 + timedelta(hours=2))
    assert pages_asked(woo)[before:] == ["2", "3"]
    assert stats.duplicate == 0
    expected = {f"order:{i}:paid" for i in [*ids, 723]} | {"refund:726", "refund:724"}
    assert sorted(inbox_keys(ledger)) == sorted(expected)


def test_a_server_error_on_a_page_is_retried(woo: FakeWoo, client: WooClient, ledger: Ledger,
                                             sleeps: list[float]) -> None:
    fill(woo, 150)
    woo.fail("status", "GET", "orders", status=503)
    stats = sync_orders(client, ledger, T0 + timedelta(hours=1))
    assert stats.records == 152 and len(sleeps) == 1


def test_customers_are_read_in_full_and_only_changes_are_new(
        woo: FakeWoo, client: WooClient, ledger: Ledger) -> None:
    for n in range(150):
        woo.add_customer(300 + n, email=f"shopper{n}@example.com", modified=T0,
                         role="subscriber" if n == 0 else "customer")
    sync = lambda at: incremental.sync(  # noqa: E731
        client, ledger, clock=FixedClock(at), resources=["customers"])["customers"]
    first = sync(T0 + timedelta(hours=1))
    assert first.new == 152 and pages_asked(woo, "customers") == ["1", "2"]
    assert all(dict(r.query)["role"] == "all" for r in woo.calls("GET", "customers"))
    assert sync(T0 + timedelta(hours=2)).new == 0
    woo.customers[310]["billing"]["phone"] = "555-0100"  # changed without a new date_modified
    again = sync(T0 + timedelta(hours=3))
    assert again.new == 1 and again.records == 152
