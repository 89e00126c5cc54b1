"""The row and cross-file checks of an import, all problems at once.

One streaming pass per file keeps only what later files need (ids, and per order its line, paid
amount and creation time in compact arrays), so memory stays small however large the shop. What
the ledger already holds comes in through :class:`KnownEntities`.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol, TypeVar, runtime_checkable

from loyaltykit.canonical.columns import (
    BadCell,
    parse_date,
    parse_minor,
    parse_quantity,
    parse_timestamp,
)
from loyaltykit.canonical.tables import Problems, Progress, Table, read_rows
from loyaltykit.money import currency_exponent, format_money, is_valid_currency, to_minor

_T = TypeVar("_T")


class KnownEntities(Protocol):
    """What the ledger already holds, so a file may refer to customers and orders imported
    earlier (an orders-only import, a refunds-only import)."""

    def has_customer(self, customer_id: str) -> bool: ...

    def order_amounts(self, order_id: str) -> tuple[Decimal, Decimal] | None:
        """``(paid, refunded so far)`` of a stored order, or None if the ledger lacks it."""
        ...


@runtime_checkable
class KnownRefunds(Protocol):
    """Optional extra of :class:`KnownEntities` that makes the over-refund check exact.

    Re-importing a refunds.csv must not count its refunds twice: they are already in the
    ledger's ``refunded so far``. Knowing which refunds are stored, the reader counts only new
    ones on top; without it, it checks the ledger's total and the file's total separately.
    """

    def has_refund(self, refund_id: str) -> bool: ...


class Validator:
    """One streaming pass over the files, keeping only what cross-file checks need: ids,
    and per order its line, paid amount and creation time in compact arrays."""

    def __init__(self, currency: str, known: KnownEntities | None, problems: Problems,
                 progress: Progress) -> None:
        self.currency = currency
        self.exponent = currency_exponent(currency)
        self.scale: int = 10**self.exponent
        self.pads: list[int] = [10 ** (self.exponent - n) for n in range(self.exponent + 1)]
        self.known = known
        self.problems = problems
        self.progress = progress
        self.customers: dict[str, int] = {}  # id -> line
        self.known_customers: set[str] = set()
        self.orders: dict[str, int] = {}  # id -> index into the arrays below
        self.order_line = array("q")
        self.order_paid = array("q")  # minor units, -1 when unreadable
        self.order_created = array("d")  # POSIX seconds, -inf when unreadable
        self.ledger_amounts: dict[str, tuple[int, int] | None] = {}
        self.stored_refund = known.has_refund if isinstance(known, KnownRefunds) else None
        self.exact_refunds = known is None or self.stored_refund is not None
        self.lines_in_order = True

    def empty(self, table: Table, line: int, column: str) -> None:
        self.problems.add(table.name, line, column, f"{column} is empty",
                          f"every row needs a {column}")

    def cell(self, parse: Callable[[str], _T], text: str, table: Table, line: int,
             column: str) -> _T | None:
        """The parsed value of a required cell, or None after reporting why it is unusable."""
        if not text:
            self.empty(table, line, column)
            return None
        try:
            return parse(text)
        except BadCell as bad:
            self.problems.add(table.name, line, column, bad.message, bad.hint)
            return None

    def minor(self, text: str) -> int:
        """Amount in minor units. Plain ``123.45`` is converted with string operations, three
        times faster than Decimal; anything else takes the general path and its messages."""
        whole, dot, fraction = text.partition(".")
        if (whole.isdigit() and whole.isascii() and len(fraction) <= self.exponent
                and (not dot or (fraction.isdigit() and fraction.isascii()))):
            cents = int(fraction) * self.pads[len(fraction)] if fraction else 0
            return int(whole) * self.scale + cents
        return parse_minor(text, self.currency)

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)

    def new_id(self, key: str, earlier: int | None, table: Table, line: int,
               column: str) -> bool:
        """Whether ``key`` is a usable id not seen before (on line ``earlier``)."""
        if not key:
            self.empty(table, line, column)
            return False
        if earlier is not None:
            self.problems.add(table.name, line, column, f"{column} {key!r} already appears on "
                              f"line {earlier}", "each id appears once; merge the two rows")
            return False
        return True

    def customers_file(self, table: Table) -> None:
        col = table.columns
        i_id, i_created, i_code = col["customer_id"], col["created_at"], col["referral_code"]
        i_birthday = col.get("birthday")
        codes: dict[str, int] = {}
        seen = self.customers
        for line, row in read_rows(table, self.problems, self.progress):
            customer_id = row[i_id]
            if not self.new_id(customer_id, seen.get(customer_id), table, line, "customer_id"):
                continue
            seen[customer_id] = line
            self.cell(parse_timestamp, row[i_created], table, line, "created_at")
            if i_birthday is not None and row[i_birthday]:
                self.cell(parse_date, row[i_birthday], table, line, "birthday")
            code = row[i_code]
            if code and code in codes:
                self.problems.add(table.name, line, "referral_code", f"referral_code {code!r} is "
                                  f"already used by the customer on line {codes[code]}",
                                  "each referral code belongs to exactly one customer")
            elif code:
                codes[code] = line

    def has_customer(self, customer_id: str) -> bool:
        if customer_id in self.customers or customer_id in self.known_customers:
            return True
        if self.known is not None and self.known.has_customer(customer_id):
            self.known_customers.add(customer_id)
            return True
        return False

    def orders_file(self, table: Table) -> None:
        col, add, name = table.columns, self.problems.add, table.name
        i_id, i_customer, i_created = col["order_id"], col["customer_id"], col["created_at"]
        i_currency, i_paid, i_status = col["currency"], col["paid_amount"], col["status"]
        i_cancelled = col.get("cancelled_at")
        orders, order_line, seen = self.orders, self.order_line, self.customers
        for line, row in read_rows(table, self.problems, self.progress):
            order_id = row[i_id]
            index = orders.get(order_id)
            earlier = None if index is None else order_line[index]
            if not self.new_id(order_id, earlier, table, line, "order_id"):
                continue
            customer_id = row[i_customer]
            if customer_id and customer_id not in seen and not self.has_customer(customer_id):
                add(name, line, "customer_id", f"customer {customer_id!r} is neither in "
                    "customers.csv nor already imported", "add the customer to customers.csv")
            elif not customer_id:
                self.empty(table, line, "customer_id")
            created = self.cell(parse_timestamp, row[i_created], table, line, "created_at")
            if row[i_currency] != self.currency:
                self.currency_problem(row[i_currency], table, line)
            paid = self.cell(self.minor, row[i_paid], table, line, "paid_amount")
            status = row[i_status]
            if status != "paid" and status != "cancelled":
                add(name, line, "status", f"status {status!r} is not paid or cancelled",
                    "write paid or cancelled (lowercase); refunds go in refunds.csv")
            if i_cancelled is not None and row[i_cancelled]:
                self.cell(parse_timestamp, row[i_cancelled], table, line, "cancelled_at")
            orders[order_id] = len(order_line)
            order_line.append(line)
            self.order_paid.append(-1 if paid is None else paid)
            self.order_created.append(-math.inf if created is None else created.timestamp())

    def currency_problem(self, code: str, table: Table, line: int) -> None:
        if not is_valid_currency(code):
            self.problems.add(table.name, line, "currency", f"{code!r} is not an ISO 4217 "
                              "currency code", f"write the three-letter code, e.g. {self.currency}")
        else:
            self.problems.add(table.name, line, "currency", f"currency {code} differs from the "
                              f"program's currency {self.currency}", "a program counts one "
                              "currency: convert the amounts or import into a program in "
                              f"{code}")

    def paid_and_refunded(self, order_id: str) -> tuple[int, float, int] | None:
        """(paid, created, refunded before this import) of an order in the file or ledger."""
        if order_id not in self.ledger_amounts:
            amounts = self.known.order_amounts(order_id) if self.known is not None else None
            self.ledger_amounts[order_id] = None if amounts is None else (
                to_minor(amounts[0], self.currency), to_minor(amounts[1], self.currency))
        ledger = self.ledger_amounts[order_id]
        index = self.orders.get(order_id)
        refunded = 0 if ledger is None else ledger[1]
        if index is not None:
            return self.order_paid[index], self.order_created[index], refunded
        if ledger is not None:
            return ledger[0], -math.inf, refunded
        return None

    def refunds_file(self, table: Table) -> None:
        col, add, name = table.columns, self.problems.add, table.name
        i_id, i_order = col["refund_id"], col["order_id"]
        i_amount, i_at = col["amount"], col["refunded_at"]
        seen: dict[str, int] = {}
        refunded: dict[str, int] = {}
        for line, row in read_rows(table, self.problems, self.progress):
            refund_id, order_id = row[i_id], row[i_order]
            if not self.new_id(refund_id, seen.get(refund_id), table, line, "refund_id"):
                continue
            seen[refund_id] = line
            amount = self.cell(self.minor, row[i_amount], table, line, "amount")
            if amount == 0:
                add(name, line, "amount", "a refund of 0 refunds nothing", "remove the line")
            at = self.cell(parse_timestamp, row[i_at], table, line, "refunded_at")
            order = self.paid_and_refunded(order_id) if order_id else None
            if order is None:
                if order_id:
                    add(name, line, "order_id", f"order {order_id!r} is neither in orders.csv nor "
                        "already imported", "add the order to orders.csv")
                else:
                    self.empty(table, line, "order_id")
                continue
            paid, created, before = order
            if at is not None and at.timestamp() < created:
                add(name, line, "refunded_at", f"refund at {row[i_at]} is before order "
                    f"{order_id} was created", "check the date and its UTC offset")
            if amount is None or paid < 0:
                continue
            total = refunded.get(order_id, 0) + self.new_refund(refund_id, amount)
            refunded[order_id] = total
            total = total + before if self.exact_refunds else max(total, before)
            if total > paid:
                money = self.money
                earlier = f" ({money(before)} refunded by earlier imports)" if before else ""
                add(name, line, "amount", f"refunds of order {order_id} add up to {money(total)}, "
                    f"more than the {money(paid)} paid{earlier}",
                    "a refund cannot exceed what the customer paid; check the amounts")

    def new_refund(self, refund_id: str, amount: int) -> int:
        """The amount a refund adds to what the ledger already holds."""
        if self.stored_refund is not None and self.stored_refund(refund_id):
            return 0
        return amount

    def lines_file(self, table: Table) -> None:
        col, name = table.columns, table.name
        i_order, i_sku = col["order_id"], col["sku"]
        i_quantity, i_amount = col["quantity"], col["amount"]
        last = -1
        for line, row in read_rows(table, self.problems, self.progress):
            order_id = row[i_order]
            index = self.orders.get(order_id)
            if index is None:
                if order_id:
                    self.problems.add(name, line, "order_id", f"order {order_id!r} is not in "
                                      "orders.csv", "import order lines together with their order")
                else:
                    self.empty(table, line, "order_id")
            elif index < last:
                self.lines_in_order = False
            else:
                last = index
            if not row[i_sku]:
                self.empty(table, line, "sku")
            self.cell(parse_quantity, row[i_quantity], table, line, "quantity")
            self.cell(self.minor, row[i_amount], table, line, "amount")
