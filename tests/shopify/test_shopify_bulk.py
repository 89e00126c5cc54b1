"""Backfill through the bulk operation lifecycle: run, poll, download JSONL, reassemble
``__parentId`` children, resume after a crash, hand over to the incremental sync."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from fake_shopify import FakeShopify
from shopify_kit import NOW, FakeTime, MemoryLedger, SinkFailure, customer, order, put

from loyaltykit.adapters.shopify import sync
from loyaltykit.adapters.shopify.bulk import Backfill, assemble
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.sync import Checkpoint
from loyaltykit.clock import FixedClock
from loyaltykit.errors import PermanentPlatformError, TransientPlatformError
from loyaltykit.events import OrderPaid

BACKFILL = "shopify:teststore:backfill"


def seed(shop: FakeShopify) -> None:
    put(shop, customer(1, "2023-01-01T00:00:00Z"), customer(2, "2023-02-01T00:00:00Z"))
    for n in range(1, 6):
        put(shop, order(n, f"2023-03-0{n}T00:00:00Z", customer_id=1 + n % 2,
                        lines=[(f"SKU-{n}", "60.00", 1, "Tea"), (f"SKU-{n}b", "40.00", 2, "")],
                        refunds=[(n * 10, "2023-04-01T00:00:00Z", "5.00")] if n == 3 else ()))


def backfill(client: ShopifyClient, ledger: MemoryLedger, fake_time: FakeTime,
             **kwargs: object) -> Backfill:
    return Backfill(client, ledger, clock=FixedClock(NOW), sleep=fake_time.sleep,
                    poll_interval=3.0, **kwargs)  # type: ignore[arg-type]


def test_backfill_runs_polls_downloads_and_reassembles_children(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger,
        fake_time: FakeTime) -> None:
    seed(shop)
    report = backfill(client, ledger, fake_time).run()
    assert report.objects == {"customers": 2, "orders": 5}
    assert shop.operations().count("LoyaltykitBulkRun") == 2  # customers, then orders
    assert fake_time.sleeps.count(3.0) == 2  # one RUNNING answer per operation
    paid = ledger.events["order:3:paid"]
    assert isinstance(paid, OrderPaid) and paid.amount == Decimal("100.00")
    assert [(ln.sku, ln.quantity, ln.category) for ln in paid.lines] == [
        ("SKU-3", 1, "Tea"), ("SKU-3b", 2, None)]
    assert "refund:30" in ledger.events and "customer:2" in " ".join(ledger.events)
    # The signed download URL is fetched without the shop's access token.
    assert shop.downloads and all("X-Shopify-Access-Token" not in h for h in shop.downloads)


def test_backfill_hands_over_to_the_incremental_sync(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger,
        fake_time: FakeTime) -> None:
    seed(shop)
    backfill(client, ledger, fake_time).run()
    for resource in ("customers", "orders"):
        assert Checkpoint.loads(ledger.cursors[f"shopify:teststore:{resource}"]).high == NOW
    shop.calls.clear()
    sync(client, ledger, clock=FixedClock(NOW), resources=["orders"])
    assert "updated_at:>='2024-06-01T11:55:00Z'" in shop.calls[0].variables["query"]
    again = backfill(client, ledger, fake_time).run()
    assert again.already_done


def test_backfill_resumes_after_a_crash_without_a_new_operation_or_duplicates(
        shop: FakeShopify, client: ShopifyClient, fake_time: FakeTime) -> None:
    seed(shop)
    # Commits: 1 start, 2 customers' operation, 3-4 customers (a chunk of 2, the rest),
    # 5 customers done, 6 orders' operation, 7 first chunk of 2 orders, 8 second -> crash.
    ledger = MemoryLedger(fail_on_call=8)
    with pytest.raises(SinkFailure):
        backfill(client, ledger, fake_time, chunk_size=2).run()
    state = json.loads(ledger.cursors[BACKFILL])
    orders_phase = state["phases"][1]
    assert orders_phase["operation"] and orders_phase["lines"] == 6  # 2 orders + 4 lines

    ledger.fail_on_call = None
    backfill(client, ledger, fake_time, chunk_size=2).run()
    assert shop.operations().count("LoyaltykitBulkRun") == 2  # no third operation
    assert len(ledger.delivered) == len(set(ledger.delivered))
    assert {f"order:{n}:paid" for n in range(1, 6)} <= set(ledger.events)


def test_an_operation_started_but_not_recorded_is_adopted(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger,
        fake_time: FakeTime) -> None:
    seed(shop)
    shop.fail("lost_answer", "LoyaltykitBulkRun")  # Shopify started it; we never heard
    shop.bulk_polls = 3
    backfill(client, ledger, fake_time).run()
    runs = shop.operations().count("LoyaltykitBulkRun")
    assert runs == 3 and len(shop.bulk) == 2  # the retry met OPERATION_IN_PROGRESS: adopted
    assert "LoyaltykitCurrentBulk" in shop.operations()


def test_a_failed_operation_is_reported_and_started_over_next_time(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger,
        fake_time: FakeTime) -> None:
    seed(shop)
    shop.bulk_end = ("FAILED", "INTERNAL_SERVER_ERROR")
    with pytest.raises(TransientPlatformError, match="FAILED"):
        backfill(client, ledger, fake_time).run()
    state = json.loads(ledger.cursors[BACKFILL])
    assert state["phases"][0]["operation"] is None  # the next run starts this part over
    shop.bulk_end = ("COMPLETED", None)
    report = backfill(client, ledger, fake_time).run()
    assert report.objects == {"customers": 2, "orders": 5} and len(shop.bulk) == 3


def test_children_must_follow_their_parent() -> None:
    lines = ['{"id":"gid://shopify/Order/1"}',
             '{"id":"gid://shopify/LineItem/5","__parentId":"gid://shopify/Order/1"}',
             '{"id":"gid://shopify/Order/2"}',
             '{"id":"gid://shopify/LineItem/6","__parentId":"gid://shopify/Order/1"}']
    roots = assemble(lines)
    first, consumed = next(roots)
    assert consumed == 2 and len(first["lineItems"]["nodes"]) == 1
    with pytest.raises(PermanentPlatformError, match="line 4"):
        next(roots)


def test_restart_cancels_the_running_operation_and_starts_over(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger,
        fake_time: FakeTime) -> None:
    seed(shop)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt  # Ctrl-C while waiting for Shopify

    with pytest.raises(KeyboardInterrupt):
        Backfill(client, ledger, clock=FixedClock(NOW), sleep=interrupted).run()
    assert shop.bulk["gid://shopify/BulkOperation/1"]["status"] == "RUNNING"
    report = backfill(client, ledger, fake_time).run(restart=True)
    assert shop.bulk["gid://shopify/BulkOperation/1"]["status"] == "CANCELED"
    assert report.objects == {"customers": 2, "orders": 5}
