"""Taobao/Tmall seller-center exports in, upload lists out (no API needed).

Import: :func:`import_files` reads order reports (订单报表, every layout from 28 to 67
columns and the 21-column xlsx), item reports (宝贝报表), refund reports (退款报表) and a
small referral list, checks them completely, then hands normalized events with provenance
to an :class:`~loyaltykit.adapters.base.EventSink` such as the ledger.

Export: :mod:`.export` writes member lists per tier, segment or tag, coupon recipients and
grade assignments, keyed by 买家会员名, as GBK or UTF-8 CSV or xlsx.

The command line is :data:`app` (``loyaltykit taobao import|export``). The format details
and assumptions are in ``docs/adapters/taobao.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loyaltykit.adapters.taobao.categories import read_categories
from loyaltykit.adapters.taobao.checking import FileSummary, Progress
from loyaltykit.adapters.taobao.export import (
    TAOBAO_GRADES,
    CouponRow,
    CustomerRow,
    ExportFormat,
    GradeRow,
    write_coupon_recipients,
    write_grades,
    write_lists,
    write_member_list,
)
from loyaltykit.adapters.taobao.headers import Report
from loyaltykit.adapters.taobao.importer import ImportOptions, ImportReport, import_files

if TYPE_CHECKING:
    import typer

    app: typer.Typer

__all__ = [
    "TAOBAO_GRADES",
    "CouponRow",
    "CustomerRow",
    "ExportFormat",
    "FileSummary",
    "GradeRow",
    "ImportOptions",
    "ImportReport",
    "Progress",
    "Report",
    "app",
    "import_files",
    "read_categories",
    "write_coupon_recipients",
    "write_grades",
    "write_lists",
    "write_member_list",
]


def __getattr__(name: str) -> Any:
    """``app`` is built on first use, so importing the adapter does not load typer/rich."""
    if name == "app":
        from loyaltykit.adapters.taobao.cli import app

        return app
    raise AttributeError(name)
