"""Shopify GraphQL objects -> normalized events.

The same functions serve the paged sync, the bulk backfill and webhooks (which re-read the
order or customer through GraphQL), so one Shopify order always yields the same events
with the same keys, whichever path delivered it.

Choices a merchant may ask about:

- an order earns on ``totalPriceSet.shopMoney``: what was charged when it was placed, taxes
  and discounts included, in the shop's currency, before any return. ``currentTotalPriceSet``
  already has later returns taken off and would reverse refunds twice; refunds arrive as
  their own :class:`OrderRefunded` events with their own time and amount;
- an order counts as paid when its financial status is PAID, PARTIALLY_REFUNDED or REFUNDED
  (a refunded order was paid first); its time is ``processedAt``, when it was placed;
- guest orders (no customer) and test orders produce no events: there is nobody to credit;
- ids are Shopify's numeric ids (``"450789469"``), the same ones webhooks and the admin show.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyaltykit.clock import require_aware
from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    OrderRefunded,
)

log = logging.getLogger(__name__)

PAID_STATUSES = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})

Node = Mapping[str, Any]


def numeric_id(gid: str | int) -> str:
    """``gid://shopify/Order/450789469`` -> ``450789469``; plain ids pass through."""
    text = str(gid)
    return text.rsplit("/", 1)[-1].split("?", 1)[0]


def to_gid(kind: str, value: str | int) -> str:
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def parse_time(value: str) -> datetime:
    """Shopify DateTime (``2024-03-01T10:00:00Z``) as an aware datetime."""
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    return require_aware(datetime.fromisoformat(text), "Shopify timestamp")


def customer_events(node: Node) -> list[Event]:
    attributes = {
        name: str(node[field]) for name, field in (("first_name", "firstName"),
                                                    ("last_name", "lastName"))
        if node.get(field)
    }
    tags = sorted(node.get("tags") or [])
    if tags:
        attributes["tags"] = ",".join(tags)
    return [CustomerUpserted(
        customer_id=numeric_id(node["id"]),
        occurred_at=parse_time(node["updatedAt"]),
        email=node.get("email") or None,
        phone=node.get("phone") or None,
        address=_address(node.get("defaultAddress")),
        attributes=attributes,
    )]


def order_events(node: Node, *, include_test: bool = False) -> list[Event]:
    if node.get("test") and not include_test:
        return []
    customer = node.get("customer")
    if not customer:
        log.debug("order %s has no customer (guest checkout): no events", node.get("id"))
        return []
    order_id = numeric_id(node["id"])
    customer_id = numeric_id(customer["id"])
    events: list[Event] = []
    if node.get("displayFinancialStatus") in PAID_STATUSES:
        money = node["totalPriceSet"]["shopMoney"]
        events.append(OrderPaid(
            order_id=order_id, customer_id=customer_id,
            occurred_at=parse_time(node["processedAt"]),
            amount=Decimal(money["amount"]), currency=money["currencyCode"],
            lines=_lines(node),
        ))
    if node.get("cancelledAt"):
        events.append(OrderCancelled(order_id=order_id, customer_id=customer_id,
                                     occurred_at=parse_time(node["cancelledAt"])))
    for refund in node.get("refunds") or []:
        amount = Decimal(refund["totalRefundedSet"]["shopMoney"]["amount"])
        if amount <= 0:
            continue  # a restock or note without money back changes no points
        events.append(OrderRefunded(
            refund_id=numeric_id(refund["id"]), order_id=order_id,
            occurred_at=parse_time(refund.get("createdAt") or refund["updatedAt"]),
            amount=amount,
        ))
    return events


def _lines(node: Node) -> tuple[OrderLine, ...]:
    """Line items when they were asked for and are complete; otherwise none.

    Partial lines would under-count a category multiplier, so an order with more lines than
    one page returns none and the engine falls back to the order amount.
    """
    items = node.get("lineItems")
    if not items:
        return ()
    if (items.get("pageInfo") or {}).get("hasNextPage"):
        log.warning("order %s has more line items than fetched; lines left out",
                    numeric_id(node["id"]))
        return ()
    return tuple(
        OrderLine(
            sku=item.get("sku") or f"line-{numeric_id(item['id'])}",
            amount=Decimal(item["discountedTotalSet"]["shopMoney"]["amount"]),
            quantity=int(item["quantity"]),
            category=(item.get("product") or {}).get("productType") or None,
        )
        for item in items.get("nodes") or []
    )


def _address(address: Node | None) -> str | None:
    if not address:
        return None
    parts = [address.get(f) for f in ("address1", "address2", "city", "provinceCode", "zip",
                                      "countryCodeV2")]
    text = ", ".join(str(p) for p in parts if p)
    return text or None
