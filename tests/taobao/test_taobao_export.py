"""Upload files: readable by a Chinese spreadsheet user, never half written."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from loyaltykit.adapters.taobao import (
    CouponRow,
    CustomerRow,
    ExportFormat,
    GradeRow,
    write_coupon_recipients,
    write_grades,
    write_lists,
    write_member_list,
)


def read_csv(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def test_gbk_csv_is_what_the_seller_center_writes(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    write_member_list(path, ["小鱼儿2019", "tb_buyer_17"], ExportFormat.CSV_GBK)
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 3  # Excel's line ends
    assert read_csv(path, "gbk") == [["买家会员名"], ["小鱼儿2019"], ["tb_buyer_17"]]


def test_utf8_csv_has_the_bom_excel_needs(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    write_member_list(path, ["小鱼儿2019"], ExportFormat.CSV_UTF8)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_csv(path, "utf-8-sig") == [["买家会员名"], ["小鱼儿2019"]]


def test_xlsx_keeps_every_value_as_text(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    write_member_list(path, ["0012345678901234567", "=HYPERLINK(1)", "小鱼儿"],
                      ExportFormat.XLSX)
    sheet = load_workbook(path).active
    cells = [row[0] for row in sheet.iter_rows()]
    assert [c.value for c in cells] == ["买家会员名", "0012345678901234567", "=HYPERLINK(1)",
                                        "小鱼儿"]
    assert {c.data_type for c in cells} == {"s"}  # no number, no formula


def test_character_outside_gbk_is_refused_and_no_file_is_left(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    with pytest.raises(ValueError, match=r"row 3.*csv-utf8 or xlsx"):
        write_member_list(path, ["ok", "tea😀"], ExportFormat.CSV_GBK)
    assert list(tmp_path.iterdir()) == []


def test_failed_export_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    write_member_list(path, ["first"], ExportFormat.CSV_GBK)
    with pytest.raises(ValueError):
        write_member_list(path, ["second", " "], ExportFormat.CSV_GBK)
    assert read_csv(path, "gbk") == [["买家会员名"], ["first"]]
    assert [p.name for p in tmp_path.iterdir()] == ["list.csv"]


def test_lists_per_tier_segment_and_tag(tmp_path: Path) -> None:
    rows = [CustomerRow("a", "gold", "active", ("vip", "tea/lover")),
            CustomerRow("b", "gold", "lost", ("vip",)), CustomerRow("c", "member", "active")]
    tiers = write_lists(tmp_path, rows, "tier", ExportFormat.CSV_GBK)
    tags = write_lists(tmp_path, rows, "tag", ExportFormat.XLSX)
    assert {k: p.name for k, p in tiers.items()} == {"gold": "tier-gold.csv",
                                                    "member": "tier-member.csv"}
    assert read_csv(tiers["gold"], "gbk") == [["买家会员名"], ["a"], ["b"]]
    assert tags["tea/lover"].name == "tag-tea_lover.xlsx"
    with pytest.raises(ValueError, match="tier, segment or tag"):
        write_lists(tmp_path, rows, "city", ExportFormat.CSV_GBK)


def test_coupon_recipients_in_local_time_and_chinese_notation(tmp_path: Path) -> None:
    ends = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    path = tmp_path / "coupons.csv"
    write_coupon_recipients(path, [
        CouponRow("小鱼儿", "LK-ABCDEF1234", "fixed_amount", Decimal("5"), ends),
        CouponRow("tb_1", "LK-QWERTY5678", "percentage", Decimal("15")),
    ], ExportFormat.CSV_GBK)
    assert read_csv(path, "gbk") == [
        ["买家会员名", "优惠码", "优惠", "有效期至"],
        ["小鱼儿", "LK-ABCDEF1234", "5.00元", "2026-12-01 00:00:00"],
        ["tb_1", "LK-QWERTY5678", "8.5折", ""]]


def test_grades_must_be_taobao_crm_grades(tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    count = write_grades(path, [GradeRow("a", "VIP会员"), GradeRow("b", "普通会员")],
                         ExportFormat.CSV_UTF8)
    assert count == 2
    assert read_csv(path, "utf-8-sig")[1:] == [["a", "VIP会员"], ["b", "普通会员"]]
    with pytest.raises(ValueError, match="not a Taobao CRM grade"):
        write_grades(path, [GradeRow("a", "gold")], ExportFormat.CSV_GBK)
