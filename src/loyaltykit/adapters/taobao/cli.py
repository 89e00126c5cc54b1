"""``loyaltykit taobao import|export``: seller-center files in, upload files out.

Mounted by the main CLI as ``loyaltykit taobao``. The ledger is opened lazily so that
``--help`` stays fast and this module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

from loyaltykit.adapters.taobao.categories import read_categories
from loyaltykit.adapters.taobao.checking import Progress, ProgressCallback
from loyaltykit.adapters.taobao.export import (
    CouponRow,
    CustomerRow,
    ExportFormat,
    GradeRow,
    safe_name,
    write_coupon_recipients,
    write_grades,
    write_lists,
    write_member_list,
)
from loyaltykit.adapters.taobao.importer import ImportOptions, ImportReport, import_files
from loyaltykit.adapters.taobao.sniff import ENCODING_CHOICES
from loyaltykit.errors import ConfigurationError

if TYPE_CHECKING:
    from loyaltykit.ledger import Ledger

app = typer.Typer(name="taobao", no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None,
                  help="Taobao/Tmall seller-center exports: import reports, export upload lists.")
err = Console(stderr=True)

Db = Annotated[str, typer.Option("--db", envvar="LOYALTYKIT_DB",
                                 help="SQLite file or SQLAlchemy URL of the ledger")]
Programs = Annotated[list[Path] | None, typer.Option(
    "--program", "-p", exists=True, dir_okay=False, help="Program version(s) to install first")]


@contextmanager
def _ledger(db: str, programs: list[Path] | None) -> Iterator[Ledger]:
    from loyaltykit import open_ledger
    from loyaltykit.rules.loader import load_programs

    ledger = open_ledger(db, load_programs(programs) if programs else None)
    try:
        yield ledger
    finally:
        ledger.close()


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    if text == "now":
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 instant such as "
                                 "2026-01-31T00:00:00+08:00") from None
    if value.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no offset; add one such as +08:00")
    return value


@app.command("import")
def import_command(
    files: Annotated[list[Path], typer.Argument(
        exists=True, dir_okay=False,
        help="Order reports (ExportOrderList*.csv/.xlsx), item reports, refund reports and "
             "referral lists, in any order; each is recognised by its header")],
    db: Db = "loyaltykit.db",
    program: Programs = None,
    encoding: Annotated[str, typer.Option(
        help="Text encoding of CSV files: " + ", ".join(ENCODING_CHOICES))] = "auto",
    tz: Annotated[str | None, typer.Option(
        "--timezone", help="Timezone of the export's times [default: the program's]")] = None,
    currency: Annotated[str | None, typer.Option(
        help="Currency of the amounts [default: the program's, else CNY]")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="When the exports were taken (dates refunds and closes the export "
                        "does not time) [default: from the file name or its latest time]")]
    = None,
    categories: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False,
        help="CSV of 商家编码,category for category rules")] = None,
    member_codes: Annotated[bool, typer.Option(
        help="Give every buyer their 买家会员名 as referral code")] = True,
) -> None:
    """Import seller-center exports: all files are checked before anything is written."""
    with _ledger(db, program) as ledger:
        first = _program_defaults(ledger)
        options = ImportOptions(
            timezone=tz or first[0], currency=currency or first[1], encoding=encoding,
            as_of=_instant(as_of), categories=read_categories(categories) if categories else {},
            member_name_is_referral_code=member_codes)
        with _progress_bar() as progress:
            report = import_files(ledger, files, options=options, progress=progress)
    _print_import(report)


def _program_defaults(ledger: Ledger) -> tuple[str, str]:
    try:
        program = ledger.programs.first
    except ConfigurationError:
        return "Asia/Shanghai", "CNY"
    return program.timezone, program.currency


@contextmanager
def _progress_bar() -> Iterator[ProgressCallback]:
    """Bytes for CSV files, rows for workbooks (whose size in rows is unknown up front)."""
    bar = Bar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[shown]}"),
              TimeElapsedColumn(), transient=True, console=err)
    tasks: dict[tuple[str, str], TaskID] = {}

    def update(step: Progress) -> None:
        key = (step.phase, step.file)
        if key not in tasks:
            label = "checking" if step.phase == "check" else "importing"
            tasks[key] = bar.add_task(f"{label} {step.file}", total=step.total, shown="")
        shown = (f"{step.done / 1e6:,.1f}/{step.total / 1e6:,.1f} MB" if step.total
                 else f"{step.done:,} {step.unit}")
        bar.update(tasks[key], completed=step.done, shown=shown)

    with bar:
        yield update


def _print_import(report: ImportReport) -> None:
    for summary in report.files:
        typer.echo(f"{summary.name}: {summary.report.label}, {summary.rows} rows, "
                   f"{summary.encoding}, sha256 {summary.sha256[:12]}")
    typer.echo(f"{report.new} new events, {report.duplicate} already recorded")
    if report.item_lines:
        typer.echo(f"item lines: {report.item_lines_attached} of {report.item_lines} attached "
                   "to paid orders")
    typer.echo(f"refunds from: {report.refund_source}")
    for state, count in sorted(report.refunds_not_counted.items()):
        typer.echo(f"not counted: {count} refunds in state {state}")
    for status, (count, first) in sorted(report.unknown_statuses.items()):
        typer.echo(f"warning: unknown order status {status!r} on {count} orders (first at "
                   f"{first}): kept, not treated as paid", err=True)


@app.command("export")
def export_command(
    out_dir: Annotated[Path, typer.Option("--out", file_okay=False,
                                          help="Folder to write the upload files into")],
    db: Db = "loyaltykit.db",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="ISO 8601 instant [default: as far as the ledger was run]")] = None,
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", help="csv-gbk (seller center), csv-utf8 (BOM) or xlsx")]
    = ExportFormat.CSV_GBK,
    grade: Annotated[list[str] | None, typer.Option(
        help="Map a tier to a Taobao CRM grade, e.g. --grade gold=VIP会员 (repeatable)")]
    = None,
    drain_outbox: Annotated[bool, typer.Option(
        help="Also write pending coupons and tag changes, and mark them sent")] = True,
) -> None:
    """Write tier and segment lists, grades, coupon recipients and tag lists by 买家会员名."""
    grades = _grade_map(grade or [])
    with _ledger(db, None) as ledger:
        instant = _instant(as_of) or ledger.processed_until()
        if instant is None:
            raise ConfigurationError("the ledger has not been run yet: run "
                                     "`loyaltykit run --as-of ...` before exporting")
        rows = [CustomerRow(r.customer_id, r.tier, r.segment)
                for r in ledger.export_customers(as_of=instant)]
        written = [*write_lists(out_dir, rows, "tier", fmt).values(),
                   *write_lists(out_dir, rows, "segment", fmt).values()]
        if grades:
            path = out_dir / f"grades{fmt.suffix}"
            write_grades(path, _grade_rows(rows, grades), fmt)
            written.append(path)
        if drain_outbox:
            written += _drain(ledger, out_dir, fmt)
    for path in written:
        typer.echo(str(path))


def _grade_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        tier, sep, name = pair.partition("=")
        if not sep or not tier or not name:
            raise typer.BadParameter(f"{pair!r}: write --grade TIER=GRADE, e.g. gold=VIP会员")
        mapping[tier.strip()] = name.strip()
    return mapping


def _grade_rows(rows: list[CustomerRow], grades: dict[str, str]) -> list[GradeRow]:
    unmapped = sorted({r.tier for r in rows if r.tier and r.tier not in grades})
    if unmapped:
        raise ConfigurationError(f"no --grade for tiers {', '.join(unmapped)}; map every tier")
    return [GradeRow(r.customer_id, grades[r.tier]) for r in rows if r.tier]


def _drain(ledger: Ledger, out_dir: Path, fmt: ExportFormat) -> list[Path]:
    """Pending discount and tag commands as upload files, marked sent once written."""
    from loyaltykit.commands import IssueDiscount, SetCustomerTags

    items = ledger.pending_commands(limit=1_000_000, kinds=["issue_discount",
                                                             "set_customer_tags"])
    coupons = [i.command for i in items if isinstance(i.command, IssueDiscount)]
    tags: dict[tuple[str, str], list[str]] = {}
    for item in items:
        if isinstance(item.command, SetCustomerTags):
            for verb, names in (("add", item.command.add), ("remove", item.command.remove)):
                for name in names:
                    tags.setdefault((verb, name), []).append(item.command.customer_id)
    written = []
    if coupons:
        path = out_dir / f"coupons{fmt.suffix}"
        write_coupon_recipients(path, [CouponRow(c.customer_id, c.code, c.value_type, c.value,
                                                 c.ends_at) for c in coupons], fmt)
        written.append(path)
    for (verb, name), customers in sorted(tags.items()):
        path = out_dir / f"tag-{safe_name(name)}{'' if verb == 'add' else '-remove'}{fmt.suffix}"
        write_member_list(path, sorted(set(customers)), fmt)
        written.append(path)
    for item in items:
        ledger.mark_sent(item.id, detail=f"written to {out_dir}")
    return written
