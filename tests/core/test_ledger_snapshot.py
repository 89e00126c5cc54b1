"""Read models see one snapshot: a processing run committing in another process while a
report, an export or a customer view is being read changes none of its figures.

Each test commits real work through a second ledger (its own engine, same database) from
inside the reader, right after its first SELECT (of the customers table), so the reader's later
SELECTs run after that commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from loyaltykit.ledger import Ledger, open_ledger
from loyaltykit.ledger.schema import customers

from .builders import at, customer, paid, program

AS_OF = at(2025, 1, 10)
BEFORE = [customer("c1", at(2025, 1, 1)), paid("o1", "c1", at(2025, 1, 2), "100.00"),
          customer("c2", at(2025, 1, 1)), paid("o2", "c2", at(2025, 1, 3), "40.00")]
# late arrivals, all at or before AS_OF, so every read model counts them once committed
LATE = [customer("c3", at(2025, 1, 4)), paid("o3", "c3", at(2025, 1, 5), "70.00"),
        paid("o4", "c1", at(2025, 1, 6), "25.00")]


def second_ledger(ledger: Ledger) -> Ledger:
    """Another ledger on the same database (SQLite file or PostgreSQL schema)."""
    return open_ledger(ledger.engine.url.render_as_string(hide_password=False))


# the first read of each read model (the ledger's own reads before it, such as the clock
# behind export_customers' check, belong to no read model)
FIRST_READ = re.compile(rf"^\s*SELECT\b.*\bFROM {customers.name}\b", re.IGNORECASE | re.DOTALL)


@contextmanager
def commit_after_first_read(ledger: Ledger, other: Ledger) -> Iterator[list[str]]:
    """While active, the first SELECT from the customers table on ``ledger``'s engine is followed,
    before the reader gets its rows, by ``other`` ingesting and processing LATE (committed)."""
    fired: list[str] = []

    def write(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if fired or not FIRST_READ.match(statement):
            return
        fired.append(statement)
        other.ingest(LATE)
        other.run(AS_OF)

    event.listen(ledger.engine, "after_cursor_execute", write)
    try:
        yield fired
    finally:
        event.remove(ledger.engine, "after_cursor_execute", write)


def setup(ledger_factory: Callable[..., Ledger]) -> tuple[Ledger, Ledger]:
    ledger = ledger_factory(program())
    ledger.ingest(BEFORE)
    ledger.run(AS_OF)
    return ledger, second_ledger(ledger)


def test_a_report_is_read_from_one_snapshot(ledger_factory):
    ledger, other = setup(ledger_factory)
    try:
        before = ledger.report(as_of=AS_OF).as_json()
        assert (before["customers"], before["liability_points"]) == (2, 140)
        with commit_after_first_read(ledger, other) as fired:
            during = ledger.report(as_of=AS_OF).as_json()
        assert fired, "the concurrent run never happened"
        after = ledger.report(as_of=AS_OF).as_json()
        assert (after["customers"], after["liability_points"]) == (3, 235)
        # all of it as before the concurrent commit, none of it half-way
        assert during == before
        assert during["liability_points"] == sum(during["points"].values())
    finally:
        other.close()


def test_an_export_is_read_from_one_snapshot(ledger_factory):
    ledger, other = setup(ledger_factory)
    try:
        before = ledger.export_customers(as_of=AS_OF)
        assert [(r.customer_id, r.points_balance) for r in before] == [("c1", 100), ("c2", 40)]
        with commit_after_first_read(ledger, other) as fired:
            during = ledger.export_customers(as_of=AS_OF)
        assert fired, "the concurrent run never happened"
        after = ledger.export_customers(as_of=AS_OF)
        assert [(r.customer_id, r.points_balance) for r in after] == [
            ("c1", 125), ("c2", 40), ("c3", 70)]
        assert during == before
    finally:
        other.close()


def test_a_customer_view_is_read_from_one_snapshot(ledger_factory):
    ledger, other = setup(ledger_factory)
    try:
        before = ledger.customer("c1", as_of=AS_OF)
        assert before.balance == 100
        with commit_after_first_read(ledger, other) as fired:
            during = ledger.customer("c1", as_of=AS_OF)
        assert fired, "the concurrent run never happened"
        assert ledger.customer("c1", as_of=AS_OF).balance == 125
        assert during == before
        assert during.balance == sum(e.points for e in during.history)
    finally:
        other.close()
