"""A framework-agnostic Shopify webhook handler.

Give it the request headers and the *raw* body (before any JSON parsing: the signature is
over the exact bytes) and answer Shopify with the returned status::

    outcome = handler.handle(request.headers, request.body)
    return Response(status=outcome.status)

What it does, in order:

1. verifies ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the body with the app's client
   secret) in constant time; a mismatch is answered 401 and nothing else happens;
2. drops deliveries already handled, by ``X-Shopify-Webhook-Id`` (and ``X-Shopify-Event-Id``,
   which repeats when one event reaches several subscriptions), and deliveries for another
   shop (``X-Shopify-Shop-Domain``: one app secret can serve many shops);
3. for the order, refund and customer topics, re-reads the order or customer through the
   Admin GraphQL API and maps it with the same code as the sync, so a webhook and a sync
   produce identical events (same keys, same shop-currency amounts) and a late, out-of-order
   delivery cannot roll data back; then hands the events to the ledger.

A platform error on the re-read is answered 503 so that Shopify delivers again later.
Webhooks are not guaranteed to arrive: run the incremental sync periodically as the
reconcile path (see docs/adapters/shopify.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from loyaltykit.adapters.base import EventSink
from loyaltykit.adapters.http import (
    DeliveryLog,
    RecentDeliveries,
    WebhookOutcome,
    verify_hmac_base64,
)
from loyaltykit.adapters.shopify import documents
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.mapping import customer_events, order_events, to_gid
from loyaltykit.errors import PermanentPlatformError, TransientPlatformError
from loyaltykit.events import Event

log = logging.getLogger(__name__)

#: topic -> (what to re-read, which payload field holds its id)
TOPICS: dict[str, tuple[str, str]] = {
    "orders/create": ("order", "id"),
    "orders/updated": ("order", "id"),
    "orders/paid": ("order", "id"),
    "orders/cancelled": ("order", "id"),
    "refunds/create": ("order", "order_id"),
    "customers/create": ("customer", "id"),
    "customers/update": ("customer", "id"),
}


class WebhookHandler:
    def __init__(
        self, *, secret: str, client: ShopifyClient, sink: EventSink,
        deliveries: DeliveryLog | None = None, include_test: bool = False,
    ) -> None:
        self._secret = secret
        self._client = client
        self._sink = sink
        self._deliveries = deliveries or RecentDeliveries()
        self._include_test = include_test

    def __repr__(self) -> str:
        return f"WebhookHandler(shop={self._client.settings.shop!r})"

    def handle(self, headers: Mapping[str, str], body: bytes) -> WebhookOutcome:
        header = {name.lower(): value for name, value in headers.items()}
        if not verify_hmac_base64(self._secret, body, header.get("x-shopify-hmac-sha256")):
            log.warning("Shopify webhook rejected: signature does not match the body")
            return WebhookOutcome(401, "signature does not match")
        webhook_id = header.get("x-shopify-webhook-id")
        if not webhook_id:
            return WebhookOutcome(400, "missing X-Shopify-Webhook-Id")
        keys = [f"webhook:{webhook_id}"]
        if header.get("x-shopify-event-id"):
            keys.append(f"event:{header['x-shopify-event-id']}")
        if any(self._deliveries.seen(key) for key in keys):
            return WebhookOutcome(200, "duplicate delivery")
        shop = header.get("x-shopify-shop-domain", "").split(".", 1)[0].lower()
        if shop and shop != self._client.settings.shop_key:
            return WebhookOutcome(200, f"delivery for shop {shop}, not this one: ignored")
        topic = header.get("x-shopify-topic", "")
        if topic not in TOPICS:
            return WebhookOutcome(200, f"topic {topic or '(none)'} not handled")
        try:
            payload = json.loads(body)
            events = self._events(topic, payload)
        except (ValueError, KeyError, TypeError):
            return WebhookOutcome(400, f"{topic} body is not the expected JSON")
        except TransientPlatformError as exc:
            return WebhookOutcome(503, f"re-reading from Shopify failed, retry later: {exc}")
        except PermanentPlatformError as exc:
            log.error("Shopify webhook %s (%s) could not be processed: %s", webhook_id, topic, exc)
            return WebhookOutcome(500, str(exc))
        result = self._sink.ingest(events)
        for key in keys:
            self._deliveries.remember(key)
        return WebhookOutcome(200, f"{result.new} new, {result.duplicate} known",
                              events=len(events))

    def _events(self, topic: str, payload: dict[str, Any]) -> list[Event]:
        resource, id_field = TOPICS[topic]
        if resource == "customer":
            gid = to_gid("Customer", payload[id_field])
            node = self._client.execute(documents.CUSTOMER_BY_ID, {"id": gid})["customer"]
            return customer_events(node) if node else []
        gid = to_gid("Order", payload[id_field])
        node = self._client.execute(documents.ORDER_BY_ID, {"id": gid})["order"]
        return order_events(node, include_test=self._include_test) if node else []
