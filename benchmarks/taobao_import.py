"""Peak memory and speed of a Taobao import on a generated million-row export.

    .venv/bin/python benchmarks/taobao_import.py                 # 1M orders, counting sink
    .venv/bin/python benchmarks/taobao_import.py --sink ledger   # into a SQLite ledger
    .venv/bin/python benchmarks/taobao_import.py --orders 100000 --keep /tmp/tb-bench

The export (46-column GBK order report plus its item report) is written by a child process
so its memory does not count; the import then runs in this process and the peak resident
set size (``ru_maxrss``) is read when it ends. The claim under test: memory stays constant
however many rows the file has, far below 500 MB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from random import Random

from loyaltykit.adapters.base import IngestResult
from loyaltykit.adapters.taobao import ImportOptions, Progress, import_files
from loyaltykit.adapters.taobao.sample import ITEM_HEADER, ORDER_HEADER
from loyaltykit.events import Event

STAMP = "202610312300"


def write_export(folder: Path, orders: int, seed: int = 7) -> list[Path]:
    """Stream a big export to disk: one line at a time, nothing kept in memory."""
    rng = Random(seed)
    order_path = folder / f"ExportOrderList{STAMP}.csv"
    item_path = folder / f"ExportOrderDetailList{STAMP}.csv"
    quoted = ",".join(f'"{h}"' for h in ORDER_HEADER)
    with order_path.open("w", encoding="gbk", newline="") as out, \
            item_path.open("w", encoding="gbk", newline="") as items:
        out.write(quoted + "\r\n")
        items.write(",".join(f'"{h}"' for h in ITEM_HEADER) + "\r\n")
        for n in range(orders):
            order_id = str(3000000000000000000 + n * 7919)
            day, second = 1 + n * 700 // orders, rng.randrange(86400)
            created = f"2025-{1 + day // 60 % 12:02d}-{1 + day % 28:02d} " \
                      f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            roll = rng.randrange(100)
            status = ("交易关闭" if roll < 5 else "买家已付款，等待卖家发货" if roll < 8
                      else "交易成功")
            price = rng.randrange(1000, 50000)
            refund = f"{price // 200}.00" if 10 <= roll < 15 else "0.00"
            paid_at = "" if roll < 2 else created
            amount = "0.00" if roll < 2 else f"{price // 100}.{price % 100:02d}"
            buyer = f"tb{rng.randrange(200000):06d}"
            fields = [buyer, f"{buyer}@example.com", amount, "0.00", "0", amount, "0", amount,
                      "0", status, "请尽快发货\n谢谢" if roll == 50 else "", "王先生",
                      f"浙江省 杭州市 西湖区 茶香路{n % 300}号({310000})", "快递", "",
                      f"'10{rng.randrange(10**9):09d}", created, paid_at, "西湖龙井 250g", "1"]
            tail = ["", "", "", "1", "0", "山间茶舍", "订单未关闭", "0", "0元", "", "手机订单", ""]
            row = ([f'="{order_id}"'] + [f'"{v}"' for v in fields] + ['=""']
                   + [f'"{v}"' for v in tail] + ['=""'] + ['"否"'] * 3 + ['""'] * 7
                   + [f'"{refund}"', '""'])
            out.write(",".join(row) + "\r\n")
            for line in range(1 + roll % 3):
                items.write(f'="{order_id}","西湖龙井 250g","{amount}","1","","规格：标准装",'
                            f'"","","{status}","TEA-{line}",\r\n')
    return [order_path, item_path]


class CountingSink:
    """Counts what it is given and keeps nothing: isolates the adapter's own memory."""

    def __init__(self) -> None:
        self.events = 0

    def ingest(self, events: Iterable[Event], *, cursor: tuple[str, str] | None = None,
               sources: Sequence[str | None] | None = None) -> IngestResult:
        count = sum(1 for _ in events)
        self.events += count
        return IngestResult(count, 0)

    def cursor(self, name: str) -> str | None:
        return None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--sink", choices=("count", "ledger"), default="count")
    parser.add_argument("--keep", type=Path, help="folder to write (and reuse) the export in")
    parser.add_argument("--write-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_only:
        write_export(args.write_only, args.orders)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="loyaltykit-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / f"ExportOrderList{STAMP}.csv").exists():
        subprocess.run([sys.executable, __file__, "--orders", str(args.orders),
                        "--write-only", str(folder)], check=True)
    paths = sorted(folder.glob("Export*.csv"))
    size = sum(p.stat().st_size for p in paths) / 1e6
    before = peak_rss_mb()
    ticks: list[Progress] = []
    started = time.perf_counter()
    if args.sink == "count":
        sink = CountingSink()
        report = import_files(sink, paths, options=ImportOptions(), progress=ticks.append)
    else:
        from loyaltykit import open_ledger

        with open_ledger(folder / "bench.db") as ledger:
            report = import_files(ledger, paths, options=ImportOptions(), progress=ticks.append)
    elapsed = time.perf_counter() - started
    rows = sum(f.rows for f in report.files)
    print(f"{args.orders} orders, {rows} rows, {size:.0f} MB of CSV, sink={args.sink}")
    print(f"{report.new} events in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s over two passes)")
    print(f"peak RSS {peak_rss_mb():.0f} MB (before import {before:.0f} MB); "
          f"{len(ticks)} progress callbacks")


if __name__ == "__main__":
    main()
