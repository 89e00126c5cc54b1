"""WooCommerce objects -> events, on the official example payloads."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from fake_woo import example

from loyaltykit.adapters.woocommerce.mapping import customer_events, order_events
from loyaltykit.events import (
    CustomerUpserted,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    OrderRefunded,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def order(index: int = 1, **changes: Any) -> dict[str, Any]:
    """Example order 723 (completed, customer 26, refunds 726 and 724) by default."""
    record: dict[str, Any] = copy.deepcopy(example("orders__list-all-orders")[index])
    record.update(changes)
    return record


REFUNDS = example("order-refunds__list-all-refunds")


def test_a_completed_order_is_paid_its_total_at_gmt_time_with_each_refund_dated() -> None:
    paid, first, second = order_events(order(), REFUNDS)
    assert paid == OrderPaid(
        order_id="723", customer_id="26", occurred_at=utc("2017-03-21T19:54:51"),
        amount=Decimal("39.00"), currency="USD",
        lines=(OrderLine("product-87", Decimal("9.00"), 1),
               OrderLine("product-34", Decimal("20.00"), 1)))
    assert first == OrderRefunded("726", "723", utc("2017-03-21T20:07:11"), Decimal("10.00"))
    assert second == OrderRefunded("724", "723", utc("2017-03-21T19:55:37"), Decimal("9.00"))


def test_without_refund_objects_the_orders_negative_refund_totals_are_used() -> None:
    events = order_events(order())
    refunds = [e for e in events if isinstance(e, OrderRefunded)]
    assert [(r.refund_id, r.amount) for r in refunds] == [("726", Decimal("10.00")),
                                                          ("724", Decimal("9.00"))]
    assert {r.occurred_at for r in refunds} == {utc("2017-03-21T19:54:51")}  # date_modified
    assert [r.key for r in refunds] == [r.key for r in order_events(order(), REFUNDS)[1:]]


def test_the_paid_time_is_date_paid_when_there_is_one() -> None:
    paid = order_events(order(0, customer_id=25))[0]
    assert isinstance(paid, OrderPaid)
    assert paid.occurred_at == utc("2017-03-22T19:28:08")  # date_paid_gmt, not local time
    assert paid.amount == Decimal("29.35")


def test_a_guest_order_produces_nothing() -> None:
    assert order(0)["customer_id"] == 0
    assert order_events(order(0)) == []


@pytest.mark.parametrize(("status", "date_paid_gmt", "kinds"), [
    ("processing", "2017-03-21T19:20:00", ["order_paid", "order_refunded", "order_refunded"]),
    ("completed", None, ["order_paid", "order_refunded", "order_refunded"]),
    ("refunded", "2017-03-21T19:20:00", ["order_paid", "order_refunded", "order_refunded"]),
    ("cancelled", None, ["order_cancelled"]),
    ("failed", "2017-03-21T19:20:00", ["order_cancelled"]),
    ("failed", None, []),
    ("pending", None, []),
    ("on-hold", None, []),
])
def test_status_mapping(status: str, date_paid_gmt: str | None, kinds: list[str]) -> None:
    events = order_events(order(status=status, date_paid_gmt=date_paid_gmt), REFUNDS)
    assert [e.kind for e in events] == kinds


def test_status_flapping_gives_the_same_paid_key() -> None:
    keys = {e.key for status in ("completed", "processing", "completed")
            for e in order_events(order(status=status, date_modified_gmt="2017-04-01T00:00:00"))
            if isinstance(e, OrderPaid)}
    assert keys == {"order:723:paid"}


def test_a_cancelled_order_is_cancelled_when_it_was_last_modified() -> None:
    (cancelled,) = order_events(order(status="cancelled"))
    assert cancelled == OrderCancelled("723", "26", utc("2017-03-21T19:54:51"))


def test_a_zero_refund_changes_nothing() -> None:
    refunds = [dict(REFUNDS[0], amount="0.00")]
    assert [e.kind for e in order_events(order(), refunds)] == ["order_paid"]


def test_a_customer_with_contact_details() -> None:
    (upserted,) = customer_events(example("customers__retrieve-a-customer"))
    assert upserted == CustomerUpserted(
        customer_id="25", occurred_at=utc("2017-03-21T19:09:30"),
        email="john.doe@example.com", phone="(555) 555-5555",
        address="969 Market, San Francisco, CA, 94103, US",
        attributes={"first_name": "John", "last_name": "Doe", "username": "john.doe"})


def test_a_customer_read_again_unchanged_has_the_same_key_and_a_change_a_new_one() -> None:
    customer = example("customers__retrieve-a-customer")
    key = customer_events(customer)[0].key
    touched = dict(customer, date_modified_gmt="2018-01-01T00:00:00",
                   avatar_url="https://example.com/new.png",
                   meta_data=[{"id": 1, "key": "_loyaltykit_points", "value": "120"}])
    assert customer_events(touched)[0].key == key
    moved = dict(customer, billing=dict(customer["billing"], city="Oakland"))
    assert customer_events(moved)[0].key != key
