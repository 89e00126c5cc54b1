"""The statements every incremental run issues find their rows through an index (for a
tier window, the one that holds only orders still in a window).

A full scan costs nothing on a test ledger and milliseconds per run on a shop's, so this
reads SQLite's plans rather than timing anything.
"""

from pathlib import Path

import pytest
from sqlalchemy import Executable

from loyaltykit.engine import pages, runner
from loyaltykit.ledger import open_ledger, store
from loyaltykit.testing.conformance import SUITE_PROGRAM

AT = "2026-01-01 00:00:00.000000"  # as stored; the plan does not depend on the value
VALUES = {"ids": ["c1", "c2"], "as_of": AT, "before": AT, "start": AT, "customer_id": "c1",
          "size": 100, "key": "generation", "code": "C1",
          **{f"{side}{n}": AT for side in ("from", "before") for n in range(4)}}
HOT = {
    "due timers": store._DUE_TIMERS,
    "open lots": store._OPEN_LOTS,
    "customers": store._CUSTOMERS,
    "window orders": store._WINDOW_ORDERS,
    "window orders leaving": store._WINDOW_BEFORE,
    "window start": store._WINDOW_FIRST_FROM,
    "orders": store._ORDERS,
    "referrals": store._REFERRALS,
    "code owner": store._CODE_OWNER,
    "segment crossings": store._last_paid_in(4),
    "pending events": pages.PENDING,
    "pending events after a page": pages.PENDING_AFTER,
    "meta": runner._META,
}

WINDOW = ("window orders leaving", "window start")


@pytest.mark.parametrize("name", HOT)
def test_hot_statements_use_an_index(tmp_path: Path, name: str) -> None:
    statement: Executable = HOT[name]
    with open_ledger(tmp_path / "ledger.db", SUITE_PROGRAM) as ledger, \
            ledger.engine.connect() as conn:
        compiled = statement.compile(dialect=conn.dialect)
        params: list[object] = []
        for name_ in compiled.positiontup or ():
            value = VALUES.get(name_, compiled.params[name_])  # literals keep their own
            params.extend(value if isinstance(value, list) else [value])
        expanded = str(compiled).replace("(__[POSTCOMPILE_ids])", "(?, ?)")
        plan = [row[-1] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + expanded, tuple(params))]
    scans = [step for step in plan if step.startswith("SCAN ")]
    assert not scans, f"{name}: {plan}"
    if name in WINDOW:  # only the orders still in a window, not the customer's history
        assert all("USING INDEX ix_orders_window" in step for step in plan), plan
