"""Incremental sync of customers and orders over real HTTP, against the local Shopify."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from fake_shopify import FakeShopify
from shopify_kit import NOW, MemoryLedger, SinkFailure, customer, order, put

from loyaltykit.adapters.shopify import sync
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.clock import FixedClock
from loyaltykit.errors import PermanentPlatformError
from loyaltykit.events import CustomerUpserted, OrderCancelled, OrderPaid, OrderRefunded

ORDERS = "shopify:teststore:orders"


def seed_orders(shop: FakeShopify) -> None:
    put(shop,
        order(1, "2024-05-02T00:00:00Z", customer_id=1, total="100.00", current_total="70.00",
              refunds=[(11, "2024-05-03T09:30:00Z", "30.00")], status="PARTIALLY_REFUNDED"),
        order(2, "2024-05-02T00:01:00Z", customer_id=2, total="80.00",
              refunds=[(21, "2024-05-04T00:00:00Z", "10.00"),
                       (22, "2024-05-05T00:00:00Z", "15.50")], status="PARTIALLY_REFUNDED"),
        order(3, "2024-05-02T00:02:00Z", customer_id=None),            # guest checkout
        order(4, "2024-05-02T00:03:00Z", customer_id=1, test=True),    # test order
        order(5, "2024-05-02T00:04:00Z", customer_id=3, status="PENDING"),
        order(6, "2024-05-02T00:05:00Z", customer_id=3, status="REFUNDED", total="40.00",
              cancelled="2024-05-02T00:05:00Z", refunds=[(61, "2024-05-02T00:05:00Z", "40.00")]),
        order(7, "2024-05-02T00:06:00Z", customer_id=2, refunds=[(71, "2024-05-06T00:00:00Z",
                                                                 "0.00")]))


def test_orders_map_to_paid_cancelled_and_refunded_events(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger, clock: FixedClock) -> None:
    seed_orders(shop)
    sync(client, ledger, clock=clock, resources=["orders"])
    paid = {e.order_id: e for e in ledger.of_kind("order_paid") if isinstance(e, OrderPaid)}
    assert sorted(paid) == ["1", "2", "6", "7"]  # no guest, test or unpaid order
    # Earns on what was paid when placed, not on the total after returns (70.00).
    assert (paid["1"].amount, paid["1"].currency, paid["1"].customer_id) == (
        Decimal("100.00"), "USD", "1")
    assert paid["1"].occurred_at.isoformat() == "2024-05-01T10:00:00+00:00"
    refunds = {e.refund_id: e for e in ledger.of_kind("order_refunded")
               if isinstance(e, OrderRefunded)}
    assert sorted(refunds) == ["11", "21", "22", "61"]  # the zero refund changes nothing
    assert (refunds["22"].order_id, refunds["22"].amount) == ("2", Decimal("15.50"))
    assert refunds["22"].occurred_at.isoformat() == "2024-05-05T00:00:00+00:00"
    cancelled = ledger.of_kind("order_cancelled")
    assert [(e.order_id, e.customer_id) for e in cancelled if isinstance(e, OrderCancelled)] == [
        ("6", "3")]


def test_customers_map_with_email_phone_address_and_tags(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger, clock: FixedClock) -> None:
    put(shop, customer(7, "2024-05-01T00:00:00Z", email="ana@example.com", tags=["vip", "b2b"]))
    sync(client, ledger, clock=clock, resources=["customers"])
    (event,) = ledger.of_kind("customer_upserted")
    assert isinstance(event, CustomerUpserted)
    assert event.customer_id == "7" and event.email == "ana@example.com"
    assert event.attributes == {"first_name": "First7", "tags": "b2b,vip"}
    assert event.address == "1 Main St, Springfield, IL, 62701, US"


def test_resync_rereads_the_boundary_but_delivers_nothing_twice(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger, clock: FixedClock) -> None:
    seed_orders(shop)
    sync(client, ledger, clock=clock, resources=["orders"])
    delivered = list(ledger.delivered)
    shop.calls.clear()
    clock.set(NOW + timedelta(hours=1))
    stats = sync(client, ledger, clock=clock, resources=["orders"])["orders"]
    # The window starts 5 minutes before the newest update seen (00:06), so the orders of the
    # last 5 minutes are read again, recognised, and not handed to the ledger a second time.
    assert "updated_at:>='2024-05-02T00:01:00Z'" in shop.calls[0].variables["query"]
    assert stats.records == 6 and stats.skipped == 6
    assert ledger.delivered == delivered


def test_a_later_change_is_picked_up(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger, clock: FixedClock) -> None:
    seed_orders(shop)
    sync(client, ledger, clock=clock, resources=["orders"])
    put(shop, order(5, "2024-06-01T12:30:00Z", customer_id=3, status="PAID", total="55.00"))
    clock.set(NOW + timedelta(hours=1))
    sync(client, ledger, clock=clock, resources=["orders"])
    paid = ledger.events["order:5:paid"]
    assert isinstance(paid, OrderPaid) and paid.amount == Decimal("55.00")


def test_crash_mid_sync_resumes_from_the_committed_page(
        shop: FakeShopify, client: ShopifyClient, clock: FixedClock) -> None:
    seed_orders(shop)
    reference = MemoryLedger()
    sync(client, reference, clock=clock, resources=["orders"], page_size=2)

    ledger = MemoryLedger(fail_on_call=2)  # the second page's transaction fails
    with pytest.raises(SinkFailure):
        sync(client, ledger, clock=clock, resources=["orders"], page_size=2)
    committed = json.loads(ledger.cursors[ORDERS])
    assert committed["window"]["after"] is not None  # page 1 and its cursor are committed

    shop.calls.clear()
    ledger.fail_on_call = None
    sync(client, ledger, clock=clock, resources=["orders"], page_size=2)
    assert shop.calls[0].variables["after"] == committed["window"]["after"]
    assert set(ledger.events) == set(reference.events)
    assert len(ledger.delivered) == len(set(ledger.delivered))  # nothing delivered twice
    assert json.loads(ledger.cursors[ORDERS])["window"] is None  # the window is closed


def test_a_too_costly_page_is_retried_smaller(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger, clock: FixedClock) -> None:
    seed_orders(shop)
    shop.max_cost_first = 100
    sync(client, ledger, clock=clock, resources=["orders"])
    assert [c.variables["first"] for c in shop.calls] == [250, 125, 62]
    assert "order:1:paid" in ledger.events


def test_a_paginator_repeating_its_cursor_is_stopped(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger, clock: FixedClock) -> None:
    seed_orders(shop)
    shop.fail("ok", "LoyaltykitOrders")  # the first page is served normally
    shop.fail("repeat_cursor", "LoyaltykitOrders")
    with pytest.raises(PermanentPlatformError) as caught:
        sync(client, ledger, clock=clock, resources=["orders"], page_size=2)
    assert caught.value.code == "repeated_page_token"
    assert len(shop.calls) == 2


def test_line_items_carry_sku_amount_and_category(
        shop: FakeShopify, client: ShopifyClient, ledger: MemoryLedger, clock: FixedClock) -> None:
    put(shop, order(9, "2024-05-02T00:00:00Z", lines=[("TEA-1", "30.00", 2, "Tea"),
                                                      ("", "20.00", 1, "")]))
    sync(client, ledger, clock=clock, resources=["orders"], include_lines=True)
    paid = ledger.events["order:9:paid"]
    assert isinstance(paid, OrderPaid)
    assert [(ln.sku, ln.amount, ln.quantity, ln.category) for ln in paid.lines] == [
        ("TEA-1", Decimal("30.00"), 2, "Tea"), ("line-901", Decimal("20.00"), 1, None)]
    assert shop.calls[0].operation == "LoyaltykitOrdersWithLines"
