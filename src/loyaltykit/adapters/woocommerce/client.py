"""The WooCommerce REST API v3 client: the ``woocommerce`` package, made safe to run unattended.

``woocommerce`` 3.0.x builds the URL (``{url}/wp-json/wc/v3/{endpoint}``) and the OAuth 1.0a
signature; everything else about sending is replaced, because as shipped it

- never raises on an HTTP status: here every answer is classified into the error tree, with
  WooCommerce's own error code read from its body (``{"code", "message", "data": {"status"}}``);
- uses a flat 5 s timeout: here the shared transport's (connect, read) timeout is on every call;
- over plain http signs the query parameters into the URL *and* passes them again as
  ``params``, so each is sent twice: here only the signed URL is sent;
- with ``query_string_auth`` writes the key and secret into the caller's params dict and the
  URL (where server logs keep them): never used here; https sends HTTP Basic auth, the
  caller's params are copied and never touched.

Transient failures (429 with ``Retry-After``, 5xx, timeouts, dropped connections) are retried
by the shared :class:`~loyaltykit.adapters.http.RetryPolicy`; each attempt is signed afresh,
since WooCommerce refuses a repeated OAuth nonce.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import woocommerce
from requests.auth import HTTPBasicAuth

from loyaltykit.adapters.http import (
    HttpTransport,
    RetryPolicy,
    error_for_status,
)
from loyaltykit.adapters.woocommerce.config import ENV, WooSettings
from loyaltykit.errors import PermanentPlatformError, PlatformError

log = logging.getLogger(__name__)

API_VERSION = "wc/v3"
#: WooCommerce's maximum page size (``per_page`` is validated with ``maximum: 100``).
PER_PAGE = 100
#: ``woocommerce_rest_batch_items_limit``: create + update + delete per batch request.
BATCH_LIMIT = 100

HINTS = {
    401: f"WooCommerce rejected the API key: check {ENV['key']} and {ENV['secret']} "
         "(WooCommerce > Settings > Advanced > REST API); with an http:// address also check "
         "that the site does not redirect to https (then use the https address) and this "
         "machine's clock (OAuth timestamps must be within 15 minutes)",
    403: "the API key lacks a permission: give it Read/Write access",
}
NO_ROUTE = (f"no WooCommerce REST API at this address: check {ENV['url']} is the WordPress "
            "site root, WooCommerce is active and permalinks are not set to 'Plain'")

Record = dict[str, Any]


class _WooAPI(woocommerce.API):  # type: ignore[misc]
    """``woocommerce.API`` with its private sender (3.0.x: ``API.__request``) replaced.

    ``get``/``post``/``put``/``delete`` keep their signatures; they now return only answers
    that arrived (network failures raise platform errors) and never mutate ``params``.
    """

    def __init__(self, settings: WooSettings, transport: HttpTransport) -> None:
        super().__init__(settings.url, settings.key, settings.secret, version=API_VERSION,
                         wp_api=True, query_string_auth=False, timeout=transport.timeout,
                         user_agent=f"loyaltykit WooCommerce-Python-REST-API/"
                                    f"{woocommerce.__version__}")
        self._transport = transport

    def _API__request(self, method: str, endpoint: str, data: Any,
                      params: Mapping[str, Any] | None = None,
                      **kwargs: Any) -> requests.Response:
        if kwargs:
            raise TypeError(f"unsupported request options {sorted(kwargs)}")
        query = {name: _param(value) for name, value in (params or {}).items()}
        url = self._API__get_url(endpoint)
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        send: dict[str, str] | None = query or None
        auth = None
        if self.is_ssl:
            auth = HTTPBasicAuth(self.consumer_key, self.consumer_secret)
        else:  # WooCommerce accepts only OAuth 1.0a over plain http
            url = self._API__get_oauth_url(f"{url}?{urlencode(query)}" if query else url,
                                           method)
            send = None
        return self._transport.request(method, url, what=f"WooCommerce {method} {endpoint}",
                                       headers=headers, json=data, params=send, auth=auth,
                                       check=False)


@dataclass(frozen=True)
class ListPage:
    records: list[Record]
    page: int
    total_pages: int | None

    @property
    def next_page(self) -> int | None:
        """The next page number, from ``X-WP-TotalPages`` (or a full page when it is absent)."""
        if self.total_pages is None:
            return self.page + 1 if len(self.records) >= PER_PAGE else None
        return self.page + 1 if self.page < self.total_pages else None


@dataclass(frozen=True)
class BatchItem:
    """One entry of a batch answer: the stored object, or the error WooCommerce gave it."""

    record: Record | None
    error: PlatformError | None


class WooClient:
    """One store's REST API v3: JSON in and out, errors typed, transient failures retried."""

    def __init__(
        self, settings: WooSettings, *, retry: RetryPolicy | None = None,
        transport: HttpTransport | None = None,
    ) -> None:
        self.settings = settings
        self.redactor = settings.redactor()
        self._transport = transport or HttpTransport(redactor=self.redactor)
        self._retry = retry or RetryPolicy()
        self._api = _WooAPI(settings, self._transport)

    def __repr__(self) -> str:
        return f"WooClient(url={self.settings.url!r})"

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call("GET", endpoint, params=params)[0]

    def post(self, endpoint: str, data: Any) -> Any:
        return self._call("POST", endpoint, data=data)[0]

    def put(self, endpoint: str, data: Any) -> Any:
        return self._call("PUT", endpoint, data=data)[0]

    def get_page(self, endpoint: str, params: Mapping[str, Any], page: int) -> ListPage:
        """One page of a list, ``PER_PAGE`` records, with the page count WooCommerce reported."""
        body, headers = self._call(
            "GET", endpoint, params={**params, "per_page": PER_PAGE, "page": page})
        if not isinstance(body, list):
            raise PermanentPlatformError(f"WooCommerce GET {endpoint}: expected a list",
                                         code="bad_response")
        return ListPage(records=body, page=page,
                        total_pages=_int_header(headers, "X-WP-TotalPages"))

    def get_all(self, endpoint: str, params: Mapping[str, Any] | None = None
                ) -> Iterator[Record]:
        page: int | None = 1
        while page is not None:
            answer = self.get_page(endpoint, params or {}, page)
            yield from answer.records
            page = answer.next_page

    def batch(self, resource: str, *, create: Sequence[Mapping[str, Any]] = (),
              update: Sequence[Mapping[str, Any]] = ()) -> dict[str, list[BatchItem]]:
        """``POST {resource}/batch``; per-item failures come back per item, not raised."""
        if len(create) + len(update) > BATCH_LIMIT:
            raise ValueError(f"a WooCommerce batch takes at most {BATCH_LIMIT} items, "
                             f"got {len(create) + len(update)}")
        data: dict[str, Any] = {}
        if create:
            data["create"] = list(create)
        if update:
            data["update"] = list(update)
        answer = self.post(f"{resource}/batch", data)
        what = f"WooCommerce {resource}/batch"
        result: dict[str, list[BatchItem]] = {}
        for part, sent in data.items():
            entries = answer.get(part) if isinstance(answer, dict) else None
            if not isinstance(entries, list) or len(entries) != len(sent):
                raise PermanentPlatformError(
                    f"{what}: the answer has no '{part}' list matching the "
                    f"{len(sent)} items sent", code="bad_response")
            result[part] = [self._batch_item(entry, what) for entry in entries]
        return result

    def close(self) -> None:
        self._transport.close()

    # ------------------------------------------------------------------ internals

    def _call(self, method: str, endpoint: str, *, data: Any = None,
              params: Mapping[str, Any] | None = None) -> tuple[Any, Mapping[str, str]]:
        what = f"WooCommerce {method} {endpoint}"
        return self._retry.call(lambda: self._once(method, endpoint, data, params, what),
                                what=what)

    def _once(self, method: str, endpoint: str, data: Any, params: Mapping[str, Any] | None,
              what: str) -> tuple[Any, Mapping[str, str]]:
        if method == "GET":
            response = self._api.get(endpoint, params=params)
        elif method == "POST":
            response = self._api.post(endpoint, data, params=params)
        else:
            response = self._api.put(endpoint, data, params=params)
        with response:
            body = _json_or_none(response)
            if not 200 <= response.status_code < 300:
                raise self._error(response, body, what)
            if body is None:
                start = self.redactor.text(" ".join(response.text[:120].split()))
                raise PermanentPlatformError(
                    f"{what}: the answer is not JSON (it starts {start!r}); a PHP notice or "
                    f"a plugin may print before the API, or {ENV['url']} is not the site",
                    status=response.status_code, code="bad_response")
            return body, response.headers

    def _error(self, response: requests.Response, body: Any, what: str) -> PlatformError:
        code, message = _woo_error(body)
        hints = dict(HINTS)
        if code == "rest_no_route":
            hints[404] = NO_ROUTE
        error = error_for_status(
            response.status_code, what=what, headers=response.headers,
            body=message.rstrip(".") if message is not None else response.text,
            redactor=self.redactor,
            hints=hints, code=code)
        assert error is not None  # only called for non-2xx answers
        return error

    def _batch_item(self, entry: Any, what: str) -> BatchItem:
        if not isinstance(entry, dict):
            return BatchItem(None, PermanentPlatformError(f"{what}: unreadable item {entry!r}",
                                                          code="bad_response"))
        if "error" not in entry:
            return BatchItem(entry, None)
        code, message = _woo_error(entry["error"])
        status = _status_of(entry["error"])
        error = error_for_status(status, what=f"{what} item {entry.get('id') or ''}".rstrip(),
                                 headers={}, body=message or "", redactor=self.redactor,
                                 code=code)
        return BatchItem(None, error or PermanentPlatformError(
            f"{what}: item failed: {message}", code=code))


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return json.loads(response.content.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None


def _woo_error(body: Any) -> tuple[str | None, str | None]:
    """``(code, message)`` of WooCommerce's error envelope, or ``(None, None)``."""
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        message = body.get("message")
        return body["code"], str(message) if message is not None else None
    return None, None


def _status_of(error: Any) -> int:
    data = error.get("data") if isinstance(error, dict) else None
    status = data.get("status") if isinstance(data, dict) else None
    return status if isinstance(status, int) and status >= 400 else 400


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None
