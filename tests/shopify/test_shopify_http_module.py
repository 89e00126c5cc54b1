"""The shared HTTP machinery (loyaltykit.adapters.http): redaction, error classification,
retries that honour Retry-After, the cost bucket, and webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
import tenacity
from shopify_kit import BODY, SECRET, SIGNATURE, FakeTime

from loyaltykit.adapters.http import (
    REDACTED,
    CostBucket,
    Redactor,
    RetryLater,
    RetryPolicy,
    error_for_status,
    parse_retry_after,
    redact_url,
    sign_base64,
    verify_hmac_base64,
    verify_hmac_hex,
)
from loyaltykit.errors import PermanentPlatformError, TransientPlatformError

ALTERED = BODY.replace(b'"id":', b'"id": ')
ALTERED_SIGNATURE = "5KZRSQdoeCBhH7cAzHmrp7Mxike2JRk95li4AqQo0iQ="


def test_worked_example_signature_verifies() -> None:
    assert len(BODY) == 91
    assert sign_base64(SECRET, BODY) == SIGNATURE
    assert verify_hmac_base64(SECRET, BODY, SIGNATURE)


def test_altered_body_is_rejected() -> None:
    assert sign_base64(SECRET, ALTERED) == ALTERED_SIGNATURE
    assert not verify_hmac_base64(SECRET, ALTERED, SIGNATURE)


@pytest.mark.parametrize("forged", [
    ALTERED_SIGNATURE,                           # valid signature of another body
    sign_base64("wrong-secret", BODY),           # signed with another key
    SIGNATURE[:-4] + "AAA=",                     # tampered digest
    "not base64 at all!",                        # garbage
    "",                                          # empty header
    None,                                        # missing header
    "ÿÿÿÿ",                                      # non-ASCII
])
def test_forged_signatures_are_rejected(forged: str | None) -> None:
    assert not verify_hmac_base64(SECRET, BODY, forged)


def test_hex_signatures() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert verify_hmac_hex(SECRET, BODY, digest)
    assert verify_hmac_hex(SECRET, BODY, digest.upper())
    assert not verify_hmac_hex(SECRET, ALTERED, digest)
    assert not verify_hmac_hex(SECRET, BODY, "zz" + digest[2:])


def test_redaction_of_urls_headers_and_known_secrets() -> None:
    url = ("https://shop.example/wp-json/wc/v3/orders?per_page=100&consumer_key=ck_123"
           "&consumer_secret=cs_456&page=2")
    assert redact_url(url) == (f"https://shop.example/wp-json/wc/v3/orders?per_page=100&"
                               f"consumer_key={REDACTED}&consumer_secret={REDACTED}&page=2")
    signed = "https://storage.example/f.jsonl?X-Goog-Credential=abc%2F1&X-Goog-Signature=f00d"
    assert "abc" not in redact_url(signed) and "f00d" not in redact_url(signed)
    assert redact_url("https://user:pa55word@host/x") == f"https://user:{REDACTED}@host/x"
    redactor = Redactor(["shpat_secret_token", None, ""])
    assert redactor.text("401 for token shpat_secret_token") == f"401 for token {REDACTED}"
    headers = redactor.headers({"X-Shopify-Access-Token": "shpat_secret_token",
                                "Authorization": "Basic eHg6eXk=", "Accept": "application/json"})
    assert headers == {"X-Shopify-Access-Token": REDACTED, "Authorization": REDACTED,
                       "Accept": "application/json"}
    # A requests-style message quotes only the path and query of the URL.
    message = "Max retries exceeded with url: /orders?oauth_signature=abc123&page=1 (Caused by x)"
    assert "abc123" not in Redactor().text(message)


def test_status_classification_carries_status_code_and_request_id() -> None:
    throttled = error_for_status(429, what="call", headers={"Retry-After": "2.0",
                                                            "X-Request-Id": "r-1"})
    assert isinstance(throttled, RetryLater)
    assert (throttled.retry_after, throttled.status, throttled.request_id) == (2.0, 429, "r-1")
    assert "request id r-1" in str(throttled)
    assert isinstance(error_for_status(503, what="call", headers={}), TransientPlatformError)
    denied = error_for_status(401, what="call", headers={}, body="bad token shpat_x1y2",
                              redactor=Redactor(["shpat_x1y2"]), hints={401: "check the token"})
    assert isinstance(denied, PermanentPlatformError) and not denied.retriable
    assert "check the token" in str(denied) and "shpat_x1y2" not in str(denied)
    assert error_for_status(200, what="call", headers={}) is None


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("Sat, 01 Jun 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def _failing(errors: list[Exception]) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"
    return calls, call


def test_retries_wait_what_the_platform_asked() -> None:
    fake = FakeTime()
    calls, call = _failing([RetryLater("slow down", retry_after=2.0, status=429),
                            TransientPlatformError("502", status=502)])
    policy = RetryPolicy(attempts=3, sleep=fake.sleep, backoff=tenacity.wait_fixed(0.25))
    assert policy.call(call, what="test") == "ok"
    assert fake.sleeps == [2.0, 0.25] and len(calls) == 3


def test_retry_after_is_capped() -> None:
    fake = FakeTime()
    _, call = _failing([RetryLater("come back tomorrow", retry_after=86400.0)])
    RetryPolicy(max_wait=30.0, sleep=fake.sleep).call(call, what="test")
    assert fake.sleeps == [30.0]


def test_permanent_errors_are_not_retried_and_the_last_error_surfaces() -> None:
    fake = FakeTime()
    calls, call = _failing([PermanentPlatformError("bad request", status=400)])
    with pytest.raises(PermanentPlatformError):
        RetryPolicy(sleep=fake.sleep).call(call, what="test")
    assert len(calls) == 1 and fake.sleeps == []
    calls, call = _failing([TransientPlatformError(f"down {i}", status=503) for i in range(5)])
    with pytest.raises(TransientPlatformError, match="down 2"):
        RetryPolicy(attempts=3, sleep=fake.sleep,
                    backoff=tenacity.wait_fixed(0)).call(call, what="t")
    assert len(calls) == 3


def test_cost_bucket_paces_to_the_restore_rate() -> None:
    fake = FakeTime()
    bucket = CostBucket(monotonic=fake.monotonic, sleep=fake.sleep)
    assert bucket.acquire(500) == 0.0  # nothing known yet: no waiting
    bucket.observe(maximum=1000, available=100, restore_rate=50)
    assert bucket.delay_for(300) == pytest.approx(4.0)
    assert bucket.acquire(300) == pytest.approx(4.0)
    # The 300 points were debited: the next call of 300 waits for a full refill again.
    assert bucket.delay_for(300) == pytest.approx(6.0)
    fake.now += 100
    assert bucket.available() == 1000  # never above the bucket size
    assert bucket.delay_for(5000) == 0.0  # a call larger than the bucket waits for a full one
