"""Cell values exactly as exports and Excel round trips write them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyaltykit.adapters.taobao.values import (
    OrderStatus,
    clean_address,
    clean_id,
    clean_phone,
    parse_amount,
    parse_count,
    parse_local_datetime,
    parse_status,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("raw", [
    '="35000000000000001"', "35000000000000001", "'35000000000000001", "\t35000000000000001",
    ' ="35000000000000001" ', "35000000000000001.00",
])
def test_order_ids_lose_their_excel_protection(raw: str) -> None:
    assert clean_id(raw) == "35000000000000001"


def test_empty_protected_id_is_empty() -> None:
    assert clean_id('=""') == ""


def test_id_mangled_into_scientific_notation_is_refused_with_the_cause() -> None:
    with pytest.raises(ValueError, match="scientific notation"):
        clean_id("3.5E+16")


def test_phone_loses_apostrophe_and_masked_phone_is_dropped() -> None:
    assert clean_phone("'13800000000") == "13800000000"
    assert clean_phone("138****0000") is None
    assert clean_phone("") is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("201.12", Decimal("201.12")), ("0元", Decimal("0")), ("123.00元", Decimal("123.00")),
    ("￥1,234.50", Decimal("1234.50")), (" 8 ", Decimal("8")),
])
def test_amounts_in_every_written_form(raw: str, expected: Decimal) -> None:
    assert parse_amount(raw) == expected


def test_empty_amount_is_none_not_zero() -> None:
    assert parse_amount("") is None


@pytest.mark.parametrize("raw", ["abc", "12,34", "1e3", "-5.00", "1.005"])
def test_bad_amounts_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(raw)


def test_counts_accept_excel_decimal_tail_only() -> None:
    assert parse_count("2") == 2
    assert parse_count("3.0") == 3
    with pytest.raises(ValueError):
        parse_count("2.5")


@pytest.mark.parametrize(("raw", "expected"), [
    ("2017-07-08 00:42:32", datetime(2017, 7, 8, 0, 42, 32)),
    ("2016/5/23 22:02", datetime(2016, 5, 23, 22, 2)),
    ("2016/5/23 22:02:05", datetime(2016, 5, 23, 22, 2, 5)),
])
def test_both_date_formats_are_local_shop_time(raw: str, expected: datetime) -> None:
    parsed = parse_local_datetime(raw, SHANGHAI)
    assert parsed == expected.replace(tzinfo=SHANGHAI)
    assert parsed is not None and parsed.utcoffset() is not None


def test_configured_timezone_changes_the_instant() -> None:
    tokyo = parse_local_datetime("2017-07-08 00:42:32", ZoneInfo("Asia/Tokyo"))
    shanghai = parse_local_datetime("2017-07-08 00:42:32", SHANGHAI)
    assert tokyo is not None and shanghai is not None
    assert (shanghai - tokyo).total_seconds() == 3600


def test_unparseable_date_is_refused() -> None:
    with pytest.raises(ValueError, match="date and time"):
        parse_local_datetime("08.07.2017", SHANGHAI)


@pytest.mark.parametrize(("raw", "expected"), [
    ("买家已付款，等待卖家发货", OrderStatus.PAID),
    ("买家已付款,等待卖家发货", OrderStatus.PAID),
    ("卖家已发货，等待买家确认", OrderStatus.SHIPPED),
    ("卖家已发货｜｜｜等待买家确认", OrderStatus.SHIPPED),
    ("卖家已发货锛?等待买家确认", OrderStatus.SHIPPED),  # UTF-8 "，" read as GBK
    ("交易成功", OrderStatus.COMPLETED),
    (" 交易关闭 ", OrderStatus.CLOSED),
    ("WAIT_SELLER_SEND_GOODS", OrderStatus.PAID),
])
def test_status_strings_map_whatever_the_comma(raw: str, expected: OrderStatus) -> None:
    assert parse_status(raw) is expected


@pytest.mark.parametrize("raw", [
    "已付款", "部分发货", "", "买家已付款，等待卖家发货后再联系我们吧"])
def test_unknown_status_is_unknown_and_never_paid(raw: str) -> None:
    status = parse_status(raw)
    assert status is OrderStatus.UNKNOWN
    assert not status.is_paid


def test_address_drops_postcode_and_extra_blanks_and_masked_is_none() -> None:
    cleaned = clean_address(" 广东省  广州市 越秀区 某路1号（510000） ")
    assert cleaned == "广东省 广州市 越秀区 某路1号"
    assert clean_address("江苏省 南京市 建邺区 沙洲街道****") is None
