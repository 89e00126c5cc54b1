"""Lifecycle segments by recency: active, silent, sleeping, at_risk, lost, or prospect."""

from __future__ import annotations

from datetime import datetime, timedelta

from loyaltykit.rules.program import Segments

SEGMENTS = ("prospect", "active", "silent", "sleeping", "at_risk", "lost")


def thresholds(rules: Segments) -> tuple[timedelta, ...]:
    """The ages of the last paid order at which the segment changes once they are passed."""
    return tuple(timedelta(days=d) for d in (rules.active_days, rules.silent_days,
                                             rules.sleeping_days, rules.at_risk_days))


def segment_of(last_paid_at: datetime | None, now: datetime, rules: Segments) -> str:
    """Days since the last paid order against the thresholds; thresholds are inclusive."""
    if last_paid_at is None:
        return "prospect"
    age = now - last_paid_at
    for name, limit in zip(SEGMENTS[1:-1], thresholds(rules), strict=True):
        if age <= limit:
            return name
    return "lost"
