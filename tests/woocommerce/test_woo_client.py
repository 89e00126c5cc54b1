"""The REST client over real HTTP: OAuth signing as WooCommerce checks it, the package's quirks
fixed (parameters sent once, caller's dict untouched, timeout always set), WooCommerce error
bodies as typed errors, retries of 429/5xx/timeouts, and keys kept out of errors and logs."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest
import requests
from fake_woo import KEY, SECRET, FakeWoo
from woo_kit import make_client

from loyaltykit.adapters.http import DEFAULT_TIMEOUT, HttpTransport, RetryPolicy
from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.adapters.woocommerce.config import WooSettings
from loyaltykit.errors import PermanentPlatformError, TransientPlatformError


def test_lists_a_page_signed_as_woocommerce_checks_it(woo: FakeWoo, client: WooClient) -> None:
    params = {"orderby": "id", "order": "asc", "dates_are_gmt": True}
    page = client.get_page("orders", params, 1)
    assert [o["id"] for o in page.records] == [723, 727]
    assert page.total_pages == 1 and page.next_page is None
    request = woo.calls("GET", "orders")[0]
    assert request.auth == "oauth"  # the fake recomputed core's signature and accepted it
    assert params == {"orderby": "id", "order": "asc", "dates_are_gmt": True}  # untouched
    assert dict(request.query)["dates_are_gmt"] == "true"


def test_every_query_parameter_is_sent_once(woo: FakeWoo, client: WooClient) -> None:
    client.get_page("customers", {"role": "all", "orderby": "id"}, 1)
    client.get("orders/723")
    for request in woo.requests:
        repeated = [name for name, n in Counter(k for k, _ in request.query).items() if n > 1]
        assert repeated == [], f"{request.endpoint} repeats {repeated}"


def test_an_error_body_becomes_a_typed_error_with_its_code(client: WooClient) -> None:
    with pytest.raises(PermanentPlatformError) as caught:
        client.get("orders/999")
    assert caught.value.status == 404
    assert caught.value.code == "woocommerce_rest_shop_order_invalid_id"
    assert "Invalid ID" in str(caught.value)


def test_a_wrong_secret_is_permanent_and_names_the_settings_to_check(
        woo: FakeWoo, sleeps: list[float]) -> None:
    wrong = make_client(woo.url, sleeps, secret="cs_wrong_wrong_wrong_wrong")
    with pytest.raises(PermanentPlatformError) as caught:
        wrong.get("orders")
    assert caught.value.code == "woocommerce_rest_authentication_error"
    assert "LOYALTYKIT_WOO_SECRET" in str(caught.value)
    assert sleeps == []  # not retried


def test_a_missing_api_says_to_check_the_site_url(woo: FakeWoo, sleeps: list[float]) -> None:
    subfolder = make_client(f"{woo.url}/blog", sleeps)
    with pytest.raises(PermanentPlatformError) as caught:
        subfolder.get("orders")
    assert caught.value.code == "rest_no_route"
    assert "LOYALTYKIT_WOO_URL" in str(caught.value)


def test_429_waits_as_long_as_retry_after_says(woo: FakeWoo, client: WooClient,
                                               sleeps: list[float]) -> None:
    woo.fail("status", "GET", "orders", status=429, retry_after="7")
    assert len(client.get("orders")) == 2
    assert sleeps == [7.0]


def test_5xx_is_retried_and_every_attempt_is_signed_afresh(
        woo: FakeWoo, client: WooClient, sleeps: list[float]) -> None:
    woo.fail("status", "GET", "orders", status=503, times=2)
    assert len(client.get("orders")) == 2
    assert len(woo.calls("GET", "orders")) == 3  # the fake refuses a reused OAuth nonce
    assert len(sleeps) == 2


def test_a_store_that_stays_down_ends_in_a_transient_error(
        woo: FakeWoo, client: WooClient, sleeps: list[float]) -> None:
    woo.fail("status", "GET", "orders", status=500, times=10)
    with pytest.raises(TransientPlatformError) as caught:
        client.get("orders")
    assert caught.value.status == 500 and caught.value.code == "fake_fault"
    assert len(woo.calls("GET", "orders")) == 4


def test_a_stalled_answer_times_out_and_is_retried(woo: FakeWoo, sleeps: list[float]) -> None:
    impatient = make_client(woo.url, sleeps, timeout=(2.0, 0.2))
    woo.fail("stall", "GET", "orders", seconds=1.0)
    assert len(impatient.get("orders")) == 2
    assert len(sleeps) == 1


def test_a_page_that_is_not_json_is_a_permanent_error(woo: FakeWoo, client: WooClient) -> None:
    woo.fail("html", "GET", "orders")
    with pytest.raises(PermanentPlatformError) as caught:
        client.get("orders")
    assert caught.value.code == "bad_response" and "Maintenance" in str(caught.value)


def test_batch_items_fail_one_by_one(woo: FakeWoo, client: WooClient) -> None:
    answer = client.batch("coupons", create=[{"code": "A1"}, {"code": ""}, {"code": "a1"}])
    created, empty, duplicate = answer["create"]
    assert created.record is not None and created.record["code"] == "a1"
    assert empty.error is not None and empty.error.code == "woocommerce_rest_empty_coupon_code"
    assert duplicate.error is not None
    assert duplicate.error.code == "woocommerce_rest_coupon_code_already_exists"
    assert not duplicate.error.retriable


def test_more_than_100_batch_items_are_refused_before_sending(
        woo: FakeWoo, client: WooClient) -> None:
    with pytest.raises(ValueError, match="at most 100"):
        client.batch("coupons", create=[{"code": f"c{i}"} for i in range(101)])
    assert woo.calls("POST", "coupons/batch") == []


def test_keys_never_reach_errors_reprs_or_logs(
        woo: FakeWoo, sleeps: list[float], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="loyaltykit")
    woo.fail("status", "GET", "orders", status=502, times=10)
    c = make_client(woo.url, sleeps)
    messages = [repr(c), repr(c.settings)]
    for call in (lambda: c.get("orders"), lambda: make_client(
            woo.url, sleeps, secret=SECRET[:-2] + "xx").get("customers")):
        with pytest.raises(Exception) as caught:
            call()
        messages.append(str(caught.value))
    text = "\n".join(messages) + caplog.text
    assert "retrying" in caplog.text
    for secret in (KEY, SECRET, SECRET[:-2] + "xx"):
        assert secret not in text


class _Capture(requests.adapters.BaseAdapter):
    """Answers https requests without a network, keeping what would have gone on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[requests.PreparedRequest, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append((request, kwargs.get("timeout")))
        response = requests.Response()
        response.status_code, response._content = 200, b"[]"
        response.headers["X-WP-TotalPages"] = "0"
        response.request, response.url = request, str(request.url)
        return response

    def close(self) -> None:
        pass


def test_https_uses_basic_auth_the_default_timeout_and_no_key_in_the_url() -> None:
    capture = _Capture()
    session = requests.Session()
    session.mount("https://", capture)
    settings = WooSettings(url="https://shop.example.com", key=KEY, secret=SECRET)
    c = WooClient(settings, retry=RetryPolicy(attempts=1),
                  transport=HttpTransport(session=session, redactor=settings.redactor()))
    params = {"orderby": "id"}
    c.get_page("orders", params, 2)
    (request, timeout), = capture.sent
    assert request.url == ("https://shop.example.com/wp-json/wc/v3/orders"
                           "?orderby=id&per_page=100&page=2")
    assert request.headers["Authorization"].startswith("Basic ")
    assert timeout == DEFAULT_TIMEOUT  # not the package's flat 5 s
    assert params == {"orderby": "id"}
