"""``loyaltykit simulate`` end to end: history from files or a ledger, JSON, HTML, --fail-if."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result
from whatif_kit import PROGRAMS, program, referral_history

from loyaltykit.canonical import write_shop_files
from loyaltykit.errors import ConfigurationError
from loyaltykit.ledger import open_ledger
from loyaltykit.whatif import ConditionError
from loyaltykit.whatif.cli import FAIL_EXIT_CODE, register

V1, V2 = str(PROGRAMS / "shop-v1.yaml"), str(PROGRAMS / "shop-v2.yaml")


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A stand-in for the loyaltykit app, which registers its commands the same way."""

    register(app)
    return app


def _simulate(*args: str) -> Result:
    return CliRunner().invoke(_app(), ["simulate", *args])


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("ledger") / "shop.db"
    ledger = open_ledger(db, program("shop-v1.yaml"))
    ledger.ingest(referral_history())
    ledger.close()
    return db


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-built history as canonical files (A refers B; C has a partial refund)."""
    directory = tmp_path_factory.mktemp("files")
    customers = [
        {"customer_id": cid, "email": f"{cid.lower()}@example.com", "phone": "", "address": "",
         "created_at": created, "referral_code": code, "referred_by_code": referred}
        for cid, created, code, referred in (
            ("A", "2025-01-02T10:00:00+08:00", "AAA", ""),
            ("C", "2025-01-02T10:00:00+08:00", "", ""),
            ("B", "2025-01-03T09:00:00+08:00", "", "AAA"))]
    orders = [
        {"order_id": oid, "customer_id": oid[0].upper(), "created_at": f"2025-{when}+08:00",
         "currency": "CNY", "paid_amount": amount, "status": "paid"}
        for oid, when, amount in (
            ("a1", "01-05T10:00:00", "100.00"), ("a2", "01-06T10:00:00", "200.00"),
            ("b1", "01-07T10:00:00", "80.00"), ("c1", "01-04T10:00:00", "300.00"),
            ("c2", "01-06T12:00:00", "50.00"), ("c3", "01-08T10:00:00", "100.00"),
            ("a3", "01-10T10:00:00", "100.00"), ("a4", "02-03T10:00:00", "100.00"))]
    refunds = [{"refund_id": "r1", "order_id": "c3", "amount": "50.00",
                "refunded_at": "2025-01-09T10:00:00+08:00"}]
    write_shop_files(directory, customers=customers, orders=orders, refunds=refunds)
    return directory


def test_json_from_files_has_every_figure_for_both_sides(files: Path) -> None:
    result = _simulate("--baseline", V1, "--candidate", V2, "--files", str(files), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    liability = data["figures"]["liability"]
    assert (liability["baseline"], liability["candidate"], liability["delta"]) == (
        1705, 1630, -75)
    assert data["figures"]["referral_cost_value"]["delta"] == "-2.00"
    assert [r["month"] for r in data["liability_monthly"]] == ["2025-01", "2025-02"]
    assert data["conditions"] == []


def test_the_ledger_history_with_its_installed_program_as_the_baseline(
        ledger_db: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = _simulate("--candidate", V2, "--db", str(ledger_db), "--html", str(page))
    assert result.exit_code == 0, result.output
    assert "shop@v2" in result.stdout and "shop@v1" in result.stdout
    assert "Outstanding points (liability)" in result.stdout
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert f"installed in {ledger_db}" in html


@pytest.mark.parametrize(("condition", "code"), [
    ("liability_delta_pct > 10", 0),
    ("liability_delta_pct < -4 and referral_points_delta == -200", FAIL_EXIT_CODE),
])
def test_fail_if_exits_3_only_when_the_condition_holds(files: Path, condition: str,
                                                       code: int) -> None:
    result = _simulate("--baseline", V1, "--candidate", V2, "--files", str(files),
                       "--json", "--fail-if", condition)
    assert result.exit_code == code, result.output
    data = json.loads(result.stdout)
    assert data["conditions"] == [{"expression": condition, "holds": bool(code)}]
    if code:
        assert "liability_delta_pct = -4.40" in result.stderr


def test_any_of_several_fail_if_conditions_trips_the_gate(files: Path) -> None:
    result = _simulate("--baseline", V1, "--candidate", V2, "--files", str(files),
                       "--fail-if", "tier_moves > 0", "--fail-if", "points_issued_delta < 0")
    assert result.exit_code == FAIL_EXIT_CODE
    assert "'points_issued_delta < 0' holds (points_issued_delta = -50)" in result.stderr


def test_a_bad_condition_is_refused_before_the_replay(files: Path) -> None:
    result = _simulate("--baseline", V1, "--candidate", V2, "--files", str(files),
                       "--fail-if", "liability_delta_pct >> 10")
    assert isinstance(result.exception, ConditionError)
    assert "events from" not in result.stderr  # no history was read
    result = _simulate("--baseline", V1, "--candidate", V2, "--files", str(files),
                       "--fail-if", "liability_pct > 10")
    assert isinstance(result.exception, ConditionError)
    assert "unknown metric liability_pct" in str(result.exception)
    assert "liability_delta_pct" in str(result.exception)
    assert "events from" not in result.stderr


@pytest.mark.parametrize(("args", "problem"), [
    (["--baseline", V1, "--candidate", V2], "exactly one of --db LEDGER or --files DIR"),
    (["--candidate", V2, "--files", "."], "--baseline is needed with --files"),
])
def test_option_mistakes_are_explained(args: list[str], problem: str, files: Path) -> None:
    result = _simulate(*[str(files) if a == "." else a for a in args])
    assert isinstance(result.exception, ConfigurationError)
    assert problem in str(result.exception)


@pytest.mark.parametrize(("as_of", "months", "liability"), [
    ("2025-01-31", ["2025-01"], 1555),
    ("2025-01-31T23:59:59+08:00", ["2025-01"], 1555),
    ("2025-02-28T00:00:00Z", ["2025-01", "2025-02"], 1705),
])
def test_as_of_takes_a_date_or_an_instant(files: Path, as_of: str, months: list[str],
                                          liability: int) -> None:
    result = _simulate("--baseline", V1, "--candidate", V2, "--files", str(files), "--json",
                       "--as-of", as_of)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["month"] for r in data["liability_monthly"]] == months
    assert data["figures"]["liability"]["baseline"] == liability


def test_an_as_of_without_offset_is_refused(files: Path) -> None:
    result = _simulate("--baseline", V1, "--candidate", V2, "--files", str(files),
                       "--as-of", "2025-01-31T10:00:00")
    assert isinstance(result.exception, ConfigurationError)
    assert "has no offset" in str(result.exception)
