"""Importing exports: the events a ledger gets, their provenance, and safe re-imports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loyaltykit.adapters.taobao import ImportOptions, Progress, import_files, read_categories
from loyaltykit.adapters.taobao.checking import file_sha256
from loyaltykit.errors import InputError
from loyaltykit.events import (
    CustomerUpserted,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    ReferralRecorded,
)

from .corpus import (
    ITEMS,
    LAYOUT_46,
    LAYOUT_54,
    PAID,
    REFUNDS_42,
    SHIPPED,
    MemorySink,
    item,
    order,
    refund,
    write_csv,
    write_xlsx,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_rows_become_customer_payment_and_provenance(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ExportOrderList201707081200.csv", LAYOUT_46, [
        order("3501", message="请尽快发货\n谢谢"),  # a quoted field over two lines
        order("3502", status=SHIPPED, paid="99.00", paid_at="2017-07-08 09:00:00"),
    ])
    sink = MemorySink()
    report = import_files(sink, [path])

    sha = file_sha256(path)[:12]
    assert sink.sources["order:3501:paid"] == f"{path.name}:2 sha256:{sha}"
    assert sink.sources["order:3502:paid"] == f"{path.name}:4 sha256:{sha}"  # after the 2-line row
    shipped = sink.events["order:3502:paid"]
    assert isinstance(shipped, OrderPaid) and shipped.amount == Decimal("99.00")
    [customer] = sink.of_kind("customer_upserted")
    assert isinstance(customer, CustomerUpserted)
    assert (customer.customer_id, customer.phone, customer.address, customer.email) == (
        "buyer_nick", "13800000000", "广东省 广州市 越秀区 某街道某路1号", "buyer_nick@example.com")
    assert customer.referral_code == "buyer_nick"
    assert report.new == 3 and report.files[0].rows == 2


def test_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [
        order("3601"), order("3602", status="交易关闭", refund="201.12"),
        order("3603", status="交易成功", refund="50.00")])
    sink = MemorySink()
    first = import_files(sink, [path])
    snapshot = dict(sink.events)
    second = import_files(sink, [path])
    assert first.new > 0
    assert second.new == 0
    assert sink.events == snapshot


def test_overlapping_later_export_adds_only_what_changed(tmp_path: Path) -> None:
    early = write_csv(tmp_path / "ExportOrderList201707100000.csv", LAYOUT_46, [
        order("3701"), order("3702", status="交易成功", refund="30.00")])
    later = write_csv(tmp_path / "ExportOrderList201707200000.csv", LAYOUT_46, [
        order("3701", status="交易关闭", close_reason="买家申请退款"),
        order("3702", status="交易成功", refund="50.00"),
        order("3703", created="2017-07-15 10:00:00", paid_at="2017-07-15 10:01:00")])
    sink = MemorySink()
    import_files(sink, [early])
    before = set(sink.events)
    report = import_files(sink, [later])

    added = {key: sink.events[key] for key in set(sink.events) - before}
    assert set(added) == {"order:3701:cancelled", "refund:3702-total-50.00", "order:3703:paid"}
    cancel = added["order:3701:cancelled"]
    assert isinstance(cancel, OrderCancelled)
    assert cancel.occurred_at == local("2017-07-20 00:00:00")  # the later export's time
    top_up = added["refund:3702-total-50.00"]
    assert isinstance(top_up, OrderRefunded) and top_up.amount == Decimal("20.00")
    assert sink.events["refund:3702-total-30.00"].occurred_at == local("2017-07-10 00:00:00")
    assert report.new == 3


def test_refund_report_counts_only_successful_refunds(tmp_path: Path) -> None:
    orders = write_csv(tmp_path / "orders.csv", LAYOUT_46, [order("3801", status="交易成功")])
    refunds = write_csv(tmp_path / "refunds.csv", REFUNDS_42, [
        refund("3801", "R1", "20.00", "2017-07-09 10:00:00"),
        refund("3801", "R2", "15.00", "2017-07-10 10:00:00", state="退款关闭"),
        refund("3801", "R3", "5.00", "", state="买家已经申请退款，等待卖家同意"),
    ])
    sink = MemorySink()
    report = import_files(sink, [orders, refunds])
    [counted] = sink.of_kind("order_refunded")
    assert isinstance(counted, OrderRefunded)
    assert (counted.refund_id, counted.amount) == ("R1", Decimal("20.00"))
    assert counted.occurred_at == local("2017-07-09 10:00:00")
    assert report.refunds_not_counted == {"退款关闭": 1, "买家已经申请退款，等待卖家同意": 1}
    assert report.refund_source == "refund report"


def test_refund_report_after_cumulative_import_never_counts_twice(tmp_path: Path) -> None:
    orders = write_csv(tmp_path / "orders.csv", LAYOUT_46, [
        order("3901", status="交易成功", refund="30.00")])
    refunds = write_csv(tmp_path / "refunds.csv", REFUNDS_42, [
        refund("3901", "R1", "30.00", "2017-07-09 10:00:00"),
        refund("3901", "R2", "20.00", "2017-07-12 10:00:00")])
    sink = MemorySink()
    import_files(sink, [orders])
    import_files(sink, [refunds])
    refunded = {e.key: e.amount for e in sink.events.values() if isinstance(e, OrderRefunded)}
    assert refunded == {"refund:3901-total-30.00": Decimal("30.00"),
                        "refund:R2": Decimal("20.00")}
    import_files(sink, [orders, refunds])  # and again, both at once: nothing new
    assert sum(1 for e in sink.events.values() if isinstance(e, OrderRefunded)) == 2


def test_closed_paid_order_is_cancelled_just_after_its_refund(tmp_path: Path) -> None:
    orders = write_csv(tmp_path / "orders.csv", LAYOUT_46, [
        order("4001", status="交易关闭", refund="201.12")])
    refunds = write_csv(tmp_path / "refunds.csv", REFUNDS_42, [
        refund("4001", "R9", "201.12", "2017-07-09 10:00:00")])
    sink = MemorySink()
    import_files(sink, [orders, refunds])
    cancel, full = sink.events["order:4001:cancelled"], sink.events["refund:R9"]
    assert cancel.occurred_at > full.occurred_at  # refund first, then the close


def test_closed_order_without_refund_report_is_a_cancel_not_a_refund(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [
        order("4101", status="交易关闭", refund="201.12"),
        order("4102", status="交易关闭", paid="0.00", paid_at="", close_reason="买家未付款")])
    sink = MemorySink()
    import_files(sink, [path])
    assert {"order:4101:paid", "order:4101:cancelled"} <= set(sink.events)
    assert not sink.of_kind("order_refunded")
    assert not any(key.startswith("order:4102") for key in sink.events)  # never paid


def test_unknown_status_is_reported_and_kept_but_not_paid(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [
        order("4201", "someone", status="部分发货"), order("4202", "someone", status="部分发货")])
    sink = MemorySink()
    report = import_files(sink, [path])
    assert report.unknown_statuses == {"部分发货": (2, "orders.csv:2")}
    assert not sink.of_kind("order_paid")
    assert [e.customer_id for e in sink.of_kind("customer_upserted")] == ["someone"]


def test_item_report_adds_lines_with_sku_and_category(tmp_path: Path) -> None:
    orders = write_csv(tmp_path / "orders.csv", LAYOUT_46, [order("4301")])
    items = write_csv(tmp_path / "items.csv", ITEMS, [
        item("4301", "TEA-1", "100.00", "2"), item("4301", "", "1.12", title="赠品")],
        trailing=",")  # the item report ends every data row with a comma
    sink = MemorySink()
    report = import_files(sink, [orders, items],
                          options=ImportOptions(categories={"TEA-1": "tea"}))
    paid = sink.events["order:4301:paid"]
    assert isinstance(paid, OrderPaid)
    assert [(ln.sku, ln.amount, ln.quantity, ln.category) for ln in paid.lines] == [
        ("TEA-1", Decimal("200.00"), 2, "tea"), ("赠品", Decimal("1.12"), 1, None)]
    assert (report.item_lines, report.item_lines_attached) == (2, 2)


def test_referrals_are_dated_at_the_referees_first_order_unless_given(tmp_path: Path) -> None:
    orders = write_csv(tmp_path / "orders.csv", LAYOUT_46, [
        order("4401", "new_friend", created="2017-07-08 08:00:00", paid_at="2017-07-08 08:01:00"),
        order("4402", "old_friend")])
    referrals = tmp_path / "referrals.csv"
    referrals.write_text("referee,referrer_code,referred_at\r\nnew_friend,old_friend,\r\n"
                         "stranger,old_friend,2017-07-01 12:00:00\r\n", encoding="utf-8-sig")
    sink = MemorySink()
    import_files(sink, [referrals, orders])
    first, second = sink.events["referral:new_friend"], sink.events["referral:stranger"]
    assert isinstance(first, ReferralRecorded) and first.referrer_code == "old_friend"
    assert first.occurred_at == local("2017-07-08 08:00:00")
    assert second.occurred_at == local("2017-07-01 12:00:00")


def test_customer_profile_takes_the_newest_contact_details(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [
        order("4501", created="2017-08-01 10:00:00", paid_at="2017-08-01 10:00:05",
              phone="'13900000000", address=""),
        order("4502", created="2017-07-01 10:00:00", paid_at="2017-07-01 10:00:05"),
    ])
    sink = MemorySink()
    import_files(sink, [path])
    [customer] = sink.of_kind("customer_upserted")
    assert isinstance(customer, CustomerUpserted)
    assert customer.phone == "13900000000"  # from the newer order
    assert customer.address == "广东省 广州市 越秀区 某街道某路1号"  # the newer order had none
    assert customer.occurred_at == local("2017-07-01 10:00:00")  # before their first payment


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_encodings_are_sniffed(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [order("4601", "小鱼儿")],
                     encoding=encoding)
    sink = MemorySink()
    import_files(sink, [path])
    assert sink.events["order:4601:paid"].customer_id == "小鱼儿"  # type: ignore[union-attr]


def test_excel_resaved_dates_and_54_column_confirm_time(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_54, [
        order("4701", status="交易成功", created="2016/5/23 22:02", paid_at="2016/5/23 22:03",
              确认收货时间="2016/6/1 9:00")])
    sink = MemorySink()
    report = import_files(sink, [path])
    assert sink.events["order:4701:paid"].occurred_at == local("2016-05-23 22:03:00")
    assert report.files[0].latest_at == local("2016-06-01 09:00:00")


def test_progress_reports_both_passes_up_to_the_file_size(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46,
                     [order(str(480000 + n)) for n in range(2500)])
    seen: list[Progress] = []
    import_files(MemorySink(), [path], progress=seen.append)
    assert {p.phase for p in seen} == {"check", "import"}
    last = [p for p in seen if p.phase == "import"][-1]
    assert last.done == last.total == path.stat().st_size and last.unit == "bytes"


def test_events_are_sent_in_batches(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46,
                     [order(str(490000 + n), f"b{n}") for n in range(50)])
    sink = MemorySink()
    import_files(sink, [path], options=ImportOptions(batch_size=10))
    assert len(sink.events) == 100 and sink.calls == 10


def test_as_of_option_dates_refunds_the_export_does_not_time(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [
        order("4801", status="交易成功", refund="10.00")])
    sink = MemorySink()
    import_files(sink, [path], options=ImportOptions(as_of=local("2017-09-01 00:00:00")))
    [partial] = sink.of_kind("order_refunded")
    assert partial.occurred_at == local("2017-09-01 00:00:00")
    assert sink.cursors == {"taobao:refunded:4801": "10.00"}


def test_paid_status_keeps_order_waiting_for_shipment(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", LAYOUT_46, [order("4901", status=PAID)])
    sink = MemorySink()
    import_files(sink, [path])
    assert set(sink.events) == {"order:4901:paid",
                                next(k for k in sink.events if k.startswith("customer:"))}


def test_category_table_is_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "categories.csv"
    good.write_text("商家编码,category\r\nTEA-1,tea\r\n,\r\nPOT-2 , teaware\r\n",
                    encoding="gbk")
    assert read_categories(good) == {"TEA-1": "tea", "POT-2": "teaware"}
    bad = tmp_path / "bad.csv"
    bad.write_text("商家编码,category\nTEA-1,tea\nTEA-1,gifts\nPOT-2\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_categories(bad)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (3, "TEA-1 is already in 'tea'"), (4, "expected 商家编码,category")]


def test_xlsx_progress_counts_rows(tmp_path: Path) -> None:
    row = order("4902")
    row["订单编号"] = "4902"
    path = write_xlsx(tmp_path / "orders.xlsx", LAYOUT_46,
                      [[row.get(h.strip(), "") for h in LAYOUT_46]])
    seen: list[Progress] = []
    import_files(MemorySink(), [path], progress=seen.append)
    assert {(p.unit, p.total) for p in seen} == {("rows", None)}
    assert seen[-1].done == 2  # header and one order
