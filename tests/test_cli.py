"""The command line as a user runs it: real processes, exit codes, files on disk."""

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).parents[1] / "src" / "loyaltykit" / "samples"
PROGRAM = SAMPLES / "program.yaml"
BAD_PROGRAM = Path(__file__).parent / "programs" / "many_problems.yaml"
AS_OF = "2026-11-01T00:00:00+08:00"


def lk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loyaltykit", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_validate_reports_every_problem_with_code_and_line_and_exits_2():
    good = lk("validate", PROGRAM)
    assert good.returncode == 0, good.stderr
    assert "ok (tea-house@v1" in good.stdout
    bad = lk("validate", BAD_PROGRAM)
    assert bad.returncode == 2
    codes = [line.split(": ")[1].split()[1] for line in bad.stdout.splitlines()
             if ": error LK" in line]
    assert len(codes) >= 5
    as_json = lk("validate", "--format", "json", BAD_PROGRAM)
    assert as_json.returncode == 2
    assert len(json.loads(as_json.stdout)["diagnostics"]) >= 5


def test_schema_is_json_schema_of_the_program():
    result = lk("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "loyaltykit program"
    assert {"id", "version", "effective_from", "timezone", "currency"} <= set(
        schema["required"])


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """The bundled shop imported and run through the CLI once for the tests below."""
    work = tmp_path_factory.mktemp("cli")
    shop = work / "shop"
    shutil.copytree(SAMPLES / "shop", shop)
    db = work / "shop.db"
    imported = lk("import", shop, "--db", db, "--program", PROGRAM)
    assert imported.returncode == 0, imported.stderr
    assert "new events" in imported.stdout
    again = lk("import", shop, "--db", db)
    assert again.returncode == 0 and again.stdout.strip().startswith("0 new events")
    ran = lk("run", "--as-of", AS_OF, "--db", db)
    assert ran.returncode == 0, ran.stderr
    return work, db


def test_report_and_export_agree_on_the_liability(replayed):
    _, db = replayed
    report = json.loads(lk("report", "--json", "--db", db).stdout)
    exported = lk("export", "customers", "--as-of", AS_OF, "--db", db)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == report["customers"] == 300
    assert sum(int(r["points_balance"]) for r in rows) == report["liability_points"] > 0
    tiers: dict[str, int] = {}
    for row in rows:
        tiers[row["tier"]] = tiers.get(row["tier"], 0) + 1
    assert tiers == {k: v for k, v in report["tiers"].items() if v}
    assert report["flagged_referrals"], "the sample has self-referrals to flag"


def test_customer_shows_balance_tier_progress_and_reasons(replayed):
    _, db = replayed
    customer_id = json.loads(lk("report", "--json", "--db", db).stdout)[
        "top_referrers"][0]["customer_id"]
    result = lk("customer", customer_id, "--json", "--db", db)
    view = json.loads(result.stdout)
    assert view["customer_id"] == customer_id
    assert view["history"] and all(e["reason"] and e["rule_id"] for e in view["history"])
    assert any(e["rule_id"] == "referral.referrer" for e in view["history"])
    assert view["balance"] == view["history"][-1]["balance_after"]


def test_export_after_the_processed_instant_is_refused_with_the_fix(replayed):
    _, db = replayed
    result = lk("export", "customers", "--as-of", "2030-01-01T00:00:00+08:00", "--db", db)
    assert result.returncode == 4
    assert "loyaltykit run --as-of" in result.stderr


def test_a_bad_input_file_is_reported_precisely_and_nothing_is_written(tmp_path):
    shop = tmp_path / "shop"
    shutil.copytree(SAMPLES / "shop", shop)
    orders = (shop / "orders.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    fields = orders[5].split(",")
    fields[4] = "-12.00"
    orders[5] = ",".join(fields)
    (shop / "orders.csv").write_text("".join(orders), encoding="utf-8")
    db = tmp_path / "shop.db"
    result = lk("import", shop, "--db", db, "--program", PROGRAM)
    assert result.returncode == 2
    assert "orders.csv:6" in result.stderr and "paid_amount" in result.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from lk_inbox").fetchone() == (0,)


def test_an_invalid_program_writes_nothing(tmp_path):
    db = tmp_path / "never.db"
    result = lk("import", SAMPLES / "shop", "--db", db, "--program", BAD_PROGRAM)
    assert result.returncode == 2
    assert "LK10" in result.stderr
    assert not db.exists()


@pytest.mark.parametrize("source", ["taobao", "canonical"])
def test_demo_replays_the_bundled_shop_and_prints_the_report(tmp_path, source):
    result = lk("demo", "--db", tmp_path / "demo.db", "--source", source, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # the terminal width wraps long lines anywhere
    assert "(0 rejected)" in text
    for heading in ("Customers per tier", "Customers per segment", "liability",
                    "Top referrers", "Flagged or void referrals", "expiry", "reversal"):
        assert heading in text


def test_usage_errors_say_what_to_fix_without_a_traceback(tmp_path):
    result = lk("run", "--as-of", "next tuesday", "--db", tmp_path / "x.db")
    assert result.returncode == 2
    assert "not an ISO 8601 instant" in result.stderr
    assert "Traceback" not in result.stderr
    missing = lk("customer", "--db", tmp_path / "x.db")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
