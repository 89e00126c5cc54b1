"""The webhook handler: signature over the raw body, dedupe by webhook id, re-read through
GraphQL so a webhook yields the same events as the sync."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from fake_shopify import FakeShopify
from shopify_kit import BODY, NOW, SECRET, SIGNATURE, MemoryLedger, customer, order, put

from loyaltykit.adapters.http import sign_base64
from loyaltykit.adapters.shopify import sync
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.webhooks import WebhookHandler
from loyaltykit.clock import FixedClock
from loyaltykit.events import OrderPaid, OrderRefunded


def delivery(topic: str, payload: dict[str, object], *, webhook_id: str = "wh-1",
             secret: str = SECRET, shop: str = "teststore.myshopify.com"
             ) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {"X-Shopify-Hmac-Sha256": sign_base64(secret, body), "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop, "X-Shopify-API-Version": "2025-01",
            "X-Shopify-Webhook-Id": webhook_id}, body


@pytest.fixture()
def handler(client: ShopifyClient, ledger: MemoryLedger) -> WebhookHandler:
    return WebhookHandler(secret=SECRET, client=client, sink=ledger)


@pytest.fixture()
def seeded(shop: FakeShopify) -> FakeShopify:
    put(shop, customer(1, "2024-05-01T00:00:00Z"),
        order(5, "2024-05-02T00:00:00Z", customer_id=1, total="80.00", current_total="60.00",
              refunds=[(51, "2024-05-03T00:00:00Z", "20.00")], status="PARTIALLY_REFUNDED"))
    return shop


def test_the_worked_example_is_accepted_and_an_altered_body_is_not(
        seeded: FakeShopify, handler: WebhookHandler, ledger: MemoryLedger) -> None:
    headers = {"X-Shopify-Hmac-Sha256": SIGNATURE, "X-Shopify-Topic": "orders/paid",
               "X-Shopify-Webhook-Id": "wh-doc", "X-Shopify-Shop-Domain": "teststore"}
    put(seeded, order(820982911946154508, "2024-05-02T00:00:00Z", customer_id=1,
                      total="199.00"))
    assert handler.handle(headers, BODY).status == 200
    paid = ledger.events["order:820982911946154508:paid"]
    assert isinstance(paid, OrderPaid) and paid.amount == Decimal("199.00")
    altered = BODY.replace(b'"id":', b'"id": ')
    refused = handler.handle({**headers, "X-Shopify-Webhook-Id": "wh-doc-2"}, altered)
    assert refused.status == 401


@pytest.mark.parametrize("tamper", ["body", "signature", "secret", "missing"])
def test_forged_deliveries_are_refused_before_any_work(
        seeded: FakeShopify, handler: WebhookHandler, ledger: MemoryLedger, tamper: str) -> None:
    headers, body = delivery("orders/paid", {"id": 5},
                             secret="attacker-secret" if tamper == "secret" else SECRET)
    if tamper == "body":
        body = body.replace(b"5", b"6")
    if tamper == "signature":
        headers["X-Shopify-Hmac-Sha256"] = sign_base64(SECRET, b"another body")
    if tamper == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    assert handler.handle(headers, body).status == 401
    assert seeded.calls == [] and ledger.calls == 0


def test_an_order_webhook_yields_the_same_events_as_the_sync(
        seeded: FakeShopify, handler: WebhookHandler, ledger: MemoryLedger,
        client: ShopifyClient) -> None:
    outcome = handler.handle(*delivery("orders/updated", {"id": 5, "total_price": "80.00"}))
    assert (outcome.status, outcome.events) == (200, 2)
    synced = MemoryLedger()
    sync(client, synced, clock=FixedClock(NOW), resources=["orders"])
    assert ledger.events == synced.events
    refund = ledger.events["refund:51"]
    assert isinstance(refund, OrderRefunded) and refund.amount == Decimal("20.00")


def test_a_redelivery_is_ignored_by_webhook_id(
        seeded: FakeShopify, handler: WebhookHandler, ledger: MemoryLedger) -> None:
    headers, body = delivery("orders/paid", {"id": 5}, webhook_id="wh-42")
    assert handler.handle(headers, body).status == 200
    again = handler.handle(headers, body)
    assert (again.status, again.detail) == (200, "duplicate delivery")
    assert len(seeded.calls) == 1 and ledger.calls == 1


def test_refund_and_customer_topics_re_read_their_resource(
        seeded: FakeShopify, handler: WebhookHandler, ledger: MemoryLedger) -> None:
    assert handler.handle(*delivery("refunds/create", {"id": 51, "order_id": 5},
                                    webhook_id="a")).events == 2
    assert handler.handle(*delivery("customers/update", {"id": 1}, webhook_id="b")).events == 1
    assert seeded.operations() == ["LoyaltykitOrder", "LoyaltykitCustomer"]
    assert "customer:1:" in " ".join(ledger.events)


def test_other_topics_and_other_shops_are_acknowledged_and_ignored(
        seeded: FakeShopify, handler: WebhookHandler, ledger: MemoryLedger) -> None:
    assert handler.handle(*delivery("products/update", {"id": 1}, webhook_id="c")).status == 200
    elsewhere = handler.handle(*delivery("orders/paid", {"id": 5}, webhook_id="d",
                                         shop="otherstore.myshopify.com"))
    assert elsewhere.status == 200 and "not this one" in elsewhere.detail
    assert seeded.calls == [] and ledger.calls == 0


def test_shopify_unavailable_answers_503_so_the_delivery_comes_again(
        seeded: FakeShopify, handler: WebhookHandler, ledger: MemoryLedger) -> None:
    seeded.fail("502", times=4)
    headers, body = delivery("orders/paid", {"id": 5}, webhook_id="retry-me")
    assert handler.handle(headers, body).status == 503
    assert handler.handle(headers, body).status == 200  # not remembered as handled
    assert "order:5:paid" in ledger.events


def test_malformed_json_is_a_400(seeded: FakeShopify, handler: WebhookHandler) -> None:
    body = b"not json"
    headers = {"X-Shopify-Hmac-Sha256": sign_base64(SECRET, body),
               "X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": "m"}
    assert handler.handle(headers, body).status == 400
    assert SECRET not in repr(handler)
