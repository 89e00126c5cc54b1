"""A framework-agnostic WooCommerce webhook handler.

Give it the request headers and the *raw* body (the signature is over the exact bytes
WooCommerce sent: ``wp_json_encode`` escapes ``/`` as ``\\/``, so re-serialised JSON would not
match) and answer WooCommerce with the returned status::

    outcome = handler.handle(request.headers, request.body)
    return Response(status=outcome.status)

What it does, in order:

1. answers the ping WooCommerce sends when a webhook is saved (form body ``webhook_id=<id>``,
   unsigned) with 200, or the webhook would not activate;
2. verifies ``X-WC-Webhook-Signature`` (base64 HMAC-SHA256 of the body) in constant time; a
   mismatch is answered 401 and nothing else happens. WooCommerce signs with the secret
   HTML-entity-decoded (``wp_specialchars_decode``), so the configured secret is decoded the
   same way: a generated secret containing ``<`` is stored as ``&lt;``, and both spellings work;
3. drops deliveries already handled. ``X-WC-Webhook-Delivery-ID`` is a hash of the webhook id
   and the current second, not an event id, so the key is the resource, its id and its
   ``date_modified_gmt``: a re-delivery and the created/updated pair WooCommerce sends for a
   quick edit carry the same state and are handled once;
4. maps ``order.created``/``order.updated`` and ``customer.created``/``customer.updated``
   with the same code as the sync (refunds re-read with their dates when a client is given),
   and ``order.deleted`` (moved to the trash or deleted; the body is only ``{"id": ...}``) to
   :class:`~loyaltykit.events.OrderCancelled` at the time of delivery, since the sync does
   not list trashed orders. Restoring an order from the trash does not credit it again.

A platform error on the refund re-read is answered 503 so WooCommerce delivers again. Note
that WooCommerce disables a webhook after more than 5 consecutive failed deliveries, and
does not guarantee delivery: run the sync periodically as the reconcile path.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from loyaltykit.adapters.base import EventSink
from loyaltykit.adapters.http import (
    DeliveryLog,
    RecentDeliveries,
    WebhookOutcome,
    verify_hmac_base64,
)
from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.adapters.woocommerce.mapping import (
    Obj,
    customer_events,
    gmt_text,
    modified_at,
    order_events,
)
from loyaltykit.clock import Clock, SystemClock
from loyaltykit.errors import PermanentPlatformError, TransientPlatformError
from loyaltykit.events import Event, OrderCancelled

log = logging.getLogger(__name__)

TOPICS = frozenset({"order.created", "order.updated", "order.deleted", "customer.created",
                    "customer.updated"})
_PING = re.compile(rb"^webhook_id=\d+$")

# wp_specialchars_decode($secret, ENT_QUOTES): zero-padded numeric entities are normalised,
# then exactly these entities are replaced (strtr: longest match first, one pass).
_PADDED = ((re.compile(r"&#0*39;"), "&#039;"), (re.compile(r"&#x0*27;", re.I), "&#x27;"),
           (re.compile(r"&#0*34;"), "&#034;"), (re.compile(r"&#x0*22;", re.I), "&#x22;"),
           (re.compile(r"&#0*60;"), "&#060;"), (re.compile(r"&#0*62;"), "&#062;"),
           (re.compile(r"&#0*38;"), "&#038;"), (re.compile(r"&#x0*26;", re.I), "&#x26;"))
_ENTITIES = {"&#039;": "'", "&#x27;": "'", "&quot;": '"', "&#034;": '"', "&#x22;": '"',
             "&lt;": "<", "&#060;": "<", "&gt;": ">", "&#062;": ">", "&amp;": "&",
             "&#038;": "&", "&#x26;": "&"}
_ENTITY = re.compile("|".join(re.escape(k) for k in sorted(_ENTITIES, key=len, reverse=True)))


def signing_secret(secret: str) -> str:
    """The key WooCommerce actually signs with: the secret after ``wp_specialchars_decode``."""
    if "&" not in secret:
        return secret
    for pattern, replacement in _PADDED:
        secret = pattern.sub(replacement, secret)
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], secret)


def verify_signature(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of ``X-WC-Webhook-Signature`` over the raw body."""
    return verify_hmac_base64(signing_secret(secret), body, signature)


def delivery_key(topic: str, payload: Obj) -> str:
    """``order:727:2017-03-22T19:28:08+00:00``: the same state of the same resource."""
    resource, _, event = topic.partition(".")
    if event == "deleted":
        return f"{resource}:{payload['id']}:deleted"
    return f"{resource}:{payload['id']}:{modified_at(payload).isoformat()}"


class WebhookHandler:
    def __init__(
        self, *, secret: str, sink: EventSink, client: WooClient | None = None,
        deliveries: DeliveryLog | None = None, clock: Clock | None = None,
    ) -> None:
        self._secret = secret
        self._sink = sink
        self._client = client
        self._deliveries = deliveries or RecentDeliveries()
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return "WebhookHandler(woocommerce)"

    def handle(self, headers: Mapping[str, str], body: bytes) -> WebhookOutcome:
        header = {name.lower(): value for name, value in headers.items()}
        signature = header.get("x-wc-webhook-signature")
        if not signature and _PING.match(body.strip()):
            return WebhookOutcome(200, "ping")
        if not verify_signature(self._secret, body, signature):
            log.warning("WooCommerce webhook rejected: signature does not match the body")
            return WebhookOutcome(401, "signature does not match")
        topic = header.get("x-wc-webhook-topic", "")
        if topic not in TOPICS:
            return WebhookOutcome(200, f"topic {topic or '(none)'} not handled")
        try:
            payload = json.loads(body)
            key = delivery_key(topic, payload)
        except (ValueError, KeyError, TypeError, PermanentPlatformError):
            return WebhookOutcome(400, f"{topic} body is not the expected JSON")
        if self._deliveries.seen(key):
            return WebhookOutcome(200, "duplicate delivery")
        try:
            events = self._events(topic, payload)
        except TransientPlatformError as exc:
            return WebhookOutcome(503, f"reading refunds failed, deliver again later: {exc}")
        except PermanentPlatformError as exc:
            log.error("WooCommerce webhook %s for %s failed: %s", topic, key, exc)
            return WebhookOutcome(500, str(exc))
        except (ValueError, KeyError, TypeError):
            return WebhookOutcome(400, f"{topic} body is not the expected JSON")
        source = f"woocommerce webhook {topic} {key}"
        result = self._sink.ingest(events, sources=[source] * len(events))
        self._deliveries.remember(key)
        return WebhookOutcome(200, f"{result.new} new, {result.duplicate} known",
                              events=len(events))

    def _events(self, topic: str, payload: dict[str, Any]) -> list[Event]:
        if topic.startswith("customer."):
            return customer_events(payload)
        if topic == "order.deleted":
            now = self._clock.now()
            log.info("order %s deleted at about %s: cancelling it", payload["id"], gmt_text(now))
            return [OrderCancelled(order_id=str(payload["id"]), customer_id="",
                                   occurred_at=now)]
        refunds: Sequence[Obj] | None = None
        if payload.get("refunds") and self._client is not None:
            refunds = list(self._client.get_all(f"orders/{payload['id']}/refunds"))
        return order_events(payload, refunds)
