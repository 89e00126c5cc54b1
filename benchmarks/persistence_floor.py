"""Persistence floor: how long SQLite takes to write a replayed ledger's rows, ready-made.

    python benchmarks/replay.py --customers 100000 --orders 1000000 --out /tmp/bench1m
    python benchmarks/persistence_floor.py --out /tmp/bench1m

Takes the rows ``replay.py`` left in ``OUT/bench.db`` (customers, orders, lots, entries,
tier changes, referrals, outbox) as the driver returns them, imports the same shop into a
new ledger (the inbox only, as before a replay), and writes all the rows into it in one
transaction with ``executemany``, then marks every event done: no engine, no conversion, no
pages. That is the least any replay writing this schema once could spend, so it says what
is left for the engine under a replay target. Measured twice: with the indexes in place,
and with the secondary indexes dropped and built again after the load.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path

from replay import PROGRAM

from loyaltykit.canonical import read_shop_files
from loyaltykit.ledger import open_ledger
from loyaltykit.rules.loader import load_program

TABLES = ("lk_customers", "lk_orders", "lk_lots", "lk_entries", "lk_tier_changes",
          "lk_referrals", "lk_outbox")


def read_rows(db: Path) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    conn = sqlite3.connect(db)
    try:
        out = {}
        for table in TABLES:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            out[table] = columns, conn.execute(
                f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        return out
    finally:
        conn.close()


def load(target: Path, rows: dict[str, tuple[list[str], list[tuple[object, ...]]]], *,
         rebuild: bool) -> dict[str, float]:
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")  # as the ledger sets it
    timings: dict[str, float] = {}
    started = time.perf_counter()
    conn.execute("BEGIN")
    indexes: list[tuple[str, str]] = []
    if rebuild:  # UNIQUE constraints keep theirs: only declared indexes can go
        names = ", ".join(f"'{t}'" for t in TABLES)
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({names})").fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
    for table, (columns, values) in rows.items():
        t0 = time.perf_counter()
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' * len(columns))})", values)
        timings[table] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _, sql in indexes:
        conn.execute(sql)
    timings["index rebuild"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    conn.execute("UPDATE lk_inbox SET status = 'done' WHERE status = 'pending'")
    timings["inbox statuses"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    conn.execute("COMMIT")
    timings["commit"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    conn.close()
    return {k: round(v, 2) for k, v in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="replay.py's --out")
    args = parser.parse_args()
    replayed = args.out / "bench.db"
    shop = next(args.out.glob("shop-*"))
    program = load_program(PROGRAM)
    imported = args.out / "imported.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{imported}{suffix}").unlink(missing_ok=True)
    with open_ledger(imported, program) as ledger:
        ledger.ingest(s.event for s in read_shop_files(shop, currency=program.currency).events())
    rows = read_rows(replayed)
    figures: dict[str, object] = {"rows": {t: len(v) for t, (_, v) in rows.items()}}
    target = args.out / "floor.db"
    for rebuild in (False, True):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        target.write_bytes(imported.read_bytes())
        figures["indexes rebuilt after" if rebuild else "indexes in place"] = load(
            target, rows, rebuild=rebuild)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
