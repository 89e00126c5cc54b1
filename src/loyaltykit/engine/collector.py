"""The cyclic garbage collector, held back while the engine replays history.

An engine run allocates millions of short-lived objects that die without cycles (a
100k-order replay leaves 35 objects for the collector), while the state it keeps grows to
millions of orders and lots; at the default thresholds the collector walked that state
again and again (the 100k replay: 27.6 s, 23.2 s without collections). Raised thresholds
still cost a 1M replay 7 s in hundreds of collections that found nothing, so a run that
goes on for more than a page pauses the collector until it ends. A short run only raises
the thresholds: a server whose threads run the clock back to back would otherwise never
collect at all.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_RUNS = 0  # blocks going in the process (runs in several threads)
_PAUSES = 0  # of which those that paused the collector
_THRESHOLDS = gc.get_threshold()
_WAS_ENABLED = True


@contextmanager
def held_back_collector() -> Iterator[Callable[[], None]]:
    """Collect less often inside the block; calling the function it gives pauses the
    collector for the rest of the block. The caller's settings come back when the last
    block in the process ends, even on an error."""
    global _RUNS, _PAUSES, _THRESHOLDS, _WAS_ENABLED
    paused = False

    def pause() -> None:
        global _PAUSES
        nonlocal paused
        with _LOCK:
            if not paused:
                paused = True
                _PAUSES += 1
                gc.disable()

    with _LOCK:
        if _RUNS == 0:
            _THRESHOLDS, _WAS_ENABLED = gc.get_threshold(), gc.isenabled()
            gc.set_threshold(50_000, 20, 100)
        _RUNS += 1
    try:
        yield pause
    finally:
        with _LOCK:
            _RUNS -= 1
            _PAUSES -= paused
            if _PAUSES == 0 and _WAS_ENABLED:
                gc.enable()
            if _RUNS == 0:
                gc.set_threshold(*_THRESHOLDS)


@contextmanager
def paused_collector() -> Iterator[None]:
    """No automatic collections inside the block (a long computation), as above."""
    with held_back_collector() as pause:
        pause()
        yield
