"""Replay a baseline and a candidate program over one history and compare them.

Both programs replay the same parsed event list. On a machine with two or more cores the
candidate replays in a forked worker while the baseline replays here, so comparing costs
the wall time of one replay, not two; the fork shares the parsed events copy-on-write
instead of pickling them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from loyaltykit.clock import require_aware
from loyaltykit.errors import ConfigurationError, InputError, InputProblem
from loyaltykit.events import Event
from loyaltykit.rules.program import Program
from loyaltykit.rules.versions import ProgramSet
from loyaltykit.whatif.compare import Comparison, Side, compare
from loyaltykit.whatif.history import History
from loyaltykit.whatif.replay import MonthGrid, Outcome, replay

__all__ = ["PARALLEL_FROM_EVENTS", "simulate"]

PARALLEL_FROM_EVENTS = 50_000  # below this, forking costs more than it saves


@dataclass(frozen=True, slots=True)
class _Job:
    programs: ProgramSet
    events: Sequence[Event]
    as_of: datetime
    grid: MonthGrid


_FORKED_JOB: _Job | None = None  # read by the forked worker, never pickled


def _run_forked_job() -> Outcome:
    job = _FORKED_JOB
    assert job is not None, "the worker must be forked after the job is set"
    return replay(job.programs, job.events, job.as_of, job.grid)


def simulate(
    history: History, baseline: Sequence[Program], candidate: Sequence[Program], *,
    as_of: datetime | None = None, keep_dates: bool = False, jobs: int | None = None,
    baseline_files: Sequence[str] = (), candidate_files: Sequence[str] = (),
) -> Comparison:
    """Compare ``candidate`` with ``baseline`` over ``history`` up to ``as_of``.

    ``as_of`` defaults to the last event (or the ledger's clock if that is later), so the
    same history gives the same answer whenever it runs. Unless ``keep_dates``, each side's
    first version is treated as in effect from the first event: the question is what each
    program would have done over the whole history, not only after its announced date.
    ``jobs`` is 1 (sequential) or 2 (candidate in a forked worker); None chooses 2 for
    large histories on a machine with two cores where ``fork`` exists. A multi-threaded
    caller (a web server) should pass 1: forking a threaded process is unsafe.
    """
    if not baseline or not candidate:
        raise ConfigurationError("give at least one program version for each side")
    _same_currency(baseline, candidate)
    until = as_of or max(history.last_at, history.processed_until or history.last_at)
    require_aware(until, "simulate(as_of)")
    if until < history.first_at:
        raise InputError([InputProblem(
            history.source, None, None, f"as_of {until.isoformat()} is before the first event "
            f"({history.first_at.isoformat()})", "give a later --as-of")])
    notes: list[str] = []
    base_versions = list(baseline) if keep_dates else _cover(baseline, history, "baseline", notes)
    cand_versions = (list(candidate) if keep_dates
                     else _cover(candidate, history, "candidate", notes))
    base_set, cand_set = ProgramSet(base_versions), ProgramSet(cand_versions)
    tz = base_set.current_or_first(until).tz
    if cand_set.current_or_first(until).timezone != tz.key:
        notes.append(f"the programs state different timezones; months follow the baseline's "
                     f"({tz.key})")
    grid = MonthGrid(history.first_at, until, tz)
    base_outcome, cand_outcome = _run_both(
        _Job(base_set, history.events, until, grid), _Job(cand_set, history.events, until, grid),
        _jobs(jobs, len(history.events)))
    return compare(
        Side(tuple(base_set), tuple(baseline_files), base_outcome),
        Side(tuple(cand_set), tuple(candidate_files), cand_outcome),
        as_of=until, history=history.describe(), months=grid.labels, timezone=tz.key,
        notes=notes)


def _same_currency(baseline: Sequence[Program], candidate: Sequence[Program]) -> None:
    currencies = {p.currency for p in (*baseline, *candidate)}
    if len(currencies) > 1:
        raise ConfigurationError(
            f"the programs use different currencies ({', '.join(sorted(currencies))}); "
            "a comparison needs one currency: the shop's")


def _cover(programs: Sequence[Program], history: History, side: str,
           notes: list[str]) -> list[Program]:
    """Move the first version back to the first event, so no order goes unearned."""
    versions = sorted(programs, key=lambda p: p.version)
    first = versions[0]
    if first.effective_from > history.first_at:
        notes.append(f"{side} {first.label} takes effect {first.effective_from.isoformat()}; "
                     f"replayed as in effect from the first event "
                     f"({history.first_at.isoformat()})")
        versions[0] = first.model_copy(update={"effective_from": history.first_at})
    return versions


def _jobs(jobs: int | None, events: int) -> int:
    if jobs is not None:
        if jobs not in (1, 2):
            raise ConfigurationError(f"jobs must be 1 or 2, not {jobs}")
        return jobs if _can_fork() else 1
    return 2 if _can_fork() and (os.cpu_count() or 1) >= 2 and events >= PARALLEL_FROM_EVENTS \
        else 1


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _run_both(base: _Job, cand: _Job, jobs: int) -> tuple[Outcome, Outcome]:
    if jobs == 1:
        return (replay(base.programs, base.events, base.as_of, base.grid),
                replay(cand.programs, cand.events, cand.as_of, cand.grid))
    global _FORKED_JOB
    _FORKED_JOB = cand
    gc.freeze()  # keep the collector from touching (and so copying) the shared events
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            future = pool.submit(_run_forked_job)
            base_outcome = replay(base.programs, base.events, base.as_of, base.grid)
            return base_outcome, future.result()
    finally:
        _FORKED_JOB = None
        gc.unfreeze()
