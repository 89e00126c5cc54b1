"""Push outbox commands to Shopify: discount codes, customer tags, profile metafields.

Idempotency: every command can be sent again without harm. Discount codes are derived from
the command key, so a create retried after a lost answer meets "code already taken"; the
existing code is then looked up and, if it is the one this command would have created,
counted as delivered. ``tagsAdd``/``tagsRemove`` and ``metafieldsSet`` are idempotent by
nature.

Failures are per item: a userError marks that command failed (permanent) and the rest go on.
Errors that would fail every item (bad token, missing scope, frozen shop) stop the push at
once; so does a platform still unavailable after retries, leaving the item retriable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from loyaltykit.adapters.base import OutboxItem, OutboxSource
from loyaltykit.adapters.shopify import documents
from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.adapters.shopify.mapping import to_gid
from loyaltykit.commands import Command, IssueDiscount, SetCustomerTags, UpdateCustomerProfile
from loyaltykit.errors import PermanentPlatformError, PlatformError, TransientPlatformError

log = logging.getLogger(__name__)

NAMESPACE = "loyaltykit"
#: metafieldsSet accepts at most 25 metafields per call; a profile is three of them.
MAX_METAFIELDS = 25
PROFILE_KEYS = (("points_balance", "number_integer"), ("tier", "single_line_text_field"),
                ("segment", "single_line_text_field"))
_FATAL_STATUS = frozenset({401, 402, 403, 404, 423})
T = TypeVar("T")


@dataclass(frozen=True)
class Operation:
    """One GraphQL call a command becomes: what ``push --dry-run`` prints."""

    name: str
    document: str
    variables: dict[str, Any]


@dataclass
class PushReport:
    sent: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    stopped: str | None = None


def plan(command: Command) -> list[Operation]:
    """The calls that deliver ``command`` (profiles are batched further when sent)."""
    if isinstance(command, IssueDiscount):
        return [Operation("discount_create", documents.DISCOUNT_CREATE,
                          {"discount": discount_input(command)})]
    if isinstance(command, SetCustomerTags):
        owner = to_gid("Customer", command.customer_id)
        calls = []
        # Remove first: a tag in both lists (tier left and re-entered) ends up present.
        if command.remove:
            calls.append(Operation("tags_remove", documents.TAGS_REMOVE,
                                   {"id": owner, "tags": list(command.remove)}))
        if command.add:
            calls.append(Operation("tags_add", documents.TAGS_ADD,
                                   {"id": owner, "tags": list(command.add)}))
        return calls
    return [Operation("metafields_set", documents.METAFIELDS_SET,
                      {"metafields": profile_metafields(command)})]


def discount_input(command: IssueDiscount) -> dict[str, Any]:
    """``DiscountCodeBasicInput`` for a single-use code only this customer can redeem."""
    if command.value_type == "percentage":
        if not Decimal(0) < command.value <= Decimal(100):
            raise PermanentPlatformError(
                f"discount {command.code}: percentage {command.value} is outside 0-100",
                code="INVALID_VALUE")
        # The schema types percentage as Float (a fraction 0-1); the value is exact to here.
        value: dict[str, Any] = {"percentage": float(command.value / 100)}
    elif command.value_type == "fixed_amount":
        value = {"discountAmount": {"amount": str(command.value), "appliesOnEachItem": False}}
    else:
        raise PermanentPlatformError(
            f"discount {command.code}: unknown value type {command.value_type!r}",
            code="INVALID_VALUE")
    return {
        "title": discount_title(command),
        "code": command.code,
        "startsAt": command.starts_at.isoformat(),
        "endsAt": command.ends_at.isoformat() if command.ends_at else None,
        "usageLimit": command.usage_limit,
        "appliesOncePerCustomer": True,
        "customerSelection": {"customers": {"add": [to_gid("Customer", command.customer_id)]}},
        "customerGets": {"value": value, "items": {"all": True}},
    }


def discount_title(command: IssueDiscount) -> str:
    return f"loyaltykit {command.reason} {command.code}"


def profile_metafields(command: UpdateCustomerProfile) -> list[dict[str, str]]:
    owner = to_gid("Customer", command.customer_id)
    values = (str(command.points_balance), command.tier, command.segment)
    return [{"ownerId": owner, "namespace": NAMESPACE, "key": key, "type": kind, "value": value}
            for (key, kind), value in zip(PROFILE_KEYS, values, strict=True)]


Outcome = str | PlatformError  # a detail to record on success, or why it failed


class Pusher:
    """Drains an outbox into one shop."""

    def __init__(self, client: ShopifyClient, outbox: OutboxSource, *, batch: int = 100) -> None:
        self._client = client
        self._outbox = outbox
        self._batch = batch

    def run(self) -> PushReport:
        report = PushReport()
        done: set[int] = set()
        while report.stopped is None:
            items = [i for i in self._outbox.pending_commands(limit=self._batch)
                     if i.id not in done]
            if not items:
                break
            done.update(i.id for i in items)
            profiles = [i for i in items if isinstance(i.command, UpdateCustomerProfile)]
            for item in items:
                if report.stopped is None and not isinstance(item.command, UpdateCustomerProfile):
                    self._record(item, self._attempt(partial(self._send, item.command)), report)
            for group in _profile_batches(profiles):
                if report.stopped is None:
                    for item, outcome in zip(group, self._profiles(group), strict=True):
                        self._record(item, outcome, report)
        return report

    def _attempt(self, send: Callable[[], T]) -> T | PlatformError:
        """Run ``send``; errors that would fail every item (auth, scopes) propagate."""
        try:
            return send()
        except PlatformError as exc:
            if exc.status in _FATAL_STATUS or exc.code == "ACCESS_DENIED":
                raise
            return exc

    def _record(self, item: OutboxItem, outcome: Outcome, report: PushReport) -> None:
        if isinstance(outcome, PlatformError):
            self._outbox.mark_failed(item.id, str(outcome), retriable=outcome.retriable)
            report.failed.append((item.id, str(outcome)))
            log.warning("outbox item %d (%s) failed: %s", item.id, item.command.kind, outcome)
            if isinstance(outcome, TransientPlatformError):
                report.stopped = f"Shopify still unavailable after retries: {outcome}"
            return
        self._outbox.mark_sent(item.id, detail=outcome)
        report.sent += 1

    def _send(self, command: Command) -> str:
        if isinstance(command, IssueDiscount):
            return self._issue(command)
        for operation in plan(command):
            data = self._client.execute(operation.document, operation.variables)
            errors = next(iter(data.values()))["userErrors"]
            if errors:
                raise _user_error(f"tags of customer {command.customer_id}", errors)
        return "tags updated"

    def _issue(self, command: IssueDiscount) -> str:
        data = self._client.execute(documents.DISCOUNT_CREATE,
                                    {"discount": discount_input(command)})
        result = data["discountCodeBasicCreate"]
        errors = result["userErrors"]
        if not errors:
            return f"created {result['codeDiscountNode']['id']}"
        if not any(_is_taken(e) for e in errors):
            raise _user_error(f"discount {command.code}", errors)
        existing = self._client.execute(documents.DISCOUNT_BY_CODE,
                                        {"code": command.code})["codeDiscountNodeByCode"]
        if not existing or existing["codeDiscount"].get("title") != discount_title(command):
            raise PermanentPlatformError(
                f"discount code {command.code} already exists in the shop but was not created "
                "by this command; delete it or change the code prefix", code="TAKEN")
        return f"already present as {existing['id']}"

    def _profiles(self, items: list[OutboxItem]) -> list[Outcome]:
        """One atomic metafieldsSet; items a userError names fail, the rest are sent again."""
        metafields = [f for item in items for f in profile_metafields(_profile(item))]
        answer = self._attempt(lambda: self._client.execute(
            documents.METAFIELDS_SET, {"metafields": metafields}))
        if isinstance(answer, PlatformError):
            return [answer] * len(items)
        errors = answer["metafieldsSet"]["userErrors"]
        if not errors:
            return ["profile metafields set"] * len(items)
        if len(items) == 1:
            return [_user_error(f"profile of customer {_profile(items[0]).customer_id}", errors)]
        per_item = len(metafields) // len(items)
        bad: dict[int, list[dict[str, Any]]] = {}
        for error in errors:
            if error.get("elementIndex") is not None:
                bad.setdefault(error["elementIndex"] // per_item, []).append(error)
        if not bad:  # the batch failed as a whole: find the culprits one by one
            return [outcome for item in items for outcome in self._profiles([item])]
        outcomes: list[Outcome] = [
            _user_error(f"profile of customer {_profile(item).customer_id}", bad[index])
            if index in bad else "" for index, item in enumerate(items)]
        rest = [index for index in range(len(items)) if index not in bad]
        if rest:
            for index, outcome in zip(rest, self._profiles([items[i] for i in rest]), strict=True):
                outcomes[index] = outcome
        return outcomes


def _profile(item: OutboxItem) -> UpdateCustomerProfile:
    assert isinstance(item.command, UpdateCustomerProfile)
    return item.command


def _profile_batches(items: Sequence[OutboxItem]) -> list[list[OutboxItem]]:
    """Batches within the metafield limit, one command per customer per batch so the newest
    profile of a customer is written last."""
    per_call = MAX_METAFIELDS // len(PROFILE_KEYS)
    batches: list[list[OutboxItem]] = []
    current: list[OutboxItem] = []
    for item in items:
        if len(current) == per_call or any(
                i.command.customer_id == item.command.customer_id for i in current):
            batches.append(current)
            current = []
        current.append(item)
    if current:
        batches.append(current)
    return batches


def _is_taken(error: dict[str, Any]) -> bool:
    return error.get("code") == "TAKEN" or "must be unique" in str(error.get("message", ""))


def _user_error(what: str, errors: list[dict[str, Any]]) -> PermanentPlatformError:
    text = "; ".join(
        f"{'.'.join(e.get('field') or []) or 'input'}: {e.get('message')}" for e in errors)
    return PermanentPlatformError(f"Shopify refused {what}: {text}",
                                  code=str(errors[0].get("code") or "USER_ERROR"))
