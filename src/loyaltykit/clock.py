"""Clocks are passed in, never read globally, so replays and tests are deterministic."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC. Only the CLI and long-running workers should use it."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that moves only when told to: for tests, replays and what-if runs."""

    def __init__(self, at: datetime) -> None:
        self._at = require_aware(at, "FixedClock")

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = require_aware(at, "FixedClock.set")


def utc_key(value: datetime) -> str:
    """An instant as text that is the same for the same instant, whatever its offset."""
    return value.astimezone(timezone.utc).isoformat()


def require_aware(value: datetime, what: str) -> datetime:
    """Refuse naive datetimes: a loyalty program spans timezones and DST changes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: datetime {value.isoformat()} has no timezone; add an offset")
    return value
