"""Tier qualification and progress: which level the window's activity earns, and what is missing.

Thresholds are evaluated over a window (lifetime, calendar year in the shop's timezone, or an
exact rolling duration). Retention (a grace period before a downgrade) is applied by the
engine, which knows how long a customer has been below their tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loyaltykit.money import format_money, to_minor
from loyaltykit.rules.program import (
    CalendarYearWindow,
    Qualification,
    RollingWindow,
    TierLevel,
    Tiers,
)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Activity inside the tier window."""

    net_spend_minor: int = 0
    paid_orders: int = 0
    points_earned: int = 0


@dataclass(frozen=True, slots=True)
class Progress:
    next_tier: str | None
    missing: tuple[str, ...]
    match: str = "all"

    def __str__(self) -> str:
        if self.next_tier is None:
            return "top tier reached"
        if not self.missing:
            return f"qualifies for {self.next_tier}"
        joined = " or " if self.match == "any" else " and "
        return f"{joined.join(self.missing)} to {self.next_tier}"


def window_start(tiers: Tiers, now: datetime, tz: ZoneInfo) -> datetime | None:
    """Earliest ``placed_at`` that still counts at ``now``; None for lifetime.

    A rolling window is an exact duration: an order counts for ``days`` x 24 hours after it
    was placed, and not one microsecond longer.
    """
    window = tiers.window
    if isinstance(window, RollingWindow):
        return now - timedelta(days=window.days) + timedelta(microseconds=1)
    if isinstance(window, CalendarYearWindow):
        local = now.astimezone(tz)
        return datetime(local.year, 1, 1, tzinfo=tz)
    return None


def next_window_boundary(tiers: Tiers, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When a calendar-year window next resets (the engine re-evaluates tiers then)."""
    if isinstance(tiers.window, CalendarYearWindow):
        local = now.astimezone(tz)
        return datetime(local.year + 1, 1, 1, tzinfo=tz)
    return None


def _thresholds(q: Qualification, currency: str) -> list[tuple[str, int]]:
    found = []
    if q.net_spend is not None:
        found.append(("net_spend", to_minor(q.net_spend, currency)))
    if q.paid_orders is not None:
        found.append(("paid_orders", q.paid_orders))
    if q.points_earned is not None:
        found.append(("points_earned", q.points_earned))
    return found


def _value(metrics: Metrics, name: str) -> int:
    return {"net_spend": metrics.net_spend_minor, "paid_orders": metrics.paid_orders,
            "points_earned": metrics.points_earned}[name]


def qualifies(level: TierLevel, metrics: Metrics, currency: str) -> bool:
    if level.qualify is None:
        return True
    results = [_value(metrics, name) >= need
               for name, need in _thresholds(level.qualify, currency)]
    if not results:
        return True
    return any(results) if level.qualify.match == "any" else all(results)


_METRIC_INDEX = {"net_spend": 0, "paid_orders": 1, "points_earned": 2}
_COMPILED: dict[int, tuple[Tiers, list[tuple[bool, list[tuple[int, int]]]]]] = {}


def _compiled(tiers: Tiers, currency: str) -> list[tuple[bool, list[tuple[int, int]]]]:
    """Thresholds in minor units per level, computed once per program (reviews are hot)."""
    found = _COMPILED.get(id(tiers))
    if found is None or found[0] is not tiers:
        levels = [(lvl.qualify is not None and lvl.qualify.match == "any",
                   [(_METRIC_INDEX[name], need) for name, need in
                    (_thresholds(lvl.qualify, currency) if lvl.qualify else [])])
                  for lvl in tiers.levels]
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        found = _COMPILED[id(tiers)] = (tiers, levels)
    return found[1]


def qualified_index(tiers: Tiers, metrics: Metrics, currency: str) -> int:
    """Index of the highest level the metrics qualify for (levels are ordered upwards)."""
    values = (metrics.net_spend_minor, metrics.paid_orders, metrics.points_earned)
    best = 0
    for index, (match_any, needs) in enumerate(_compiled(tiers, currency)):
        if not needs:
            best = index
            continue
        # a loop rather than any()/all() over a generator: reviews are hot
        for m, need in needs:
            if (values[m] >= need) == match_any:  # one met ("any") or one missed ("all")
                met = match_any
                break
        else:
            met = not match_any  # none met ("any") or all met ("all")
        if met:
            best = index
    return best


def progress_to_next(tiers: Tiers, current: int, metrics: Metrics, currency: str) -> Progress:
    """What is missing for the next level up, e.g. "120.00 CNY more net spend"."""
    if current + 1 >= len(tiers.levels):
        return Progress(None, ())
    level = tiers.levels[current + 1]
    q = level.qualify
    if q is None:
        return Progress(level.id, ())
    gaps = []
    for name, need in _thresholds(q, currency):
        short = need - _value(metrics, name)
        if short <= 0:
            continue
        if name == "net_spend":
            gaps.append(f"{format_money(short, currency)} more net spend")
        elif name == "paid_orders":
            gaps.append(f"{short} more paid order{'s' if short != 1 else ''}")
        else:
            gaps.append(f"{short} more points earned")
    return Progress(level.id, tuple(gaps), q.match)
