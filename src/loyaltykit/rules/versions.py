"""Program versions with effective dates.

A shop's announced rules must not change retroactively: each version applies to what
happens from its ``effective_from`` on, and points keep the version that earned them.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from datetime import datetime, timezone

from loyaltykit.errors import ConfigurationError
from loyaltykit.rules.program import Program


class ProgramSet:
    """The versions of one program, ordered by ``effective_from``."""

    def __init__(self, programs: Sequence[Program]) -> None:
        if not programs:
            raise ConfigurationError("no program given: load a program file first")
        ordered = sorted(programs, key=lambda p: p.version)
        ids = {p.id for p in ordered}
        if len(ids) > 1:
            raise ConfigurationError(
                f"programs with different ids in one ledger: {sorted(ids)}")
        for earlier, later in itertools.pairwise(ordered):
            if later.version == earlier.version:
                raise ConfigurationError(f"version {later.version} of {later.id} given twice")
            if later.effective_from <= earlier.effective_from:
                raise ConfigurationError(
                    f"{later.label} takes effect {later.effective_from.isoformat()}, not after "
                    f"{earlier.label} ({earlier.effective_from.isoformat()}): later versions "
                    "must take effect later")
        self._programs = ordered
        # in UTC like the events' instants: aware datetimes with one tzinfo object compare
        # without asking it for offsets, and a replay asks for the version a million times
        self._starts = [p.effective_from.astimezone(timezone.utc) for p in ordered]
        self._by_version = {p.version: p for p in ordered}

    @property
    def id(self) -> str:
        return self._programs[0].id

    @property
    def latest(self) -> Program:
        return self._programs[-1]

    @property
    def first(self) -> Program:
        return self._programs[0]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._programs)

    def __len__(self) -> int:
        return len(self._programs)

    def at(self, instant: datetime) -> Program | None:
        """The version in effect at ``instant``; None before the first version."""
        index = bisect.bisect_right(self._starts, instant) - 1
        return self._programs[index] if index >= 0 else None

    def current_or_first(self, instant: datetime) -> Program:
        return self.at(instant) or self._programs[0]

    def version(self, number: int) -> Program:
        return self._by_version[number]
