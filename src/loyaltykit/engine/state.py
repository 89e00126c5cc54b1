"""In-memory state of customers, orders, lots and referrals while events are applied.

The engine keeps this state for the customers an event touches; the store loads it from
and saves it to the database. Everything here is plain data: the rules decide, the
processor mutates, the store persists.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(slots=True)
class Lot:
    """Points from one credit, spent oldest first and expiring as a whole."""

    lot_key: str
    customer_id: str
    credited_at: datetime
    expires_at: datetime | None
    points: int
    remaining: int
    program_version: int

    def sort_key(self) -> tuple[datetime, str]:
        return (self.credited_at, self.lot_key)


@dataclass(slots=True)
class OrderState:
    order_id: str
    customer_id: str
    placed_at: datetime
    amount_minor: int
    status: str = "paid"
    refunded_minor: int = 0
    cancelled_at: datetime | None = None
    program_version: int | None = None
    earned: int = 0
    reversed: int = 0
    # rule_id -> [points, reversed?, entry_key]: fixed bonuses and the referee reward;
    # None until the first one (most orders have none, and a replay holds a million)
    bonuses: dict[str, list[Any]] | None = None
    in_window: bool = False
    # the database has a row for it: later saves update only what an order's events change
    stored: bool = False

    def add_bonus(self, rule_id: str, points: int, entry_key: str) -> None:
        if self.bonuses is None:
            self.bonuses = {}
        self.bonuses[rule_id] = [points, False, entry_key]

    @property
    def net_minor(self) -> int:
        return 0 if self.status != "paid" else self.amount_minor - self.refunded_minor

    @property
    def counts(self) -> bool:
        """A paid order counts for tiers until it is cancelled or fully refunded."""
        return self.status == "paid" and self.refunded_minor < self.amount_minor

    @property
    def net_points(self) -> int:
        if not self.bonuses:
            return self.earned - self.reversed
        live_bonus: int = sum(b[0] for b in self.bonuses.values() if not b[1])
        return self.earned - self.reversed + live_bonus


@dataclass(slots=True)
class CustomerState:
    customer_id: str
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    birthday: date | None = None
    referral_code: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    first_seen_at: datetime | None = None
    tier: str | None = None
    tier_since: datetime | None = None
    below_since: datetime | None = None
    review_at: datetime | None = None
    balance: int = 0
    lifetime_earned: int = 0
    first_paid_order_id: str | None = None
    last_paid_at: datetime | None = None
    version_at: datetime | None = None  # the instant of the customer version in effect
    birthday_years: set[int] = field(default_factory=set)
    campaigns: set[str] = field(default_factory=set)
    year_earned: dict[int, int] = field(default_factory=dict)
    referrer_rewards: dict[int, int] = field(default_factory=dict)
    lots: list[Lot] = field(default_factory=list)
    # False for a customer read from the database: ``lots`` then holds only the lots
    # credited since (and those read for an expiry, which needs its own lot alone); the
    # world reads the stored ones when a debit needs them (a big customer holds hundreds)
    lots_loaded: bool = True
    # The orders in the tier window that can leave it, in placed order. For a customer
    # loaded from the database whose stored window is not empty, ``window_first_at`` says
    # when its oldest order was placed and the list holds only the orders added since; the
    # world reads stored orders only as they leave (None: the list is the whole window).
    window: list[OrderState] = field(default_factory=list)
    window_first_at: datetime | None = None
    window_net: int = 0
    window_orders: int = 0
    window_points: int = 0
    # the database has a row for it: later saves update only the columns events change
    stored: bool = False

    def add_lot(self, lot: Lot) -> None:
        """Keep lots ordered by credit time so FIFO holds even for late events."""
        if not self.lots or self.lots[-1].sort_key() <= lot.sort_key():
            self.lots.append(lot)
        else:
            bisect.insort(self.lots, lot, key=Lot.sort_key)

    def counters(self) -> dict[str, Any]:
        return {
            "birthday_years": sorted(self.birthday_years),
            "campaigns": sorted(self.campaigns),
            "year_earned": {str(k): v for k, v in self.year_earned.items()},
            "referrer_rewards": {str(k): v for k, v in self.referrer_rewards.items()},
            "version_at": self.version_at.isoformat() if self.version_at else None,
        }

    def load_counters(self, data: dict[str, Any]) -> None:
        self.birthday_years = set(data.get("birthday_years", ()))
        self.campaigns = set(data.get("campaigns", ()))
        self.year_earned = {int(k): v for k, v in data.get("year_earned", {}).items()}
        self.referrer_rewards = {int(k): v for k, v in data.get("referrer_rewards", {}).items()}
        version_at = data.get("version_at")
        self.version_at = datetime.fromisoformat(version_at) if version_at else None

    # ------------------------------------------------------------ tier window totals

    def window_add(self, order: OrderState, *, expires: bool) -> None:
        """Count an order towards the tier window; keep it listed only if it can leave."""
        order.in_window = True
        if expires:
            if not self.window or self.window[-1].placed_at <= order.placed_at:
                self.window.append(order)
            else:
                bisect.insort(self.window, order, key=lambda o: o.placed_at)
        self.window_put(order)

    def window_put(self, order: OrderState) -> None:
        self.window_net += order.net_minor
        self.window_orders += 1 if order.counts else 0
        self.window_points += order.net_points

    def window_take(self, order: OrderState) -> None:
        self.window_net -= order.net_minor
        self.window_orders -= 1 if order.counts else 0
        self.window_points -= order.net_points

    def window_first(self) -> datetime | None:
        """When the oldest order that can still leave the window was placed."""
        listed = self.window[0].placed_at if self.window else None
        if self.window_first_at is None:
            return listed
        return self.window_first_at if listed is None else min(listed, self.window_first_at)

    def window_drop_before(self, start: datetime) -> list[OrderState]:
        """Orders placed before ``start`` leave the window (the list is in placed order)."""
        assert self.window_first_at is None, "the stored window is not read"
        k = 0
        while k < len(self.window) and self.window[k].placed_at < start:
            self.window[k].in_window = False
            self.window_take(self.window[k])
            k += 1
        dropped = self.window[:k]
        if k:
            del self.window[:k]
        return dropped


@dataclass(slots=True)
class ReferralState:
    referee_id: str
    referrer_id: str | None
    code: str
    recorded_at: datetime
    status: str = "pending"
    reason: str | None = None
    order_id: str | None = None
    due_at: datetime | None = None
    decided_at: datetime | None = None
