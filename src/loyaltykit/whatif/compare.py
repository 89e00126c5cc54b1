"""Baseline against candidate: every figure for both programs and the difference.

Figures are named once here (``liability``, ``points_expired``, ``tier_gold`` ...); the JSON,
the HTML page and the ``--fail-if`` conditions all read the same names, so a CI gate can
name any number a shop owner sees in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from loyaltykit.money import from_minor, value_of_points
from loyaltykit.rules.program import Program
from loyaltykit.rules.segments import SEGMENTS
from loyaltykit.whatif.replay import Outcome

__all__ = ["Comparison", "Figure", "Movement", "Side", "compare", "figure_names"]

NO_TIER = "(none)"
REFERRAL_STATUSES = ("pending", "qualified", "rewarded", "flagged", "void")
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")

Value = int | Decimal | None


@dataclass(frozen=True, slots=True)
class Figure:
    """One number for both sides. ``delta_pct`` is None when the baseline is zero and the
    candidate is not (growth from nothing has no percentage)."""

    name: str
    unit: str  # "points", "money", "customers", "count"
    label: str
    baseline: Value
    candidate: Value

    @property
    def delta(self) -> Value:
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline

    @property
    def delta_pct(self) -> Decimal | None:
        delta = self.delta
        if delta is None or self.baseline is None:
            return None
        if self.baseline == 0:
            return Decimal("0.00") if delta == 0 else None
        return (Decimal(delta) * _HUNDRED / Decimal(self.baseline)).quantize(
            _CENT, ROUND_HALF_EVEN)

    def as_json(self) -> dict[str, Any]:
        pct = self.delta_pct
        return {"unit": self.unit, "label": self.label, "baseline": _plain(self.baseline),
                "candidate": _plain(self.candidate), "delta": _plain(self.delta),
                "delta_pct": None if pct is None else str(pct)}


@dataclass(frozen=True, slots=True)
class Side:
    """What one side ran: program versions (as replayed), files and the point value."""

    programs: tuple[Program, ...]
    files: tuple[str, ...]
    outcome: Outcome

    @property
    def final(self) -> Program:
        """The version in effect at the end of the replay."""
        return next(p for p in self.programs if p.version == self.outcome.version)

    @property
    def point_value(self) -> Decimal | None:
        return self.final.redemption.point_value

    def money(self, points: int) -> Decimal | None:
        """The money value of ``points`` at the program's stated ``redemption.point_value``."""
        if self.point_value is None:
            return None
        return value_of_points(points, self.point_value, self.final.currency)

    def as_json(self) -> dict[str, Any]:
        out = self.outcome
        return {
            "programs": [p.label for p in self.programs], "files": list(self.files),
            "currency": self.final.currency,
            "point_value": _plain(self.point_value), "events_replayed": out.events,
            "timers_fired": out.timers, "seconds": round(out.seconds, 3),
            "referral_statuses": dict(out.referrals.statuses),
            "rejected_events": dict(out.rejected), "rejection_samples": out.rejection_samples,
        }


@dataclass(frozen=True, slots=True)
class Movement:
    """Who ends in another tier under the candidate, by each program's own tier order."""

    rows: list[str]
    columns: list[str]
    counts: list[list[int]]
    customers: list[dict[str, str]]

    def count(self, direction: str) -> int:
        return sum(1 for c in self.customers if c["direction"] == direction)

    def as_json(self) -> dict[str, Any]:
        return {"up": self.count("up"), "down": self.count("down"),
                "sideways": self.count("sideways"), "moved": len(self.customers),
                "matrix": {"rows": self.rows, "columns": self.columns, "counts": self.counts},
                "customers": self.customers}


@dataclass(slots=True)
class Comparison:
    as_of: datetime
    currency: str
    history: dict[str, Any]
    baseline: Side
    candidate: Side
    figures: dict[str, Figure]
    months: list[str]
    timezone: str
    movement: Movement
    notes: list[str] = field(default_factory=list)

    def liability_series(self) -> list[dict[str, Any]]:
        base = self.baseline.outcome.liability_by_month()
        cand = self.candidate.outcome.liability_by_month()
        rows = []
        for index, month in enumerate(self.months):
            row: dict[str, Any] = {"month": month, "baseline": base[index],
                                   "candidate": cand[index], "delta": cand[index] - base[index]}
            for name, side, points in (("baseline", self.baseline, base[index]),
                                       ("candidate", self.candidate, cand[index])):
                row[f"{name}_value"] = _plain(side.money(points))
            rows.append(row)
        return rows

    def monthly_flows(self) -> dict[str, dict[str, list[int]]]:
        return {"baseline": self.baseline.outcome.monthly,
                "candidate": self.candidate.outcome.monthly}

    def as_json(self) -> dict[str, Any]:
        return {
            "format": "loyaltykit.whatif/1", "as_of": self.as_of.isoformat(),
            "currency": self.currency, "timezone": self.timezone, "history": self.history,
            "baseline": self.baseline.as_json(), "candidate": self.candidate.as_json(),
            "figures": {name: figure.as_json() for name, figure in self.figures.items()},
            "liability_monthly": self.liability_series(),
            "flows_monthly": {"months": self.months, **self.monthly_flows()},
            "tier_movement": self.movement.as_json(), "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- figures

_POINTS: tuple[tuple[str, str, Callable[[Outcome], int]], ...] = (
    ("points_issued", "Points issued (earned + bonuses + referrals)",
     lambda o: o.flows["earn"] + o.flows["bonus"] + o.flows["referral"]),
    ("points_earned", "Points earned on orders", lambda o: o.flows["earn"]),
    ("points_bonus", "Bonus points", lambda o: o.flows["bonus"]),
    ("points_referral", "Referral points", lambda o: o.flows["referral"]),
    ("points_reversed", "Points reversed (refunds, cancellations)",
     lambda o: -o.flows["reversal"]),
    ("points_forgiven", "Reversals forgiven (points already spent)", lambda o: o.forgiven),
    ("points_expired", "Points expired", lambda o: -o.flows["expiry"]),
    ("points_redeemed", "Points redeemed", lambda o: -o.flows["redemption"]),
    ("liability", "Outstanding points (liability)", lambda o: o.liability),
)
_VALUED = ("points_issued", "points_reversed", "points_expired", "points_redeemed", "liability")
_REFERRALS = (
    ("referral_rewards", "count", "Referral rewards given (both sides)"),
    ("referral_referee_rewards", "count", "Referee rewards"),
    ("referral_referrer_rewards", "count", "Referrer rewards"),
    ("referral_points", "points", "Referral points kept (issued - reversed)"),
    ("referral_discounts", "count", "Referral discount codes issued"),
    ("referral_discount_value", "money", "Fixed-amount referral discounts, money"),
    ("referral_cost_value", "money", "Referral cost: points value + fixed discounts"),
)


def _catalogue(tier_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Figure name -> (unit, label), in report order."""
    out = {name: ("points", label) for name, label, _ in _POINTS}
    out.update({f"{name}_value": ("money", f"{out[name][1]}, money value") for name in _VALUED})
    out["customers"] = ("customers", "Customers")
    out.update({f"tier_{tier}": ("customers", f"Customers in tier {tier}") for tier in tier_ids})
    out.update({f"segment_{segment}": ("customers", f"Customers in segment {segment}")
                for segment in SEGMENTS})
    out.update({name: (unit, label) for name, unit, label in _REFERRALS})
    out.update({f"referrals_{status}": ("count", f"Referrals {status}")
                for status in REFERRAL_STATUSES})
    out["rejected_events"] = ("count", "Events the program rejected")
    return out


def figure_names(tier_ids: Iterable[str]) -> list[str]:
    """Every figure name, known before any replay (for validating ``--fail-if`` early)."""
    return list(_catalogue(tier_ids))


def tier_union(*programs: Sequence[Program]) -> list[str]:
    """Tier ids of every version of both sides, so figure names are known before a replay;
    a tier the version in effect at the end lacks holds no customers."""
    return list(dict.fromkeys(tier for side in programs for p in side for tier in p.tier_ids()))


def _values(side: Side) -> dict[str, Value]:
    o, refs = side.outcome, side.outcome.referrals
    values: dict[str, Value] = {name: get(o) for name, _, get in _POINTS}
    for name in _VALUED:
        points = values[name]
        assert isinstance(points, int)
        values[f"{name}_value"] = side.money(points)
    values["customers"] = o.customers
    values.update({f"tier_{tier}": count for tier, count in o.tiers.items()})
    values.update({f"segment_{segment}": count for segment, count in o.segments.items()})
    kept = refs.points_issued - refs.points_reversed
    discounts = from_minor(refs.fixed_discount_minor, side.final.currency)
    kept_value = side.money(kept) if kept else Decimal(0)
    values.update({
        "referral_rewards": refs.referee_rewards + refs.referrer_rewards,
        "referral_referee_rewards": refs.referee_rewards,
        "referral_referrer_rewards": refs.referrer_rewards,
        "referral_points": kept, "referral_discounts": refs.discounts,
        "referral_discount_value": discounts,
        "referral_cost_value": None if kept_value is None else kept_value + discounts,
    })
    values.update({f"referrals_{status}": refs.statuses.get(status, 0)
                   for status in REFERRAL_STATUSES})
    values["rejected_events"] = sum(o.rejected.values())
    return values


def compare(baseline: Side, candidate: Side, *, as_of: datetime, history: dict[str, Any],
            months: list[str], timezone: str, notes: Sequence[str] = ()) -> Comparison:
    tiers = tier_union(baseline.programs, candidate.programs)
    before, after = _values(baseline), _values(candidate)
    figures = {name: Figure(name, unit, label, before.get(name, _zero(unit)),
                            after.get(name, _zero(unit)))
               for name, (unit, label) in _catalogue(tiers).items()}
    return Comparison(as_of, baseline.final.currency, history, baseline, candidate, figures,
                      months, timezone, movement(baseline, candidate), list(notes))


def _zero(unit: str) -> Value:
    """A tier only one program has holds no customers under the other."""
    return None if unit == "money" else 0


# --------------------------------------------------------------------------- movement


def movement(baseline: Side, candidate: Side) -> Movement:
    """Final tiers side by side: up/down by each program's own level order (the entry
    level is 0), ``sideways`` for a different tier at the same rank (a renamed level)."""
    base_ids, cand_ids = baseline.final.tier_ids(), candidate.final.tier_ids()
    before, after = baseline.outcome.final_tier, candidate.outcome.final_tier
    customers = sorted(set(before) | set(after))
    rows = [*base_ids, NO_TIER]
    columns = [*cand_ids, NO_TIER]
    counts = [[0] * len(columns) for _ in rows]
    movers: list[dict[str, str]] = []
    for customer_id in customers:
        old, new = before.get(customer_id), after.get(customer_id)
        row = rows.index(old) if old in base_ids else len(rows) - 1
        column = columns.index(new) if new in cand_ids else len(columns) - 1
        counts[row][column] += 1
        if old == new:
            continue
        rank_old = row if old in base_ids else -1
        rank_new = column if new in cand_ids else -1
        direction = ("up" if rank_new > rank_old else "down" if rank_new < rank_old
                     else "sideways")
        movers.append({"customer_id": customer_id, "baseline": old or NO_TIER,
                       "candidate": new or NO_TIER, "direction": direction})
    keep_rows = [i for i, r in enumerate(rows) if r != NO_TIER or any(counts[i])]
    keep_cols = [j for j, c in enumerate(columns)
                 if c != NO_TIER or any(counts[i][j] for i in range(len(rows)))]
    return Movement([rows[i] for i in keep_rows], [columns[j] for j in keep_cols],
                    [[counts[i][j] for j in keep_cols] for i in keep_rows], movers)


def _plain(value: Value) -> int | str | None:
    return str(value) if isinstance(value, Decimal) else value
