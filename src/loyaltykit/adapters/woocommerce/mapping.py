"""WooCommerce REST objects (orders, refunds, customers) -> normalized events.

The sync and the webhooks share these functions, so one WooCommerce order yields the same
events with the same keys whichever path delivered it. Choices a merchant may ask about:

- **paid** means status ``processing`` or ``completed``, and also ``refunded`` (a refunded
  order was paid first; the money back arrives as refund events). ``pending``, ``on-hold``
  (awaiting a bank transfer) and ``failed`` are not paid and produce nothing;
- the amount earned on is the order ``total`` (taxes, shipping and discounts included), in
  the order's currency: WooCommerce leaves ``total`` unchanged by refunds, so it is what was
  paid when the order was placed. Its time is ``date_paid_gmt`` (when the money arrived),
  else ``date_completed_gmt``, else ``date_created_gmt``;
- ``cancelled`` becomes :class:`OrderCancelled` (reversing whatever the order earned); so
  does ``failed`` on an order that had been paid (``date_paid_gmt`` set), since WooCommerce
  keeps ``date_paid`` when an admin marks a paid order failed;
- status flapping (completed -> processing -> completed) changes nothing: the paid event's
  key is ``order:<id>:paid`` whatever the status, and the ledger stores a key once;
- refunds come from the refund objects (``GET /orders/<id>/refunds``), each with its own
  ``date_created_gmt`` and a positive ``amount``. The order's own ``refunds`` list has no
  dates and *negative* totals (``"-10.00"``); it is used only when the refund objects are not
  at hand (a webhook without a client), dated at the order's modification time;
- guest orders (``customer_id`` 0) produce no events: there is no account to credit, as in
  the Shopify adapter;
- every WooCommerce time is read from its ``*_gmt`` field (UTC); the site-local fields carry
  no offset and are never used.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from loyaltykit.errors import PermanentPlatformError
from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    OrderRefunded,
)
from loyaltykit.money import parse_decimal

log = logging.getLogger(__name__)

PAID = frozenset({"processing", "completed", "refunded"})
CANCELLED = frozenset({"cancelled"})

Obj = Mapping[str, Any]


def parse_gmt(value: str | None) -> datetime | None:
    """A WooCommerce ``*_gmt`` value (``2017-03-22T19:28:08``, no offset) as aware UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def gmt_text(value: datetime) -> str:
    """An aware datetime as WooCommerce's GMT query format (``dates_are_gmt=true``)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def modified_at(record: Obj) -> datetime:
    """When an order or customer last changed (its creation time if never modified)."""
    when = parse_gmt(record.get("date_modified_gmt")) or parse_gmt(record.get("date_created_gmt"))
    if when is None:
        raise PermanentPlatformError(
            f"WooCommerce record {record.get('id')} has neither date_modified_gmt nor "
            "date_created_gmt", code="bad_response")
    return when


def order_events(order: Obj, refunds: Sequence[Obj] | None = None) -> list[Event]:
    """Events for one order; ``refunds`` are its refund objects when they were fetched."""
    customer = int(order.get("customer_id") or 0)
    if customer == 0:
        log.debug("order %s is a guest order: no events", order.get("id"))
        return []
    order_id, customer_id = str(order["id"]), str(customer)
    status = str(order.get("status") or "")
    paid_at = parse_gmt(order.get("date_paid_gmt"))
    events: list[Event] = []
    if status in PAID:
        events.append(OrderPaid(
            order_id=order_id, customer_id=customer_id,
            occurred_at=paid_at or _first_time(order, "date_completed_gmt", "date_created_gmt"),
            amount=_money(order["total"], f"order {order_id} total"),
            currency=str(order["currency"]), lines=_lines(order)))
    elif status in CANCELLED or (status == "failed" and paid_at is not None):
        events.append(OrderCancelled(order_id=order_id, customer_id=customer_id,
                                     occurred_at=modified_at(order)))
    if status in PAID:
        events.extend(refund_events(order, refunds))
    return events


def refund_events(order: Obj, refunds: Sequence[Obj] | None) -> list[Event]:
    order_id = str(order["id"])
    if refunds is None:
        when = modified_at(order)
        refunds = [{"id": r["id"], "amount": r.get("total"), "date_created_gmt": None}
                   for r in order.get("refunds") or []]
    else:
        when = None
    events: list[Event] = []
    for refund in refunds:
        amount = abs(_money(refund.get("amount") or "0", f"refund {refund.get('id')} amount"))
        if amount == 0:
            continue  # a restock or a note without money back changes no points
        occurred = parse_gmt(refund.get("date_created_gmt")) or when or modified_at(order)
        events.append(OrderRefunded(refund_id=str(refund["id"]), order_id=order_id,
                                    occurred_at=occurred, amount=amount))
    return events


def customer_events(customer: Obj) -> list[Event]:
    """One :class:`CustomerUpserted`; its key hashes the content, so an unchanged customer
    read again (every sync reads them all) is recognised as already known."""
    billing: Obj = customer.get("billing") or {}
    attributes = {name: str(customer[name]) for name in ("first_name", "last_name", "username")
                  if customer.get(name)}
    return [CustomerUpserted(
        customer_id=str(customer["id"]),
        occurred_at=modified_at(customer),
        email=_clean(customer.get("email")) or _clean(billing.get("email")),
        phone=_clean(billing.get("phone")),
        address=_address(billing),
        attributes=attributes,
    )]


def _first_time(record: Obj, *fields: str) -> datetime:
    for name in fields:
        when = parse_gmt(record.get(name))
        if when is not None:
            return when
    return modified_at(record)


def _lines(order: Obj) -> tuple[OrderLine, ...]:
    """Line items at their discounted, pre-tax totals; WooCommerce orders carry no product
    categories, so category multipliers do not apply to WooCommerce lines."""
    lines = []
    for item in order.get("line_items") or []:
        amount = _money(item.get("total") or "0", f"order {order['id']} line {item.get('id')}")
        quantity = int(item.get("quantity") or 0)
        if amount < 0 or quantity < 0:
            return ()  # an odd line (a negative fee as a product) would break line weighting
        sku = item.get("sku") or f"product-{item.get('variation_id') or item.get('product_id')}"
        lines.append(OrderLine(sku=str(sku), amount=amount, quantity=quantity))
    return tuple(lines)


def _money(value: Any, what: str) -> Decimal:
    try:
        return parse_decimal(str(value))
    except ValueError:
        raise PermanentPlatformError(f"WooCommerce {what} {value!r} is not an amount",
                                     code="bad_response") from None


def _clean(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _address(address: Obj) -> str | None:
    parts = [address.get(f) for f in ("address_1", "address_2", "city", "state", "postcode",
                                      "country")]
    text = ", ".join(str(p).strip() for p in parts if p and str(p).strip())
    return text or None
