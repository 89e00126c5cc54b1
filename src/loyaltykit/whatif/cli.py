"""``loyaltykit simulate``: what a proposed program would have done on the shop's own history.

Exit codes: 0 when no ``--fail-if`` condition holds, 3 when one holds (a CI gate tripped).
Errors are raised as :class:`~loyaltykit.errors.LoyaltyKitError` for the ``loyaltykit``
entry point to report: a program, input file, option or condition that needs fixing
(``ConfigurationError`` / ``InputError``, exit 2 there).
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from loyaltykit.errors import ConfigurationError
from loyaltykit.rules.loader import load_programs
from loyaltykit.rules.program import Program
from loyaltykit.whatif.compare import Comparison, figure_names, tier_union
from loyaltykit.whatif.conditions import Condition, metric_values, parse_condition
from loyaltykit.whatif.history import History, history_from_files, history_from_ledger
from loyaltykit.whatif.htmlreport import render_html
from loyaltykit.whatif.simulate import simulate as run_simulation

__all__ = ["FAIL_EXIT_CODE", "register"]

FAIL_EXIT_CODE = 3

_SUMMARY = ("liability", "liability_value", "points_issued", "points_reversed",
            "points_expired", "points_redeemed", "referral_rewards", "referral_cost_value")

def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


def simulate_command(
    candidate: Annotated[list[Path], typer.Option(
        "--candidate", exists=True, dir_okay=False, metavar="FILE",
        help="The proposed program (repeat for several versions of it)")],
    baseline: Annotated[list[Path] | None, typer.Option(
        "--baseline", exists=True, dir_okay=False, metavar="FILE",
        help="The current program (repeatable); default with --db: the ledger's programs")]
    = None,
    db: Annotated[str | None, typer.Option(
        "--db", metavar="LEDGER",
        help="Read the history from this ledger (SQLite file or URL), read-only")]
    = None,
    files: Annotated[Path | None, typer.Option(
        "--files", exists=True, file_okay=False, metavar="DIR",
        help="Read the history from canonical CSV files in this folder")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="WHEN", help="Replay up to this instant (ISO 8601 with offset) "
        "or the end of this date in the shop's timezone; default: the last event")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the full comparison as JSON on stdout")] = False,
    html: Annotated[Path | None, typer.Option(
        "--html", dir_okay=False, metavar="FILE",
        help="Write a self-contained HTML report to this file")]
    = None,
    fail_if: Annotated[list[str] | None, typer.Option(
        "--fail-if", metavar="CONDITION",
        help="Exit 3 if this condition holds, e.g. 'liability_delta_pct > 10' (repeatable; "
        "metrics: <figure>_baseline|_candidate|_delta|_delta_pct, tier_moves*)")]
    = None,
    keep_dates: Annotated[bool, typer.Option(
        "--keep-dates", help="Apply each version only from its effective_from (default: "
        "each side's first version covers the whole history)")] = False,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", min=1, max=2, metavar="N", help="1: replay one program after the other; "
        "2: both at once (default: 2 on large histories when the machine has two cores)")]
    = None,
) -> None:
    """Replay a baseline and a candidate program over the shop's history and compare them,
    without touching the live ledger.

    Prints every figure for both programs and the difference: points issued, reversed,
    expired and redeemed, the liability (and its money value when the program states
    redemption.point_value), customers per tier and segment, who changes tier, referral
    rewards and their cost. --json prints the same as JSON; --html writes a page with charts.

    --fail-if conditions compare a metric with a number: >, >=, <, <=, ==, !=, combined with
    and / or / not and parentheses. Metrics are <figure>_baseline, <figure>_candidate,
    <figure>_delta, <figure>_delta_pct (figures as in the JSON, e.g. liability,
    points_expired, tier_gold, referral_cost_value) and tier_moves, tier_moves_up,
    tier_moves_down, tier_moves_sideways. A change from zero is an infinite percentage; an
    unknown money figure compares false.

    Exit code 3 when a --fail-if condition holds, 0 otherwise.
    """
    if (db is None) == (files is None):
        raise ConfigurationError("give the history with exactly one of --db LEDGER or "
                                 "--files DIR")
    conditions_text = list(fail_if or [])
    for text in conditions_text:  # syntax errors before any slow work
        parse_condition(text)
    candidate_programs = load_programs(candidate)
    baseline_programs = load_programs(baseline) if baseline else []
    if not baseline_programs and files is not None:
        raise ConfigurationError("--baseline is needed with --files (with --db it defaults "
                                 "to the programs installed in the ledger)")
    conditions: list[Condition] = []
    if baseline_programs:
        conditions = _conditions(conditions_text, baseline_programs, candidate_programs)
    started = time.perf_counter()
    history = _history(db, files, baseline_programs or candidate_programs)
    _say(f"read {len(history.events):,} events from {history.source} in "
         f"{time.perf_counter() - started:.1f} s")
    baseline_files = [str(p) for p in baseline] if baseline else [f"installed in {db}"]
    if not baseline_programs:
        if not history.programs:
            raise ConfigurationError(f"the ledger {db} has no program installed; give "
                                     "--baseline FILE")
        baseline_programs = list(history.programs)
        conditions = _conditions(conditions_text, baseline_programs, candidate_programs)
    instant = _as_of(as_of, baseline_programs[-1]) if as_of else None
    started = time.perf_counter()
    comparison = run_simulation(
        history, baseline_programs, candidate_programs, as_of=instant, keep_dates=keep_dates,
        jobs=jobs, baseline_files=baseline_files, candidate_files=[str(p) for p in candidate])
    _say(f"replayed both programs in {time.perf_counter() - started:.1f} s")
    _finish(comparison, conditions, json_output, html)


def _conditions(texts: list[str], baseline: list[Program],
                candidate: list[Program]) -> list[Condition]:
    tiers = tier_union(baseline, candidate)
    figures = figure_names(tiers)
    return [parse_condition(text, figures) for text in texts]


def _history(db: str | None, files: Path | None, programs: list[Program]) -> History:
    if db is not None:
        return history_from_ledger(db)
    assert files is not None
    return history_from_files(files, currency=programs[0].currency)


def _as_of(text: str, program: Program) -> datetime:
    """An instant with an offset, or a date meaning the end of that day in the shop."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1), clock_time(), program.tz) \
            - timedelta(microseconds=1)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(f"--as-of {text!r} is not a date or an ISO 8601 instant; "
                                 "write e.g. 2026-01-31 or 2026-01-31T00:00:00+08:00") from None
    if value.tzinfo is None:
        raise ConfigurationError(f"--as-of {text!r} has no offset; add one such as +08:00")
    return value


def _finish(comparison: Comparison, conditions: list[Condition], json_output: bool,
            html: Path | None) -> None:
    data = comparison.as_json()
    values = metric_values(comparison)
    held = [c for c in conditions if c.holds(values)]
    data["conditions"] = [{"expression": c.text, "holds": c in held} for c in conditions]
    if html is not None:
        html.write_text(render_html(data), encoding="utf-8")
        _say(f"wrote {html}")
    if json_output:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_summary(Console(), data)
    for condition in held:
        _say(f"--fail-if {condition.explain(values)}")
    if held:
        raise typer.Exit(FAIL_EXIT_CODE)


def _print_summary(console: Console, data: dict[str, Any]) -> None:
    console.print(f"[bold]{', '.join(data['candidate']['programs'])}[/] instead of "
                  f"[bold]{', '.join(data['baseline']['programs'])}[/], "
                  f"{data['history']['events']:,} events up to {data['as_of']}")
    table = Table("figure", "baseline", "candidate", "difference", "change")
    figures = data["figures"]
    tiers = [name for name in figures if name.startswith("tier_")]
    for name in (*_SUMMARY, *tiers):
        f = figures[name]
        table.add_row(f["label"], *(_text(f[k]) for k in ("baseline", "candidate", "delta")),
                      "new" if f["delta_pct"] is None else f"{f['delta_pct']}%")
    console.print(table)
    moves = data["tier_movement"]
    console.print(f"Tier movement: {moves['up']:,} up, {moves['down']:,} down, "
                  f"{moves['sideways']:,} sideways")
    for note in data["notes"]:
        console.print(f"note: {note}", markup=False)


def _text(value: Any) -> str:
    """Thousands separators for points and money alike (money arrives as a Decimal string)."""
    if value is None:
        return "n/a"
    return f"{value:,}" if isinstance(value, int) else f"{Decimal(value):,}"


def _say(message: str) -> None:
    typer.echo(message, err=True)
