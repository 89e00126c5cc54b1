"""Lifecycle segments by recency: active, silent, sleeping, at_risk, lost, or prospect."""

from __future__ import annotations

from datetime import datetime, timedelta

from loyaltykit.rules.program import Segments

SEGMENTS = ("prospect", "active", "silent", "sleeping", "at_risk", "lost")


def segment_of(last_paid_at: datetime | None, now: datetime, rules: Segments) -> str:
    """Days since the last paid order against the thresholds; thresholds are inclusive."""
    if last_paid_at is None:
        return "prospect"
    age = now - last_paid_at
    for name, days in (("active", rules.active_days), ("silent", rules.silent_days),
                       ("sleeping", rules.sleeping_days), ("at_risk", rules.at_risk_days)):
        if age <= timedelta(days=days):
            return name
    return "lost"
