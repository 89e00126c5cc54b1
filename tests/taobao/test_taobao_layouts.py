"""Every order-report layout seen in the wild imports, matched by header name."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from loyaltykit.adapters.taobao import Report, import_files
from loyaltykit.adapters.taobao.headers import detect_report, match_header
from loyaltykit.errors import InputError
from loyaltykit.events import CustomerUpserted, OrderPaid

from .corpus import (
    ITEMS,
    LAYOUT_21,
    LAYOUT_28,
    LAYOUT_41,
    LAYOUT_44,
    LAYOUT_46,
    LAYOUT_54,
    LAYOUT_67,
    REFUNDS_42,
    MemorySink,
    csv_text,
    order,
    write_csv,
    write_xlsx,
)

CSV_LAYOUTS = {"28": LAYOUT_28, "44": LAYOUT_44, "46": LAYOUT_46, "54": LAYOUT_54,
               "67": LAYOUT_67}


@pytest.mark.parametrize("name", sorted(CSV_LAYOUTS))
def test_each_classic_layout_imports_the_same_order(tmp_path: Path, name: str) -> None:
    header = CSV_LAYOUTS[name]
    path = write_csv(tmp_path / f"ExportOrderList{name}.csv", header, [order("3500001")])
    sink = MemorySink()
    import_files(sink, [path])
    paid = sink.events["order:3500001:paid"]
    assert isinstance(paid, OrderPaid)
    assert (paid.customer_id, paid.amount) == ("buyer_nick", Decimal("201.12"))
    assert paid.occurred_at.isoformat() == "2017-07-08T00:42:39+08:00"


def test_tab_separated_41_column_layout(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.txt", LAYOUT_41, [order("3500002")], delimiter="\t")
    sink = MemorySink()
    import_files(sink, [path])
    assert "order:3500002:paid" in sink.events


def test_columns_in_another_order_and_unknown_columns_are_fine(tmp_path: Path) -> None:
    header = ("新列", *reversed(LAYOUT_46), "以后的列")
    path = write_csv(tmp_path / "orders.csv", header, [order("3500003", 新列="x")])
    sink = MemorySink()
    import_files(sink, [path])
    assert "order:3500003:paid" in sink.events


def test_newest_21_column_xlsx_with_a_buyer_column(tmp_path: Path) -> None:
    header = (*LAYOUT_21, "买家昵称")
    row = order("5118609024991031607", status="交易成功", paid="34.00",
                created="2026-05-31 14:16:18", address="江苏省 南京市 建邺区 沙洲街道****")
    row["买家昵称"] = "nick_2026"
    row["订单编号"] = "5118609024991031607"  # xlsx exports hold ids as text, not formulas
    path = write_xlsx(tmp_path / "orders.xlsx", header, [[row.get(h, "") for h in header]])
    sink = MemorySink()
    import_files(sink, [path])
    paid = sink.events["order:5118609024991031607:paid"]
    assert isinstance(paid, OrderPaid)
    assert paid.amount == Decimal("34.00")
    # No payment-time column: the creation time stands in for it.
    assert paid.occurred_at.isoformat() == "2026-05-31T14:16:18+08:00"
    [customer] = sink.of_kind("customer_upserted")
    assert isinstance(customer, CustomerUpserted)
    assert customer.address is None  # masked, so useless for self-checks


def test_21_column_xlsx_without_buyer_explains_why_it_cannot_import(tmp_path: Path) -> None:
    row = order("5118609024991031607", status="交易成功")
    row["订单编号"] = "5118609024991031607"
    path = write_xlsx(tmp_path / "orders.xlsx", LAYOUT_21, [[row.get(h, "") for h in LAYOUT_21]])
    with pytest.raises(InputError) as caught:
        import_files(MemorySink(), [path])
    problem = caught.value.problems[0]
    assert problem.file == "orders.xlsx" and problem.line == 1
    assert "买家会员名" in problem.message
    assert "订单编号" in problem.hint and "21-column" in problem.hint


def test_missing_required_column_is_named_and_found_columns_listed() -> None:
    header = [h for h in LAYOUT_46 if h != "订单状态"]
    with pytest.raises(InputError) as caught:
        match_header(Report.ORDERS, header, "x.csv")
    problem = caught.value.problems[0]
    assert "订单状态" in problem.message
    assert "买家会员名" in problem.hint


def test_two_columns_for_one_field_is_a_duplicated_column() -> None:
    header = [*LAYOUT_46, "买家实付金额"]
    with pytest.raises(InputError) as caught:
        match_header(Report.ORDERS, header, "x.csv")
    problem = caught.value.problems[0]
    assert problem.field == "买家实付金额, column AU"
    assert "duplicated" in problem.message and "column I" in problem.message


@pytest.mark.parametrize(("header", "report"), [
    (LAYOUT_46, Report.ORDERS), (LAYOUT_21, Report.ORDERS), (ITEMS, Report.ITEMS),
    (REFUNDS_42, Report.REFUNDS), (("referee", "referrer_code"), Report.REFERRALS),
    (("被推荐人", "推荐码", "推荐时间"), Report.REFERRALS),
])
def test_reports_are_recognised_by_header(header: tuple[str, ...], report: Report) -> None:
    assert detect_report(header) is report


def test_garbled_header_is_not_recognised() -> None:
    garbled = [h.encode("utf-8").decode("gbk", "replace") for h in LAYOUT_46]
    assert detect_report(garbled) is None


def test_blank_lines_before_the_header_keep_line_numbers_true(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    text = csv_text([h for h in LAYOUT_46 if h != "订单状态"], [order("3500009")])
    path.write_bytes(("\r\n\r\n" + text).encode("gbk"))
    with pytest.raises(InputError) as caught:
        import_files(MemorySink(), [path])
    assert caught.value.problems[0].line == 3
    path.write_bytes(("\r\n\r\n" + csv_text(LAYOUT_46, [order("3500009")])).encode("gbk"))
    sink = MemorySink()
    import_files(sink, [path])
    assert sink.sources["order:3500009:paid"].startswith("orders.csv:4 ")  # type: ignore[union-attr]
