"""The HTTP machinery every platform adapter shares.

Adapters differ in what they ask a platform; they must not differ in how they survive it.
Everything here exists so that the Shopify adapter, the WooCommerce adapter and bulk
downloads behave alike:

- every request carries a timeout (:data:`DEFAULT_TIMEOUT`): a hung socket never hangs a sync;
- a failed call becomes :class:`~loyaltykit.errors.TransientPlatformError` (retry later) or
  :class:`~loyaltykit.errors.PermanentPlatformError` (fix something first), with the HTTP
  status, the platform's error code and its request id, so a user can quote them to support;
- transient failures are retried with tenacity (:class:`RetryPolicy`), waiting as long as the
  platform asked (``Retry-After``, or a cost bucket's refill time via :class:`RetryLater`);
- :class:`CostBucket` paces calls against a server-reported leaky bucket (Shopify's
  ``throttleStatus``) so that throttling is avoided rather than merely survived;
- secrets are removed from URLs, headers and messages (:class:`Redactor`) before anything is
  logged or raised: exception chains from ``requests`` (which quote URLs) are suppressed;
- webhook signatures are checked in constant time (:func:`verify_hmac_base64`,
  :func:`verify_hmac_hex`) and repeated deliveries recognised (:class:`RecentDeliveries`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import requests
import tenacity
from tenacity.wait import wait_base

from loyaltykit.errors import PermanentPlatformError, PlatformError, TransientPlatformError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: (connect, read) seconds. Platforms answer in well under a second; a read that stalls for
#: 30 s is a dead connection, and retrying it is cheaper than waiting forever.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"token|secret|key|signature|sig$|credential|password|passwd|auth|hmac|cookie", re.I)
_QUERY_PARAM = re.compile(r"([?&;])([^=&\s?#'\"]+)=([^&\s'\"#)]*)")
_USERINFO = re.compile(r"(\w+://)([^/@\s:]+):([^/@\s]+)@")
_REQUEST_ID_HEADERS = ("X-Request-Id", "X-Request-ID", "Request-Id", "X-Amzn-RequestId")


class Redactor:
    """Removes secrets from text before it reaches a log line or an exception.

    Known secret values (tokens, API secrets) are replaced wherever they appear; in addition
    any URL query parameter or userinfo password whose name looks secret is blanked, which
    covers signed download URLs and query-string authentication the adapter never saw.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        value = _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:{REDACTED}@", value)
        return _QUERY_PARAM.sub(_blank_secret_param, value)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: (REDACTED if _SECRET_NAME.search(name) else self.text(str(value)))
                for name, value in headers.items()}


def _blank_secret_param(match: re.Match[str]) -> str:
    sep, name, value = match.groups()
    return f"{sep}{name}={REDACTED if _SECRET_NAME.search(name) else value}"


def redact_url(url: str) -> str:
    """A URL safe to log: secret-looking query values and passwords blanked."""
    return Redactor().text(url)


class RetryLater(TransientPlatformError):
    """The platform said when to come back (``Retry-After``, or an empty cost bucket)."""

    def __init__(
        self, message: str, *, retry_after: float | None, status: int | None = None,
        request_id: str | None = None, code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id, code=code)
        self.retry_after = retry_after


def request_id_from(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (``"2.0"``) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def error_for_status(
    status: int, *, what: str, headers: Mapping[str, str], body: str = "",
    redactor: Redactor | None = None, hints: Mapping[int, str] | None = None,
    code: str | None = None,
) -> PlatformError | None:
    """The error an HTTP answer stands for, or None for 2xx.

    429, 408 and 5xx are transient (with the ``Retry-After`` the platform sent); every other
    4xx is permanent, and ``hints`` adds the adapter's advice for a status (e.g. which
    credential or scope to check on 401/403). ``code`` is the platform's own error code when
    the adapter could read one from the body (WooCommerce's ``{"code": ...}``), so callers can
    match on it instead of on message text.
    """
    if 200 <= status < 300:
        return None
    redactor = redactor or Redactor()
    request_id = request_id_from(headers)
    detail = redactor.text(" ".join(body.split())[:300])
    message = f"{what} failed with HTTP {status}" + (f": {detail}" if detail else "")
    hint = (hints or {}).get(status)
    if hint:
        message += f". {hint}"
    if status in (408, 429) or status >= 500:
        return RetryLater(message, retry_after=parse_retry_after(headers.get("Retry-After")),
                          status=status, request_id=request_id, code=code)
    return PermanentPlatformError(message, status=status, request_id=request_id, code=code)


def translate_request_exception(
    exc: requests.RequestException, *, what: str, redactor: Redactor | None = None,
) -> PlatformError:
    """A ``requests`` failure as a platform error; its text (which quotes URLs) is redacted."""
    detail = (redactor or Redactor()).text(str(exc))
    if isinstance(exc, requests.Timeout):
        return TransientPlatformError(f"{what}: no answer in time ({detail})", code="timeout")
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return TransientPlatformError(f"{what}: connection failed ({detail})", code="connection")
    return PermanentPlatformError(f"{what}: request could not be sent ({detail})",
                                  code="request")


class HttpTransport:
    """One ``requests.Session``: a timeout on every call, failures translated and redacted.

    This is the seam tests replace or point at a local server; adapters never call
    ``requests`` directly.
    """

    def __init__(
        self, *, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        redactor: Redactor | None = None, session: requests.Session | None = None,
    ) -> None:
        self.timeout = timeout
        self.redactor = redactor or Redactor()
        self._session = session or requests.Session()

    def request(
        self, method: str, url: str, *, what: str, headers: Mapping[str, str] | None = None,
        json: Any = None, params: Mapping[str, str] | None = None, stream: bool = False,
        hints: Mapping[int, str] | None = None, check: bool = True,
        auth: requests.auth.AuthBase | None = None,
    ) -> requests.Response:
        """Send one request with the timeout; non-2xx answers raise unless ``check=False``.

        ``check=False`` hands back any answer that arrived so an adapter can read the
        platform's error body first and then classify it with :func:`error_for_status`;
        network failures are translated and raised either way. ``auth`` (e.g.
        ``HTTPBasicAuth``) is preferred to a hand-made ``Authorization`` header, which
        ``requests`` would replace with a ``~/.netrc`` entry for the host.
        """
        try:
            response = self._session.request(
                method, url, headers=dict(headers or {}), json=json, params=params,
                timeout=self.timeout, stream=stream, auth=auth)
        except requests.RequestException as exc:
            raise translate_request_exception(exc, what=what, redactor=self.redactor) from None
        if not check:
            return response
        error = error_for_status(
            response.status_code, what=what, headers=response.headers,
            body="" if stream else response.text, redactor=self.redactor, hints=hints)
        if error is not None:
            response.close()
            raise error
        return response

    def close(self) -> None:
        self._session.close()


class _WaitRetryAfter(wait_base):
    """Wait what the platform asked for when it said; otherwise fall back to backoff."""

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RetryLater) and exc.retry_after is not None:
            return min(self.cap, exc.retry_after)
        return min(self.cap, float(self.fallback(retry_state)))


@dataclass(frozen=True)
class RetryPolicy:
    """How transient platform errors are retried.

    ``sleep`` and ``backoff`` are injectable so tests run retries instantly and
    deterministically; ``max_wait`` caps any single wait, including ``Retry-After``.
    """

    attempts: int = 6
    initial: float = 1.0
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    backoff: wait_base | None = field(default=None, compare=False)

    def call(self, fn: Callable[[], T], *, what: str) -> T:
        """Run ``fn``, retrying TransientPlatformError; the last error is re-raised as is."""
        fallback = self.backoff or tenacity.wait_exponential_jitter(
            initial=self.initial, max=self.max_wait)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientPlatformError),
            wait=_WaitRetryAfter(fallback, self.max_wait),
            stop=tenacity.stop_after_attempt(self.attempts),
            sleep=self.sleep,
            reraise=True,
            before_sleep=lambda state: _log_retry(state, what, self.attempts),
        )
        return retrying(fn)


def _log_retry(state: tenacity.RetryCallState, what: str, attempts: int) -> None:
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    # Exception texts are built redacted, so they are safe to log.
    log.warning("%s: %s; retrying in %.1f s (attempt %d of %d)",
                what, exc, wait, state.attempt_number, attempts)


class CostBucket:
    """A client-side mirror of a leaky bucket the server reports.

    Shopify answers every GraphQL call with ``throttleStatus`` (bucket size, points left,
    restore rate per second). :meth:`observe` records it; :meth:`acquire` sleeps until a
    call of the given cost fits, then debits it, so a sync paces itself at the restore rate
    instead of running into THROTTLED. Before the first observation it never waits.
    """

    def __init__(
        self, *, monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self._maximum = 0.0
        self._available = 0.0
        self._restore_rate = 0.0
        self._at: float | None = None

    def observe(self, *, maximum: float, available: float, restore_rate: float) -> None:
        self._maximum = float(maximum)
        self._available = float(available)
        self._restore_rate = float(restore_rate)
        self._at = self._monotonic()

    def available(self) -> float | None:
        """Points estimated to be available now, or None before any observation."""
        if self._at is None:
            return None
        refill = self._restore_rate * max(0.0, self._monotonic() - self._at)
        return min(self._maximum, self._available + refill)

    def delay_for(self, cost: float) -> float:
        """Seconds until ``cost`` points are available (0 when unknown or already there)."""
        available = self.available()
        if available is None or self._restore_rate <= 0:
            return 0.0
        deficit = min(cost, self._maximum) - available
        return max(0.0, deficit / self._restore_rate)

    def acquire(self, cost: float) -> float:
        """Sleep until ``cost`` fits, debit it, and return the seconds slept."""
        delay = self.delay_for(cost)
        if delay < 0.001:  # float dust from refill arithmetic is not worth a sleep
            delay = 0.0
        else:
            log.debug("cost bucket: waiting %.2f s for %.0f points", delay, cost)
            self._sleep(delay)
        available = self.available()
        if available is not None:
            self._available = available - min(cost, self._maximum)
            self._at = self._monotonic()
        return delay


@dataclass(frozen=True)
class WebhookOutcome:
    """What a webhook handler did with one delivery; ``status`` is the HTTP answer to give."""

    status: int
    detail: str
    events: int = 0


class DeliveryLog(Protocol):
    """Remembers handled webhook deliveries; replace the in-memory default to share it across
    processes (a table, Redis)."""

    def seen(self, key: str) -> bool: ...

    def remember(self, key: str) -> None: ...


class RecentDeliveries:
    """The last ``size`` delivery ids, in memory. Older duplicates still do no harm: the
    ledger ignores events whose key it already has."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def seen(self, key: str) -> bool:
        return key in self._keys

    def remember(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)


def hmac_sha256(secret: str | bytes, body: bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, body, hashlib.sha256).digest()


def sign_base64(secret: str | bytes, body: bytes) -> str:
    """The base64 HMAC-SHA256 signature Shopify and WooCommerce put on webhook deliveries."""
    return base64.b64encode(hmac_sha256(secret, body)).decode("ascii")


def verify_hmac_base64(secret: str | bytes, body: bytes, signature: str | None) -> bool:
    """Constant-time check of a base64 HMAC-SHA256 over the raw body."""
    if not signature:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(hmac_sha256(secret, body), given)


def verify_hmac_hex(secret: str | bytes, body: bytes, signature: str | None) -> bool:
    """Constant-time check of a hex HMAC-SHA256 over the raw body."""
    if not signature:
        return False
    try:
        given = bytes.fromhex(signature.strip())
    except ValueError:
        return False
    return hmac.compare_digest(hmac_sha256(secret, body), given)
