"""Replay benchmark: a synthetic shop into a SQLite ledger, then incremental latency.

    python benchmarks/replay.py --customers 100000 --orders 1000000

Measures, in one run: generation (cached), import (CSV -> events -> inbox), full replay
(inbox -> engine -> ledger tables), incremental processing latency per order, and peak
RSS (after the import and after the replay). Latency is measured twice, both times
ingesting one order and running the clock to it with both commits: once with the timers
that fell due since the previous order (lot expiries, reviews, delayed rewards) fired in
the same run, and once for the order alone, the clock having run to just before it.
Figures go in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from loyaltykit.canonical import read_shop_files
from loyaltykit.events import OrderPaid
from loyaltykit.ledger import open_ledger
from loyaltykit.rules.loader import load_program
from loyaltykit.sampledata import generate_shop

HERE = Path(__file__).parent
PROGRAM = HERE.parent / "src" / "loyaltykit" / "samples" / "program.yaml"
START = datetime.fromisoformat("2024-11-01T00:00:00+08:00")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(name: str, latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {f"{name}_p50_ms": round(statistics.median(ordered), 2),
            f"{name}_p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
            f"{name}_max_ms": round(ordered[-1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--incremental", type=int, default=1_000)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--latency-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.latency_of:
        print(json.dumps(latency(args.latency_of, args.customers, args.incremental)))
        return

    shop = args.out / f"shop-{args.customers}-{args.orders}"
    timings: dict[str, float] = {}
    if not (shop / "orders.csv").exists():
        t0 = time.perf_counter()
        generate_shop(shop, customers=args.customers, orders=args.orders, start=START)
        timings["generate_s"] = time.perf_counter() - t0

    program = load_program(PROGRAM)
    db = args.out / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    ledger = open_ledger(db, program)

    t0 = time.perf_counter()
    files = read_shop_files(shop, currency=program.currency)
    timings["validate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ingested = ledger.ingest(s.event for s in files.events())
    timings["import_s"] = time.perf_counter() - t0
    timings["peak_rss_after_import_mb"] = peak_rss_mb()

    end = START + timedelta(days=730)
    t0 = time.perf_counter()
    result = ledger.run(end)
    timings["replay_s"] = time.perf_counter() - t0

    timings["peak_rss_after_replay_mb"] = peak_rss_mb()
    ledger.close()
    # Incremental latency in a new process on the replayed file, as a webhook receiver
    # would see it, rather than in one that still holds the replay's heap.
    measured = subprocess.run(
        [sys.executable, __file__, "--latency-of", str(db), "--customers", str(args.customers),
         "--incremental", str(args.incremental)], check=True, capture_output=True, text=True)
    figures = {
        "customers": args.customers, "orders": args.orders, "events": ingested.new,
        "entries": result.entries, "timers": result.timers, **{k: round(v, 2) for k, v in
                                                               timings.items()},
        "replay_orders_per_s": round(args.orders / timings["replay_s"]),
        "import_plus_replay_orders_per_s": round(
            args.orders / (timings["validate_s"] + timings["import_s"] + timings["replay_s"])),
        **json.loads(measured.stdout), "peak_rss_mb": round(peak_rss_mb()),
        "db_mb": round(db.stat().st_size / 2**20),
    }
    print(json.dumps(figures, indent=2))


def latency(db: Path, customers: int, count: int) -> dict[str, float]:
    """Per-order latency on a replayed ledger, ``count`` orders each way (see module doc)."""
    ledger = open_ledger(db)
    end = ledger.processed_until()
    assert end is not None
    currency = ledger.programs.first.currency
    ids = [f"C{i:06d}" for i in range(1, customers + 1, 97)]

    def order(n: int, at: datetime) -> OrderPaid:
        return OrderPaid(f"bench-{at:%Y%m%d%H%M}", ids[n % len(ids)], at, Decimal("88.00"),
                         currency)

    # 1. as a webhook receiver: ingest the order and run the clock to it, which also fires
    #    the timers that fell due since the previous order; both commits included
    with_timers = []
    for n in range(count):
        at = end + timedelta(minutes=n + 1)
        t0 = time.perf_counter()
        ledger.ingest([order(n, at)])
        ledger.run(at)
        with_timers.append((time.perf_counter() - t0) * 1000)
    # 2. the order alone: a clock run to just before it first (untimed)
    alone = []
    for n in range(count, 2 * count):
        at = end + timedelta(minutes=n + 1)
        ledger.run(at - timedelta(microseconds=1))
        t0 = time.perf_counter()
        ledger.ingest([order(n, at)])
        ledger.run(at)
        alone.append((time.perf_counter() - t0) * 1000)
    ledger.close()
    return {**percentiles("incremental", with_timers), **percentiles("order_alone", alone)}


if __name__ == "__main__":
    main()
