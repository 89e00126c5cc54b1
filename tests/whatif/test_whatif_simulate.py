"""Simulation results: zero difference against itself, hand-computed differences, tier
movement, and agreement with what the real ledger computes from the same history."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from whatif_kit import (
    SAMPLE_PROGRAM,
    at,
    paid,
    program,
    referral_history,
    tier_history,
)

from loyaltykit.errors import ConfigurationError, InputError
from loyaltykit.events import OrderPaid
from loyaltykit.ledger import open_ledger
from loyaltykit.rules.loader import load_program
from loyaltykit.rules.program import Program, Redemption
from loyaltykit.sampledata import DEFAULT_START, generate_shop
from loyaltykit.whatif import (
    Comparison,
    History,
    history_from_events,
    history_from_files,
    history_from_ledger,
    simulate,
)


@pytest.fixture(scope="module")
def sample() -> Program:
    return load_program(SAMPLE_PROGRAM)


@pytest.fixture(scope="module")
def shop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("shop")
    generate_shop(directory, customers=100, orders=1000, start=DEFAULT_START, days=500)
    return directory


@pytest.fixture(scope="module")
def shop(shop_dir: Path, sample: Program) -> History:
    return history_from_files(shop_dir, currency=sample.currency)


def _figures(result: Comparison) -> dict[str, Any]:
    return {name: (f.baseline, f.candidate, f.delta, f.delta_pct)
            for name, f in result.figures.items()}


# --------------------------------------------------------------------------- self


def test_a_program_against_itself_differs_in_no_figure(shop: History, sample: Program) -> None:
    result = simulate(shop, [sample], [sample])
    data = result.as_json()
    assert data["figures"]["points_issued"]["baseline"] > 0  # the shop did something
    assert data["figures"]["points_expired"]["baseline"] > 0
    for name, figure in data["figures"].items():
        assert figure["baseline"] == figure["candidate"], name
        assert figure["delta"] in (0, "0.00", None), name
        assert figure["delta_pct"] in ("0.00", None), name
    assert all(row["delta"] == 0 for row in data["liability_monthly"])
    assert data["tier_movement"]["moved"] == 0
    counts = data["tier_movement"]["matrix"]["counts"]
    off_diagonal = [c for i, row in enumerate(counts) for j, c in enumerate(row) if i != j]
    assert sum(off_diagonal) == 0
    assert data["flows_monthly"]["baseline"] == data["flows_monthly"]["candidate"]


def test_replay_agrees_with_the_ledger_run_on_the_same_history(
        shop_dir: Path, shop: History, sample: Program, tmp_path: Path) -> None:
    """The simulation's baseline is what the real ledger computes, figure by figure."""
    ledger = open_ledger(tmp_path / "live.db", sample)
    ledger.ingest(shop.events)
    ledger.run(shop.last_at)
    report = ledger.report(as_of=shop.last_at)
    ledger.close()
    result = simulate(shop, [sample], [sample])
    figures = result.figures
    assert figures["liability"].baseline == report.liability_points
    assert figures["liability_value"].baseline == report.liability_value
    assert figures["points_earned"].baseline == report.points.get("earn", 0)
    assert figures["points_bonus"].baseline == report.points.get("bonus", 0)
    assert figures["points_referral"].baseline == report.points.get("referral", 0)
    assert figures["points_reversed"].baseline == -report.points.get("reversal", 0)
    assert figures["points_expired"].baseline == -report.points.get("expiry", 0)
    assert figures["points_forgiven"].baseline == report.forgiven
    assert figures["customers"].baseline == report.customers
    assert {t: figures[f"tier_{t}"].baseline for t in report.tiers} == report.tiers
    assert {s: figures[f"segment_{s}"].baseline for s in report.segments} == report.segments
    assert result.baseline.outcome.referrals.statuses == report.referrals
    assert figures["rejected_events"].baseline == report.rejected_events


def test_the_ledger_history_is_read_in_the_runner_order_and_left_untouched(
        shop: History, sample: Program, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    ledger = open_ledger(db, sample)
    ledger.ingest(shop.events)
    ledger.run(at(6, 1))
    ledger.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    from_db = history_from_ledger(db)
    assert list(from_db.events) == list(shop.events)
    assert from_db.programs == (sample,)
    assert from_db.processed_until == at(6, 1)
    result = simulate(from_db, from_db.programs, [sample])
    assert result.figures["liability"].delta == 0
    # SQLite may create its -wal/-shm side files to read a WAL database; nothing is written
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    wal = db.with_name("live.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_missing_ledger_or_another_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="ledger database not found"):
        history_from_ledger(tmp_path / "nope.db")
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    with pytest.raises(InputError, match="not a loyaltykit ledger"):
        history_from_ledger(other)


def test_both_programs_in_parallel_give_the_sequential_answer(
        shop: History, sample: Program) -> None:
    candidate = sample.model_copy(update={"expiry": None, "version": 2})
    one = simulate(shop, [sample], [candidate], jobs=1)
    two = simulate(shop, [sample], [candidate], jobs=2)
    assert _figures(one) == _figures(two)
    assert one.movement == two.movement
    assert one.figures["points_expired"].candidate == 0
    assert one.figures["liability"].delta > 0  # nothing expires, so more is outstanding


# --------------------------------------------------------------------------- hand computed


def test_gold_at_2x_and_a_300_point_referrer_reward_give_the_hand_computed_difference() -> None:
    """Baseline (Gold 1.5x, referrer 500):
    A: a1 100 + a2 200 + a3 100x1.5=150 + referrer 500 (Jan), a4 150 (Feb)
    B: b1 80 + referee 100;  C: c1 300 + c2 50 + c3 150 - refund of half 75
    Candidate (Gold 2x, referrer 300): a3 200, a4 200, referrer 300, c3 200 - 100.
    """
    history = history_from_events(referral_history())
    result = simulate(history, [program("shop-v1.yaml")], [program("shop-v2.yaml")])
    f = result.figures
    expected = {
        "points_issued": (1780, 1730), "points_earned": (1180, 1330),
        "points_referral": (600, 400), "points_reversed": (75, 100),
        "liability": (1705, 1630), "referral_points": (600, 400),
        "referral_rewards": (2, 2), "tier_gold": (2, 2), "tier_member": (1, 1),
    }
    assert {name: (f[name].baseline, f[name].candidate) for name in expected} == expected
    assert f["liability"].delta == -75
    assert f["liability"].delta_pct == Decimal("-4.40")  # -75 / 1705
    assert (f["liability_value"].baseline, f["liability_value"].candidate) == (
        Decimal("17.05"), Decimal("16.30"))
    assert f["liability_value"].delta == Decimal("-0.75")
    assert (f["referral_cost_value"].baseline, f["referral_cost_value"].candidate) == (
        Decimal("6.00"), Decimal("4.00"))
    assert [(r["month"], r["baseline"], r["candidate"]) for r in result.liability_series()] == [
        ("2025-01", 1555, 1430), ("2025-02", 1705, 1630)]
    assert result.movement.customers == []


def test_customers_who_move_tier_are_counted_and_named() -> None:
    """cN has N orders. Baseline Silver at 2, Gold at 3; candidate Silver at 1, Gold at 4."""
    history = history_from_events(tier_history())
    result = simulate(history, [program("tiers-v1.yaml")], [program("tiers-v2.yaml")])
    moves = result.movement
    assert moves.customers == [
        {"customer_id": "c1", "baseline": "member", "candidate": "silver", "direction": "up"},
        {"customer_id": "c3", "baseline": "gold", "candidate": "silver", "direction": "down"},
    ]
    assert moves.rows == moves.columns == ["member", "silver", "gold"]
    assert moves.counts == [[0, 1, 0], [0, 1, 0], [0, 1, 1]]
    f = result.figures
    assert (f["tier_silver"].baseline, f["tier_silver"].candidate) == (1, 3)
    assert f["tier_gold"].delta == -1
    assert f["tier_member"].delta_pct == Decimal("-100.00")
    # the candidate takes effect in 2026: replayed as if in effect for the whole history
    assert any("tiers@v2 takes effect 2026-06-01" in note for note in result.notes)


def test_keep_dates_applies_a_later_version_only_from_its_date() -> None:
    history = history_from_events(tier_history())
    result = simulate(history, [program("tiers-v1.yaml")],
                      [program("tiers-v1.yaml"), program("tiers-v2.yaml")], keep_dates=True)
    assert result.movement.customers == []
    assert result.notes == []


def test_as_of_cuts_the_history_and_money_figures_need_a_point_value() -> None:
    history = history_from_events(referral_history())
    no_value = program("shop-v2.yaml").model_copy(update={"redemption": Redemption()})
    result = simulate(history, [program("shop-v1.yaml")], [no_value], as_of=at(1, 31, 23))
    assert result.months == ["2025-01"]
    assert result.figures["liability"].baseline == 1555
    assert result.figures["liability_value"].candidate is None
    assert result.figures["liability_value"].delta is None
    assert result.as_json()["figures"]["liability_value"]["delta_pct"] is None


def test_programs_in_different_currencies_are_refused() -> None:
    history = history_from_events(referral_history())
    with pytest.raises(ConfigurationError, match="different currencies"):
        simulate(history, [program("shop-v1.yaml")], [program("usd.yaml")])


def test_bad_events_are_all_reported_and_duplicates_counted_once() -> None:
    naive = OrderPaid("x1", "A", datetime(2025, 1, 5), Decimal("1.00"), "CNY")
    negative = paid("x2", "A", at(1, 5), "-1.00")
    with pytest.raises(InputError) as caught:
        history_from_events([naive, negative, *referral_history()])
    assert len(caught.value.problems) == 2
    events = referral_history()
    history = history_from_events([*events, events[5], replace(events[6])])
    assert len(history.events) == len(events)
    assert history.duplicates == 2


def test_an_as_of_before_the_first_event_is_refused() -> None:
    history = history_from_events(referral_history())
    with pytest.raises(InputError, match="before the first event"):
        simulate(history, [program("shop-v1.yaml")], [program("shop-v2.yaml")],
                 as_of=at(1, 1))


@pytest.fixture
def no_fork(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    yield


def test_without_fork_the_replays_run_one_after_the_other(no_fork: None) -> None:
    history = history_from_events(referral_history())
    result = simulate(history, [program("shop-v1.yaml")], [program("shop-v2.yaml")], jobs=2)
    assert result.figures["liability"].delta == -75


def test_points_are_valued_at_the_exact_point_value_rounded_half_even() -> None:
    """201 points at 0.005 CNY are 1.005 CNY: half-even gives 1.00, not 1.01."""
    events = [*referral_history()[:3], paid("z1", "C", at(1, 4), "101.00")]
    cheap = program("shop-v1.yaml").model_copy(update={"redemption": Redemption(
        point_value=Decimal("0.005"))})
    result = simulate(history_from_events(events), [cheap], [cheap])
    assert result.figures["liability"].baseline == 101 + 100  # A's a4 earns 100
    assert result.figures["liability_value"].baseline == Decimal("1.00")


def test_with_keep_dates_the_figures_follow_the_version_in_effect_at_as_of() -> None:
    """tiers@v3 (Platinum, from July 2026) is not in effect in 2025: the tiers counted are
    v1's, and the figure names still cover every version's tiers."""
    history = history_from_events(tier_history())
    later = [program("tiers-v1.yaml"), program("tiers-v3.yaml")]
    result = simulate(history, [program("tiers-v1.yaml")], later, keep_dates=True)
    assert result.candidate.final.version == 1
    assert [n for n in result.figures if n.startswith("tier_")] == [
        "tier_member", "tier_silver", "tier_gold", "tier_platinum"]
    assert result.figures["tier_gold"].candidate == 2
    assert result.figures["tier_platinum"].candidate == 0
    assert "platinum" not in result.movement.columns
