"""Push from the outbox over real HTTP: personal coupons in batches of at most 100, a create
retried after a lost answer making one coupon, per-item errors per item, customer meta that
a late or repeated push cannot roll back, and stops that keep commands safe."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fake_woo import FakeWoo
from woo_kit import T0, MemoryOutbox

from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.adapters.woocommerce.push import Pusher
from loyaltykit.commands import (
    IssueDiscount,
    SetCustomerTags,
    UpdateCustomerProfile,
    discount_code,
)


def discount(n: int = 1, customer: str = "25", **changes: object) -> IssueDiscount:
    key = f"discount:redemption:r{n}"
    values: dict[str, object] = dict(
        key=key, customer_id=customer, code=discount_code(key), value_type="percentage",
        value=Decimal("10"), currency="USD", starts_at=T0, ends_at=T0 + timedelta(days=30),
        reason="redemption ten-percent")
    values.update(changes)
    return IssueDiscount(**values)  # type: ignore[arg-type]


def profile(customer: str = "25", *, points: int = 120, hours: int = 0) -> UpdateCustomerProfile:
    at = T0 + timedelta(hours=hours)
    return UpdateCustomerProfile(f"profile:{customer}:{at.isoformat()}", customer, points,
                                 "silver", "active", at)


def test_a_discount_becomes_a_coupon_only_that_customer_can_use(
        woo: FakeWoo, client: WooClient) -> None:
    outbox = MemoryOutbox([discount()])
    report = Pusher(client, outbox).run()
    (coupon,) = woo.coupons.values()
    assert coupon["code"] == discount().code.lower()  # WooCommerce lower-cases codes
    assert coupon["discount_type"] == "percent" and coupon["amount"] == "10"
    assert coupon["email_restrictions"] == ["john.doe@example.com"]
    assert (coupon["usage_limit"], coupon["usage_limit_per_user"]) == (1, 1)
    assert coupon["date_expires_gmt"] == "2025-03-31T12:00:00"
    assert report.sent == 1 and outbox.status() == {1: "sent"}
    assert outbox.items[1]["detail"] == f"coupon {coupon['id']}"


def test_a_fixed_amount_is_a_fixed_cart_coupon(woo: FakeWoo, client: WooClient) -> None:
    Pusher(client, MemoryOutbox([discount(value_type="fixed_amount", value=Decimal("5.00"),
                                          ends_at=None)])).run()
    (coupon,) = woo.coupons.values()
    assert (coupon["discount_type"], coupon["amount"]) == ("fixed_cart", "5.00")
    assert coupon["date_expires_gmt"] is None


def test_150_coupons_go_in_batches_of_at_most_100(woo: FakeWoo, client: WooClient) -> None:
    outbox = MemoryOutbox([discount(n) for n in range(150)])
    report = Pusher(client, outbox).run()
    sizes = [len(r.body["create"]) for r in woo.calls("POST", "coupons/batch")]
    assert sizes == [100, 50]  # the fake answers 413 above 100, like WooCommerce
    assert report.sent == 150 and len(woo.coupons) == 150


def test_a_create_retried_after_a_lost_answer_makes_one_coupon(
        woo: FakeWoo, client: WooClient, sleeps: list[float]) -> None:
    woo.fail("drop", "POST", "coupons/batch")  # created, but the answer never arrives
    outbox = MemoryOutbox([discount(1), discount(2)])
    report = Pusher(client, outbox).run()
    assert len(woo.calls("POST", "coupons/batch")) == 2 and len(sleeps) == 1
    assert len(woo.coupons) == 2
    assert report.sent == 2 and outbox.status() == {1: "sent", 2: "sent"}


def test_a_code_taken_by_someone_else_fails_that_item_only(
        woo: FakeWoo, client: WooClient) -> None:
    client.post("coupons", {"code": discount(1).code, "amount": "50"})  # the merchant's own
    outbox = MemoryOutbox([discount(1), discount(2)])
    report = Pusher(client, outbox).run()
    assert outbox.status() == {1: "failed", 2: "sent"}
    assert "did not create" in report.failed[0][1]


def test_unknown_customers_and_bad_commands_fail_per_item(
        woo: FakeWoo, client: WooClient) -> None:
    woo.add_customer(40, email="", modified=T0)["billing"]["email"] = ""
    outbox = MemoryOutbox([discount(1, customer="999"), discount(2, customer="40"),
                           discount(3, value=Decimal("150")), discount(4)])
    report = Pusher(client, outbox).run()
    assert outbox.status() == {1: "failed", 2: "failed", 3: "failed", 4: "sent"}
    reasons = dict(report.failed)
    assert "999 does not exist" in reasons[1] and "no email" in reasons[2]
    assert "between 0 and 100" in reasons[3]


def test_tier_points_segment_and_tags_land_in_customer_meta(
        woo: FakeWoo, client: WooClient) -> None:
    outbox = MemoryOutbox([SetCustomerTags("tags:1", "25", ("tier-silver",), ()),
                           profile(points=120),
                           SetCustomerTags("tags:2", "25", ("vip",), ("tier-silver",))])
    Pusher(client, outbox).run()
    assert woo.meta(woo.customers[25]) == {
        "_loyaltykit_tags": "vip", "_loyaltykit_points": "120",
        "_loyaltykit_tier": "silver", "_loyaltykit_segment": "active",
        "_loyaltykit_as_of": T0.isoformat()}
    assert len(woo.calls("POST", "customers/batch")) == 1  # one update for the customer
    assert set(outbox.status().values()) == {"sent"}


def test_an_older_profile_never_overwrites_a_newer_one_and_repeats_write_nothing(
        woo: FakeWoo, client: WooClient) -> None:
    Pusher(client, MemoryOutbox([profile(points=300, hours=5)])).run()
    late = MemoryOutbox([profile(points=120, hours=1), profile(points=300, hours=5)])
    Pusher(client, late).run()
    assert woo.meta(woo.customers[25])["_loyaltykit_points"] == "300"
    assert len(woo.calls("POST", "customers/batch")) == 1
    assert late.status() == {1: "sent", 2: "sent"}
    assert late.items[1]["detail"].startswith("superseded")
    newer_first = MemoryOutbox([profile(points=500, hours=9), profile(points=120, hours=2)])
    Pusher(client, newer_first).run()  # one update; the older profile in it is superseded
    assert woo.meta(woo.customers[25])["_loyaltykit_points"] == "500"
    assert newer_first.items[2]["detail"].startswith("superseded")
    assert newer_first.items[1]["detail"] == "customer 25"


def test_a_customer_deleted_meanwhile_fails_only_its_own_update(
        woo: FakeWoo, client: WooClient) -> None:
    woo.add_customer(41, email="gone@example.com", modified=T0)
    outbox = MemoryOutbox([profile("25"), profile("41")])
    pusher = Pusher(client, outbox)
    real = pusher._customers

    def then_delete(ids: list[str]) -> dict[str, dict[str, object]]:
        found = real(ids)
        del woo.customers[41]
        return found

    pusher._customers = then_delete  # type: ignore[method-assign]
    report = pusher.run()
    assert outbox.status() == {1: "sent", 2: "failed"}
    assert "woocommerce_rest_user_invalid_id" in report.failed[0][1]


def test_a_batch_refused_as_a_whole_is_sent_item_by_item(
        woo: FakeWoo, client: WooClient) -> None:
    woo.fail("status", "POST", "coupons/batch", status=400)
    outbox = MemoryOutbox([discount(1), discount(2)])
    Pusher(client, outbox).run()
    assert len(woo.calls("POST", "coupons")) == 2 and len(woo.coupons) == 2
    assert outbox.status() == {1: "sent", 2: "sent"}


def test_bad_credentials_stop_the_push_and_leave_everything_pending(
        woo: FakeWoo, client: WooClient) -> None:
    woo.fail("status", "POST", "coupons/batch", status=401)
    outbox = MemoryOutbox([discount(1), profile()])
    report = Pusher(client, outbox).run()
    assert report.stopped and "HTTP 401" in report.stopped
    assert outbox.status() == {1: "pending", 2: "pending"}
    assert [row["attempts"] for row in outbox.items.values()] == [0, 0]


def test_a_store_that_stays_down_marks_items_retriable_and_stops(
        woo: FakeWoo, client: WooClient) -> None:
    woo.fail("status", "POST", "coupons/batch", status=503, times=4)  # every attempt
    outbox = MemoryOutbox([discount(1), discount(2)])
    report = Pusher(client, outbox).run()
    assert report.stopped and len(report.retriable) == 2
    assert outbox.status() == {1: "pending", 2: "pending"}
    assert [row["attempts"] for row in outbox.items.values()] == [1, 1]
    assert Pusher(client, outbox).run().sent == 2  # the next push delivers them


def test_dry_run_reads_but_writes_and_marks_nothing(woo: FakeWoo, client: WooClient) -> None:
    outbox = MemoryOutbox([discount(1), profile()])
    report = Pusher(client, outbox, dry_run=True).run()
    assert [(c.endpoint, c.items) for c in report.calls] == [("coupons/batch", (1,)),
                                                             ("customers/batch", (2,))]
    assert report.calls[1].body["update"] == [{"id": 25, "meta_data": [
        {"key": "_loyaltykit_as_of", "value": T0.isoformat()},
        {"key": "_loyaltykit_points", "value": "120"},
        {"key": "_loyaltykit_segment", "value": "active"},
        {"key": "_loyaltykit_tier", "value": "silver"}]}]
    assert report.calls[0].body["create"][0]["email_restrictions"] == ["john.doe@example.com"]
    assert [r for r in woo.requests if r.method != "GET"] == []
    assert outbox.status() == {1: "pending", 2: "pending"}


def test_a_dry_run_shows_every_pending_item_not_only_the_first_batch(
        woo: FakeWoo, client: WooClient) -> None:
    outbox = MemoryOutbox([discount(n) for n in range(5)])
    report = Pusher(client, outbox, batch=2, dry_run=True).run()
    assert [c.items for c in report.calls] == [(1, 2), (3, 4), (5,)]
