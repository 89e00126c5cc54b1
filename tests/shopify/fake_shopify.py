"""A local Shopify Admin API for tests, over real HTTP on 127.0.0.1.

Documents are executed by graphql-core against Shopify's real 2025-01 schema, so a selection
the schema does not have fails here exactly as it would in a shop; only documents listed in
``documents.DOCUMENTS`` are accepted, so the adapter cannot send one the schema test misses.
The contract follows docs/platform-apis.md section A: cursor pagination sorted by
``updated_at`` with search-syntax filters, ``extensions.cost.throttleStatus`` on every answer,
THROTTLED as HTTP 200, 429 with Retry-After, 5xx, userErrors, bulk operations (run, poll,
JSONL download with ``__parentId`` children).

Faults are queued with :meth:`FakeShopify.fail` and consumed by the next matching request.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import graphql

from loyaltykit.adapters.shopify import documents

TOKEN = "shpat_fake_token_0123456789abcdef"
API_PATH = "/admin/api/2025-01/graphql.json"
_FILTER = re.compile(r"updated_at:(>=|<=|>|<)'([^']+)'")
KNOWN_DOCUMENTS = set(documents.DOCUMENTS.values())


@dataclass
class Fault:
    kind: str  # ok | throttled | 429 | 500 | 502 | drop | lost_answer | repeat_cursor | slow
    operation: str | None = None  # operation name to match; None matches any
    retry_after: str | None = None


@dataclass
class Call:
    operation: str | None
    variables: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeShopify:
    schema: graphql.GraphQLSchema
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    discounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    metafields: dict[tuple[str, str, str], str] = field(default_factory=dict)
    metafield_batches: list[int] = field(default_factory=list)
    bulk: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    downloads: list[dict[str, str]] = field(default_factory=list)
    available: float = 1000.0
    restore_rate: float = 50.0
    cost: int = 12
    max_cost_first: int | None = None  # pages larger than this exceed the max query cost
    bulk_polls: int = 1  # RUNNING answers before the operation ends
    bulk_end: tuple[str, str | None] = ("COMPLETED", None)  # (status, errorCode) it ends with
    url: str = ""
    # when set, tag and metafield writes move the customer's updatedAt there, as Shopify
    # moves it to the time of the write
    touched_at: str | None = None
    _repeat_cursor: bool = False

    def fail(self, kind: str, operation: str | None = None, *, times: int = 1,
             retry_after: str | None = None) -> None:
        self.faults.extend(Fault(kind, operation, retry_after) for _ in range(times))

    def operations(self) -> list[str | None]:
        return [c.operation for c in self.calls]

    # ------------------------------------------------------------------ HTTP
    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                fake._post(self)

            def do_GET(self) -> None:
                fake._get(self)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        body = json.loads(request.rfile.read(int(request.headers["Content-Length"])))
        operation = body.get("operationName")
        self.calls.append(Call(operation, body.get("variables") or {}, dict(request.headers)))
        if request.headers.get("X-Shopify-Access-Token") != TOKEN:
            return _send(request, 401, {"errors": "[API] Invalid API key or access token "
                                                  "(unrecognized login or wrong password)"})
        if body["query"] not in KNOWN_DOCUMENTS:
            return _send(request, 400, {"errors": "document not in documents.DOCUMENTS"})
        fault = self._take_fault(operation)
        kind = fault.kind if fault else None
        if kind in ("429", "500", "502"):
            headers = {"Retry-After": fault.retry_after} if fault and fault.retry_after else {}
            return _send(request, int(kind), {"errors": "Internal error"} if kind != "429"
                         else {"errors": "Exceeded 2 calls per second"}, headers)
        if kind == "throttled":
            return _send(request, 200, {
                "errors": [{"message": "Throttled", "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                "extensions": self._cost(available=self.cost / 4, actual=None)})
        if kind == "drop":
            request.close_connection = True
            return None
        if kind == "slow":
            time.sleep(0.5)
        first = (body.get("variables") or {}).get("first")
        if self.max_cost_first is not None and first and first > self.max_cost_first:
            return _send(request, 200, {"errors": [{
                "message": f"Query cost is {first * 10}, which exceeds the single query max "
                           "cost limit (1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": first * 10,
                               "maxCost": 1000}}]})
        self._repeat_cursor = kind == "repeat_cursor"
        result = graphql.graphql_sync(self.schema, body["query"], _Root(self),
                                      variable_values=body.get("variables"),
                                      operation_name=operation)
        if kind == "lost_answer":  # the work is done, the answer never arrives
            request.close_connection = True
            return None
        payload: dict[str, Any] = {"data": result.data, "extensions": self._cost()}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        return _send(request, 200, payload, {"X-Request-Id": "req-fake-1"})

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        self.downloads.append(dict(request.headers))
        match = re.fullmatch(r"/bulk/(\d+)\.jsonl\?.*", request.path)
        gid = f"gid://shopify/BulkOperation/{match.group(1)}" if match else ""
        operation = self.bulk.get(gid)
        if operation is None:
            return _send(request, 404, {"errors": "Not Found"})
        data = operation["jsonl"].encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/jsonl")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
        return None

    def _take_fault(self, operation: str | None) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.operation in (None, operation):
                return self.faults.pop(index)
        return None

    def _cost(self, *, available: float | None = None, actual: int | None = 0) -> dict[str, Any]:
        return {"cost": {
            "requestedQueryCost": self.cost,
            "actualQueryCost": self.cost if actual is not None else None,
            "throttleStatus": {"maximumAvailable": 1000.0,
                               "currentlyAvailable": self.available if available is None
                               else available,
                               "restoreRate": self.restore_rate}}}

    # ------------------------------------------------------------------ connections
    def page(self, records: dict[str, dict[str, Any]], first: int, after: str | None,
             query: str | None) -> dict[str, Any]:
        rows = sorted(records.values(), key=_order_key)
        for op, value in _FILTER.findall(query or ""):
            bound = _ts(value)
            rows = [r for r in rows if _compare(_ts(r["updatedAt"]), op, bound)]
        if after:
            last = json.loads(base64.b64decode(after))
            rows = [r for r in rows if list(_order_key(r)) > last]
        chunk, more = rows[:first], len(rows) > first
        end = _cursor(chunk[-1]) if chunk else None
        if self._repeat_cursor and after:
            end, more = after, True
        return {"nodes": chunk, "edges": [{"cursor": _cursor(n), "node": n} for n in chunk],
                "pageInfo": {"hasNextPage": more, "endCursor": end, "hasPreviousPage": False,
                             "startCursor": _cursor(chunk[0]) if chunk else None}}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is part of the tests, not an error


class _Root:
    """Resolvers for the root query and mutation fields the adapter uses."""

    def __init__(self, fake: FakeShopify) -> None:
        self.f = fake

    def customers(self, info: Any, first: int, after: str | None = None,
                  query: str | None = None, **_: Any) -> dict[str, Any]:
        return self.f.page(self.f.customers, first, after, query)

    def orders(self, info: Any, first: int, after: str | None = None,
               query: str | None = None, **_: Any) -> dict[str, Any]:
        return self.f.page(self.f.orders, first, after, query)

    def order(self, info: Any, id: str) -> dict[str, Any] | None:
        return self.f.orders.get(id)

    def customer(self, info: Any, id: str) -> dict[str, Any] | None:
        return self.f.customers.get(id)

    def node(self, info: Any, id: str) -> dict[str, Any] | None:
        operation = self.f.bulk.get(id)
        if operation is None:
            return None
        if operation["status"] in ("CREATED", "RUNNING"):
            if operation["polls_left"] > 0:
                operation["polls_left"] -= 1
                operation["status"] = "RUNNING"
            elif self.f.bulk_end[0] != "COMPLETED":
                operation["status"], operation["errorCode"] = self.f.bulk_end
            else:
                _complete(self.f, operation)
        return operation

    def currentBulkOperation(self, info: Any, **_: Any) -> dict[str, Any] | None:
        return list(self.f.bulk.values())[-1] if self.f.bulk else None

    def bulkOperationRunQuery(self, info: Any, query: str) -> dict[str, Any]:
        running = [o for o in self.f.bulk.values() if o["status"] in ("CREATED", "RUNNING")]
        if running:
            return {"bulkOperation": None, "userErrors": [{
                "code": "OPERATION_IN_PROGRESS", "field": None,
                "message": "A bulk query operation for this app and shop is already in "
                           f"progress: {running[0]['id']}"}]}
        gid = f"gid://shopify/BulkOperation/{len(self.f.bulk) + 1}"
        self.f.bulk[gid] = {"__typename": "BulkOperation", "id": gid, "status": "CREATED",
                            "query": query, "polls_left": self.f.bulk_polls, "objectCount": "0",
                            "errorCode": None, "url": None, "partialDataUrl": None,
                            "createdAt": "2024-06-01T00:00:00Z", "completedAt": None}
        return {"bulkOperation": self.f.bulk[gid], "userErrors": []}

    def bulkOperationCancel(self, info: Any, id: str) -> dict[str, Any]:
        self.f.bulk[id]["status"] = "CANCELED"
        return {"bulkOperation": self.f.bulk[id], "userErrors": []}

    def codeDiscountNodeByCode(self, info: Any, code: str) -> dict[str, Any] | None:
        return self.f.discounts.get(code)

    def discountCodeBasicCreate(self, info: Any, basicCodeDiscount: dict[str, Any]
                                ) -> dict[str, Any]:
        data = basicCodeDiscount
        if data["code"] in self.f.discounts:
            return {"codeDiscountNode": None, "userErrors": [{
                "code": "TAKEN", "field": ["basicCodeDiscount", "code"], "extraInfo": None,
                "message": "Code must be unique. Please try a different code."}]}
        percentage = data["customerGets"]["value"].get("percentage")
        if percentage is not None and not 0 <= percentage <= 1:
            return {"codeDiscountNode": None, "userErrors": [{
                "code": "VALUE_OUTSIDE_RANGE", "extraInfo": None,
                "field": ["basicCodeDiscount", "customerGets", "value", "percentage"],
                "message": "Value must be between 0.0 and 1.0"}]}
        node = {"id": f"gid://shopify/DiscountCodeNode/{len(self.f.discounts) + 1}",
                "input": data, "codeDiscount": {
                    "__typename": "DiscountCodeBasic", "title": data["title"],
                    "startsAt": data["startsAt"], "endsAt": data.get("endsAt"),
                    "usageLimit": data.get("usageLimit")}}
        self.f.discounts[data["code"]] = node
        return {"codeDiscountNode": node, "userErrors": []}

    def tagsAdd(self, info: Any, id: str, tags: list[str]) -> dict[str, Any]:
        return self._tags(id, lambda current: sorted(set(current) | set(tags)))

    def tagsRemove(self, info: Any, id: str, tags: list[str]) -> dict[str, Any]:
        return self._tags(id, lambda current: sorted(set(current) - set(tags)))

    def _tags(self, gid: str, change: Any) -> dict[str, Any]:
        customer = self.f.customers.get(gid)
        if customer is None:
            return {"node": None, "userErrors": [{"field": ["id"],
                                                  "message": "Customer does not exist"}]}
        customer["tags"] = change(customer["tags"])
        self._touch(gid)
        return {"node": {"__typename": "Customer", "id": gid}, "userErrors": []}

    def _touch(self, gid: str) -> None:
        if self.f.touched_at is not None:
            self.f.customers[gid]["updatedAt"] = self.f.touched_at

    def metafieldsSet(self, info: Any, metafields: list[dict[str, Any]]) -> dict[str, Any]:
        self.f.metafield_batches.append(len(metafields))
        errors = [{"code": "INVALID_VALUE", "elementIndex": i, "field": ["metafields", str(i)],
                   "message": "Owner does not exist"}
                  for i, m in enumerate(metafields) if m["ownerId"] not in self.f.customers]
        if len(metafields) > 25:
            errors.append({"code": "LESS_THAN_OR_EQUAL_TO", "elementIndex": None,
                           "field": ["metafields"], "message": "Exceeds 25 metafields"})
        if errors:  # atomic: nothing is written
            return {"metafields": None, "userErrors": errors}
        for m in metafields:
            self.f.metafields[(m["ownerId"], m["namespace"], m["key"])] = m["value"]
            self._touch(m["ownerId"])
        return {"metafields": [{"id": f"gid://shopify/Metafield/{i}", "key": m["key"]}
                               for i, m in enumerate(metafields)], "userErrors": []}


def _complete(fake: FakeShopify, operation: dict[str, Any]) -> None:
    lines: list[str] = []
    if "customers" in operation["query"].split("{", 2)[1]:
        roots: list[dict[str, Any]] = sorted(fake.customers.values(), key=_order_key)
        lines = [json.dumps(c) for c in roots]
    else:
        for order in sorted(fake.orders.values(), key=_order_key):
            plain = {k: v for k, v in order.items() if k != "lineItems"}
            lines.append(json.dumps(plain))
            for item in (order.get("lineItems") or {}).get("nodes", []):
                lines.append(json.dumps({**item, "__parentId": order["id"]}))
    number = operation["id"].rsplit("/", 1)[1]
    operation.update(status="COMPLETED", objectCount=str(len(lines)), jsonl="\n".join(lines) + "\n",
                     url=f"{fake.url}/bulk/{number}.jsonl?X-Goog-Signature=s3cr3tsig",
                     completedAt="2024-06-01T00:05:00Z")


def _send(request: BaseHTTPRequestHandler, status: int, payload: Any,
          headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(data)


def _order_key(record: dict[str, Any]) -> tuple[str, int]:
    return _ts(record["updatedAt"]).isoformat(), int(record["id"].rsplit("/", 1)[1])


def _cursor(record: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(list(_order_key(record))).encode()).decode()


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _compare(value: datetime, op: str, bound: datetime) -> bool:
    return {">=": value >= bound, "<=": value <= bound, ">": value > bound,
            "<": value < bound}[op]
