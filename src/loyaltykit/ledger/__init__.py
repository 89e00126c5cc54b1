"""The points ledger: append-only entries, FIFO expiry lots, sync cursors and the outbox."""

from loyaltykit.ledger.ledger import Ledger, RunResult, open_ledger

__all__ = ["Ledger", "RunResult", "open_ledger"]
