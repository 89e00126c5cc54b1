"""Problems outside the what-if package found while building it, kept as regression tests.

Each test states the behaviour a shop relies on and started as a strict ``xfail``; the mark
went when the owner of the code fixed it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from whatif_kit import at, paid

from loyaltykit.events import CustomerUpserted
from loyaltykit.ledger import open_ledger
from loyaltykit.rules.loader import load_program
from loyaltykit.whatif import history_from_events, simulate

HALF_A_FEN = """
id: shop
version: 1
effective_from: 2025-01-01T00:00:00+08:00
timezone: Asia/Shanghai
currency: CNY
redemption:
  point_value: "0.005"
"""


def test_the_ledger_report_values_points_worth_half_a_fen(tmp_path: Path) -> None:
    """200 points = 1 CNY is a common rate: the report used to crash on it (to_minor)."""
    program = load_program("half-a-fen.yaml", text=HALF_A_FEN)
    events = [CustomerUpserted("a", at(1, 2)), paid("o1", "a", at(1, 3), "100.00")]
    # 100 points at 0.005 are exactly 0.50 CNY, whatever rounding the fix chooses
    result = simulate(history_from_events(events), [program], [program])
    assert result.figures["liability_value"].baseline == Decimal("0.50")
    ledger = open_ledger(tmp_path / "l.db", program)
    ledger.ingest(events)
    ledger.run(at(2, 1))
    try:
        assert ledger.report(as_of=at(2, 1)).liability_value == Decimal("0.50")
    finally:
        ledger.close()
