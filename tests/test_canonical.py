"""Canonical shop files: what a shop's CSV export becomes, and how bad files are refused."""

from __future__ import annotations

import csv
import hashlib
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyaltykit.canonical import (
    MAX_PROBLEMS,
    KnownEntities,
    ShopWriter,
    read_shop_files,
    write_shop_files,
)
from loyaltykit.errors import InputError, InputProblem
from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    OrderRefunded,
    ReferralRecorded,
)

FIXTURES = Path(__file__).parent / "canonical_bad"
CST = timezone(timedelta(hours=8))


def shop(tmp_path: Path, case: str | None = None) -> Path:
    """The good fixture set, with the files of ``case`` replacing their namesakes."""
    directory = tmp_path / "shop"
    shutil.copytree(FIXTURES / "good", directory)
    if case is not None:
        for path in (FIXTURES / case).iterdir():
            shutil.copy(path, directory / path.name)
    return directory


def events(directory: Path, known: KnownEntities | None = None) -> list[Event]:
    read = read_shop_files(directory, currency="CNY", known=known)
    return [sourced.event for sourced in read.events()]


def problems(directory: Path, known: KnownEntities | None = None) -> list[InputProblem]:
    with pytest.raises(InputError) as caught:
        read_shop_files(directory, currency="CNY", known=known)
    return list(caught.value.problems)


@dataclass
class FakeLedger:
    """What a ledger knows from earlier imports (the KnownEntities protocol)."""

    customers: set[str] = field(default_factory=set)
    orders: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    def has_customer(self, customer_id: str) -> bool:
        return customer_id in self.customers

    def order_amounts(self, order_id: str) -> tuple[Decimal, Decimal] | None:
        return self.orders.get(order_id)


@dataclass
class FakeLedgerWithRefunds(FakeLedger):
    refunds: set[str] = field(default_factory=set)

    def has_refund(self, refund_id: str) -> bool:
        return refund_id in self.refunds


# --------------------------------------------------------------------------- good input


def test_good_files_become_events_in_file_order(tmp_path: Path) -> None:
    got = events(shop(tmp_path))
    assert [type(e).__name__ for e in got] == [
        "CustomerUpserted", "CustomerUpserted", "ReferralRecorded", "CustomerUpserted",
        "OrderPaid", "OrderPaid", "OrderCancelled", "OrderPaid",
        "OrderRefunded", "OrderRefunded", "OrderRefunded",
    ]
    referral = got[2]
    assert referral == ReferralRecorded("C2", "AAA111", datetime(2024, 11, 2, 10, tzinfo=CST))


def test_customer_values_and_extra_columns(tmp_path: Path) -> None:
    first, second, _ = (e for e in events(shop(tmp_path)) if isinstance(e, CustomerUpserted))
    assert first == CustomerUpserted(
        customer_id="C1", occurred_at=datetime(2024, 11, 1, 9, tzinfo=CST),
        email="li.na@example.com", phone="13812345678", address="浙江省杭州市西湖区文三路1号",
        birthday=date(1990, 5, 3), referral_code="AAA111", attributes={"channel": "wechat"})
    assert second.email is None  # empty cell
    assert second.address == "上海市徐汇区\n漕溪北路88号"  # quoted line break survives


def test_orders_carry_lines_and_cancellations_earn_nothing(tmp_path: Path) -> None:
    got = {e.order_id: e for e in events(shop(tmp_path))
           if isinstance(e, (OrderPaid, OrderCancelled))}
    o1, o3, o4 = got["O1"], got["O3"], got["O4"]
    assert isinstance(o1, OrderPaid) and o1.amount == Decimal("100.00")
    assert o1.lines == (OrderLine("TEA-001", Decimal("80.00"), 2, "tea"),
                        OrderLine("WARE-002", Decimal("20.00"), 1, "teaware"))
    assert isinstance(o4, OrderPaid) and str(o4.amount) == "1200.00"  # written as 1200
    assert o4.lines == (OrderLine("GIFT-004", Decimal("1200.00"), 3, None),)
    assert o3 == OrderCancelled("O3", "C3", datetime(2024, 11, 7, 12, tzinfo=CST))


def test_refunds(tmp_path: Path) -> None:
    refunds = [e for e in events(shop(tmp_path)) if isinstance(e, OrderRefunded)]
    assert refunds[2] == OrderRefunded("R3", "O2", datetime(2024, 11, 10, 10, tzinfo=CST),
                                       Decimal("9.90"))


def test_provenance_names_file_line_and_content_hash(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    sourced = list(read_shop_files(directory, currency="CNY").events())
    c3 = next(s for s in sourced if isinstance(s.event, CustomerUpserted)
              and s.event.customer_id == "C3")
    name, digest = c3.source.split(" ")
    assert name == "customers.csv:5"  # physical line: C2's address spans lines 3 and 4
    expected = hashlib.sha256((directory / "customers.csv").read_bytes()).hexdigest()[:12]
    assert digest == f"sha256:{expected}"


def test_counts_and_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    read = read_shop_files(shop(tmp_path), currency="CNY", progress=seen.append)
    assert read.counts == {"customers.csv": 3, "orders.csv": 4, "refunds.csv": 3,
                           "order_lines.csv": 4}
    assert seen and seen[-1] == sum(read.counts.values())


def test_optional_files_may_be_absent(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    (directory / "refunds.csv").unlink()
    (directory / "order_lines.csv").unlink()
    got = events(directory)
    assert not any(isinstance(e, OrderRefunded) for e in got)
    assert all(e.lines == () for e in got if isinstance(e, OrderPaid))


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    assert events(shop(tmp_path, "with_bom")) == events(shop(tmp_path / "plain"))


def test_z_suffix_means_utc(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    path = directory / "refunds.csv"
    path.write_text(path.read_text().replace("2024-11-10T10:00:00+08:00",
                                             "2024-11-10T02:00:00Z"))
    refund = [e for e in events(directory) if isinstance(e, OrderRefunded)][2]
    assert refund.occurred_at == datetime(2024, 11, 10, 10, tzinfo=CST)


def test_lines_in_any_order_give_the_same_events(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    path = directory / "order_lines.csv"
    header, *rows = path.read_text().splitlines()
    path.write_text("\n".join([header, *reversed(rows)]) + "\n")
    by_order = {e.order_id: set(e.lines) for e in events(directory) if isinstance(e, OrderPaid)}
    expected = {e.order_id: set(e.lines) for e in events(shop(tmp_path / "again"))
                if isinstance(e, OrderPaid)}
    assert by_order == expected


def test_bundled_sample_events_match_its_files() -> None:
    with as_file(files("loyaltykit") / "samples" / "shop") as directory:
        read = read_shop_files(Path(directory), currency="CNY")
        kinds = Counter(s.event.kind for s in read.events())
        with (Path(directory) / "customers.csv").open(encoding="utf-8", newline="") as handle:
            customers = list(csv.DictReader(handle))
        with (Path(directory) / "orders.csv").open(encoding="utf-8", newline="") as handle:
            statuses = Counter(row["status"] for row in csv.DictReader(handle))
        with (Path(directory) / "refunds.csv").open(encoding="utf-8", newline="") as handle:
            refunds = sum(1 for _ in csv.DictReader(handle))
    assert kinds == {
        "customer_upserted": len(customers),
        "referral_recorded": sum(1 for row in customers if row["referred_by_code"]),
        "order_paid": statuses["paid"],
        "order_cancelled": statuses["cancelled"],
        "order_refunded": refunds,
    }


# --------------------------------------------------------------------------- bad input

CASES = [
    # case, file, line, field, words the message or hint must contain
    ("missing_column", "orders.csv", 1, "paid_amount",
     "columns found: order_id, customer_id, created_at, currency, amount, status"),
    ("empty_file", "customers.csv", 1, None, "empty"),
    ("duplicate_header", "refunds.csv", 1, "amount", "appears twice"),
    ("not_utf8", "customers.csv", 2, None, "not UTF-8"),
    ("duplicate_id", "orders.csv", 6, "order_id", "already appears on line 3"),
    ("duplicate_customer", "customers.csv", 6, "customer_id", "already appears on line 2"),
    ("duplicate_referral_code", "customers.csv", 5, "referral_code", "on line 2"),
    ("bad_date", "orders.csv", 3, "created_at", "not an ISO 8601 timestamp"),
    ("no_offset", "refunds.csv", 4, "refunded_at", "add an offset such as +08:00"),
    ("bad_birthday", "customers.csv", 5, "birthday", "YYYY-MM-DD"),
    ("negative_amount", "orders.csv", 5, "paid_amount", "negative"),
    ("not_a_number", "order_lines.csv", 2, "amount", "not a number"),
    ("too_many_decimals", "refunds.csv", 4, "amount", "more than 2 decimal places"),
    ("bad_currency", "orders.csv", 2, "currency", "not an ISO 4217"),
    ("other_currency", "orders.csv", 3, "currency", "differs from the program's currency CNY"),
    ("bad_status", "orders.csv", 4, "status", "paid or cancelled"),
    ("unknown_customer", "orders.csv", 5, "customer_id", "'C9' is neither in customers.csv"),
    ("empty_cell", "orders.csv", 3, "customer_id", "customer_id is empty"),
    ("refund_unknown_order", "refunds.csv", 4, "order_id", "'O9' is neither in orders.csv"),
    ("over_refund", "refunds.csv", 3, "amount", "add up to 100.01 CNY, more than the 100.00"),
    ("refund_before_order", "refunds.csv", 4, "refunded_at", "before order O2 was created"),
    ("zero_refund", "refunds.csv", 4, "amount", "refund of 0"),
    ("lines_unknown_order", "order_lines.csv", 5, "order_id", "'O9' is not in orders.csv"),
    ("bad_quantity", "order_lines.csv", 3, "quantity", "'1.5' is not a positive whole number"),
    ("wrong_width", "orders.csv", 5, None, "8 cells but the header has 7"),
    ("broken_quoting", "customers.csv", 5, None, "quoting"),
]


@pytest.mark.parametrize(("case", "file", "line", "column", "words"), CASES,
                         ids=[case[0] for case in CASES])
def test_bad_input_names_file_line_and_field(tmp_path: Path, case: str, file: str, line: int,
                                             column: str | None, words: str) -> None:
    found = problems(shop(tmp_path, case))
    assert (found[0].file, found[0].line, found[0].field) == (file, line, column)
    assert words in f"{found[0].message} {found[0].hint}"
    assert found[0].hint  # every problem says how to fix it


def test_every_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    found = problems(shop(tmp_path, "bad_quantity"))
    assert [(p.line, p.field, p.message) for p in found] == [
        (3, "quantity", "'1.5' is not a positive whole number"),
        (4, "quantity", "'0' is not a positive whole number"),
    ]


def test_problems_in_several_files_come_together(tmp_path: Path) -> None:
    directory = shop(tmp_path, "bad_status")
    shutil.copy(FIXTURES / "zero_refund" / "refunds.csv", directory / "refunds.csv")
    assert [p.file for p in problems(directory)] == ["orders.csv", "refunds.csv"]


def test_missing_required_file(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    (directory / "orders.csv").unlink()
    (found,) = problems(directory)
    assert (found.file, found.line, found.message) == ("orders.csv", None,
                                                       "required file is missing")


def test_missing_directory(tmp_path: Path) -> None:
    (found,) = problems(tmp_path / "nowhere")
    assert "directory not found" in found.message


def test_wrong_encoding_suggests_utf8(tmp_path: Path) -> None:
    (found,) = problems(shop(tmp_path, "not_utf8"))
    assert "UTF-8" in found.hint


def test_problems_stop_at_the_limit(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    with (directory / "orders.csv").open("a", encoding="utf-8") as handle:
        for n in range(MAX_PROBLEMS + 50):
            handle.write(f"X{n},C1,2024-11-05T10:00:00+08:00,CNY,-1,paid,\n")
    found = problems(directory)
    assert len(found) == MAX_PROBLEMS + 1
    assert "stopped after" in found[-1].message


def test_error_message_lists_the_problems(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"orders\.csv:5 \[customer_id\]: customer 'C9'"):
        read_shop_files(shop(tmp_path, "unknown_customer"), currency="CNY")


def test_a_file_changed_after_validation_yields_nothing(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    read = read_shop_files(directory, currency="CNY")
    shutil.copy(FIXTURES / "bad_status" / "orders.csv", directory / "orders.csv")
    stream = read.events()
    with pytest.raises(InputError, match="changed after it was validated"):
        next(stream)


# --------------------------------------------------------------------------- what the ledger knows


def test_orders_may_refer_to_customers_imported_earlier(tmp_path: Path) -> None:
    directory = shop(tmp_path, "unknown_customer")
    got = events(directory, known=FakeLedger(customers={"C9"}))
    assert any(isinstance(e, OrderPaid) and e.customer_id == "C9" for e in got)


def test_refunds_may_refer_to_orders_imported_earlier(tmp_path: Path) -> None:
    directory = shop(tmp_path, "refund_unknown_order")
    ledger = FakeLedgerWithRefunds(orders={"O9": (Decimal("50.00"), Decimal("40.00"))})
    assert any(isinstance(e, OrderRefunded) and e.order_id == "O9"
               for e in events(directory, known=ledger))
    ledger.orders["O9"] = (Decimal("50.00"), Decimal("45.00"))  # 45 + 9.90 > 50
    (found,) = problems(directory, known=ledger)
    assert (found.line, found.field) == (4, "amount")
    assert "45.00 CNY refunded by earlier imports" in found.message


def test_reimporting_the_same_refunds_is_not_counted_twice(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    # The ledger already holds this whole set: O1 is fully refunded by R1 and R2.
    stored = {"O1": (Decimal("100.00"), Decimal("100.00")),
              "O2": (Decimal("59.90"), Decimal("9.90"))}
    exact = FakeLedgerWithRefunds(customers={"C1", "C2", "C3"}, orders=stored,
                                  refunds={"R1", "R2", "R3"})
    assert events(directory, known=exact) == events(directory)
    assert events(directory, known=FakeLedger(orders=stored)) == events(directory)


def test_without_has_refund_stored_and_new_refunds_are_checked_apart(tmp_path: Path) -> None:
    directory = shop(tmp_path)
    stored = {"O2": (Decimal("59.90"), Decimal("55.00"))}  # R3 (9.90) may or may not be new
    (found,) = problems(directory, known=FakeLedgerWithRefunds(orders=stored))
    assert (found.file, found.line, found.field) == ("refunds.csv", 4, "amount")
    assert events(directory, known=FakeLedger(orders=stored))  # cannot tell: accepted
    stored["O2"] = (Decimal("59.90"), Decimal("59.91"))  # the ledger alone is over
    assert problems(directory, known=FakeLedger(orders=stored))


# --------------------------------------------------------------------------- writing


def test_round_trip_keeps_every_value(tmp_path: Path) -> None:
    customers: list[dict[str, Any]] = [
        {"customer_id": "C1", "email": "a@example.com", "phone": "13812345678",
         "address": "福建省泉州市安溪县, \"铁观音\"路\n8号",
         "created_at": datetime(2024, 1, 1, tzinfo=CST),
         "referral_code": "R1", "referred_by_code": None, "birthday": date(1990, 2, 28),
         "level": "金卡"},
        {"customer_id": "C2", "email": None, "phone": None, "address": None,
         "created_at": datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=timezone.utc),
         "referral_code": None, "referred_by_code": "R1", "birthday": None, "level": None},
    ]
    orders = [
        {"order_id": "O1", "customer_id": "C2", "created_at": datetime(2024, 2, 1, tzinfo=CST),
         "currency": "CNY", "paid_amount": Decimal("99.90"), "status": "paid"},
        {"order_id": "O2", "customer_id": "C1", "created_at": datetime(2024, 2, 2, tzinfo=CST),
         "currency": "CNY", "paid_amount": Decimal("5"), "status": "cancelled",
         "cancelled_at": datetime(2024, 2, 3, tzinfo=CST)},
    ]
    refunds = [{"refund_id": "F1", "order_id": "O1", "amount": Decimal("0.90"),
                "refunded_at": datetime(2024, 2, 5, tzinfo=CST)}]
    lines = [{"order_id": "O1", "sku": "茶-1", "category": "tea", "quantity": 3,
              "amount": Decimal("99.90")}]
    write_shop_files(tmp_path, customers=customers, orders=orders, refunds=refunds, lines=lines)

    got = events(tmp_path)
    c1, c2 = (e for e in got if isinstance(e, CustomerUpserted))
    assert (c1.address, c1.birthday, c1.attributes) == (
        customers[0]["address"], date(1990, 2, 28), {"level": "金卡"})
    assert (c2.email, c2.phone, c2.referral_code, c2.occurred_at) == (
        None, None, None, customers[1]["created_at"])
    assert ReferralRecorded("C2", "R1", customers[1]["created_at"]) in got
    assert OrderPaid("O1", "C2", datetime(2024, 2, 1, tzinfo=CST), Decimal("99.90"), "CNY",
                     (OrderLine("茶-1", Decimal("99.90"), 3, "tea"),)) in got
    assert OrderCancelled("O2", "C1", datetime(2024, 2, 3, tzinfo=CST)) in got
    assert OrderRefunded("F1", "O1", datetime(2024, 2, 5, tzinfo=CST), Decimal("0.90")) in got


@pytest.mark.parametrize("value", [1.5, datetime(2024, 1, 1), object()],
                         ids=["float", "naive datetime", "object"])
def test_writer_refuses_values_it_cannot_write_exactly(tmp_path: Path, value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        write_shop_files(tmp_path, customers=[], orders=[{"order_id": "O1", "paid_amount": value,
                                                          "created_at": value}])


def test_writer_refuses_unknown_columns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"orders\.csv has no column note"):
        write_shop_files(tmp_path, customers=[], orders=[{"order_id": "O1", "note": "x"}])


def test_a_failed_write_leaves_no_files(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), ShopWriter(tmp_path) as writer:
        writer.order({"order_id": "O1"})
        raise RuntimeError("conversion failed halfway")
    assert list(tmp_path.iterdir()) == []


_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                max_size=30)


@settings(max_examples=60, deadline=None)
@given(customer_id=_TEXT.filter(bool), address=_TEXT, attribute=_TEXT,
       paid=st.integers(min_value=0, max_value=10**12), quantity=st.integers(1, 10**6),
       sku=_TEXT.filter(bool))
def test_any_text_and_amount_survive_a_round_trip(customer_id: str, address: str,
                                                  attribute: str, paid: int, quantity: int,
                                                  sku: str) -> None:
    at = datetime(2024, 11, 30, 23, 59, 59, tzinfo=CST)
    amount = Decimal(paid).scaleb(-2)
    with tempfile.TemporaryDirectory() as directory:
        write_shop_files(
            Path(directory),
            customers=[{"customer_id": customer_id, "address": address, "created_at": at,
                        "note, with \"quotes\"": attribute}],
            orders=[{"order_id": customer_id, "customer_id": customer_id, "created_at": at,
                     "currency": "CNY", "paid_amount": amount, "status": "paid"}],
            lines=[{"order_id": customer_id, "sku": sku, "quantity": quantity,
                    "amount": amount}])
        customer, order = events(Path(directory))
    assert isinstance(customer, CustomerUpserted) and isinstance(order, OrderPaid)
    assert (customer.customer_id, customer.address) == (customer_id, address or None)
    assert customer.attributes == ({"note, with \"quotes\"": attribute} if attribute else {})
    assert (order.amount, order.lines) == (amount, (OrderLine(sku, amount, quantity, None),))
