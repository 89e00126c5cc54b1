"""Reading a set of canonical files: validate everything first, then stream the events.

An import is all-or-nothing: :func:`read_shop_files` returns a :class:`ShopFiles` only for a
clean set, and :meth:`ShopFiles.events` reads the files again rather than keeping them, so memory
stays flat however large the shop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from loyaltykit.canonical.columns import FORMATS, exact_decimal, parse_date, valid_time
from loyaltykit.canonical.tables import (
    Problems,
    Progress,
    StopReading,
    Table,
    open_table,
    read_rows,
    sha256_of,
)
from loyaltykit.canonical.validation import KnownEntities, Validator
from loyaltykit.errors import ConfigurationError, InputError, InputProblem
from loyaltykit.events import (
    CustomerUpserted,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPaid,
    OrderRefunded,
    ReferralRecorded,
)
from loyaltykit.money import currency_exponent, is_valid_currency

MAX_PROBLEMS = 100


@dataclass(frozen=True, slots=True)
class SourcedEvent:
    """An event with its provenance, e.g. ``orders.csv:17 sha256:0123456789ab``, so every
    ledger entry can be traced to the exact file version and line it came from."""

    event: Event
    source: str


def read_shop_files(directory: Path, *, currency: str, known: KnownEntities | None = None,
                    progress: Callable[[int], None] | None = None) -> ShopFiles:
    """Validate the canonical files in ``directory`` completely, then return them for
    streaming. Raises :class:`InputError` listing every problem found (up to
    :data:`MAX_PROBLEMS`) and produces nothing when there is any.

    ``known`` lets files refer to customers and orders imported earlier; ``progress`` is
    called with the number of rows read so far.
    """
    if not is_valid_currency(currency):
        raise ConfigurationError(f"program currency {currency!r} is not an ISO 4217 code")
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError([InputProblem(str(directory), None, None, "directory not found",
                                       "give the directory that holds customers.csv")])
    problems = Problems(MAX_PROBLEMS)
    validator = Validator(currency, known, problems, Progress(progress))
    tables: dict[str, Table] = {}
    counts: dict[str, int] = {}
    try:
        for fmt in FORMATS:
            table = open_table(directory, fmt, problems)
            if table is not None:
                tables[fmt.name] = table
        if not problems.items:  # row checks on a broken header would only add noise
            before = 0
            for name, check in (("customers.csv", validator.customers_file),
                                ("orders.csv", validator.orders_file),
                                ("refunds.csv", validator.refunds_file),
                                ("order_lines.csv", validator.lines_file)):
                if name in tables:
                    check(tables[name])
                    counts[name] = validator.progress.done - before
                    before = validator.progress.done
    except StopReading:
        pass
    if problems.items:
        raise InputError(problems.items)
    return ShopFiles(list(tables.values()), counts, currency, validator.lines_in_order)


class ShopFiles:
    """A validated set of canonical files, ready to stream as events.

    ``files`` are the files read and ``counts`` their data rows by file name.
    """

    def __init__(self, tables: Sequence[Table], counts: Mapping[str, int], currency: str,
                 lines_in_order: bool) -> None:
        self.files: list[Path] = [table.path for table in tables]
        self.counts: dict[str, int] = dict(counts)
        self._tables = {table.name: table for table in tables}
        self._quantum = Decimal(1).scaleb(-currency_exponent(currency))
        self._currency = currency
        self._lines_in_order = lines_in_order

    def __repr__(self) -> str:
        return f"ShopFiles({[str(path) for path in self.files]!r}, counts={self.counts!r})"

    def events(self) -> Iterator[SourcedEvent]:
        """Customers (each followed by its referral), then orders, then refunds, in file order.

        Files are read again rather than kept from validation, so memory stays flat however
        large the shop; a file edited since validation is refused before anything is yielded.
        """
        self._check_unchanged()
        yield from self._customer_events(self._tables["customers.csv"])
        yield from self._order_events(self._tables["orders.csv"])
        if "refunds.csv" in self._tables:
            yield from self._refund_events(self._tables["refunds.csv"])

    def _check_unchanged(self) -> None:
        changed = [InputProblem(t.name, None, None, "the file changed after it was validated",
                                "run the import again")
                   for t in self._tables.values() if sha256_of(t.path) != t.digest]
        if changed:
            raise InputError(changed)

    def _customer_events(self, table: Table) -> Iterator[SourcedEvent]:
        col, extras = table.columns, table.extras
        i_id, i_created, i_email = col["customer_id"], col["created_at"], col["email"]
        i_phone, i_address, i_code = col["phone"], col["address"], col["referral_code"]
        i_referred, i_birthday = col["referred_by_code"], col.get("birthday")
        prefix, suffix = table.source()
        for line, row in read_rows(table, None):
            created = valid_time(row[i_created])
            birthday = row[i_birthday] if i_birthday is not None else ""
            source = f"{prefix}{line}{suffix}"
            yield SourcedEvent(CustomerUpserted(
                customer_id=row[i_id], occurred_at=created, email=row[i_email] or None,
                phone=row[i_phone] or None, address=row[i_address] or None,
                birthday=parse_date(birthday) if birthday else None,
                referral_code=row[i_code] or None,
                attributes={name: row[i] for name, i in extras if row[i]},
            ), source)
            if row[i_referred]:
                yield SourcedEvent(ReferralRecorded(row[i_id], row[i_referred], created), source)

    def _order_events(self, table: Table) -> Iterator[SourcedEvent]:
        col, quantum, currency = table.columns, self._quantum, self._currency
        i_id, i_customer, i_created = col["order_id"], col["customer_id"], col["created_at"]
        i_paid, i_status, i_cancelled = col["paid_amount"], col["status"], col.get("cancelled_at")
        lines = _Lines(self._tables.get("order_lines.csv"), quantum, self._lines_in_order)
        prefix, suffix = table.source()
        for line, row in read_rows(table, None):
            order_id = row[i_id]
            order_lines = lines.take(order_id)
            if row[i_status] == "paid":
                event: Event = OrderPaid(order_id, row[i_customer], valid_time(row[i_created]),
                                         exact_decimal(row[i_paid], quantum), currency, order_lines)
            else:
                cancelled = row[i_cancelled] if i_cancelled is not None else ""
                event = OrderCancelled(order_id, row[i_customer],
                                       valid_time(cancelled or row[i_created]))
            yield SourcedEvent(event, f"{prefix}{line}{suffix}")

    def _refund_events(self, table: Table) -> Iterator[SourcedEvent]:
        col, quantum = table.columns, self._quantum
        i_id, i_order = col["refund_id"], col["order_id"]
        i_amount, i_at = col["amount"], col["refunded_at"]
        prefix, suffix = table.source()
        for line, row in read_rows(table, None):
            yield SourcedEvent(OrderRefunded(row[i_id], row[i_order], valid_time(row[i_at]),
                                             exact_decimal(row[i_amount], quantum)),
                               f"{prefix}{line}{suffix}")


class _Lines:
    """Order lines for each order in turn.

    When order_lines.csv follows the order of orders.csv (as exports and the writer produce
    it) both files are read side by side in constant memory; otherwise lines are indexed by
    order first.
    """

    def __init__(self, table: Table | None, quantum: Decimal, in_order: bool) -> None:
        self._stream: Iterator[tuple[str, OrderLine]] = iter(())
        self._pending: tuple[str, OrderLine] | None = None
        self._index: dict[str, list[OrderLine]] | None = None
        if table is None:
            return
        self._stream = self._read(table, quantum)
        if in_order:
            self._pending = next(self._stream, None)
        else:
            self._index = {}
            for order_id, order_line in self._stream:
                self._index.setdefault(order_id, []).append(order_line)

    @staticmethod
    def _read(table: Table, quantum: Decimal) -> Iterator[tuple[str, OrderLine]]:
        col = table.columns
        i_order, i_sku, i_category = col["order_id"], col["sku"], col["category"]
        i_quantity, i_amount = col["quantity"], col["amount"]
        for _, row in read_rows(table, None):
            yield row[i_order], OrderLine(row[i_sku], exact_decimal(row[i_amount], quantum),
                                          int(row[i_quantity]), row[i_category] or None)

    def take(self, order_id: str) -> tuple[OrderLine, ...]:
        if self._index is not None:
            return tuple(self._index.pop(order_id, ()))
        taken: list[OrderLine] = []
        while self._pending is not None and self._pending[0] == order_id:
            taken.append(self._pending[1])
            self._pending = next(self._stream, None)
        return tuple(taken)
