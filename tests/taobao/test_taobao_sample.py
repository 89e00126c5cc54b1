"""The bundled Taobao sample: reproducible to the byte, realistic, and accepted end to end."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from loyaltykit import open_ledger
from loyaltykit.adapters.taobao import ImportOptions, import_files
from loyaltykit.adapters.taobao.sample import generate
from loyaltykit.rules.loader import load_program

from .corpus import LAYOUT_46, REFUNDS_42, MemorySink

SAMPLE = files("loyaltykit") / "samples" / "taobao"


@pytest.fixture(scope="module")
def sample_dir() -> Path:
    with as_file(SAMPLE) as path:
        return Path(path)


def test_regenerating_the_sample_gives_the_same_bytes(tmp_path: Path, sample_dir: Path) -> None:
    written = generate(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in sample_dir.iterdir())
    for path in written:
        assert path.read_bytes() == (sample_dir / path.name).read_bytes(), path.name


def test_sample_looks_like_a_real_export(sample_dir: Path) -> None:
    [orders] = sample_dir.glob("ExportOrderList*.csv")
    text = orders.read_bytes().decode("gbk")  # strict: GBK all the way
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == LAYOUT_46
    body = rows[1:]
    buyers = {r[1] for r in body}
    statuses = Counter(r[10] for r in body)
    created = sorted(r[17] for r in body)
    assert 200 <= len(buyers) <= 500 and 2000 <= len(body) <= 5000
    assert created[0] < "2024-12" and created[-1] > "2026-10"  # two years
    assert set(statuses) == {
        "交易成功", "交易关闭", "买家已付款，等待卖家发货", "卖家已发货，等待买家确认"}
    assert any(r[18] == "" and r[10] == "交易关闭" for r in body)  # closed before payment
    assert any(r[44] != "0.00" for r in body)  # cumulative refunds
    assert text.splitlines()[1].startswith('="')  # ids protected from Excel
    assert "\r\n" in text and any("\n" in r[11] for r in body)
    [refunds] = sample_dir.glob("refunds-*.csv")
    refund_rows = list(csv.reader(io.StringIO(refunds.read_bytes().decode("gbk"), newline="")))
    assert tuple(refund_rows[0]) == REFUNDS_42
    assert {"退款成功", "退款关闭"} <= {r[13] for r in refund_rows[1:]}


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The same generator at a tenth of the size, to keep the end-to-end tests quick."""
    folder = tmp_path_factory.mktemp("small")
    return [p for p in generate(folder, buyers=120, orders=900) if p.name != "categories.csv"]


def test_sample_imports_into_a_ledger_without_a_single_rejection(
    tmp_path: Path, small_sample: list[Path]
) -> None:
    with as_file(files("loyaltykit") / "samples" / "program.yaml") as program_path:
        program = load_program(program_path)
    with open_ledger(tmp_path / "ledger.db", program) as ledger:
        first = import_files(ledger, small_sample, options=ImportOptions())
        result = ledger.run(datetime.fromisoformat("2026-11-01T00:00:00+08:00"))
        again = import_files(ledger, small_sample, options=ImportOptions())
        report = ledger.report()
    assert result.events == first.new and result.rejected == 0
    assert again.new == 0
    reasons = " ".join(f["reason"] for f in report.as_json()["flagged_referrals"])
    assert "self_referral" in reasons and "not_new_customer" in reasons  # planted on purpose


def test_sample_refunds_reconcile_with_the_order_report(small_sample: list[Path]) -> None:
    """Both refund sources give the same totals, so mixing them never double counts."""
    reports = [p for p in small_sample if p.name.startswith(("Export", "ref"))]
    via_report, via_totals = MemorySink(), MemorySink()
    import_files(via_report, reports)
    import_files(via_totals, [p for p in reports if not p.name.startswith("refunds")])
    import_files(via_totals, [p for p in reports if p.name.startswith("refunds")])
    assert via_report.cursors and via_report.cursors == via_totals.cursors
