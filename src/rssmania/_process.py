"""Settings of a process that rssmania owns: the command line's, and each worker's."""

from __future__ import annotations

import contextlib
import gc
import os

# CPython collects its youngest generation every 700 container allocations. A
# round allocates millions (each parsed entry is a few objects, made in a
# worker, unpickled in the coordinator, then stored and printed), so the
# collector ran thousands of times to find no garbage: in a cold round of
# 2,000 feeds, about 1 s of the coordinator's 9 s of CPU (0.3 of the 0.7 s it
# took to unpickle the round's 60,688 entries), and a parse of those feeds
# took 4.2 s instead of 5.9. Young collections that are 70 times rarer still
# reclaim the few real cycles (tracebacks, asyncio) soon enough.
YOUNG_GENERATION = 50_000


def collect_garbage_less_often() -> None:
    """For processes we own only: a library must not change its caller's collector."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, older, oldest)


WORKER_NICENESS = 10
"""Workers run at a lower priority than the process that stores and shows results."""


def yield_to_the_coordinator() -> None:
    """Lower this worker's CPU priority (niceness +10).

    On a machine with as many workers as cores, the coordinator shared its
    core with the workers, stored a third slower than they polled, and the
    round ended with it catching up alone. With priority, it stores results
    as they come and stays responsive (a console, a web page) while workers
    parse: a cold round of 2,000 feeds on 2 cores went from 12.7 to 11.6 s.
    """
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
