"""A local WooCommerce REST API v3 for tests, over real HTTP on 127.0.0.1.

It serves the official example payloads (tests/fixtures/woocommerce, copied verbatim from the
REST API docs) and follows the contract in docs/platform-apis.md section B:

- authentication as WooCommerce core does it over plain http: OAuth 1.0a one-legged, the
  signature recomputed with core's algorithm (``check_oauth_signature``: parameters sorted,
  RFC 3986-encoded, joined, HMAC with ``secret&``), timestamps within 15 minutes, nonces
  refused when reused; HTTP Basic is accepted too;
- lists: ``page``/``per_page`` (1..100, else 400 ``rest_invalid_param``), ``X-WP-Total``,
  ``X-WP-TotalPages``, ``Link`` rel=next/prev; orders filtered by ``modified_after`` against
  ``date_modified_gmt`` only with ``dates_are_gmt=true`` (site-local ``date_modified``
  otherwise, as in core), ``status`` (default any, which excludes trash), ``orderby``/``order``;
  customers by ``role`` (default customer) and ``include``;
- errors as ``{"code", "message", "data": {"status"}}``; batches limited to 100 items (413
  ``woocommerce_rest_request_entity_too_large``) with per-item errors inside a 200 answer;
  duplicate coupon codes refused with ``woocommerce_rest_coupon_code_already_exists``, codes
  stored lower-cased as ``wc_format_coupon_code`` does.

Faults are queued with :meth:`FakeWoo.fail` and consumed by the next matching request:
an HTTP status with a Woo error body (429 carries ``Retry-After``), ``drop`` (the request is
processed, then the connection closed without an answer: a lost response), ``stall``
(answer late), ``html`` (a 200 that is not JSON).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

FIXTURES = Path(__file__).parent.parent / "fixtures" / "woocommerce"
KEY = "ck_0123456789abcdef0123456789abcdef01234567"
SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"
PREFIX = "/wp-json/wc/v3/"
SITE_OFFSET = timedelta(hours=-3)  # the examples' site-local times are GMT-3


def example(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def gmt(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _rfc3986(text: str) -> str:
    return quote(text, safe="~")


def oauth_signature(method: str, base_url: str, params: dict[str, str], secret: str) -> str:
    """WooCommerce core's server-side computation (class-wc-rest-authentication.php)."""
    normalized = {_rfc3986(k): _rfc3986(v) for k, v in sorted(params.items())}
    query = "%26".join(_rfc3986(f"{k}={v}") for k, v in normalized.items())
    to_sign = f"{method}&{_rfc3986(base_url)}&{query}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Answer(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def woo_error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"code": code, "message": message, "data": {"status": status}})


@dataclass
class Fault:
    kind: str  # "status" | "drop" | "stall" | "html"
    method: str
    path: str  # endpoint prefix, e.g. "orders" or "coupons/batch"
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class Request:
    method: str
    endpoint: str
    query: list[tuple[str, str]]
    body: Any
    auth: str


@dataclass
class FakeWoo:
    key: str = KEY
    secret: str = SECRET
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    coupons: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    batch_limit: int = 100
    url: str = ""
    _next_id: int = 5000

    # ------------------------------------------------------------------ data

    @classmethod
    def with_examples(cls) -> FakeWoo:
        fake = cls()
        for order in example("orders__list-all-orders"):
            fake.orders[order["id"]] = order
        fake.refunds[723] = example("order-refunds__list-all-refunds")
        for customer in example("customers__list-all-customers"):
            fake.customers[customer["id"]] = customer
        return fake

    def add_order(self, order_id: int, *, customer_id: int, status: str, total: str,
                  modified: datetime, paid: datetime | None = None,
                  refunds: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
        """An order shaped like example 723, with the fields a test varies."""
        order = copy.deepcopy(example("orders__list-all-orders")[1])
        refund_list = list(refunds)
        order.update(id=order_id, number=str(order_id), customer_id=customer_id, status=status,
                     total=total, refunds=[{"id": r["id"], "refund": "", "total": f"-{r['amount']}"}
                                           for r in refund_list])
        self._stamp(order, "date_created", modified)
        self._stamp(order, "date_modified", modified)
        self._stamp(order, "date_paid", paid)
        self.orders[order_id] = order
        self.refunds[order_id] = refund_list
        return order

    def update_order(self, order_id: int, at: datetime, **changes: Any) -> None:
        self.orders[order_id].update(changes)
        self._stamp(self.orders[order_id], "date_modified", at)

    def add_customer(self, customer_id: int, *, email: str, modified: datetime,
                     role: str = "customer") -> dict[str, Any]:
        customer = copy.deepcopy(example("customers__retrieve-a-customer"))
        customer.update(id=customer_id, email=email, role=role, username=email.split("@")[0])
        self._stamp(customer, "date_created", modified)
        self._stamp(customer, "date_modified", modified)
        self.customers[customer_id] = customer
        return customer

    @staticmethod
    def _stamp(record: dict[str, Any], name: str, at: datetime | None) -> None:
        record[f"{name}_gmt"] = gmt(at) if at else None
        record[name] = gmt(at + SITE_OFFSET) if at else None

    def meta(self, record: dict[str, Any]) -> dict[str, Any]:
        return {m["key"]: m["value"] for m in record.get("meta_data") or []}

    def fail(self, kind: str, method: str, path: str, *, times: int = 1, status: int = 500,
             retry_after: str | None = None, seconds: float = 0.0) -> None:
        self.faults.extend(Fault(kind, method, path, status, retry_after, seconds)
                           for _ in range(times))

    def calls(self, method: str, endpoint: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.endpoint == endpoint]

    # ------------------------------------------------------------------ HTTP

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

            def do_PUT(self) -> None:
                fake._serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        with self._lock:
            fault = self._take_fault(handler.command, parts.path)
            try:
                if not parts.path.startswith(PREFIX):
                    raise woo_error(404, "rest_no_route",
                                    "No route was found matching the URL and request method.")
                endpoint = parts.path[len(PREFIX):]
                auth = self._authenticate(handler, parts.path, query)
                body = json.loads(raw) if raw else None
                self.requests.append(Request(handler.command, endpoint, query, body, auth))
                if fault is not None and fault.kind == "status":
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    answer = woo_error(fault.status, "fake_fault", "Injected failure")
                    raise Answer(answer.status, answer.body, headers)
                status, payload, headers = 200, self._route(handler.command, endpoint,
                                                             dict(query), body), {}
            except Answer as answer:
                status, payload, headers = answer.status, answer.body, answer.headers
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.seconds)
        text = (b"<html>Maintenance</html>" if fault is not None and fault.kind == "html"
                else json.dumps(payload).encode())
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(text)))
        handler.end_headers()
        handler.wfile.write(text)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        endpoint = path[len(PREFIX):] if path.startswith(PREFIX) else path
        for index, fault in enumerate(self.faults):
            if fault.method == method and endpoint.startswith(fault.path):
                return self.faults.pop(index)
        return None

    def _authenticate(self, handler: BaseHTTPRequestHandler, path: str,
                      query: list[tuple[str, str]]) -> str:
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            if key != self.key or secret != self.secret:
                raise woo_error(401, "woocommerce_rest_authentication_error",
                                "Consumer secret is invalid.")
            return "basic"
        params = dict(query)  # PHP's $_GET: a repeated name keeps its last value
        if "oauth_signature" not in params:
            raise woo_error(401, "woocommerce_rest_cannot_view",
                            "Sorry, you cannot list resources.")
        if params.get("oauth_consumer_key") != self.key:
            raise woo_error(401, "woocommerce_rest_authentication_error",
                            "Consumer key is invalid.")
        given = params.pop("oauth_signature")
        expected = oauth_signature(handler.command, f"{self.url}{path}", params, self.secret)
        if not hmac.compare_digest(given, expected):
            raise woo_error(401, "woocommerce_rest_authentication_error",
                            "Invalid signature - provided signature does not match.")
        if abs(int(params["oauth_timestamp"]) - time.time()) > 15 * 60:
            raise woo_error(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
        if params["oauth_nonce"] in self.nonces:
            raise woo_error(401, "woocommerce_rest_authentication_error",
                            "Invalid nonce - nonce has already been used.")
        self.nonces.add(params["oauth_nonce"])
        return "oauth"

    # ------------------------------------------------------------------ routes

    def _route(self, method: str, endpoint: str, q: dict[str, str], body: Any) -> Any:
        segments = endpoint.strip("/").split("/")
        if method == "GET" and segments == ["orders"]:
            return self._list(self._orders(q), q)
        if method == "GET" and len(segments) == 2 and segments[0] == "orders":
            return self._get(self.orders, segments[1], "shop_order")
        if method == "GET" and len(segments) == 3 and segments[::2] == ["orders", "refunds"]:
            order = self._get(self.orders, segments[1], "shop_order")
            return self._list(self.refunds.get(order["id"], []), q)
        if method == "GET" and segments == ["customers"]:
            return self._list(self._customers(q), q)
        if method == "GET" and len(segments) == 2 and segments[0] == "customers":
            return self._get(self.customers, segments[1], "user")
        if method == "PUT" and len(segments) == 2 and segments[0] == "customers":
            return self._update_customer(self._get(self.customers, segments[1], "user"), body)
        if method == "GET" and segments == ["coupons"]:
            code = q.get("code", "").lower()
            return self._list([c for c in self.coupons.values()
                               if not code or c["code"] == code], q)
        if method == "POST" and segments == ["coupons"]:
            return self._create_coupon(body)
        if method == "POST" and len(segments) == 2 and segments[1] == "batch":
            return self._batch(segments[0], body or {})
        raise woo_error(404, "rest_no_route",
                        "No route was found matching the URL and request method.")

    def _list(self, records: list[dict[str, Any]], q: dict[str, str]) -> Any:
        per_page, page = int(q.get("per_page", "10")), int(q.get("page", "1"))
        if not 1 <= per_page <= 100:
            raise woo_error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        total = len(records)
        pages = (total + per_page - 1) // per_page
        links = []
        if page < pages:
            links.append(f'<{self.url}{PREFIX}?page={page + 1}>; rel="next"')
        if page > 1:
            links.append(f'<{self.url}{PREFIX}?page={page - 1}>; rel="prev"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        raise Answer(200, records[(page - 1) * per_page: page * per_page], headers)

    def _orders(self, q: dict[str, str]) -> list[dict[str, Any]]:
        field_name = "date_modified_gmt" if q.get("dates_are_gmt") == "true" else "date_modified"
        statuses = set(q.get("status", "any").split(","))
        found = [o for o in self.orders.values()
                 if (o["status"] != "trash" if "any" in statuses else o["status"] in statuses)]
        if "modified_after" in q:
            found = [o for o in found if o[field_name] > q["modified_after"]]
        key = {"id": "id", "modified": "date_modified_gmt"}.get(q.get("orderby", "date"),
                                                                "date_created_gmt")
        return sorted(found, key=lambda o: (o[key], o["id"]), reverse=q.get("order") != "asc")

    def _customers(self, q: dict[str, str]) -> list[dict[str, Any]]:
        role = q.get("role", "customer")
        found = [c for c in self.customers.values() if role == "all" or c["role"] == role]
        if q.get("include"):
            wanted = {int(i) for i in q["include"].split(",")}
            found = [c for c in found if c["id"] in wanted]
        return sorted(found, key=lambda c: c["id"], reverse=q.get("order") == "desc")

    def _get(self, table: dict[int, dict[str, Any]], raw_id: str, kind: str) -> dict[str, Any]:
        record = table.get(int(raw_id)) if raw_id.isdigit() else None
        if record is None:
            raise woo_error(404, f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.")
        return record

    def _update_customer(self, customer: dict[str, Any], body: dict[str, Any]) -> Any:
        meta = customer.setdefault("meta_data", [])
        for item in body.get("meta_data") or []:
            existing = next((m for m in meta if m["key"] == item["key"]), None)
            if existing is None:
                self._next_id += 1
                meta.append({"id": self._next_id, "key": item["key"], "value": item["value"]})
            else:
                existing["value"] = item["value"]
        self._stamp(customer, "date_modified", datetime.now(timezone.utc))
        return customer

    def _create_coupon(self, body: dict[str, Any]) -> Any:
        code = str(body.get("code") or "").strip().lower()
        if not code:
            raise woo_error(400, "woocommerce_rest_empty_coupon_code",
                            "The coupon code cannot be empty.")
        if any(c["code"] == code for c in self.coupons.values()):
            raise woo_error(400, "woocommerce_rest_coupon_code_already_exists",
                            "The coupon code already exists")
        coupon = copy.deepcopy(example("coupons__create-a-coupon"))
        self._next_id += 1
        coupon.update(body, id=self._next_id, code=code, usage_count=0, used_by=[])
        coupon["meta_data"] = [{"id": self._next_id + 100_000 + i, **m}
                               for i, m in enumerate(body.get("meta_data") or [])]
        self.coupons[coupon["id"]] = coupon
        return coupon

    def _batch(self, resource: str, body: dict[str, Any]) -> Any:
        count = sum(len(body.get(part) or []) for part in ("create", "update", "delete"))
        if count > self.batch_limit:
            raise woo_error(413, "woocommerce_rest_request_entity_too_large",
                            f"Unable to accept more than {self.batch_limit} items for this "
                            "request.")
        answer: dict[str, list[Any]] = {}
        for part in ("create", "update"):
            if part not in body:
                continue
            answer[part] = []
            for item in body[part]:
                try:
                    if resource == "coupons" and part == "create":
                        answer[part].append(self._create_coupon(item))
                    elif resource == "customers" and part == "update":
                        customer = self._get(self.customers, str(item.get("id", "")),
                                             "user")
                        answer[part].append(self._update_customer(customer, item))
                    else:
                        raise woo_error(400, "fake_unsupported", f"{resource} {part}")
                except Answer as failed:
                    answer[part].append({"id": item.get("id", 0), "error": failed.body})
        return answer
