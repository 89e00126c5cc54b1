"""The Admin GraphQL client: ShopifyAPI's Session and GraphQL, made safe to run unattended.

:class:`ShopifyClient` adds what a sync needs around each call: pacing against the cost
bucket Shopify reports in ``extensions.cost.throttleStatus``, retries of THROTTLED (which
Shopify answers with HTTP 200), 429 and 5xx, and GraphQL errors classified into the
platform error tree. Auth failures are permanent and raised on the first answer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import requests
import shopify

from loyaltykit.adapters.http import (
    CostBucket,
    HttpTransport,
    RetryLater,
    RetryPolicy,
    translate_request_exception,
)
from loyaltykit.adapters.shopify.config import ShopifySettings
from loyaltykit.errors import (
    ConfigurationError,
    PermanentPlatformError,
    PlatformError,
    TransientPlatformError,
)

log = logging.getLogger(__name__)

SCOPES = ("read_customers", "read_orders", "read_all_orders", "write_discounts",
          "write_customers")

HINTS = {
    401: "Shopify rejected the access token: check LOYALTYKIT_SHOPIFY_TOKEN (an Admin API "
         "access token) and that the app is still installed on the shop",
    402: "the shop is frozen until its Shopify bill is paid",
    403: f"the token lacks an access scope; the adapter needs {', '.join(SCOPES)}",
    404: "no such shop or API version: check LOYALTYKIT_SHOPIFY_SHOP and the API version",
    423: "the shop is locked by Shopify",
}

_TRANSIENT_CODES = {"THROTTLED", "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"}
_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)", re.M)


class _GraphQL(shopify.GraphQL):  # type: ignore[misc]
    """ShopifyAPI's ``GraphQL`` executor with its transport replaced.

    Upstream ``GraphQL.execute`` (ShopifyAPI 12.7) sends with ``urllib.request.urlopen`` and
    no timeout, so a stalled connection blocks a sync forever; on any non-2xx answer it
    prints the body to stdout before re-raising; and it reads endpoint and token from the
    process-wide ``ShopifyResource`` session. This subclass keeps the public contract
    (``execute(query, variables, operation_name) -> str``, same JSON body and headers) but
    takes its ``shopify.Session`` explicitly, so several shops can be served in one process
    without touching global state, and sends through the shared
    :class:`~loyaltykit.adapters.http.HttpTransport`: a timeout on every request, nothing
    printed, failures raised as platform errors with the token redacted.
    """

    def __init__(self, session: Any, transport: HttpTransport, endpoint: str | None) -> None:
        # super().__init__ is skipped on purpose: it reads the global active session.
        self.endpoint = endpoint or f"{session.site}/graphql.json"
        self.headers = {"X-Shopify-Access-Token": session.token}
        self._transport = transport
        self._what = f"Shopify GraphQL call to {session.url}"

    def execute(self, query: str, variables: Mapping[str, Any] | None = None,
                operation_name: str | None = None) -> str:
        headers = self.merge_headers(
            {"Accept": "application/json", "Content-Type": "application/json",
             "User-Agent": f"loyaltykit ShopifyPythonAPI/{shopify.VERSION}"},
            self.headers)
        body = {"query": query, "variables": variables, "operationName": operation_name}
        what = f"{self._what} ({operation_name or 'anonymous'})"
        response = self._transport.request(
            "POST", self.endpoint, what=what, headers=headers, json=body, hints=HINTS)
        return response.text


class ShopifyClient:
    """One shop's Admin GraphQL API, paced and retried; returns the ``data`` object."""

    def __init__(
        self, settings: ShopifySettings, *, retry: RetryPolicy | None = None,
        transport: HttpTransport | None = None, bucket: CostBucket | None = None,
    ) -> None:
        self.settings = settings
        self.redactor = settings.redactor()
        self._transport = transport or HttpTransport(redactor=self.redactor)
        self._retry = retry or RetryPolicy()
        self._bucket = bucket or CostBucket(sleep=self._retry.sleep)
        self._graphql = _GraphQL(_session(settings), self._transport, settings.api_url)
        self._costs: dict[str, float] = {}

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a document; THROTTLED, 429, 5xx and dropped connections are retried."""
        name = operation_name(document)
        return self._retry.call(lambda: self._execute_once(document, variables, name),
                                what=f"Shopify {name or 'query'}")

    def _execute_once(self, document: str, variables: Mapping[str, Any] | None,
                      name: str | None) -> dict[str, Any]:
        self._bucket.acquire(self._costs.get(document, 0.0))
        raw = self._graphql.execute(document, dict(variables or {}), name)
        try:
            payload = json.loads(raw)
        except ValueError:
            raise TransientPlatformError(f"Shopify {name}: the answer was not JSON",
                                         code="bad_response") from None
        requested = self._observe_cost(document, payload)
        errors = payload.get("errors")
        if errors:
            raise self._graphql_error(name, errors, requested)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise PermanentPlatformError(f"Shopify {name}: the answer has no data",
                                         code="bad_response")
        return data

    def _observe_cost(self, document: str, payload: Mapping[str, Any]) -> float | None:
        cost = (payload.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus")
        if status:
            self._bucket.observe(maximum=status["maximumAvailable"],
                                 available=status["currentlyAvailable"],
                                 restore_rate=status["restoreRate"])
        requested = cost.get("requestedQueryCost")
        if requested is not None:
            self._costs[document] = float(requested)
            log.debug("shopify cost: requested %s, actual %s, available %s", requested,
                      cost.get("actualQueryCost"), status and status.get("currentlyAvailable"))
            return float(requested)
        return None

    def _graphql_error(self, name: str | None, errors: Any, requested: float | None
                       ) -> PlatformError:
        if not isinstance(errors, list):
            errors = [errors]
        errors = [e if isinstance(e, dict) else {"message": str(e)} for e in errors]
        codes = [str((e.get("extensions") or {}).get("code") or "") for e in errors]
        text = self.redactor.text("; ".join(str(e.get("message", "")) for e in errors))[:500]
        message = f"Shopify {name}: {text}"
        code = next((c for c in codes if c), None)
        if "THROTTLED" in codes:
            wait = self._bucket.delay_for(requested) if requested is not None else None
            return RetryLater(message, retry_after=wait, code="THROTTLED")
        if code in _TRANSIENT_CODES:
            return TransientPlatformError(message, code=code)
        if code == "ACCESS_DENIED":
            message += f" (the token needs the access scopes {', '.join(SCOPES)})"
        return PermanentPlatformError(message, code=code)

    def download_lines(self, url: str) -> Iterator[str]:
        """Stream a bulk operation's JSONL result; the access token is not sent there."""
        what = "Shopify bulk result download"
        response = self._transport.request("GET", url, what=what, stream=True)
        with response:
            try:
                for line in response.iter_lines(decode_unicode=True):
                    if line:
                        yield line
            except requests.RequestException as exc:
                raise translate_request_exception(exc, what=what, redactor=self.redactor
                                                  ) from None

    def close(self) -> None:
        self._transport.close()


def operation_name(document: str) -> str | None:
    match = _OPERATION.search(document)
    return match.group(1) if match else None


def _session(settings: ShopifySettings) -> Any:
    try:
        session = shopify.Session(settings.shop, settings.api_version, settings.token)
    except (shopify.VersionNotFoundError, TypeError):
        raise ConfigurationError(
            f"Shopify API version {settings.api_version!r} is not a version: use the form "
            "YYYY-MM, e.g. 2025-01") from None
    if session.url is None:
        raise ConfigurationError(
            f"Shopify shop {settings.shop!r} is not a shop: use the shop handle or its "
            "myshopify.com domain, e.g. mystore or mystore.myshopify.com")
    return session
