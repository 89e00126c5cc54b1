"""What-if: replay two versions of a program over the shop's real history and compare them.

::

    history = history_from_ledger("shop.db")            # or history_from_files / _events
    result = simulate(history, [current], [proposed])   # both replay the same parsed events
    result.as_json(); render_html(result.as_json())

Nothing here writes to a ledger: replays run in memory.
"""

from loyaltykit.whatif.compare import Comparison, Figure, figure_names
from loyaltykit.whatif.conditions import (
    Condition,
    ConditionError,
    metric_names,
    metric_values,
    parse_condition,
)
from loyaltykit.whatif.history import (
    History,
    history_from_events,
    history_from_files,
    history_from_ledger,
)
from loyaltykit.whatif.htmlreport import render_html
from loyaltykit.whatif.simulate import simulate

__all__ = [
    "Comparison", "Condition", "ConditionError", "Figure", "History", "figure_names",
    "history_from_events", "history_from_files", "history_from_ledger", "metric_names",
    "metric_values", "parse_condition", "render_html", "simulate",
]
