"""Backfill of full history with Shopify's Bulk Operations API.

Paging through years of orders costs hours of rate-limited calls and hits Shopify's
25,000-object cursor depth; a bulk operation runs the query on Shopify's side and leaves a
JSONL file to download. Customers go first, then orders (one bulk query per shop at a time
on 2025-01). Nested connections (line items) come as their own lines with ``__parentId``,
after their parent; :func:`assemble` puts them back under it.

The backfill is resumable: its state (operation id per phase, lines of the file already
ingested) is a ledger cursor committed with each chunk of events, so after a crash the next
run polls the same operation and skips the lines it already took. When it finishes it hands
over to the incremental sync, whose next window starts just before the backfill began.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from loyaltykit.adapters.base import EventSink
from loyaltykit.adapters.http import RetryPolicy
from loyaltykit.adapters.shopify import documents
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.incremental import RESOURCES, cursor_name
from loyaltykit.adapters.shopify.mapping import Node, customer_events, order_events
from loyaltykit.adapters.sync import Checkpoint
from loyaltykit.clock import Clock
from loyaltykit.errors import PermanentPlatformError, TransientPlatformError
from loyaltykit.events import Event

log = logging.getLogger(__name__)

TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})
QUERIES = {"customers": documents.BULK_CUSTOMERS, "orders": documents.BULK_ORDERS}
_CHILD_CONNECTIONS = {"LineItem": "lineItems"}


@dataclass
class Phase:
    name: str
    operation: str | None = None
    lines: int = 0
    done: bool = False


@dataclass
class BackfillState:
    started: datetime
    phases: list[Phase] = field(default_factory=lambda: [Phase(name) for name in RESOURCES])
    done: bool = False

    def dumps(self) -> str:
        return json.dumps({"v": 1, "started": self.started.isoformat(), "done": self.done,
                           "phases": [asdict(p) for p in self.phases]}, sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> BackfillState:
        data = json.loads(text)
        return cls(started=datetime.fromisoformat(data["started"]), done=data["done"],
                   phases=[Phase(**p) for p in data["phases"]])


@dataclass
class BackfillReport:
    objects: dict[str, int] = field(default_factory=dict)
    new: int = 0
    duplicate: int = 0
    already_done: bool = False


class Backfill:
    """Runs (or resumes) one shop's backfill; see the module docstring."""

    def __init__(
        self, client: ShopifyClient, sink: EventSink, *, clock: Clock,
        sleep: Callable[[float], None] = time.sleep, poll_interval: float = 5.0,
        chunk_size: int = 250, include_test: bool = False, retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._sink = sink
        self._clock = clock
        self._sleep = sleep
        self._poll_interval = poll_interval
        self._chunk_size = chunk_size
        self._retry = retry or RetryPolicy(sleep=sleep)
        self._cursor = cursor_name(client.settings.shop_key, "backfill")
        self._to_events: dict[str, Callable[[Node], list[Event]]] = {
            "customers": customer_events,
            "orders": lambda node: order_events(node, include_test=include_test),
        }

    def run(self, *, restart: bool = False) -> BackfillReport:
        report = BackfillReport()
        saved = self._sink.cursor(self._cursor)
        state = BackfillState.loads(saved) if saved else None
        if state is not None and restart:
            self._cancel_running(state)
        if state is None or restart:
            state = BackfillState(started=self._clock.now())
            self._commit(state, [], report)
        elif state.done:
            report.already_done = True
            return report
        for phase in state.phases:
            if not phase.done:
                self._run_phase(state, phase, report)
        self._hand_over(state.started)
        state.done = True
        self._commit(state, [], report)
        return report

    def _run_phase(self, state: BackfillState, phase: Phase, report: BackfillReport) -> None:
        if phase.operation is None:
            phase.operation = self._start(QUERIES[phase.name])
            self._commit(state, [], report)
        operation = self._wait(phase.operation)
        if operation["status"] == "COMPLETED":
            report.objects.setdefault(phase.name, 0)
            url = operation.get("url")
            if url:  # no url: the query matched nothing
                self._retry.call(lambda: self._ingest(state, phase, url, report),
                                 what=f"Shopify backfill of {phase.name}")
            phase.done = True
            self._commit(state, [], report)
            return
        phase.operation, phase.lines = None, 0
        self._commit(state, [], report)
        message = (f"Shopify bulk query for {phase.name} ended {operation['status']}"
                   f" ({operation.get('errorCode') or 'no error code'}); run the backfill "
                   "again to start this part over")
        if operation.get("errorCode") == "ACCESS_DENIED":
            raise PermanentPlatformError(message, code="ACCESS_DENIED")
        raise TransientPlatformError(message, code=operation["status"])

    def _start(self, query: str) -> str:
        payload = self._client.execute(documents.BULK_RUN, {"query": query})
        result = payload["bulkOperationRunQuery"]
        errors = result["userErrors"]
        if not errors:
            return str(result["bulkOperation"]["id"])
        if any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
            current = self._client.execute(documents.CURRENT_BULK)["currentBulkOperation"]
            if (current and current.get("status") in ("CREATED", "RUNNING")
                    and _same_query(current.get("query", ""), query)):
                # Ours: a previous run started it and stopped before recording its id.
                return str(current["id"])
            raise TransientPlatformError(
                "another bulk query is running for this app on this shop; wait for it to "
                "finish or cancel it, then run the backfill again", code="OPERATION_IN_PROGRESS")
        text = "; ".join(str(e.get("message")) for e in errors)
        raise PermanentPlatformError(f"Shopify refused the bulk query: {text}",
                                     code=errors[0].get("code"))

    def _wait(self, operation_id: str) -> dict[str, Any]:
        while True:
            node = self._client.execute(documents.BULK_POLL, {"id": operation_id})["node"]
            if node is None:
                raise PermanentPlatformError(f"bulk operation {operation_id} no longer exists")
            if node["status"] in TERMINAL:
                return dict(node)
            log.info("bulk operation %s: %s, %s objects so far", operation_id, node["status"],
                     node.get("objectCount"))
            self._sleep(self._poll_interval)

    def _ingest(self, state: BackfillState, phase: Phase, url: str,
                report: BackfillReport) -> None:
        to_events = self._to_events[phase.name]
        lines = itertools.islice(self._client.download_lines(url), phase.lines, None)
        batch: list[Event] = []
        roots, consumed = 0, phase.lines
        for root, consumed in assemble(lines, offset=phase.lines):
            batch.extend(to_events(root))
            roots += 1
            report.objects[phase.name] = report.objects.get(phase.name, 0) + 1
            if roots >= self._chunk_size:
                self._flush(state, phase, consumed, batch, report)
                batch, roots = [], 0
        self._flush(state, phase, consumed, batch, report)

    def _flush(self, state: BackfillState, phase: Phase, lines: int, events: list[Event],
               report: BackfillReport) -> None:
        """Commit events with the line count reached; memory follows only on success, so a
        retried download resumes after the last chunk that is really in the ledger."""
        previous, phase.lines = phase.lines, lines
        try:
            self._commit(state, events, report)
        except BaseException:
            phase.lines = previous
            raise

    def _commit(self, state: BackfillState, events: list[Event], report: BackfillReport) -> None:
        result = self._sink.ingest(events, cursor=(self._cursor, state.dumps()))
        report.new += result.new
        report.duplicate += result.duplicate

    def _hand_over(self, started: datetime) -> None:
        """Start incremental syncs just before the backfill began, unless they are ahead."""
        for resource in RESOURCES:
            name = cursor_name(self._client.settings.shop_key, resource)
            checkpoint = Checkpoint.loads(self._sink.cursor(name))
            if checkpoint.window is None and (checkpoint.high is None or checkpoint.high < started):
                handed = Checkpoint(high=started, seen=checkpoint.seen)
                self._sink.ingest([], cursor=(name, handed.dumps()))

    def _cancel_running(self, state: BackfillState) -> None:
        for phase in state.phases:
            if phase.operation and not phase.done:
                self._client.execute(documents.BULK_CANCEL, {"id": phase.operation})


def assemble(lines: Iterable[str], *, offset: int = 0) -> Iterator[tuple[dict[str, Any], int]]:
    """Yield each root object with its ``__parentId`` children attached, and the number of
    lines consumed through it (so a resumed run can skip exactly that many)."""
    current: dict[str, Any] | None = None
    position = offset - 1
    for position, line in enumerate(lines, start=offset):
        try:
            record = json.loads(line)
        except ValueError:
            raise PermanentPlatformError(f"bulk result line {position + 1} is not JSON",
                                         code="bulk_format") from None
        parent = record.pop("__parentId", None)
        if parent is None:
            if current is not None:
                yield current, position
            current = record
        elif current is not None and parent == current.get("id"):
            _attach(current, record)
        else:
            raise PermanentPlatformError(
                f"bulk result line {position + 1}: child of {parent} does not follow its parent",
                code="bulk_format")
    if current is not None:
        yield current, position + 1


def _attach(parent: dict[str, Any], child: dict[str, Any]) -> None:
    kind = str(child.get("id", "")).rsplit("/", 2)[-2] if "/" in str(child.get("id")) else ""
    name = _CHILD_CONNECTIONS.get(kind)
    if name:
        bucket = parent.setdefault(name, {"nodes": [], "pageInfo": {"hasNextPage": False}})
        bucket["nodes"].append(child)


def _same_query(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())
