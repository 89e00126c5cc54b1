"""The synthetic shop: deterministic, valid, and shaped to exercise the loyalty rules."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from loyaltykit.canonical import read_shop_files
from loyaltykit.sampledata import DEFAULT_START, generate_shop, main

NAMES = ("customers.csv", "orders.csv", "refunds.csv", "order_lines.csv")


def table(directory: Path, name: str) -> list[dict[str, str]]:
    with (directory / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def sample() -> Path:
    with as_file(files("loyaltykit") / "samples" / "shop") as directory:
        return Path(directory)


def test_bundled_sample_is_what_the_generator_writes(sample: Path, tmp_path: Path) -> None:
    counts = generate_shop(tmp_path, customers=300, orders=3000, seed=7,
                           start=datetime.fromisoformat("2024-11-01T00:00:00+08:00"), days=730)
    for name in NAMES:
        assert (tmp_path / name).read_bytes() == (sample / name).read_bytes(), (
            f"{name} drifted from the generator: run python -m loyaltykit.sampledata "
            "src/loyaltykit/samples/shop --customers 300 --orders 3000 --seed 7")
        assert counts[name] == len(table(sample, name))


def test_same_seed_same_bytes_other_seed_other_shop(tmp_path: Path) -> None:
    def shop(name: str, seed: int) -> bytes:
        generate_shop(tmp_path / name, customers=20, orders=100, seed=seed, start=DEFAULT_START,
                      days=60)
        return b"".join((tmp_path / name / n).read_bytes() for n in NAMES)

    assert shop("a", 1) == shop("b", 1)
    assert shop("a", 1) != shop("c", 2)


def test_sample_is_valid_canonical_input(sample: Path) -> None:
    read = read_shop_files(sample, currency="CNY")
    assert read.counts["orders.csv"] == 3000
    assert read.counts["customers.csv"] == 300


def test_lines_add_up_to_what_was_paid(sample: Path) -> None:
    lines: dict[str, Decimal] = defaultdict(Decimal)
    for row in table(sample, "order_lines.csv"):
        lines[row["order_id"]] += Decimal(row["amount"])
        assert row["category"] in {"tea", "teaware", "snacks", "gifts"}
        assert 1 <= int(row["quantity"]) <= 3
    orders = table(sample, "orders.csv")
    assert all(lines[o["order_id"]] == Decimal(o["paid_amount"]) for o in orders)
    per_order = Counter(row["order_id"] for row in table(sample, "order_lines.csv"))
    assert set(per_order.values()) == {1, 2, 3}


def test_orders_are_in_time_and_after_their_customer_joined(sample: Path) -> None:
    joined = {c["customer_id"]: datetime.fromisoformat(c["created_at"])
              for c in table(sample, "customers.csv")}
    times = [datetime.fromisoformat(o["created_at"]) for o in table(sample, "orders.csv")]
    assert times == sorted(times)
    assert all(datetime.fromisoformat(o["created_at"]) >= joined[o["customer_id"]]
               for o in table(sample, "orders.csv"))
    assert {t.utcoffset() for t in times} == {timedelta(hours=8)}  # Asia/Shanghai local time


def test_refunds_are_after_the_order_and_never_more_than_paid(sample: Path) -> None:
    orders = {o["order_id"]: o for o in table(sample, "orders.csv")}
    refunds = table(sample, "refunds.csv")
    full = 0
    for refund in refunds:
        order = orders[refund["order_id"]]
        assert order["status"] == "paid"
        delay = (datetime.fromisoformat(refund["refunded_at"])
                 - datetime.fromisoformat(order["created_at"]))
        assert timedelta(days=1) <= delay <= timedelta(days=20)
        assert Decimal(0) < Decimal(refund["amount"]) <= Decimal(order["paid_amount"])
        full += refund["amount"] == order["paid_amount"]
    assert 0 < full < len(refunds)  # some full refunds, some partial
    assert 0.04 < len(refunds) / len(orders) < 0.12


def test_cancellations(sample: Path) -> None:
    orders = table(sample, "orders.csv")
    cancelled = [o for o in orders if o["status"] == "cancelled"]
    assert 0.01 < len(cancelled) / len(orders) < 0.06
    assert all(o["cancelled_at"] > o["created_at"] for o in cancelled)


def test_frequency_is_heavy_tailed(sample: Path) -> None:
    per_customer = Counter(o["customer_id"] for o in table(sample, "orders.csv"))
    counts = sorted(per_customer.values(), reverse=True)
    assert sum(counts[:3]) > 0.1 * sum(counts)  # the top 1% of customers place >10%
    assert sum(1 for n in counts if n <= 2) > 0.25 * len(counts)  # many one- or two-off buyers


def test_member_day_and_double_11_are_busier(sample: Path) -> None:
    per_day = Counter(o["created_at"][:10] for o in table(sample, "orders.csv"))
    average = sum(per_day.values()) / 730
    thirtieths = [n for day, n in per_day.items() if day.endswith("-30")]
    assert sum(thirtieths) / 24 > 1.3 * average
    assert per_day["2025-11-11"] > 4 * average
    amounts = [Decimal(o["paid_amount"]) for o in table(sample, "orders.csv")]
    assert Decimal(10) <= min(amounts) and max(amounts) <= Decimal(2000)


def test_referrals_include_self_referrals_and_unknown_codes(sample: Path) -> None:
    customers = table(sample, "customers.csv")
    by_code = {c["referral_code"]: c for c in customers}
    assert len(by_code) == len(customers)  # codes are unique
    referred = [c for c in customers if c["referred_by_code"]]
    assert 0.1 < len(referred) / len(customers) < 0.2
    unknown = [c for c in referred if c["referred_by_code"] not in by_code]
    same_person = [c for c in referred if c["referred_by_code"] in by_code and any(
        c[key] and c[key] == by_code[c["referred_by_code"]][key]
        for key in ("phone", "email", "address"))]
    assert unknown and same_person
    for referee in referred:  # a referrer joined before the friend they brought
        referrer = by_code.get(referee["referred_by_code"])
        assert referrer is None or referrer["created_at"] < referee["created_at"]


def test_birthdays_and_chinese_addresses(sample: Path) -> None:
    customers = table(sample, "customers.csv")
    assert 0.5 < sum(1 for c in customers if c["birthday"]) / len(customers) < 0.7
    assert all(c["address"].endswith("室") and c["phone"].startswith("1")
               and len(c["phone"]) == 11 for c in customers)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--customers", "5", "--orders", "20", "--days", "30",
                 "--no-lines"]) == 0
    assert "orders.csv: 20" in capsys.readouterr().out
    assert table(tmp_path, "order_lines.csv") == []
    assert len(table(tmp_path, "orders.csv")) == 20


def test_start_needs_a_timezone(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone"):
        generate_shop(tmp_path, customers=1, orders=1, start=datetime(2024, 11, 1))
