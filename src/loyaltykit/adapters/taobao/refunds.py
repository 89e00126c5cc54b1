"""Rows of the refund report (退款报表) as typed records.

Only 退款成功 means money went back to the buyer; every other state (退款关闭, waiting for
the seller, ...) is read, validated and then left out, and the import report counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import partial

from loyaltykit.adapters.taobao.cells import Cells, header_repeated
from loyaltykit.adapters.taobao.orders import order_id_of
from loyaltykit.adapters.taobao.values import parse_amount, parse_local_datetime

SUCCEEDED = "退款成功"


@dataclass(frozen=True, slots=True)
class RefundRecord:
    line: int
    order_id: str
    refund_id: str
    status_text: str
    amount: Decimal
    completed_at: datetime | None

    @property
    def succeeded(self) -> bool:
        return self.status_text == SUCCEEDED


def parse_refund(cells: Cells, tz: tzinfo) -> RefundRecord | None:
    if not cells.ok or header_repeated(cells, "order_id", ("订单编号",)):
        return None
    order_id = order_id_of(cells, "order_id")
    refund_id = cells.identifier("refund_id", "refund number (退款编号)")
    status = cells.text("status")
    amount = cells.parse("amount", parse_amount)
    when = partial(parse_local_datetime, tz=tz)
    completed_at = cells.parse("completed_at", when) or cells.parse("finished_at", when)
    if status == SUCCEEDED:
        if not cells.text("amount") or amount == 0:
            cells.problem("amount", "a successful refund has no amount")
        if not cells.text("completed_at") and not cells.text("finished_at"):
            cells.problem("completed_at", "a successful refund has no completion time")
    if not cells.ok or order_id is None or refund_id is None:
        return None
    return RefundRecord(cells.line, order_id, refund_id, status, amount or Decimal(0),
                        completed_at)
