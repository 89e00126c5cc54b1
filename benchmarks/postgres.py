"""PostgreSQL benchmark: the full replay, then incremental processing with 1-8 workers,
next to SQLite on the same machine.

    python benchmarks/postgres.py --url postgresql+psycopg://postgres@127.0.0.1/postgres \\
        --customers 10000 --orders 100000 --workers 1,2,4,8

The synthetic shop is the one of benchmarks/replay.py (loyaltykit.sampledata, cached under
benchmarks/out). For each backend: import (CSV -> events -> inbox) and full replay (inbox
-> engine -> ledger tables) in one process (then VACUUM ANALYZE on PostgreSQL, as
autovacuum would after a bulk load); then, for each worker count W, W processes
that each take orders one at a time as a webhook receiver would: ingest one order and run
the clock to it (both commits), for customers of the replayed shop; then the deployment
docs/deployment.md recommends: W receivers that only ingest, and one clock run over what
they stored. Throughput is orders per second over the wall time of all W workers (plus
the clock run); latency is per order. A database is
created on the server for the run and dropped at the end (--keep to keep it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from loyaltykit.canonical import read_shop_files
from loyaltykit.events import OrderPaid
from loyaltykit.ledger import open_ledger
from loyaltykit.rules.loader import load_program
from loyaltykit.sampledata import generate_shop

HERE = Path(__file__).parent
PROGRAM = HERE.parent / "src" / "loyaltykit" / "samples" / "program.yaml"
START = datetime.fromisoformat("2024-11-01T00:00:00+08:00")
END = START + timedelta(days=730)


def replay(target: str, shop: Path) -> dict[str, Any]:
    program = load_program(PROGRAM)
    with open_ledger(target, program) as ledger:
        t0 = time.perf_counter()
        files = read_shop_files(shop, currency=program.currency)
        events = ledger.ingest(s.event for s in files.events())
        imported = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = ledger.run(END)
        replayed = time.perf_counter() - t0
    return {"events": events.new, "entries": result.entries, "timers": result.timers,
            "import_s": round(imported, 1), "replay_s": round(replayed, 1)}


def take_orders(target: str, worker: int, workers: int, count: int, customers: int,
                offset: int, process: bool, start: Any, out: Any) -> None:
    """One webhook receiver: ``count`` orders, each ingested (and processed at once if
    ``process``; otherwise the clock job does it)."""
    currency = load_program(PROGRAM).currency
    latencies = []
    with open_ledger(target) as ledger:
        start.wait()
        for n in range(count):
            sequence = offset + n * workers + worker
            at = END + timedelta(seconds=sequence + 1)
            customer = f"C{(sequence * 7919) % customers + 1:06d}"
            event = OrderPaid(f"bench-{sequence}", customer, at, Decimal("88.00"), currency)
            t0 = time.perf_counter()
            ledger.ingest([event])
            if process:
                ledger.run(at)
            latencies.append(time.perf_counter() - t0)
    out.put(latencies)


def incremental(target: str, workers: int, count: int, customers: int,
                offset: int, process: bool = True) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=take_orders, args=(target, w, workers, count, customers,
                                                   offset, process, start, out))
             for w in range(workers)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    latencies = sorted(x for _ in procs for x in out.get(timeout=3600))
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    figures = {"workers": workers, "orders": len(latencies),
               "orders_per_s": round(len(latencies) / wall, 1),
               "p50_ms": round(statistics.median(latencies) * 1000, 1),
               "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1)}
    if not process:  # the clock job's turn: one run over what the receivers stored
        with open_ledger(target) as ledger:
            t0 = time.perf_counter()
            ledger.run(END + timedelta(seconds=offset + len(latencies) + 1))
            clock = time.perf_counter() - t0
        figures["clock_run_s"] = round(clock, 2)
        figures["end_to_end_orders_per_s"] = round(len(latencies) / (wall + clock), 1)
    return figures


def create_database(url: str, name: str) -> str:
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def server_settings(url: str) -> dict[str, str]:
    with create_engine(url, poolclass=NullPool).connect() as conn:
        return {name: conn.execute(text(f"SHOW {name}")).scalar_one() for name in (
            "server_version", "shared_buffers", "synchronous_commit", "fsync",
            "max_connections")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get(
        "LOYALTYKIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--incremental", type=int, default=200,
                        help="orders per worker count")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()

    shop = args.out / f"shop-{args.customers}-{args.orders}"
    if not (shop / "orders.csv").exists():
        generate_shop(shop, customers=args.customers, orders=args.orders, start=START)
    figures: dict[str, Any] = {"customers": args.customers, "orders": args.orders,
                               "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    name = f"lk_bench_{args.orders}"
    for backend in args.backends.split(","):
        if backend == "postgresql":
            figures["server"] = server_settings(args.url)
            target = create_database(args.url, name)
        else:
            target = str(args.out / f"bench-{args.orders}.db")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        result = replay(target, shop)
        result["replay_orders_per_s"] = round(args.orders / result["replay_s"])
        if backend == "postgresql":  # what autovacuum would do after a bulk load
            t0 = time.perf_counter()
            vacuum = create_engine(target, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with vacuum.connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
            vacuum.dispose()
            result["vacuum_analyze_s"] = round(time.perf_counter() - t0, 1)
        print(backend, json.dumps(result), file=sys.stderr, flush=True)
        runs: dict[str, list[dict[str, Any]]] = {"ingest_and_run": [], "ingest_then_clock": []}
        offset = 0
        for mode, process in (("ingest_and_run", True), ("ingest_then_clock", False)):
            for workers in (int(w) for w in args.workers.split(",")):
                count = max(1, args.incremental // workers) * (1 if process else 5)
                step = incremental(target, workers, count, args.customers, offset, process)
                offset += count * workers
                print(backend, mode, json.dumps(step), file=sys.stderr, flush=True)
                runs[mode].append(step)
        figures[backend] = {**result, **runs}
        if backend == "postgresql" and not args.keep:
            drop_database(args.url, name)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
