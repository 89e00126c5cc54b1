"""The GraphQL client over real HTTP: throttling (200 THROTTLED and 429), 5xx, auth, pacing,
timeouts, and that neither stdout nor errors nor logs ever carry the token."""

from __future__ import annotations

import logging

import pytest
from fake_shopify import TOKEN, FakeShopify
from shopify_kit import FakeTime, customer, make_client, put

from loyaltykit.adapters.shopify import documents
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.config import ShopifySettings
from loyaltykit.errors import ConfigurationError, PermanentPlatformError, TransientPlatformError

PAGE = {"first": 10, "after": None, "query": None}


def names(shop: FakeShopify) -> list[str | None]:
    return shop.operations()


def test_request_carries_token_version_path_and_operation(shop: FakeShopify,
                                                          client: ShopifyClient) -> None:
    put(shop, customer(1, "2024-01-01T00:00:00Z"))
    data = client.execute(documents.CUSTOMERS_PAGE, PAGE)
    assert [n["id"] for n in data["customers"]["nodes"]] == ["gid://shopify/Customer/1"]
    call = shop.calls[0]
    assert call.operation == "LoyaltykitCustomers"
    assert call.headers["X-Shopify-Access-Token"] == TOKEN
    assert call.headers["User-Agent"].startswith("loyaltykit ShopifyPythonAPI/12.")


def test_throttled_with_status_200_waits_for_the_bucket_then_succeeds(
        shop: FakeShopify, client: ShopifyClient, fake_time: FakeTime) -> None:
    client.execute(documents.CUSTOMERS_PAGE, PAGE)  # learns this query's cost (12)
    shop.fail("throttled")  # bucket reported at 3 of 12 needed, restoring 50/s
    client.execute(documents.CUSTOMERS_PAGE, PAGE)
    assert names(shop) == ["LoyaltykitCustomers"] * 3
    assert fake_time.sleeps == [pytest.approx((12 - 3) / 50)]


def test_429_honours_retry_after(shop: FakeShopify, client: ShopifyClient,
                                 fake_time: FakeTime) -> None:
    shop.fail("429", retry_after="2.0")
    client.execute(documents.CUSTOMERS_PAGE, PAGE)
    assert len(shop.calls) == 2 and fake_time.sleeps == [2.0]


def test_5xx_and_dropped_connections_are_retried(shop: FakeShopify, client: ShopifyClient,
                                                 fake_time: FakeTime) -> None:
    shop.fail("500")
    shop.fail("drop")
    client.execute(documents.CUSTOMERS_PAGE, PAGE)
    assert len(shop.calls) == 3 and fake_time.sleeps == [0.5, 0.5]


def test_persistent_5xx_gives_up_with_a_transient_error(shop: FakeShopify,
                                                        client: ShopifyClient) -> None:
    shop.fail("502", times=10)
    with pytest.raises(TransientPlatformError) as caught:
        client.execute(documents.CUSTOMERS_PAGE, PAGE)
    assert caught.value.status == 502 and caught.value.retriable
    assert len(shop.calls) == 4  # the policy's attempts, then it stops


def test_bad_token_fails_fast_with_advice(shop: FakeShopify, fake_time: FakeTime) -> None:
    client = make_client(shop, fake_time, token="shpat_wrong_token_999")
    with pytest.raises(PermanentPlatformError) as caught:
        client.execute(documents.CUSTOMERS_PAGE, PAGE)
    assert caught.value.status == 401 and len(shop.calls) == 1 and fake_time.sleeps == []
    assert "LOYALTYKIT_SHOPIFY_TOKEN" in str(caught.value)
    assert "shpat_wrong_token_999" not in str(caught.value)


def test_pacing_waits_before_the_bucket_runs_dry(shop: FakeShopify, client: ShopifyClient,
                                                 fake_time: FakeTime) -> None:
    shop.available, shop.restore_rate, shop.cost = 2.0, 10.0, 12
    client.execute(documents.CUSTOMERS_PAGE, PAGE)
    client.execute(documents.CUSTOMERS_PAGE, PAGE)
    # 2 points left, 12 needed at 10 points/s: wait 1 s instead of being throttled.
    assert fake_time.sleeps == [pytest.approx(1.0)]
    assert len(shop.calls) == 2


def test_every_request_has_a_timeout(shop: FakeShopify, fake_time: FakeTime) -> None:
    client = make_client(shop, fake_time, attempts=1, timeout=0.1)
    shop.fail("slow")  # answers after 0.5 s
    with pytest.raises(TransientPlatformError) as caught:
        client.execute(documents.CUSTOMERS_PAGE, PAGE)
    assert caught.value.code == "timeout"


def test_nothing_is_printed_and_no_secret_leaks(
        shop: FakeShopify, fake_time: FakeTime, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(shop, fake_time)
    shop.fail("500", times=2)
    shop.fail("drop")
    client.execute(documents.CUSTOMERS_PAGE, PAGE)
    wrong = make_client(shop, fake_time, token="shpat_other_secret_123")
    with pytest.raises(PermanentPlatformError) as caught:
        wrong.execute(documents.CUSTOMERS_PAGE, PAGE)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    texts = [caplog.text, str(caught.value), repr(client.settings), repr(wrong.settings)]
    for text in texts:
        assert TOKEN not in text and "shpat_other_secret_123" not in text
    assert "retrying" in caplog.text  # the retries were logged, just without secrets


@pytest.mark.parametrize(("shop_name", "version"), [("", "2025-01"), ("mystore", "bogus")])
def test_bad_settings_are_configuration_errors(shop_name: str, version: str) -> None:
    with pytest.raises(ConfigurationError):
        ShopifyClient(ShopifySettings(shop=shop_name, token="t", api_version=version))
