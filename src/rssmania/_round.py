"""Running one round of poll jobs on an executor, and surviving it.

    jobs -> batches -> executor.submit(poll_batch, settings, batch) ...
         <- outcomes, one per job: feed by feed through a socket per batch
            (``rssmania._poll.channel``), the rest when the batch returns

A worker that dies (os._exit, a segfault, the OOM killer) fails every batch
in flight, not only its own. What those batches had sent is kept; the
feeds they had not finished are split in two and retried;
a single job that fails again is run alone, and only a job that breaks the
pool while it runs alone is blamed: it becomes a ``worker_died`` outcome and
the rest of the round goes on.

On a Dask cluster (``rssmania._dask``) a dead worker costs only its own
batch, which Dask runs again elsewhere; a batch whose workers keep dying
comes back as a ``BrokenProcessPool`` and is bisected the same way. A lost
scheduler ends the round with ``ClusterError``: what finished is stored, the
rest stays due.

Politeness: all the feeds of one host go in one batch, or in batches that
never run at the same time, so that the per-host limits a worker applies
within its batch hold for the whole round.

Stopping: once ``stop.requested`` is set no batch is submitted; batches in
flight get ``grace`` seconds to finish. Then a shared event tells them to
return what they finished (those outcomes are stored), and a second later
the workers are killed. Jobs that never finished are stored as nothing:
their feeds stay due for the next round.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace

from rssmania._executors import PoolType, SerialExecutor, WorkerPool
from rssmania._pace import MAX_DELAY, Pace
from rssmania._poll.channel import Inbox, Item, Started
from rssmania._poll.jobs import PollJob, PollOutcome, PollSettings
from rssmania._poll.worker import use_stop_event
from rssmania._urls import host_of
from rssmania.exceptions import ClusterError, WorkerStartupError
from rssmania.types import KindName

log = logging.getLogger("rssmania.round")

PollBatch = Callable[[PollSettings, Sequence[PollJob]], list[PollOutcome]]

MAX_BATCH = 256
"""Feeds of one host in one batch; a host with more is split."""
BATCHES_PER_WORKER = 8
FRESH_COST = 8
"""A feed to parse costs about eight that answer 304 (2.5-3 ms of a worker's CPU against
0.3-0.45 ms, on 2,000 generated feeds, 2026-12)."""
COST_SECONDS = 0.0004
"""CPU seconds of one unit of cost (a 304), to weigh work against waiting."""
MAX_COST = MAX_BATCH * FRESH_COST
MIN_COST = 128 * FRESH_COST
MAX_WAITING_COST = 2 * MAX_COST
"""How big a batch may grow to keep a worker busy while a host waits out its spacing."""
GATHER = 0.05
GATHER_FEEDS = 32
"""Streamed outcomes are handed on together when they come within GATHER seconds, up to
GATHER_FEEDS (the coordinator's group of feeds per transaction)."""


def job_cost(job: PollJob) -> int:
    """1 for a feed whose validators will likely earn a 304, FRESH_COST for one to parse."""
    return 1 if job.etag or job.last_modified or job.body_hash else FRESH_COST


@dataclass
class StopFlag:
    """Set from a signal handler or another thread; read by the round loop.

    After a request, work in flight has ``grace`` seconds to finish; then
    batches return what they finished, and a second later the workers are
    killed. A second request skips all that.
    """

    grace: float = 3.0
    requested: bool = False
    forced: bool = False
    deadline: float = field(default=0.0)

    def is_set(self) -> bool:
        """Read by a batch polled in this process (workers=1): true once the grace is over."""
        return self.forced or (self.requested and time.monotonic() >= self.deadline)

    def request(self) -> None:
        if self.requested:
            self.forced = True
        else:
            self.requested = True
            self.deadline = time.monotonic() + self.grace


@dataclass(frozen=True)
class BatchInFlight:
    """A batch in flight, as progress displays read it from other threads: its URLs
    never change, ``done`` and ``started`` only grow."""

    urls: tuple[str, ...]
    since: float
    """time.monotonic() when it was submitted."""
    done: set[str]
    """The feeds whose outcome came."""
    started: dict[str, float] | None
    """When each feed's request went out (time.time()), as its worker says; None where
    workers do not say (Dask, a batch run in this process)."""

    def polling(self, now: float, wall: float) -> list[tuple[str, float]]:
        """Its feeds being asked now, and for how long (``now``: time.monotonic(),
        ``wall``: time.time()). A feed that waits its turn behind its host's cap is not
        asked yet, and not slow."""
        if self.started is None:
            return [(url, now - self.since) for url in self.urls if url not in self.done]
        started = self.started
        return [
            (url, wall - at)
            for url in self.urls
            if url not in self.done and (at := started.get(url)) is not None
        ]


InFlight = dict[int, BatchInFlight]
"""Batches in flight, by id."""


def make_batches(
    jobs: Sequence[PollJob], workers: int, *, spacing: float = 0.0
) -> list[list[PollJob]]:
    """About eight batches per worker (one or two in a small round), each holding whole hosts.

    A batch's outcomes reach the coordinator when it ends: many batches let
    the coordinator store while workers poll, instead of idling until a half
    of the round ends and then storing it while the cores idle. Each still
    holds enough hosts for a worker to interleave them while each waits out
    its own spacing, and amortises the process hop. Whole hosts keep the
    per-host limits exact. A host with more than MAX_BATCH feeds is split,
    and its batches never run side by side (see ``_submit``).

    Batches are sized by cost (``job_cost``), not by count: a batch of feeds
    that will mostly answer 304 costs little CPU, and a small one would end
    up waiting out its hosts' spacing with nothing else to do (at 4 feeds a
    host, 0.3 s a batch whatever its size): a warm round gets few big ones.
    For the same reason, a host whose requests must be ``spacing`` apart
    makes a batch last at least that long times its feeds: batches then
    carry enough other hosts' work to fill that time.
    """
    if not jobs:
        return []
    by_host: dict[str, list[PollJob]] = {}
    for job in jobs:
        by_host.setdefault(host_of(job.url), []).append(job)
    chunks = [
        (sum(job_cost(job) for job in chunk), chunk)
        for host_jobs in by_host.values()
        for chunk in (host_jobs[i : i + MAX_BATCH] for i in range(0, len(host_jobs), MAX_BATCH))
    ]
    total = sum(cost for cost, _ in chunks)
    # Small rounds: two batches per worker, as many feeds as possible in flight at once.
    floor = min(MIN_COST, math.ceil(total / (workers * 2)))
    size = max(floor, min(MAX_COST, math.ceil(total / (workers * BATCHES_PER_WORKER))))
    longest = max(len(chunk) for _, chunk in chunks)
    # Work enough to fill its busiest host's spacing twice over: the cost
    # is a rough guess and a worker shares its core with the coordinator. A
    # batch with just enough ended waiting on that host, then the worker's
    # next batch waited again (a warm round of 2,000 feeds, 4 a host, in 4
    # batches of 500: 1.54 s; in 2 of 1,000: 1.23 s).
    waiting = math.ceil(2 * (longest - 1) * spacing / COST_SECONDS)
    # Never fewer batches than workers. Not two per worker either: a worker
    # runs its batches one after the other, so a round of spaced hosts took
    # twice their spacing (250 feeds answering 304, 4 a host: 1.8 -> 1.4 s).
    size = max(size, min(waiting, MAX_WAITING_COST, math.ceil(total / workers)))
    # As many batches as that makes, rounded up to a multiple of the workers
    # and evenly filled: a batch left over ran alone at the end with a
    # worker idle (250 feeds, 4 a host, came as 124 + 122 + 4, the last one
    # host waiting out its spacing; 2,000 feeds 8 a host as 4 x 432 + 272).
    # The slack of one host's chunk keeps first fit from making one more.
    count = math.ceil(math.ceil(total / size) / workers) * workers
    biggest = max(cost for cost, _ in chunks)
    size = min(max(size, MAX_COST), math.ceil(total / count) + biggest - 1)
    # First fit, costliest first: few batches, evenly filled.
    batches: list[tuple[int, list[PollJob]]] = []
    for cost, chunk in sorted(chunks, key=lambda c: c[0], reverse=True):
        home = next((i for i, (used, _) in enumerate(batches) if used + cost <= size), None)
        if home is None:
            batches.append((cost, list(chunk)))
        else:
            used, batch = batches[home]
            batch.extend(chunk)
            batches[home] = (used + cost, batch)
    return [batch for _, batch in batches]


class _HostsOf:
    """The hosts of each batch, computed once: the submit loop asks on every turn."""

    def __init__(self) -> None:
        # Keeps each batch alive beside its hosts, so that an id is never reused.
        self._known: dict[int, tuple[Sequence[PollJob], frozenset[str], int]] = {}

    def _found(self, batch: Sequence[PollJob]) -> tuple[Sequence[PollJob], frozenset[str], int]:
        found = self._known.get(id(batch))
        if found is None:
            counts = Counter(host_of(job.url) for job in batch)
            found = (batch, frozenset(counts), max(counts.values(), default=0))
            self._known[id(batch)] = found
        return found

    def __call__(self, batch: Sequence[PollJob]) -> frozenset[str]:
        return self._found(batch)[1]

    def largest(self, batch: Sequence[PollJob]) -> int:
        """How many feeds of the batch its busiest host has."""
        return self._found(batch)[2]


@dataclass
class _Pending:
    """A batch in flight: its jobs, whether it runs alone, its number on the channel,
    the URLs whose outcomes came already, and when each one's request went out."""

    batch: list[PollJob]
    alone: bool
    number: int
    received: set[str] = field(default_factory=set)
    started: dict[str, float] = field(default_factory=dict)

    def unfinished(self) -> list[PollJob]:
        return [job for job in self.batch if job.url not in self.received]


Paces = dict[str, Pace]
"""Each host's pace, as the round learns it (``rssmania._pace``): read at each submit,
written by the caller from the outcomes' ``pace``."""


def run_jobs(
    executor: PoolType | SerialExecutor,
    poll: PollBatch,
    settings: PollSettings,
    jobs: Sequence[PollJob],
    *,
    workers: int,
    stop: StopFlag,
    in_flight: InFlight | None = None,
    deadline: float | None = None,
    paces: Paces | None = None,
) -> Generator[list[PollOutcome], None, None]:
    """Outcomes of ``jobs``, as they finish: feed by feed from a local pool (a batch's
    at once elsewhere), a few together when several are ready.

    ``deadline`` overrides the hang timeout.
    """
    in_flight = {} if in_flight is None else in_flight
    paces = {} if paces is None else paces
    # Batches learn of a stop through an event: a process-shared one for the
    # pool (set only from this loop, never from a signal handler, since its
    # lock is not reentrant), the flag itself for batches run in this process.
    told_workers = False
    pool = None if isinstance(executor, SerialExecutor) else executor
    if pool is not None:
        pool.stop_event.clear()
    else:
        use_stop_event(stop)
    # Feed by feed from local workers only: a Dask worker cannot reach this
    # machine's socket, and a serial batch runs inside submit().
    inbox = Inbox() if isinstance(pool, WorkerPool) else None
    queue = deque(make_batches(jobs, workers, spacing=settings.host_spacing))
    hosts_of = _HostsOf()
    suspects: deque[PollJob] = deque()  # jobs to run alone, one at a time
    pending: dict[Future[list[PollOutcome]], _Pending] = {}
    numbers = itertools.count()
    broken = False
    # A serial executor runs a batch inside submit(): one at a time, so that a stop is seen.
    max_in_flight = workers * 2 if pool is not None else 1

    def start(batch: list[PollJob], alone: bool) -> None:
        number = next(numbers)
        hosts = hosts_of(batch)
        batch_settings = replace(
            settings,
            paces=tuple((host, paces[host]) for host in hosts if host in paces),
            results_to=(inbox.address, number) if inbox is not None else None,
        )
        future = executor.submit(poll, batch_settings, batch)
        p = pending[future] = _Pending(batch, alone, number)
        in_flight[id(future)] = BatchInFlight(
            tuple(job.url for job in batch),
            time.monotonic(),
            p.received,
            p.started if inbox is not None else None,
        )
        if inbox is not None:
            future.add_done_callback(lambda _: inbox.wake())

    def arrived(items: list[tuple[int, Item]]) -> list[PollOutcome]:
        """Streamed outcomes of batches still pending (a late one of a batch given up is
        not); start notices are noted for the progress displays."""
        by_number = {p.number: p for p in pending.values()}
        out = []
        for number, outcome in items:
            p = by_number.get(number)
            if p is None:
                continue
            if isinstance(outcome, Started):
                p.started.update(outcome.feeds)
                continue
            if outcome.url in p.received:
                continue
            p.received.add(outcome.url)
            out.append(outcome)
        return out

    def rest(future: Future[list[PollOutcome]], p: _Pending) -> list[PollOutcome]:
        """What a batch that ended sent and nobody read yet."""
        if inbox is None:
            return []
        return arrived([(p.number, o) for o in inbox.finish(p.number)])

    try:
        while queue or suspects or pending:
            if stop.is_set() and not told_workers and pool is not None:
                pool.stop_event.set()  # batches in flight return what they finished
                told_workers = True
            if stop.forced or (stop.requested and time.monotonic() > stop.deadline + 1.0):
                break
            if not broken and not stop.requested:
                try:
                    _submit(start, queue, suspects, pending, max_in_flight, hosts_of)
                except BrokenProcessPool:
                    # A worker died before its futures told us: the job stays queued.
                    broken = True
            if not pending:
                if stop.requested:
                    break
                if broken:
                    assert pool is not None
                    if pool.startup_failed():
                        raise WorkerStartupError()
                    pool.rebuild()
                    broken = False
                continue
            stuck = _stuck(pending, in_flight, settings, deadline, hosts_of, paces)
            if stuck is not None and pool is not None:
                # A worker that stopped answering (a parser looping in C, a
                # deadlock): kill the pool. The stuck batch is bisected like a
                # crash; the others were only interrupted and go back as they were
                # (but for the feeds that were done: those are kept).
                pool.kill()
                stuck_p = pending.pop(stuck)
                done_meanwhile: list[PollOutcome] = []
                for future, p in [(stuck, stuck_p), *pending.items()]:
                    pending[future] = p
                    done_meanwhile += rest(future, p)
                    del pending[future]
                    if p is stuck_p:
                        continue
                    left = p.unfinished()
                    if p.alone and left:
                        suspects.appendleft(left[0])
                    elif left:
                        queue.appendleft(left)
                in_flight.clear()
                if done_meanwhile:
                    yield done_meanwhile
                blamed = _after_death(
                    stuck_p.unfinished(), stuck_p.alone, queue, suspects, "worker_hung", _HUNG
                )
                if blamed is not None:
                    yield [blamed]
                continue
            if inbox is not None:
                streamed = arrived(inbox.receive(0.1))
                # A few together, if they come within GATHER: the caller stores
                # what it is given in one transaction, and a warm round's 1,800
                # 304s one by one cost a commit each.
                until = time.monotonic() + GATHER
                while streamed and len(streamed) < GATHER_FEEDS:
                    more = arrived(inbox.receive(max(0.0, until - time.monotonic())))
                    if not more:
                        break
                    streamed += more
                if streamed:
                    yield streamed
                done = [future for future in pending if future.done()]
            else:
                done = list(wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)[0])
            for future in done:
                p = pending[future]
                late = rest(future, p)
                del pending[future]
                in_flight.pop(id(future), None)
                if late:
                    yield late
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
                    blamed = _after_death(
                        p.unfinished(), p.alone, queue, suspects, "worker_died", _DIED
                    )
                    if blamed is not None:
                        yield [blamed]
                    continue
                except ClusterError:
                    raise  # the cluster is gone, not a feed's fault: the round ends here
                except Exception as exc:
                    # poll_batch does not raise, so this is a bug or an
                    # unpicklable value: find the feed that triggers it, the
                    # way a crash is found, and let the rest of the batch through.
                    log.warning("a poll batch failed: %r", exc)
                    blamed = _after_death(
                        p.unfinished(),
                        p.alone,
                        queue,
                        suspects,
                        "internal",
                        f"internal error: {exc!r}",
                    )
                    if blamed is not None:
                        yield [blamed]
                    continue
                # Those it did not stream (all of them, from elsewhere than a local pool).
                returned = [o for o in outcomes if o.url not in p.received]
                if returned:
                    yield returned
    finally:
        in_flight.clear()
        if pending and pool is not None:
            # Leaving with work in flight: a stop, the cluster lost, or the consumer went away.
            pool.kill()
        elif broken and pool is not None:
            pool.rebuild()
        if inbox is not None:
            inbox.close()


def _submit(
    start: Callable[[list[PollJob], bool], None],
    queue: deque[list[PollJob]],
    suspects: deque[PollJob],
    pending: dict[Future[list[PollOutcome]], _Pending],
    max_in_flight: int,
    hosts_of: _HostsOf,
) -> None:
    """Start what may start now; a job is dequeued only once it is submitted."""
    if any(p.alone for p in pending.values()):
        return  # a suspect runs alone, so that a death is its own
    if suspects:
        if not pending:
            start([suspects[0]], True)
            suspects.popleft()
        return
    busy = set().union(*(hosts_of(p.batch) for p in pending.values()))
    for batch in list(queue):
        if len(pending) >= max_in_flight:
            break
        hosts = hosts_of(batch)
        if hosts & busy:
            continue  # that host is being polled: its next batch waits its turn
        start(batch, False)
        queue.remove(batch)
        busy |= hosts


_DIED = "the worker process died while polling this feed (crash or out of memory)"
_HUNG = "the worker process stopped answering while polling this feed; it was killed"


def _after_death(
    batch: list[PollJob],
    alone: bool,
    queue: deque[list[PollJob]],
    suspects: deque[PollJob],
    kind: KindName,
    message: str,
) -> PollOutcome | None:
    """Bisect a batch whose worker died, hung or raised; blame a job only when it ran alone.

    ``batch`` holds the jobs that had not finished: those that had are stored already.
    """
    if not batch:
        return None
    log.warning(
        "%s with %d feed(s) in flight: %s",
        kind.replace("_", " "),
        len(batch),
        ", ".join(job.url for job in batch[:5]) + (" ..." if len(batch) > 5 else ""),
    )
    if alone:
        log.error("polling %s: %s", batch[0].url, message)
        return PollOutcome.failed(batch[0].url, kind, message)
    if len(batch) == 1:
        suspects.append(batch[0])
    else:
        half = len(batch) // 2
        queue.extendleft([batch[half:], batch[:half]])
    return None


def _stuck(
    pending: dict[Future[list[PollOutcome]], _Pending],
    in_flight: InFlight,
    settings: PollSettings,
    deadline: float | None,
    hosts_of: _HostsOf,
    paces: Paces,
) -> Future[list[PollOutcome]] | None:
    """A batch in flight for longer than any honest poll of it could take, if any."""
    now = time.monotonic()
    for future, p in pending.items():
        flying = in_flight.get(id(future))
        if flying is None or future.done():
            continue
        budget = deadline or _budget(
            p.batch, settings, largest_host=hosts_of.largest(p.batch), queued=not p.alone
        )
        if now - flying.since > budget:
            return future
    return None


def _budget(
    batch: list[PollJob], settings: PollSettings, *, largest_host: int, queued: bool
) -> float:
    # Every fetch is bounded by total_timeout and every parse by its CPU
    # limit, so a batch that takes far longer is stuck where no limit reaches.
    # A host's feeds go host_concurrency at a time: 14 feeds of a server that
    # honestly takes the whole timeout each need 7 timeouts in a row (with
    # two, such a batch was killed as hung and all its feeds polled again).
    # A host's pace may reach MAX_DELAY between two starts.
    in_a_row = math.ceil(largest_host / max(1, settings.host_concurrency))
    one = (
        (in_a_row + 1) * settings.total_timeout
        + (settings.parse_cpu_limit or 60.0)
        + len(batch) * (settings.host_spacing + 0.5)
        + largest_host * MAX_DELAY
    )
    return 2 * one if queued else one  # a submitted batch may wait for another to finish
