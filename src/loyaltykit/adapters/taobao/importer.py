"""Import seller-center exports into an :class:`EventSink`, safely and repeatably.

Two passes: the first reads every file completely and refuses the whole import if any row
is bad (see :mod:`.checking`); the second reads the order report and referral list again
and hands events to the sink in batches, each event with its provenance. Memory stays
constant whatever the file size: rows are streamed, and item lines and refunds wait in a
scratch SQLite file.

Order of ingestion: customers, then referrals (so a referee's first order finds both), then
orders, then refunds (so a refund never arrives before the payment it reverses).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loyaltykit.adapters.base import EventSink
from loyaltykit.adapters.taobao import refund_sync
from loyaltykit.adapters.taobao.cells import Cells, Problems, RowShape
from loyaltykit.adapters.taobao.checking import (
    PROGRESS_EVERY,
    FileSummary,
    Progress,
    ProgressCallback,
    check_all,
    recognise,
)
from loyaltykit.adapters.taobao.headers import Report, match_header
from loyaltykit.adapters.taobao.mapping import customer_event, order_events, referral_event
from loyaltykit.adapters.taobao.orders import OrderRecord, parse_order
from loyaltykit.adapters.taobao.referrals import parse_referral
from loyaltykit.adapters.taobao.spill import Spill
from loyaltykit.adapters.taobao.table import Table
from loyaltykit.adapters.taobao.values import OrderStatus
from loyaltykit.clock import Clock, SystemClock, require_aware
from loyaltykit.errors import ConfigurationError, InputError, InputProblem
from loyaltykit.events import Event
from loyaltykit.money import is_valid_currency

_AFTER = timedelta(seconds=1)


def closed(order: OrderRecord) -> bool:
    return order.status is OrderStatus.CLOSED


@dataclass(frozen=True)
class ImportOptions:
    """How to read the files.

    ``as_of`` dates what an export shows without a time (a cumulative 退款金额, a close);
    by default it is the export time in the file name ``ExportOrderList<yyyyMMddHHmm>``,
    else the latest time found in the file. ``categories`` maps 商家编码 to a category
    for category rules. ``member_name_is_referral_code`` gives every buyer their
    买家会员名 as referral code, so a referral list can name referrers by member name
    (Taobao shops rarely hand out codes); turn it off when codes come from elsewhere.
    """

    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    encoding: str = "auto"
    as_of: datetime | None = None
    categories: Mapping[str, str] = field(default_factory=dict)
    member_name_is_referral_code: bool = True
    batch_size: int = 2000


@dataclass
class ImportReport:
    """What an import read and what it changed."""

    files: list[FileSummary]
    new: int = 0
    duplicate: int = 0
    refund_source: str = "none"
    item_lines: int = 0
    item_lines_attached: int = 0

    @property
    def unknown_statuses(self) -> dict[str, tuple[int, str]]:
        """Unrecognised 订单状态 values: count and the first place seen. Kept, never paid."""
        found: dict[str, tuple[int, str]] = {}
        for summary in self.files:
            for status, (count, line) in summary.unknown_statuses.items():
                total, first = found.get(status, (0, f"{summary.name}:{line}"))
                found[status] = (total + count, first)
        return found

    @property
    def refunds_not_counted(self) -> dict[str, int]:
        """退款状态 values other than 退款成功 in the refund reports, with counts."""
        states: dict[str, int] = {}
        for summary in self.files:
            for state, count in summary.refund_states.items():
                if state != "退款成功":
                    states[state] = states.get(state, 0) + count
        return states


def import_files(
    sink: EventSink,
    paths: Sequence[Path | str],
    *,
    options: ImportOptions | None = None,
    reports: Mapping[Path, Report] | None = None,
    progress: ProgressCallback | None = None,
    clock: Clock | None = None,
) -> ImportReport:
    """Import order, item and refund reports and referral lists; report what happened.

    Raises :class:`InputError` listing every bad row of every file before anything is
    ingested. Re-importing the same or an overlapping later export adds only what changed.
    """
    opts = options or ImportOptions()
    run = _Run(sink, opts, progress, clock or SystemClock())
    files = [Path(p) for p in paths]
    given = {Path(k): v for k, v in (reports or {}).items()}
    kinds = _recognise_all(files, opts.encoding, given)
    with Spill() as spill:
        run.spill = spill
        summaries = check_all(kinds, encoding=opts.encoding, tz=run.tz, spill=spill,
                              progress=progress)
        return run.ingest(summaries)


def _recognise_all(
    files: Sequence[Path], encoding: str, given: Mapping[Path, Report]
) -> list[tuple[Path, Report]]:
    problems = Problems()
    kinds: list[tuple[Path, Report]] = []
    for path in files:
        try:
            kinds.append((path, recognise(path, encoding, given.get(path))))
        except InputError as exc:
            for problem in exc.problems:
                problems.add(problem)
    problems.raise_if_any()
    reports = {report for _, report in kinds}
    if Report.ITEMS in reports and Report.ORDERS not in reports:
        raise InputError([InputProblem(
            next(p.name for p, r in kinds if r is Report.ITEMS), None, None,
            "an item report adds lines to the orders of an order report",
            "import it together with the order report it belongs to")])
    return kinds


class _Run:
    def __init__(self, sink: EventSink, options: ImportOptions,
                 progress: ProgressCallback | None, clock: Clock) -> None:
        self.sink = sink
        self.options = options
        self.progress = progress
        self.clock = clock
        self.tz = _zone(options.timezone)
        if not is_valid_currency(options.currency):
            raise ConfigurationError(f"unknown currency {options.currency!r}; use e.g. CNY")
        if options.as_of is not None:
            require_aware(options.as_of, "as_of")
        self.spill: Spill
        self._events: list[Event] = []
        self._sources: list[str | None] = []
        self.report = ImportReport(files=[])

    def ingest(self, summaries: list[FileSummary]) -> ImportReport:
        self.report.files = summaries
        by_kind = {kind: [s for s in summaries if s.report is kind] for kind in Report}
        self.report.item_lines = self.spill.count_items() if by_kind[Report.ITEMS] else 0
        for profile, source in self.spill.customers(self.tz):
            self._add(customer_event(
                profile, member_name_is_code=self.options.member_name_is_referral_code), source)
        for summary in by_kind[Report.REFERRALS]:
            self._referrals(summary)
        has_refund_report = bool(by_kind[Report.REFUNDS])
        for summary in by_kind[Report.ORDERS]:
            self._orders(summary, bool(by_kind[Report.ITEMS]), has_refund_report)
        self._flush()
        if has_refund_report:
            self.report.refund_source = "refund report"
            self._refunds_from_report()
        elif by_kind[Report.ORDERS]:
            self.report.refund_source = "order report 退款金额"
            self._refunds_from_totals()
        return self.report

    # ------------------------------------------------------------------ passes

    def _referrals(self, summary: FileSummary) -> None:
        now = self.clock.now()
        for cells in self._rows(summary):
            referral = parse_referral(cells, self.tz)
            assert referral is not None, "checked in the first pass"
            first = self.spill.first_order_at(referral.referee, self.tz)
            self._add(referral_event(referral, first or now), summary.source(referral.line))

    def _orders(self, summary: FileSummary, with_items: bool, has_refund_report: bool) -> None:
        as_of = summary.as_of(self.options.as_of)
        assert as_of is not None or summary.rows == 0

        def cancel_time(order: OrderRecord) -> datetime:
            """Just after the order's last refund if known (Taobao closes a trade when its
            full refund completes), else when the export was taken."""
            last = self.spill.last_refund_at(order.order_id, self.tz) \
                if has_refund_report else None
            if last is not None:
                return max(last + _AFTER, order.latest_at)
            return max(as_of or order.latest_at, order.latest_at)

        for cells in self._rows(summary):
            order = parse_order(cells, self.tz)
            assert order is not None, "checked in the first pass"
            events = order_events(
                order, currency=self.options.currency, has_paid_column=summary.has_paid_column,
                lines=self._lines if with_items else None,
                categories=self.options.categories, cancel_time=cancel_time)
            source = summary.source(order.line)
            for event in events:
                self._add(event, source)
            # A closed order's cancellation already reverses everything it earned.
            if not has_refund_report and order.refund_amount > 0 and not closed(order):
                self.spill.add_total(order.order_id, order.refund_amount,
                                     max(as_of or order.latest_at, order.latest_at), source)
        self.spill.flush()

    def _lines(self, order_id: str) -> list[tuple[str, Decimal, int]]:
        lines = self.spill.lines(order_id)
        self.report.item_lines_attached += len(lines)
        return lines

    def _refunds_from_report(self) -> None:
        for order_id, refunds in self.spill.refunds_by_order(self.tz):
            recorded = self._recorded(order_id)
            self._commit(order_id, refund_sync.from_refund_report(order_id, refunds, recorded))

    def _refunds_from_totals(self) -> None:
        for order_id, total, as_of, source in self.spill.largest_totals(self.tz):
            recorded = self._recorded(order_id)
            self._commit(order_id, refund_sync.from_cumulative(
                order_id, total, as_of, source, recorded))

    # ------------------------------------------------------------------ plumbing

    def _rows(self, summary: FileSummary) -> Iterator[Cells]:
        """Rows of a checked file, read again for the second pass, with progress."""
        encoding = "auto" if summary.encoding == "xlsx" else summary.encoding
        with Table(summary.path, encoding) as table:
            header = match_header(summary.report, table.header, summary.name,
                                  table.header_line)
            unit = "bytes" if table.total is not None else "rows"
            problems, shape = Problems(), RowShape(len(table.header))
            for count, row in enumerate(table.rows(), start=1):
                yield Cells(header, row, summary.name, problems, shape)
                if self.progress and count % PROGRESS_EVERY == 0:
                    self.progress(Progress("import", summary.name, table.done, table.total,
                                           unit))
            if self.progress:
                self.progress(Progress("import", summary.name, table.done, table.total, unit))

    def _recorded(self, order_id: str) -> Decimal:
        value = self.sink.cursor(refund_sync.cursor_name(order_id))
        return Decimal(value) if value else Decimal(0)

    def _commit(self, order_id: str, step: refund_sync.RefundStep) -> None:
        if not step.events:
            return
        result = self.sink.ingest(
            step.events, cursor=(refund_sync.cursor_name(order_id), str(step.total)),
            sources=list(step.sources))
        self.report.new += result.new
        self.report.duplicate += result.duplicate

    def _add(self, event: Event, source: str) -> None:
        self._events.append(event)
        self._sources.append(source)
        if len(self._events) >= self.options.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self._events:
            return
        result = self.sink.ingest(self._events, sources=self._sources)
        self.report.new += result.new
        self.report.duplicate += result.duplicate
        self._events, self._sources = [], []


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"unknown timezone {name!r}; use an IANA name such as Asia/Shanghai") from None
