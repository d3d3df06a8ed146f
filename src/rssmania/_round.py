"""Running one round of poll jobs on an executor, and surviving it.

    jobs -> batches -> executor.submit(poll_batch, settings, batch) ...
         <- outcomes, one per job, as batches complete

A worker that dies (os._exit, a segfault, the OOM killer) fails every batch
in flight, not only its own. So a failed batch is split in two and retried;
a single job that fails again is run alone, and only a job that breaks the
pool while it runs alone is blamed: it becomes a ``worker_died`` outcome and
the rest of the round goes on.

Stopping: once ``stop.requested`` is set no batch is submitted; batches in
flight get ``grace`` seconds to finish (their outcomes are still yielded, so
they get stored), then the workers are killed. Jobs that never finished
yield nothing: their feeds stay due for the next round.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from rssmania._executors import SerialExecutor, WorkerPool
from rssmania._poll import PollJob, PollOutcome, PollSettings

log = logging.getLogger("rssmania.round")

PollBatch = Callable[[PollSettings, Sequence[PollJob]], list[PollOutcome]]

MAX_BATCH = 16


@dataclass
class StopFlag:
    """Set from a signal handler or another thread; read by the round loop."""

    requested: bool = False
    forced: bool = False
    requested_at: float = field(default=0.0)

    def request(self) -> None:
        if self.requested:
            self.forced = True
        else:
            self.requested = True
            self.requested_at = time.monotonic()


def make_batches(jobs: Sequence[PollJob], workers: int) -> list[list[PollJob]]:
    """Batches big enough to amortise a process hop, small enough to keep every worker busy."""
    if not jobs:
        return []
    size = max(1, min(MAX_BATCH, math.ceil(len(jobs) / (workers * 4))))
    return [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]


def run_jobs(
    executor: WorkerPool | SerialExecutor,
    poll: PollBatch,
    settings: PollSettings,
    jobs: Sequence[PollJob],
    *,
    workers: int,
    stop: StopFlag,
    grace: float,
) -> Generator[PollOutcome, None, None]:
    queue: deque[list[PollJob]] = deque(make_batches(jobs, workers))
    suspects: deque[PollJob] = deque()  # jobs to run alone, one at a time
    pending: dict[Future[list[PollOutcome]], tuple[list[PollJob], bool]] = {}
    broken = False
    # A serial executor runs a batch inside submit(): one at a time, so that a stop is seen.
    max_in_flight = workers * 2 if isinstance(executor, WorkerPool) else 1
    try:
        while queue or suspects or pending:
            if stop.forced or (stop.requested and time.monotonic() - stop.requested_at > grace):
                break
            if not broken and not stop.requested:
                try:
                    _submit(executor, poll, settings, queue, suspects, pending, max_in_flight)
                except BrokenProcessPool:
                    # A worker died before its futures told us: the job stays queued.
                    broken = True
            if not pending:
                if stop.requested:
                    break
                if broken:
                    assert isinstance(executor, WorkerPool)
                    executor.rebuild()
                    broken = False
                continue
            done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in done:
                batch, alone = pending.pop(future)
                if future.cancelled():
                    continue  # never ran: its feeds stay due
                try:
                    outcomes = future.result()
                except BrokenProcessPool:
                    broken = True
                    if stop.requested:
                        # Workers killed by the stop itself (a SIGTERM sent to
                        # the whole process group): nobody's fault, try later.
                        continue
                    log.warning(
                        "a worker process died with %d feed(s) in flight: %s",
                        len(batch),
                        ", ".join(job.url for job in batch),
                    )
                    if alone:
                        yield _worker_died(batch[0])
                    elif len(batch) == 1:
                        suspects.append(batch[0])
                    else:
                        half = len(batch) // 2
                        queue.extendleft([batch[half:], batch[:half]])
                    continue
                except Exception as exc:
                    # Not a feed's fault (poll_batch does not raise): a bug or
                    # an unpicklable value. Report it on each feed, go on.
                    log.exception("a poll batch failed")
                    outcomes = [
                        PollOutcome.failed(j.url, "internal", f"internal error: {exc!r}")
                        for j in batch
                    ]
                yield from outcomes
    finally:
        if pending and isinstance(executor, WorkerPool):
            # Leaving with work in flight: a stop, or the consumer went away.
            executor.kill()
        elif broken and isinstance(executor, WorkerPool):
            executor.rebuild()


def _submit(
    executor: WorkerPool | SerialExecutor,
    poll: PollBatch,
    settings: PollSettings,
    queue: deque[list[PollJob]],
    suspects: deque[PollJob],
    pending: dict[Future[list[PollOutcome]], tuple[list[PollJob], bool]],
    max_in_flight: int,
) -> None:
    """Start what may start now; a job is dequeued only once it is submitted."""
    if any(alone for _, alone in pending.values()):
        return  # a suspect runs alone, so that a death is its own
    if suspects:
        if not pending:
            pending[executor.submit(poll, settings, [suspects[0]])] = ([suspects[0]], True)
            suspects.popleft()
        return
    while queue and len(pending) < max_in_flight:
        pending[executor.submit(poll, settings, queue[0])] = (queue[0], False)
        queue.popleft()


def _worker_died(job: PollJob) -> PollOutcome:
    log.error("polling %s killed its worker process", job.url)
    return PollOutcome.failed(
        job.url,
        "worker_died",
        "the worker process died while polling this feed (crash or out of memory)",
    )
