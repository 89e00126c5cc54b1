"""One program's replay of a history, in memory, summarized as the figures a shop compares.

The engine runs exactly as the ledger's runner runs it on a fresh ledger (a complete
``World(None)``, due timers fired before each event and up to ``as_of``), but the postings
are tallied instead of written: no database, no effect on the live ledger, and several
times faster than a persisted run.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyaltykit.engine.changes import Changes
from loyaltykit.engine.collector import paused_collector
from loyaltykit.engine.postings import Timers
from loyaltykit.engine.processor import Processor, Rejected
from loyaltykit.engine.world import World
from loyaltykit.errors import LoyaltyKitError
from loyaltykit.events import Event
from loyaltykit.money import to_minor
from loyaltykit.rules.segments import SEGMENTS, segment_of
from loyaltykit.rules.versions import ProgramSet

__all__ = ["MonthGrid", "Outcome", "ReferralTally", "replay"]

_DRAIN_EVERY = 4096
_SAMPLE_REJECTIONS = 5
FLOWS = ("earn", "bonus", "referral", "reversal", "expiry", "redemption", "adjustment")


class MonthGrid:
    """Calendar months of the shop's timezone from the first event to ``as_of``.

    Both sides share one grid, so their monthly series line up even if the candidate
    states another timezone.
    """

    def __init__(self, start: datetime, as_of: datetime, tz: ZoneInfo) -> None:
        first, last = start.astimezone(tz), as_of.astimezone(tz)
        year, month = first.year, first.month
        self.labels: list[str] = []
        self.ends: list[datetime] = []  # the instant each month ends (next month's start)
        while (year, month) <= (last.year, last.month):
            self.labels.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            self.ends.append(datetime(year, month, 1, tzinfo=tz))
        self.timezone = tz.key

    def index(self, at: datetime) -> int:
        return min(bisect_right(self.ends, at), len(self.labels) - 1)


@dataclass(slots=True)
class ReferralTally:
    """Referral rewards paid by one program: points credited and reversed, discounts issued."""

    referee_rewards: int = 0
    referrer_rewards: int = 0
    points_issued: int = 0
    points_reversed: int = 0
    discounts: int = 0
    fixed_discount_minor: int = 0  # the money of fixed-amount discounts; percentages have none
    percentage_discounts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Outcome:
    """Everything one side of the comparison produced, in points and customer counts."""

    programs: list[str]
    version: int  # the version in effect at as_of: its tiers, segments and point value count
    flows: dict[str, int]  # entry kind -> sum of points (credits positive, debits negative)
    forgiven: int
    monthly: dict[str, list[int]]  # "issued"/"reversed"/"expired"/"redeemed"/"net" by month
    customers: int
    tiers: dict[str, int]
    segments: dict[str, int]
    final_tier: dict[str, str | None]
    referrals: ReferralTally
    rejected: dict[str, int]
    rejection_samples: list[str]
    events: int
    timers: int
    seconds: float

    @property
    def liability(self) -> int:
        return sum(self.flows.values())

    def liability_by_month(self) -> list[int]:
        running, out = 0, []
        for net in self.monthly["net"]:
            running += net
            out.append(running)
        return out


class _Tally:
    """Folds the engine's postings into totals as they are produced, then forgets them."""

    def __init__(self, grid: MonthGrid) -> None:
        self.grid = grid
        self.flows = dict.fromkeys(FLOWS, 0)
        self.forgiven = 0
        size = len(grid.labels)
        self.monthly = {name: [0] * size
                        for name in ("issued", "reversed", "expired", "redeemed", "net")}
        self.referrals = ReferralTally()

    def absorb(self, changes: Changes) -> None:
        grid, flows, monthly, refs = self.grid, self.flows, self.monthly, self.referrals
        for entry in changes.entries:
            kind, points = entry["kind"], entry["points"]
            flows[kind] += points
            self.forgiven += entry["forgiven"]
            month = grid.index(entry["effective_at"])
            monthly["net"][month] += points
            if kind in ("earn", "bonus", "referral"):
                monthly["issued"][month] += points
            elif kind == "reversal":
                monthly["reversed"][month] -= points
            elif kind == "expiry":
                monthly["expired"][month] -= points
            elif kind == "redemption":
                monthly["redeemed"][month] -= points
            rule = entry["rule_id"]
            if rule == "referral.referee" or rule == "referral.referrer":
                if kind == "referral":
                    refs.points_issued += points
                    if rule == "referral.referee":
                        refs.referee_rewards += 1
                    else:
                        refs.referrer_rewards += 1
                elif kind == "reversal":
                    refs.points_reversed -= points
        for command in changes.outbox:
            if command["kind"] == "issue_discount" and \
                    command["command_key"].startswith("discount:referral:"):
                self._discount(command["command_key"], command["payload"])
        changes.clear()

    def _discount(self, key: str, payload: dict[str, str]) -> None:
        refs = self.referrals
        refs.discounts += 1
        if key.endswith(":referee"):
            refs.referee_rewards += 1
        else:
            refs.referrer_rewards += 1
        if payload["value_type"] == "fixed_amount":
            refs.fixed_discount_minor += to_minor(Decimal(payload["value"]), payload["currency"])
        else:
            refs.percentage_discounts += 1


def replay(programs: ProgramSet, events: Sequence[Event], as_of: datetime,
           grid: MonthGrid) -> Outcome:
    """Run ``programs`` over ``events`` (in processing order) up to ``as_of``."""
    started = time.perf_counter()
    world, changes, timers = World(None), Changes(), Timers()
    processor = Processor(programs, world, changes, timers)
    tally = _Tally(grid)
    rejected: Counter[str] = Counter()
    samples: list[str] = []
    fired = applied = 0
    with paused_collector():
        for event in events:
            at = event.occurred_at
            if at > as_of:
                break
            fired += _fire_until(processor, timers, at)
            try:
                processor.apply(event)
            except Rejected as why:
                rejected[event.kind] += 1
                if len(samples) < _SAMPLE_REJECTIONS:
                    samples.append(f"{event.key}: {why}")
            except Exception as exc:  # an engine failure: say which event, keep the cause
                raise LoyaltyKitError(f"replaying {programs.latest.label}: event {event.key} "
                                      f"failed: {exc!r}") from exc
            applied += 1
            if applied % _DRAIN_EVERY == 0:
                tally.absorb(changes)
        fired += _fire_until(processor, timers, as_of)
        tally.absorb(changes)
        outcome = _outcome(programs, world, tally, as_of, rejected, samples, applied, fired,
                           time.perf_counter() - started)
        del world, processor, timers, changes  # before the collector resumes: it would walk them
    return outcome


def _fire_until(processor: Processor, timers: Timers, limit: datetime) -> int:
    """Fire every timer due by ``limit``, as the runner does before each event."""
    fired = 0
    for timer in timers.due_by(limit):
        processor.fire(*timer)
        fired += 1
    return fired


def _outcome(programs: ProgramSet, world: World, tally: _Tally, as_of: datetime,
             rejected: Counter[str], samples: list[str], applied: int, fired: int,
             seconds: float) -> Outcome:
    program = programs.current_or_first(as_of)
    tiers = dict.fromkeys(program.tier_ids(), 0)
    segments = dict.fromkeys(SEGMENTS, 0)
    final: dict[str, str | None] = {}
    for customer_id, cs in world.customers.items():
        final[customer_id] = cs.tier
        if cs.tier is not None:
            tiers[cs.tier] = tiers.get(cs.tier, 0) + 1
        segments[segment_of(cs.last_paid_at, as_of, program.segments)] += 1
    tally.referrals.statuses = dict(sorted(Counter(
        ref.status for ref in world.referrals.values()).items()))
    return Outcome(
        programs=[p.label for p in programs], version=program.version, flows=tally.flows,
        forgiven=tally.forgiven,
        monthly=tally.monthly, customers=len(world.customers), tiers=tiers, segments=segments,
        final_tier=final, referrals=tally.referrals, rejected=dict(sorted(rejected.items())),
        rejection_samples=samples, events=applied, timers=fired, seconds=seconds)
