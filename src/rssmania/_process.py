"""Settings of a process that rssmania owns: the command line's, and each worker's."""

from __future__ import annotations

import gc

# CPython collects its youngest generation every 700 container allocations. A
# round allocates millions (each parsed entry is a few objects, made in a
# worker, unpickled in the coordinator, then stored and printed), so the
# collector ran thousands of times to find no garbage: at 2,000 feeds, about
# 1 s of the coordinator's 9 s of CPU, and 0.3 s of each 0.6 s spent
# unpickling a batch. Rarer young collections keep the cost of the few real
# cycles (tracebacks, asyncio) the same.
YOUNG_GENERATION = 50_000


def collect_garbage_less_often() -> None:
    """For processes we own only: a library must not change its caller's collector."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, older, oldest)
