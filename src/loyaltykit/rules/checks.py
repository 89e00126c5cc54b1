"""Semantic checks of a structurally valid program: rules that span several fields.

The pydantic models catch what one field can know on its own (types, ranges, patterns).
What needs the whole program (two ids that clash, a window that ends before it starts,
tier thresholds that go down) is checked here, after the models validated, so every check
can rely on typed values. Each check reports every occurrence, never only the first, and
names the YAML path the user wrote (``earning.multipliers[1].end``); the loader turns paths
into line numbers. The codes are listed in :mod:`loyaltykit.rules.loader`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from itertools import pairwise

from loyaltykit.errors import Diagnostic
from loyaltykit.rules.program import (
    CampaignBonus,
    CategoryMultiplier,
    DateWindow,
    DiscountReward,
    DiscountSpec,
    MemberDay,
    Program,
    Qualification,
    Segments,
    SkuMultiplier,
)

PathPart = str | int


def format_path(parts: Sequence[PathPart]) -> str:
    """``("earning", "multipliers", 1, "factor")`` -> ``earning.multipliers[1].factor``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def _error(code: str, message: str, parts: Sequence[PathPart], hint: str = "") -> Diagnostic:
    return Diagnostic(code=code, message=message, path=format_path(parts), hint=hint)


def _warning(code: str, message: str, parts: Sequence[PathPart], hint: str = "") -> Diagnostic:
    return Diagnostic(code=code, message=message, path=format_path(parts), hint=hint,
                      severity="warning")


def _duplicate_ids(
    what: str, ids: Sequence[str], parent: tuple[PathPart, ...],
) -> Iterator[Diagnostic]:
    first: dict[str, int] = {}
    for index, item_id in enumerate(ids):
        if item_id in first:
            earlier = format_path((*parent, first[item_id]))
            yield _error("LK201", f"duplicate {what} id {item_id!r} (also used at {earlier})",
                         (*parent, index, "id"),
                         "ids name entries in the ledger and reports: give each a unique id")
        else:
            first[item_id] = index


def check_ids(program: Program) -> Iterator[Diagnostic]:
    earning = program.earning
    yield from _duplicate_ids("multiplier", [m.id for m in earning.multipliers],
                              ("earning", "multipliers"))
    yield from _duplicate_ids("bonus", [b.id for b in earning.bonuses], ("earning", "bonuses"))
    if program.tiers:
        yield from _duplicate_ids("tier level", program.tier_ids(), ("tiers", "levels"))
    yield from _duplicate_ids("redemption reward", [r.id for r in program.redemption.rewards],
                              ("redemption", "rewards"))


def check_date_ranges(program: Program) -> Iterator[Diagnostic]:
    windows: list[tuple[tuple[PathPart, ...], DateWindow | CampaignBonus]] = [
        (("earning", "multipliers", i), m) for i, m in enumerate(program.earning.multipliers)
        if isinstance(m, DateWindow)]
    windows += [(("earning", "bonuses", i), b) for i, b in enumerate(program.earning.bonuses)
                if isinstance(b, CampaignBonus)]
    for parent, item in windows:
        if item.end < item.start:
            yield _error("LK202", f"{item.id!r} ends ({item.end}) before it starts ({item.start})",
                         (*parent, "end"),
                         "start and end are both inclusive; for a one-day window use the same "
                         "date twice")


def check_tier_qualification(program: Program) -> Iterator[Diagnostic]:
    if program.tiers is None:
        return
    levels = program.tiers.levels
    if levels[0].qualify is not None:
        yield _error("LK203", f"the first tier level {levels[0].id!r} has a 'qualify' section",
                     ("tiers", "levels", 0, "qualify"),
                     "the first level is the entry level every customer starts in: remove its "
                     "'qualify', or add an entry level before it")
    for index, level in enumerate(levels[1:], start=1):
        if level.qualify is None:
            yield _error("LK203", f"tier level {level.id!r} has no 'qualify' section",
                         ("tiers", "levels", index),
                         "every level after the first needs thresholds, e.g. "
                         "qualify: {net_spend: 1000}")
        elif not _thresholds(level.qualify):
            yield _error("LK203", f"tier level {level.id!r} states no threshold in 'qualify'",
                         ("tiers", "levels", index, "qualify"),
                         "state at least one of net_spend, paid_orders, points_earned")


def _thresholds(qualify: Qualification) -> dict[str, Decimal | int]:
    names = ("net_spend", "paid_orders", "points_earned")
    found = {name: getattr(qualify, name) for name in names}
    return {name: value for name, value in found.items() if value is not None}


def check_tier_order(program: Program) -> Iterator[Diagnostic]:
    if program.tiers is None:
        return
    previous: dict[str, tuple[str, Decimal | int]] = {}
    for index, level in enumerate(program.tiers.levels):
        if level.qualify is None:
            continue
        for name, value in _thresholds(level.qualify).items():
            if name in previous and value < previous[name][1]:
                lower_id, lower_value = previous[name]
                yield _warning(
                    "LK204",
                    f"{name} of tier level {level.id!r} ({value}) is lower than that of the "
                    f"level before it, {lower_id!r} ({lower_value})",
                    ("tiers", "levels", index, "qualify", name),
                    "levels are listed from lowest to highest: order them by threshold")
            previous[name] = (level.id, value)


_SEGMENT_ORDER = ("active_days", "silent_days", "sleeping_days", "at_risk_days")


def check_segments(program: Program) -> Iterator[Diagnostic]:
    segments = program.segments
    for lower, higher in pairwise(_SEGMENT_ORDER):
        low, high = getattr(segments, lower), getattr(segments, higher)
        if high <= low:
            yield _error(
                "LK205",
                f"{higher} ({high}{_default_note(segments, higher)}) must be greater than "
                f"{lower} ({low}{_default_note(segments, lower)})",
                ("segments", higher),
                "segments are days since the last order and must strictly increase: "
                "active < silent < sleeping < at_risk")


def _default_note(segments: Segments, name: str) -> str:
    return "" if name in segments.model_fields_set else ", the default"


def check_order_lines(program: Program) -> Iterator[Diagnostic]:
    for index, item in enumerate(program.earning.multipliers):
        if isinstance(item, CategoryMultiplier | SkuMultiplier):
            yield _warning("LK206", f"{item.type} multiplier {item.id!r} needs order lines; "
                           "orders without lines earn the base rate",
                           ("earning", "multipliers", index),
                           "make sure your adapter or export includes line items")


def check_member_days(program: Program) -> Iterator[Diagnostic]:
    for index, item in enumerate(program.earning.multipliers):
        if isinstance(item, MemberDay) and item.day_of_month > 28 and not item.clamp_to_month_end:
            yield _warning("LK207", f"member day {item.id!r} on day {item.day_of_month} is "
                           "skipped in months without that day",
                           ("earning", "multipliers", index, "day_of_month"),
                           "add 'clamp_to_month_end: true' to hold it on the last day of "
                           "shorter months")


def check_referral_rewards(program: Program) -> Iterator[Diagnostic]:
    referrals = program.referrals
    if referrals and referrals.referee_reward is None and referrals.referrer_reward is None:
        yield _warning("LK208", "the referrals section gives no reward to either side",
                       ("referrals",),
                       "add referee_reward and/or referrer_reward, or remove the section")


def check_discount_percentages(program: Program) -> Iterator[Diagnostic]:
    specs: list[tuple[tuple[PathPart, ...], DiscountSpec]] = []
    if program.referrals:
        for side in ("referee_reward", "referrer_reward"):
            reward = getattr(program.referrals, side)
            if isinstance(reward, DiscountReward):
                specs.append((("referrals", side, "discount"), reward.discount))
    specs += [(("redemption", "rewards", i, "discount"), r.discount)
              for i, r in enumerate(program.redemption.rewards)]
    for parent, spec in specs:
        if spec.value_type == "percentage" and spec.value > 100:
            yield _error("LK209", f"a discount of {spec.value}% is more than the whole price",
                         (*parent, "value"),
                         "percentages are 0-100; for money off use value_type: fixed_amount")


CHECKS: tuple[Callable[[Program], Iterator[Diagnostic]], ...] = (
    check_ids, check_date_ranges, check_tier_qualification, check_tier_order, check_segments,
    check_order_lines, check_member_days, check_referral_rewards, check_discount_percentages,
)


def check_program(program: Program) -> list[Diagnostic]:
    """Every semantic problem of ``program``; diagnostics carry paths but no line numbers."""
    return [diagnostic for check in CHECKS for diagnostic in check(program)]
