"""Webhooks: the worked signature examples from the platform notes, forged bodies, the
entity-decoded secret, topic mapping, and dedup by resource state (not delivery id)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from fake_woo import FakeWoo, example
from woo_kit import inbox_keys, occurred

from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.adapters.woocommerce.webhooks import (
    WebhookHandler,
    signing_secret,
    verify_signature,
)
from loyaltykit.clock import FixedClock
from loyaltykit.ledger import Ledger

# docs/platform-apis.md B.3, computed there and cross-checked with openssl
SECRET = "wc-webhook-secret-123"
BODY = (b'{"id":727,"status":"processing","currency":"USD","total":"29.35",'
        b'"billing":{"email":"john.doe@example.com"}}')
SIGNATURE = "FXq8Zoa0ltUsmggJ2xo7Pvf76RKn6ogiU8h35MifTEs="
UTF8_BODY = '{"id":1,"billing":{"first_name":"张三"}}'.encode()
UTF8_SIGNATURE = "gjRQC7TlMJ+hj9M0WkbHW8NsERllFa7IAzjm9a7/4DQ="
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(topic: str, body: bytes, *, delivery: str = "d1") -> dict[str, str]:
    return {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Signature": sign(body),
            "X-WC-Webhook-Delivery-ID": delivery, "X-WC-Webhook-Source": "https://shop/"}


def body_of(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).replace("/", "\\/").encode()


def order_723(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(example("orders__list-all-orders")[1])
    record.update(changes)
    return record


@pytest.fixture
def handler(ledger: Ledger) -> WebhookHandler:
    return WebhookHandler(secret=SECRET, sink=ledger, clock=FixedClock(NOW))


def test_the_worked_examples_verify() -> None:
    assert verify_signature(SECRET, BODY, SIGNATURE)
    assert verify_signature(SECRET, UTF8_BODY, UTF8_SIGNATURE)


@pytest.mark.parametrize("forged", [
    BODY.replace(b'"total":"29.35"', b'"total":"2935.00"'),
    BODY.replace(b'"id":727', b'"id": 727'),  # one added space
    BODY + b"\n",
    json.dumps(json.loads(BODY)).encode(),  # re-serialised: same JSON, other bytes
])
def test_a_forged_or_altered_body_is_refused(forged: bytes) -> None:
    assert not verify_signature(SECRET, forged, SIGNATURE)


@pytest.mark.parametrize("signature", [
    None, "", "not base64 at all!", SIGNATURE[:-4], sign(BODY, "another-secret"),
])
def test_a_missing_or_wrong_signature_is_refused(signature: str | None) -> None:
    assert not verify_signature(SECRET, BODY, signature)


def test_the_secret_is_decoded_like_wp_specialchars_decode() -> None:
    signed_with = "p<q>&\"r's"
    stored = "p&lt;q&#062;&amp;&quot;r&#0039;s"
    body = b'{"id":1}'
    assert signing_secret(stored) == signed_with
    assert verify_signature(stored, body, sign(body, signed_with))
    assert verify_signature(signed_with, body, sign(body, signed_with))


def test_a_forged_delivery_is_answered_401_and_stores_nothing(
        handler: WebhookHandler, ledger: Ledger) -> None:
    body = body_of(order_723())
    forged = headers("order.updated", body) | {"X-WC-Webhook-Signature": sign(body, "guess")}
    assert handler.handle(forged, body).status == 401
    assert ledger.pending_commands() == [] and inbox_keys(ledger) == []


def test_order_updated_is_mapped_like_the_sync(handler: WebhookHandler, ledger: Ledger) -> None:
    body = body_of(order_723())
    outcome = handler.handle(headers("order.updated", body), body)
    assert (outcome.status, outcome.events) == (200, 3)
    assert sorted(inbox_keys(ledger)) == ["order:723:paid", "refund:724", "refund:726"]


def test_refunds_are_re_read_with_their_dates_when_a_client_is_given(
        woo: FakeWoo, client: WooClient, ledger: Ledger) -> None:
    handler = WebhookHandler(secret=SECRET, sink=ledger, client=client)
    body = body_of(order_723())
    handler.handle(headers("order.updated", body), body)
    assert len(woo.calls("GET", "orders/723/refunds")) == 1
    assert occurred(ledger, "refund:726") == "2017-03-21T20:07:11+00:00"


def test_a_redelivery_and_a_created_updated_pair_of_one_state_count_once(
        handler: WebhookHandler, ledger: Ledger) -> None:
    body = body_of(order_723())
    first = handler.handle(headers("order.created", body, delivery="a"), body)
    again = handler.handle(headers("order.updated", body, delivery="b"), body)
    assert first.events == 3 and again.detail == "duplicate delivery"
    newer = body_of(order_723(status="cancelled", date_modified_gmt="2017-03-22T08:00:00"))
    later = handler.handle(headers("order.updated", newer, delivery="a"), newer)
    assert later.status == 200 and "order:723:cancelled" in inbox_keys(ledger)


def test_order_deleted_cancels_the_order_at_delivery_time(
        handler: WebhookHandler, ledger: Ledger) -> None:
    body = b'{"id":723}'
    assert handler.handle(headers("order.deleted", body), body).events == 1
    assert occurred(ledger, "order:723:cancelled") == NOW.isoformat()


def test_customer_created_and_updated_upsert_the_customer(
        handler: WebhookHandler, ledger: Ledger) -> None:
    customer = example("customers__retrieve-a-customer")
    body = body_of(customer)
    assert handler.handle(headers("customer.created", body), body).events == 1
    changed = body_of(dict(customer, date_modified_gmt="2018-01-01T00:00:00",
                           email="john@example.net"))
    assert handler.handle(headers("customer.updated", changed), changed).events == 1
    assert len([k for k in inbox_keys(ledger) if k.startswith("customer:25:")]) == 2


def test_the_ping_on_save_is_answered_without_a_signature(
        handler: WebhookHandler, ledger: Ledger) -> None:
    assert handler.handle({"Content-Type": "application/x-www-form-urlencoded"},
                          b"webhook_id=42").status == 200
    assert inbox_keys(ledger) == []


def test_other_topics_are_acknowledged_and_ignored(handler: WebhookHandler) -> None:
    body = b'{"id":719}'
    outcome = handler.handle(headers("coupon.updated", body), body)
    assert outcome.status == 200 and outcome.events == 0


def test_a_signed_body_that_is_not_a_resource_is_a_400(handler: WebhookHandler) -> None:
    body = b'{"no_id":true}'
    assert handler.handle(headers("order.updated", body), body).status == 400

