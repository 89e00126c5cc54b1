"""Push-back commands: what the ledger asks adapters to deliver to a platform.

The engine writes them into the outbox in the same transaction as the ledger entries that
caused them; adapters drain the outbox later. Every command has a deterministic ``key`` and
discount codes are derived from it, so a push retried after a lost answer never creates a
second code.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeAlias


@dataclass(frozen=True, slots=True)
class IssueDiscount:
    """Create a single-use discount code for one customer."""

    key: str
    customer_id: str
    code: str
    value_type: str  # "percentage" or "fixed_amount"
    value: Decimal
    currency: str
    starts_at: datetime
    ends_at: datetime | None
    reason: str
    usage_limit: int = 1

    kind: ClassVar[str] = "issue_discount"


@dataclass(frozen=True, slots=True)
class SetCustomerTags:
    """Add and remove customer tags (tier and segment tags), leaving other tags alone."""

    key: str
    customer_id: str
    add: tuple[str, ...]
    remove: tuple[str, ...]

    kind: ClassVar[str] = "set_customer_tags"


@dataclass(frozen=True, slots=True)
class UpdateCustomerProfile:
    """Publish balance, tier and segment on the customer (Shopify metafields, Woo meta_data)."""

    key: str
    customer_id: str
    points_balance: int
    tier: str
    segment: str
    as_of: datetime

    kind: ClassVar[str] = "update_customer_profile"


Command: TypeAlias = IssueDiscount | SetCustomerTags | UpdateCustomerProfile

COMMAND_TYPES: dict[str, type[Command]] = {
    cls.kind: cls for cls in (IssueDiscount, SetCustomerTags, UpdateCustomerProfile)
}


def discount_code(key: str, prefix: str = "LK") -> str:
    """A short, unambiguous code derived from the command key (same key, same code)."""
    digest = hashlib.sha256(key.encode()).digest()
    return f"{prefix}-{base64.b32encode(digest).decode()[:10]}"


def command_payload(command: Command) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(command):
        value = getattr(command, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def command_from_payload(kind: str, payload: dict[str, Any]) -> Command:
    cls = COMMAND_TYPES[kind]
    values = dict(payload)
    for name in ("starts_at", "ends_at", "as_of"):
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    if "value" in values:
        values["value"] = Decimal(values["value"])
    for name in ("add", "remove"):
        if name in values:
            values[name] = tuple(values[name])
    return cls(**values)
