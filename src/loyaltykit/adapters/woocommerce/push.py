"""Push outbox commands to WooCommerce: personal coupons and customer meta.

- :class:`~loyaltykit.commands.IssueDiscount` becomes a coupon (``POST /coupons/batch``, up to
  100 per call) restricted to the customer's email (``email_restrictions``), with
  ``usage_limit``/``usage_limit_per_user`` and ``date_expires_gmt``. WooCommerce coupons have
  no start date: a coupon is usable as soon as it is pushed. Its code is derived from the
  command key, so a create retried after a lost answer meets
  ``woocommerce_rest_coupon_code_already_exists``; the coupon with that code is then looked up
  and, if it carries this command's key in its ``_loyaltykit_command`` meta, the command counts
  as delivered. A code taken by a coupon loyaltykit did not create is a permanent failure.
- :class:`~loyaltykit.commands.SetCustomerTags` and
  :class:`~loyaltykit.commands.UpdateCustomerProfile` become customer ``meta_data``
  (``POST /customers/batch``): ``_loyaltykit_tags`` (comma-separated), ``_loyaltykit_tier``,
  ``_loyaltykit_points``, ``_loyaltykit_segment`` and ``_loyaltykit_as_of``. Meta is set by
  key, so sending again changes nothing; a profile older than the one already on the
  customer (``_loyaltykit_as_of``) is skipped, so a late retry cannot roll it back.

Failures are per item: WooCommerce answers a batch with 200 and an ``error`` per failed item,
and each command is marked sent or failed by itself. A batch refused as a whole with 400 is
re-sent item by item to find the bad one. Errors that would fail every item (bad key, missing
permission, no API at the address) stop the push and leave the items pending; so does a
store still unavailable after retries, with the items marked retriable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyaltykit.adapters.base import OutboxItem, OutboxSource
from loyaltykit.adapters.woocommerce.client import BATCH_LIMIT, BatchItem, Record, WooClient
from loyaltykit.adapters.woocommerce.mapping import gmt_text
from loyaltykit.commands import IssueDiscount, SetCustomerTags, UpdateCustomerProfile
from loyaltykit.errors import PermanentPlatformError, PlatformError

log = logging.getLogger(__name__)

KINDS = ("issue_discount", "set_customer_tags", "update_customer_profile")
COMMAND_META = "_loyaltykit_command"
META = {"tags": "_loyaltykit_tags", "tier": "_loyaltykit_tier",
        "points": "_loyaltykit_points", "segment": "_loyaltykit_segment",
        "as_of": "_loyaltykit_as_of"}
ALREADY_EXISTS = "woocommerce_rest_coupon_code_already_exists"
_FATAL_STATUS = frozenset({401, 403, 404})


@dataclass(frozen=True)
class Call:
    """One write the push makes (or, with ``dry_run``, would make)."""

    method: str
    endpoint: str
    body: dict[str, Any]
    items: tuple[int, ...]


@dataclass
class PushReport:
    sent: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    retriable: list[tuple[int, str]] = field(default_factory=list)
    stopped: str | None = None
    calls: list[Call] = field(default_factory=list)


def coupon_payload(command: IssueDiscount, email: str) -> dict[str, Any]:
    """The ``POST /coupons`` body for a personal coupon."""
    if command.value_type == "percentage":
        if not Decimal(0) < command.value <= Decimal(100):
            raise PermanentPlatformError(
                f"{command.key}: percentage {command.value} is not between 0 and 100",
                code="invalid_command")
        discount_type = "percent"
    elif command.value_type == "fixed_amount":
        if command.value <= 0:
            raise PermanentPlatformError(f"{command.key}: amount {command.value} is not "
                                         "positive", code="invalid_command")
        discount_type = "fixed_cart"
    else:
        raise PermanentPlatformError(f"{command.key}: unknown discount type "
                                     f"{command.value_type!r}", code="invalid_command")
    return {
        "code": command.code, "discount_type": discount_type, "amount": str(command.value),
        "description": f"loyaltykit: {command.reason}"[:200],
        "email_restrictions": [email], "usage_limit": command.usage_limit,
        "usage_limit_per_user": command.usage_limit,
        "date_expires_gmt": gmt_text(command.ends_at) if command.ends_at else None,
        "meta_data": [{"key": COMMAND_META, "value": command.key}],
    }


def meta_update(current: Mapping[str, str],
                commands: Sequence[SetCustomerTags | UpdateCustomerProfile]
                ) -> tuple[dict[str, str], dict[str, str]]:
    """``(changed meta, skipped command keys -> why)`` after applying ``commands`` in order."""
    meta = dict(current)
    skipped: dict[str, str] = {}
    for command in commands:
        if isinstance(command, SetCustomerTags):
            tags = {t for t in meta.get(META["tags"], "").split(",") if t}
            tags = (tags - set(command.remove)) | set(command.add)
            meta[META["tags"]] = ",".join(sorted(tags))
            continue
        published = _as_of(meta.get(META["as_of"]))
        if published is not None and published > command.as_of:
            skipped[command.key] = f"superseded by the profile as of {published.isoformat()}"
            continue
        meta.update({META["points"]: str(command.points_balance), META["tier"]: command.tier,
                     META["segment"]: command.segment, META["as_of"]: command.as_of.isoformat()})
    changed = {k: v for k, v in meta.items() if current.get(k) != v}
    return changed, skipped


class Pusher:
    def __init__(self, client: WooClient, outbox: OutboxSource, *, batch: int = BATCH_LIMIT,
                 dry_run: bool = False) -> None:
        self.client = client
        self.outbox = outbox
        self.batch = max(1, min(batch, BATCH_LIMIT))
        self.dry_run = dry_run
        self.report = PushReport()

    def run(self) -> PushReport:
        handled: set[int] = set()
        while self.report.stopped is None:
            # Items handled in this run may still be pending (a dry run, a retriable item
            # failure): ask past them so they neither repeat nor hide the ones behind.
            pending = self.outbox.pending_commands(limit=self.batch + len(handled), kinds=KINDS)
            items = [i for i in pending if i.id not in handled][:self.batch]
            if not items:
                break
            handled.update(i.id for i in items)
            self._round(items)
        return self.report

    # ------------------------------------------------------------------ one round

    def _round(self, items: list[OutboxItem]) -> None:
        open_items = {i.id: i for i in items}
        try:
            customers = self._customers(sorted({i.command.customer_id for i in items}))
            for item in items:
                if item.command.customer_id not in customers:
                    self._fail(item, PermanentPlatformError(
                        f"customer {item.command.customer_id} does not exist in WooCommerce",
                        code="unknown_customer"))
                    del open_items[item.id]
            self._coupons([i for i in items if i.id in open_items and
                           isinstance(i.command, IssueDiscount)], customers, open_items)
            self._meta([i for i in items if i.id in open_items and
                        not isinstance(i.command, IssueDiscount)], customers, open_items)
        except PlatformError as exc:
            self._stop(exc, list(open_items.values()))

    def _customers(self, ids: list[str]) -> dict[str, Record]:
        numeric = [c for c in ids if c.isdigit()]
        if not numeric:
            return {}
        found = self.client.get_page("customers", {"include": numeric, "role": "all",
                                                   "orderby": "id", "order": "asc"}, 1)
        return {str(c["id"]): c for c in found.records}

    def _coupons(self, items: list[OutboxItem], customers: Mapping[str, Record],
                 open_items: dict[int, OutboxItem]) -> None:
        ready: list[tuple[OutboxItem, dict[str, Any]]] = []
        for item in items:
            assert isinstance(item.command, IssueDiscount)
            customer = customers[item.command.customer_id]
            email = customer.get("email") or (customer.get("billing") or {}).get("email")
            try:
                if not email:
                    raise PermanentPlatformError(
                        f"customer {item.command.customer_id} has no email address to "
                        "restrict the coupon to", code="no_email")
                ready.append((item, coupon_payload(item.command, str(email))))
            except PermanentPlatformError as exc:
                self._fail(item, exc)
                del open_items[item.id]
        if not ready:
            return
        answers = self._send("coupons", "create", [p for _, p in ready],
                             lambda p: self.client.post("coupons", p),
                             tuple(i.id for i, _ in ready))
        if answers is None:
            return
        for (item, _), answer in zip(ready, answers, strict=True):
            assert isinstance(item.command, IssueDiscount)
            if answer.error is not None and answer.error.code == ALREADY_EXISTS:
                answer = self._existing_coupon(item.command)
            self._settle(item, answer, "coupon")
            del open_items[item.id]

    def _existing_coupon(self, command: IssueDiscount) -> BatchItem:
        for coupon in self.client.get("coupons", {"code": command.code}) or []:
            keys = {m.get("value") for m in coupon.get("meta_data") or []
                    if m.get("key") == COMMAND_META}
            if command.key in keys:
                log.info("coupon %s already existed (an earlier attempt created it)",
                         command.code)
                return BatchItem(coupon, None)
        return BatchItem(None, PermanentPlatformError(
            f"coupon code {command.code} is taken by a coupon loyaltykit did not create",
            code=ALREADY_EXISTS))

    def _meta(self, items: list[OutboxItem], customers: Mapping[str, Record],
              open_items: dict[int, OutboxItem]) -> None:
        by_customer: dict[str, list[OutboxItem]] = {}
        for item in items:
            by_customer.setdefault(item.command.customer_id, []).append(item)
        updates: list[tuple[list[OutboxItem], dict[str, Any]]] = []
        superseded: dict[str, str] = {}
        for customer_id, group in by_customer.items():
            current = {str(m.get("key")): str(m.get("value"))
                       for m in customers[customer_id].get("meta_data") or []}
            commands = [i.command for i in group
                        if isinstance(i.command, (SetCustomerTags, UpdateCustomerProfile))]
            changed, skipped = meta_update(current, commands)
            superseded.update(skipped)
            if not changed:
                for item in group:
                    why = skipped.get(item.command.key, "already up to date")
                    self._sent(item, why)
                    del open_items[item.id]
                continue
            body = {"id": int(customer_id),
                    "meta_data": [{"key": k, "value": v} for k, v in sorted(changed.items())]}
            updates.append((group, body))
        if not updates:
            return
        answers = self._send("customers", "update", [b for _, b in updates],
                             lambda b: self.client.put(f"customers/{b['id']}", b),
                             tuple(i.id for g, _ in updates for i in g))
        if answers is None:
            return
        for (group, _), answer in zip(updates, answers, strict=True):
            for item in group:
                self._settle(item, answer, "customer", superseded.get(item.command.key))
                del open_items[item.id]

    def _send(self, resource: str, part: str, bodies: list[dict[str, Any]],
              single: Callable[[dict[str, Any]], Any], item_ids: tuple[int, ...]
              ) -> list[BatchItem] | None:
        """One batch call; a batch refused as a whole (400) is retried one item at a time."""
        self.report.calls.append(Call("POST", f"{resource}/batch", {part: bodies}, item_ids))
        if self.dry_run:
            return None
        try:
            return self.client.batch(resource, **{part: bodies})[part]
        except PermanentPlatformError as exc:
            if exc.status != 400:
                raise
            log.warning("%s/batch refused as a whole (%s); sending item by item", resource, exc)
        answers = []
        for body in bodies:
            try:
                answers.append(BatchItem(single(body), None))
            except PermanentPlatformError as exc:
                if exc.status in _FATAL_STATUS:
                    raise
                answers.append(BatchItem(None, exc))
        return answers

    # ------------------------------------------------------------------ outcomes

    def _settle(self, item: OutboxItem, answer: BatchItem, what: str,
                note: str | None = None) -> None:
        """Mark by the answer; ``note`` replaces the detail of a success (why it was moot)."""
        if answer.error is not None:
            self._fail(item, answer.error)
            return
        record_id = (answer.record or {}).get("id")
        self._sent(item, note or (f"{what} {record_id}" if record_id else what))

    def _sent(self, item: OutboxItem, detail: str) -> None:
        if self.dry_run:
            return
        self.outbox.mark_sent(item.id, detail=detail)
        self.report.sent += 1

    def _fail(self, item: OutboxItem, error: PlatformError) -> None:
        if self.dry_run:
            self.report.failed.append((item.id, str(error)))
            return
        self.outbox.mark_failed(item.id, str(error), retriable=error.retriable)
        (self.report.retriable if error.retriable else self.report.failed).append(
            (item.id, str(error)))

    def _stop(self, error: PlatformError, unsettled: list[OutboxItem]) -> None:
        """A failure of the whole call, not of an item: stop the push.

        A store still unavailable after retries marks the items retriable (attempts are
        counted); anything else (bad key, missing permission, an answer that is not the
        API's) leaves them pending untouched, for after the fix.
        """
        self.report.stopped = str(error)
        if error.retriable:
            for item in unsettled:
                self._fail(item, error)
        log.error("WooCommerce push stopped: %s", error)


def _as_of(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
