"""Benchmark of ``simulate`` on the synthetic shop (not collected by pytest).

    .venv/bin/python benchmarks/whatif.py --customers 100000 --orders 1000000 \
        --dir /tmp/shop1m [--ledger]

Prints one JSON object: wall and CPU seconds of reading the history, of one replay, of a
simulation with both programs (sequential and in parallel) and, with ``--ledger``, of the
live path (ingest + run into a SQLite ledger) and of reading the history back from it.
``one_replay`` and ``one_replay_candidate`` replay each program alone: a parallel simulation
should take about the longer of the two.
The candidate is the bundled program with Gold at 2x, a lower Gold threshold, a 500-point
referrer reward and 180-day expiry, so both sides do real work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from loyaltykit.ledger import open_ledger
from loyaltykit.rules.loader import load_program
from loyaltykit.rules.program import Program
from loyaltykit.rules.versions import ProgramSet
from loyaltykit.sampledata import DEFAULT_START, generate_shop
from loyaltykit.whatif import history_from_files, history_from_ledger, simulate
from loyaltykit.whatif.replay import MonthGrid, replay

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "loyaltykit" / "samples" / "program.yaml"
_T = TypeVar("_T")


def candidate_of(baseline: Program) -> Program:
    tiers = baseline.tiers
    assert tiers is not None and baseline.referrals is not None
    levels = list(tiers.levels)
    gold = levels[2]
    assert gold.qualify is not None
    levels[2] = gold.model_copy(update={
        "qualify": gold.qualify.model_copy(update={"net_spend": Decimal("2500.00"),
                                                   "paid_orders": 10}),
        "benefits": gold.benefits.model_copy(update={"earn_multiplier": Decimal(2)})})
    referrer = baseline.referrals.referrer_reward
    assert referrer is not None
    return baseline.model_copy(update={
        "version": baseline.version + 1,
        "tiers": tiers.model_copy(update={"levels": levels}),
        "referrals": baseline.referrals.model_copy(update={
            "referrer_reward": referrer.model_copy(update={"points": 500})}),
        "expiry": baseline.expiry and baseline.expiry.model_copy(update={"days": 180})})


def timed(results: dict[str, Any], name: str, work: Callable[[], _T]) -> _T:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, cpu = time.perf_counter(), time.process_time()
    value = work()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    results[name] = {
        "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "child_cpu_s": round(after.ru_utime + after.ru_stime
                             - children.ru_utime - children.ru_stime, 1)}
    print(name, results[name], flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--ledger", action="store_true", help="also time the live ledger path")
    args = parser.parse_args()
    results: dict[str, Any] = {"customers": args.customers, "orders": args.orders,
                               "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    if not (args.dir / "orders.csv").exists():
        timed(results, "generate_shop", lambda: generate_shop(
            args.dir, customers=args.customers, orders=args.orders, start=DEFAULT_START))
    baseline = load_program(SAMPLE)
    candidate = candidate_of(baseline)
    history = timed(results, "read_files", lambda: history_from_files(
        args.dir, currency=baseline.currency))
    results["events"] = len(history.events)
    results["by_kind"] = history.by_kind
    grid = MonthGrid(history.first_at, history.last_at, baseline.tz)
    timed(results, "one_replay", lambda: replay(
        ProgramSet([baseline]), history.events, history.last_at, grid))
    timed(results, "one_replay_candidate", lambda: replay(
        ProgramSet([candidate]), history.events, history.last_at, grid))
    parallel = timed(results, "simulate_parallel",
                     lambda: simulate(history, [baseline], [candidate], jobs=2))
    timed(results, "simulate_sequential",
          lambda: simulate(history, [baseline], [candidate], jobs=1))
    results["figures"] = {name: parallel.as_json()["figures"][name] for name in (
        "liability", "points_issued", "points_expired", "tier_gold")}
    results["tier_moves"] = {k: v for k, v in parallel.as_json()["tier_movement"].items()
                             if k in ("up", "down", "moved")}
    if args.ledger:
        db = args.dir / "ledger.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        ledger = open_ledger(db, baseline)
        timed(results, "ledger_ingest", lambda: ledger.ingest(history.events))
        timed(results, "ledger_run", lambda: ledger.run(history.last_at))
        ledger.close()
        timed(results, "read_ledger", lambda: history_from_ledger(db))
    results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
