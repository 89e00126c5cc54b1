"""A ledger in memory, for tests and what-if runs that must leave nothing behind."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from loyaltykit.ledger.ledger import Ledger
from loyaltykit.rules.program import Program


def memory_ledger(program: Program | Sequence[Program]) -> Ledger:
    """A :class:`~loyaltykit.ledger.Ledger` on an in-memory SQLite database.

    ``sqlite://`` gives every new connection its own empty database; a single shared
    connection (``StaticPool``) keeps one database for the ledger's whole life, from any
    thread. It disappears when the ledger is closed or garbage collected.
    """
    programs = [program] if isinstance(program, Program) else list(program)
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    return Ledger(engine, programs)
