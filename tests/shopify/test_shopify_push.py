"""Pushing outbox commands: discount codes (idempotent across lost answers), tags and
profile metafields, with userErrors reported per item."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from fake_shopify import FakeShopify
from shopify_kit import FakeTime, MemoryLedger, customer, make_client, put

from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.push import Pusher, discount_title
from loyaltykit.commands import (
    IssueDiscount,
    SetCustomerTags,
    UpdateCustomerProfile,
    discount_code,
)
from loyaltykit.errors import PermanentPlatformError

AT = datetime(2024, 6, 1, tzinfo=timezone.utc)
END = datetime(2024, 7, 1, tzinfo=timezone.utc)


def discount(key: str, customer_id: str = "1", value: str = "10",
             value_type: str = "percentage") -> IssueDiscount:
    return IssueDiscount(key=key, customer_id=customer_id, code=discount_code(key),
                         value_type=value_type, value=Decimal(value), currency="USD",
                         starts_at=AT, ends_at=END, reason="tier-gold")


def profile(key: str, customer_id: str, balance: int = 100) -> UpdateCustomerProfile:
    return UpdateCustomerProfile(key=key, customer_id=customer_id, points_balance=balance,
                                 tier="gold", segment="active", as_of=AT)


@pytest.fixture()
def customers(shop: FakeShopify) -> FakeShopify:
    put(shop, *(customer(n, "2024-01-01T00:00:00Z", tags=["tier-silver", "newsletter"])
                for n in range(1, 12)))
    return shop


def test_discount_is_created_for_one_customer_once(
        customers: FakeShopify, client: ShopifyClient, ledger: MemoryLedger) -> None:
    percent, fixed = discount("d1"), discount("d2", value="5.00", value_type="fixed_amount")
    ledger.add_commands([percent, fixed])
    report = Pusher(client, ledger).run()
    assert report.sent == 2 and ledger.states() == {1: "sent", 2: "sent"}
    sent = customers.discounts[percent.code]["input"]
    assert sent["customerSelection"] == {"customers": {"add": ["gid://shopify/Customer/1"]}}
    assert (sent["usageLimit"], sent["appliesOncePerCustomer"]) == (1, True)
    assert sent["customerGets"]["value"] == {"percentage": 0.1}
    assert (sent["startsAt"], sent["endsAt"]) == (AT.isoformat(), END.isoformat())
    assert customers.discounts[fixed.code]["input"]["customerGets"]["value"] == {
        "discountAmount": {"amount": "5.00", "appliesOnEachItem": False}}


def test_a_push_retried_after_a_lost_answer_creates_one_code(
        customers: FakeShopify, client: ShopifyClient, ledger: MemoryLedger) -> None:
    command = discount("lost")
    ledger.add_commands([command])
    customers.fail("lost_answer", "LoyaltykitDiscountCreate")  # created, answer never arrives
    report = Pusher(client, ledger).run()
    assert report.sent == 1 and ledger.states() == {1: "sent"}
    assert list(customers.discounts) == [command.code]
    assert customers.operations() == ["LoyaltykitDiscountCreate", "LoyaltykitDiscountCreate",
                                      "LoyaltykitDiscountByCode"]
    assert "already present" in ledger.outbox[1].detail


def test_a_push_resent_by_a_later_run_creates_one_code(
        customers: FakeShopify, shop: FakeShopify, fake_time: FakeTime,
        ledger: MemoryLedger) -> None:
    command = discount("later")
    ledger.add_commands([command])
    impatient = make_client(shop, fake_time, attempts=1)
    shop.fail("lost_answer", "LoyaltykitDiscountCreate")
    first = Pusher(impatient, ledger).run()
    assert first.sent == 0 and ledger.states() == {1: "retry"}
    second = Pusher(impatient, ledger).run()
    assert second.sent == 1 and list(shop.discounts) == [command.code]


def test_a_foreign_code_with_the_same_name_is_not_taken_over(
        customers: FakeShopify, client: ShopifyClient, ledger: MemoryLedger) -> None:
    command = discount("clash")
    customers.discounts[command.code] = {
        "id": "gid://shopify/DiscountCodeNode/99", "input": {},
        "codeDiscount": {"__typename": "DiscountCodeBasic", "title": "Summer sale",
                         "startsAt": AT.isoformat(), "endsAt": None, "usageLimit": None}}
    ledger.add_commands([command])
    report = Pusher(client, ledger).run()
    assert ledger.states() == {1: "failed"} and "not created by this command" in report.failed[0][1]
    assert discount_title(command) != "Summer sale"


def test_user_errors_fail_their_item_and_the_rest_goes_on(
        customers: FakeShopify, client: ShopifyClient, ledger: MemoryLedger) -> None:
    ledger.add_commands([
        discount("bad", value="150"),                        # refused before sending
        SetCustomerTags(key="t1", customer_id="404", add=("tier-gold",), remove=()),
        SetCustomerTags(key="t2", customer_id="2", add=("tier-gold",), remove=("tier-silver",)),
        discount("good"),
    ])
    report = Pusher(client, ledger).run()
    assert ledger.states() == {1: "failed", 2: "failed", 3: "sent", 4: "sent"}
    assert "Customer does not exist" in dict(report.failed)[2]
    assert customers.customers["gid://shopify/Customer/2"]["tags"] == ["newsletter", "tier-gold"]


def test_profiles_go_in_batches_of_at_most_25_metafields_and_one_bad_owner_fails_alone(
        customers: FakeShopify, client: ShopifyClient, ledger: MemoryLedger) -> None:
    commands = [profile(f"p{n}", str(n), balance=n * 10) for n in range(1, 11)]
    commands.insert(3, profile("ghost", "999"))
    commands.append(profile("p1-newer", "1", balance=999))  # same customer again: later wins
    ledger.add_commands(commands)
    report = Pusher(client, ledger).run()
    assert max(customers.metafield_batches) <= 25
    failed = [i for i, state in ledger.states().items() if state != "sent"]
    assert failed == [4] and report.sent == 11
    values = customers.metafields
    assert values[("gid://shopify/Customer/7", "loyaltykit", "points_balance")] == "70"
    assert values[("gid://shopify/Customer/7", "loyaltykit", "tier")] == "gold"
    assert values[("gid://shopify/Customer/1", "loyaltykit", "points_balance")] == "999"


def test_a_rejected_token_stops_the_push_and_marks_nothing(
        customers: FakeShopify, shop: FakeShopify, fake_time: FakeTime,
        ledger: MemoryLedger) -> None:
    ledger.add_commands([discount("x"), discount("y")])
    with pytest.raises(PermanentPlatformError) as caught:
        Pusher(make_client(shop, fake_time, token="shpat_revoked"), ledger).run()
    assert caught.value.status == 401
    assert ledger.states() == {1: "pending", 2: "pending"} and len(shop.calls) == 1


def test_shopify_down_after_retries_stops_the_push_leaving_items_retriable(
        customers: FakeShopify, client: ShopifyClient, ledger: MemoryLedger) -> None:
    ledger.add_commands([discount("a"), discount("b")])
    customers.fail("502", times=4)
    report = Pusher(client, ledger).run()
    assert ledger.states() == {1: "retry", 2: "pending"} and report.stopped
