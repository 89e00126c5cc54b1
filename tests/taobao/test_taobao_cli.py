"""``loyaltykit taobao import|export`` against a real ledger file."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from importlib.resources import as_file, files
from pathlib import Path

from typer.testing import CliRunner

from loyaltykit import open_ledger
from loyaltykit.adapters.taobao import app
from loyaltykit.adapters.taobao.sample import generate

GOOD = Path(__file__).parent / "files" / "good"
BAD = Path(__file__).parent / "files" / "bad"
runner = CliRunner()
AS_OF = datetime.fromisoformat("2026-11-01T00:00:00+08:00")


def program_path() -> Path:
    with as_file(files("loyaltykit") / "samples" / "program.yaml") as path:
        return Path(path)


def import_good(db: Path) -> str:
    result = runner.invoke(app, ["import", *map(str, sorted(GOOD.iterdir())), "--db", str(db),
                                 "--program", str(program_path())])
    assert result.exit_code == 0, result.output
    return result.output


def test_import_reports_what_it_read_and_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    first = import_good(db)
    assert "ExportOrderList201707081200.csv: order report (订单报表), 5 rows, gb18030" in first
    assert "refunds from: refund report" in first
    assert "not counted: 1 refunds in state 退款关闭" in first
    assert "0 new events" in import_good(db)


def test_import_of_a_broken_file_raises_input_error_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    result = runner.invoke(app, ["import", str(GOOD / "ExportOrderList201707081200.csv"),
                                 str(BAD / "non-numeric-amount.csv"), "--db", str(db)])
    assert result.exit_code != 0
    assert "non-numeric-amount.csv:5 [买家实际支付金额, column I]" in str(result.exception)
    with open_ledger(db) as ledger:
        assert ledger.cursor("taobao:refunded:35000000000000003") is None


def ledger_with_history(tmp_path: Path) -> Path:
    """A small generated shop (2024-2026, inside the bundled program's life), replayed."""
    db, shop = tmp_path / "ledger.db", tmp_path / "shop"
    inputs = [p for p in generate(shop, buyers=60, orders=400) if p.name != "categories.csv"]
    result = runner.invoke(app, ["import", *map(str, inputs), "--db", str(db),
                                 "--program", str(program_path())])
    assert result.exit_code == 0, result.output
    with open_ledger(db) as ledger:
        ledger.run(AS_OF)
    return db


def test_export_writes_upload_files_and_drains_the_outbox(tmp_path: Path) -> None:
    db, out = ledger_with_history(tmp_path), tmp_path / "upload"
    with open_ledger(db) as ledger:
        rows = ledger.export_customers(as_of=AS_OF)
        customers = {r.customer_id: r.tier for r in rows}
        richest = max(rows, key=lambda r: r.points_balance)
        ledger.redeem(richest.customer_id, "five-off", at=AS_OF, redemption_id="r1")
        pending = ledger.pending_commands(limit=10_000, kinds=["issue_discount"])
    grades = ["--grade", "member=普通会员", "--grade", "silver=高级会员", "--grade", "gold=VIP会员",
              "--grade", "vip=至尊VIP会员"]
    result = runner.invoke(app, ["export", "--out", str(out), "--db", str(db), *grades])
    assert result.exit_code == 0, result.output

    names = {p.name for p in out.iterdir()}
    assert {f"tier-{t}.csv" for t in set(customers.values())} <= names
    rows = read_gbk(out / "grades.csv")
    assert rows[0] == ["买家会员名", "会员等级"]
    assert len(rows) - 1 == len(customers)
    assert ["gold" if g == "VIP会员" else "" for _, g in rows[1:]] == [
        "gold" if customers[c] == "gold" else "" for c, _ in rows[1:]]
    coupons = read_gbk(out / "coupons.csv")
    assert len(coupons) - 1 == len(pending) > 0
    assert [richest.customer_id, "5.00元"] == [coupons[1][0], coupons[1][2]]
    with open_ledger(db) as ledger:
        assert ledger.pending_commands(kinds=["issue_discount", "set_customer_tags"]) == []


def test_export_refuses_unmapped_tiers(tmp_path: Path) -> None:
    db = ledger_with_history(tmp_path)
    result = runner.invoke(app, ["export", "--out", str(tmp_path / "o"), "--db", str(db),
                                 "--as-of", AS_OF.isoformat(), "--grade", "vip=至尊VIP会员"])
    assert result.exit_code != 0
    assert "no --grade for tiers" in str(result.exception)
    assert not (tmp_path / "o" / "grades.csv").exists()


def read_gbk(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("gbk"), newline="")))
