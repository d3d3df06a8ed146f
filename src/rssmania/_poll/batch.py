"""``poll_batch``: what every worker runs for a batch of feeds.

Politeness lives here, per host: at most ``host_concurrency`` requests in
flight, starts spaced by the host's pace (``rssmania._pace``: it follows the
host's latency and complaints, never under ``host_spacing``), and once
``throttled_host_after`` feeds of a host answered 429/503 the rest of that
host is not asked at all. A bare 429 (no Retry-After) slows the host down,
and its feed is asked again once, at the slower pace. The coordinator sends
all the feeds of a host in one batch (or in batches that never run at the
same time, each starting at the pace the last one reached), so these limits
hold for the whole round. A redirect hop is held to the limits of the host
it goes to (``Hops``); those hold within the batch, not between batches
that redirect to one host.

Each outcome goes to ``on_outcome`` as soon as it is ready (the worker sends
it on to the coordinator: ``rssmania._poll.channel``); the list returned
holds those it did not take.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace

import aiohttp

from rssmania import _pace
from rssmania._pace import Pace
from rssmania._poll import worker
from rssmania._poll.fetch import Fetched, fetch, make_session
from rssmania._poll.jobs import ParsedFeed, PollJob, PollOutcome, PollSettings
from rssmania._poll.limits import ParseTooSlow, cpu_limit, is_rust_panic, memory_limited
from rssmania._schedule import MAX_RETRY_AFTER
from rssmania._text import one_line
from rssmania._urls import host_of
from rssmania.types import FeedError

log = logging.getLogger("rssmania.poll")

# Requests one batch has in flight at once, and so connections it holds open:
# enough to overlap the slow servers of a batch without opening a socket per
# feed. Requests beyond it wait here, in their host's turn, so that a start
# is spaced from the previous one as it really happens.
_MAX_IN_FLIGHT = 64


class _Busy:
    """Seconds this worker's event loop spent in work that holds it (parsing, sending
    outcomes): an answer that came meanwhile waited for it, and its latency is ours,
    not the host's. Under a cold round's parsing every host looked strained."""

    seconds = 0.0

    @classmethod
    def add(cls, since: float) -> None:
        cls.seconds += time.perf_counter() - since


OutcomeListener = Callable[[PollOutcome], bool]
"""Takes an outcome as soon as it is ready; False when it could not (it is then returned)."""
StartListener = Callable[[str], None]
"""Told a feed's URL when its first request goes out (after its turn behind its host's cap)."""


def is_throttling(fetched: Fetched) -> bool:
    """A 429, or a 503 that says when to come back; a bare 503 is an ordinary failure."""
    return fetched.status == 429 or (fetched.status == 503 and fetched.retry_after is not None)


def is_complaint(fetched: Fetched | FeedError) -> bool:
    """An answer that says the host is under strain: slow down (``rssmania._pace``).

    A 429 or 503 that says when to come back is that URL's wait, kept by its
    Retry-After (and the host's, when several of its feeds ask it): the server
    said what it wants, and one broken feed of a host's hundreds answering 503
    for a minute must not slow the whole host for hours."""
    if isinstance(fetched, FeedError):
        return fetched.kind in ("timeout", "network")  # a reset, a cut, a stall
    return fetched.status in (429, 503) and fetched.retry_after is None


class HostGate:
    """Concurrency, pace and throttling state of one host within a batch."""

    def __init__(
        self, settings: PollSettings, *, first_start: float = 0.0, pace: Pace | None = None
    ) -> None:
        self._cap = max(1, settings.host_concurrency)
        self._slots = asyncio.Semaphore(self._cap)
        self._minimum = settings.host_spacing
        self._turn = asyncio.Lock()
        self._not_before = first_start
        self._last_start = float("-inf")
        self._starts: deque[float] = deque(maxlen=256)
        """Recent starts: the rate a refusal answers."""
        self.pace = pace or Pace()
        self.throttled = 0
        self.limit = settings.throttled_host_after

    @property
    def closed(self) -> bool:
        return self.throttled >= self.limit

    @property
    def spacing(self) -> float:
        return max(self._minimum, self.pace.delay)

    async def take(self, batch_slots: asyncio.Semaphore) -> None:
        """Wait for one of the host's slots and its pace, then for a batch slot.

        The batch slot is taken last, inside the host's turn, so that a start
        is spaced from the previous start as it really happens, not as it
        was queued. The pace is read again after each wait: a complaint
        that came meanwhile slows down the requests already waiting.
        """
        await self._slots.acquire()
        try:
            async with self._turn:
                loop = asyncio.get_running_loop()
                while (wait := self._start_at() - loop.time()) > 0:
                    await asyncio.sleep(wait)
                await batch_slots.acquire()
                self._last_start = loop.time()
                self._starts.append(self._last_start)
        except BaseException:  # cancelled while waiting (a stop): give the slot back
            self._slots.release()
            raise

    def _start_at(self) -> float:
        return max(self._not_before, self._last_start + self.spacing)

    def sent(self) -> None:
        """A request has gone out: the next one waits its spacing from now.

        Its start was spaced already, but a busy event loop (a parse runs
        in it) can hold a request back after its start; the server sees when
        it arrives, so the spacing counts from there too.
        """
        self._last_start = max(self._last_start, asyncio.get_running_loop().time())

    def weigh(self, fetched: Fetched | FeedError, *, sent: float, latency: float) -> None:
        """Let an answer (or a failure) move the host's pace."""
        now = time.time()
        if is_complaint(fetched):
            refused = not isinstance(fetched, FeedError)
            clock = asyncio.get_running_loop().time()
            recent = sum(1 for start in self._starts if start > clock - 1.0) if refused else 0
            self.pace = _pace.complained(self.pace, sent=sent, now=now, last_second=recent)
            if refused:  # let its window pass
                self._not_before = max(self._not_before, clock + _pace.REFUSED_PAUSE)
        elif not isinstance(fetched, FeedError):
            self.pace = _pace.answered(self.pace, latency, cap=self._cap, sent=sent, now=now)

    def give_back(self) -> None:
        self._slots.release()


class Hops:
    """The host gates one poll holds, hop by hop: the limits are the host's that is asked.

    A feed that redirects elsewhere (a CDN, feedburner) asks that other host
    for the body: under the first host's gate only, 16 requests went to one
    server at once. Each hop gives back what the last one held (its host's
    slot, its batch slot) and takes them again as a first request does, so
    no poll ever waits while holding what another one waits for.
    """

    def __init__(
        self, gates: dict[str, HostGate], settings: PollSettings, batch_slots: asyncio.Semaphore
    ) -> None:
        self._gates = gates
        self._settings = settings
        self._batch_slots = batch_slots
        self._host = ""

    async def start(self, host: str) -> None:
        gate = self._gates.get(host)
        if gate is None:  # a redirect's host: at the pace the round knows of it, if any
            pace = next((p for name, p in self._settings.paces if name == host), None)
            gate = self._gates[host] = HostGate(self._settings, pace=pace)
        await gate.take(self._batch_slots)
        self._host = host

    def sent(self) -> None:
        self._gates[self._host].sent()

    async def redirected(self, target: str) -> None:
        self.end()
        await self.start(host_of(target))

    def end(self) -> None:
        if self._host:
            self._gates[self._host].give_back()
            self._batch_slots.release()
            self._host = ""


def poll_batch(
    settings: PollSettings,
    jobs: Sequence[PollJob],
    on_outcome: OutcomeListener | None = None,
    on_start: StartListener | None = None,
) -> list[PollOutcome]:
    """Fetch and parse every job; one outcome per job, each to ``on_outcome`` as it is
    ready, and the rest returned, in order; ``on_start`` hears when each is asked for.
    Does not raise."""
    return asyncio.run(_poll_all(settings, jobs, on_outcome, on_start))


async def _poll_all(
    settings: PollSettings,
    jobs: Sequence[PollJob],
    on_outcome: OutcomeListener | None,
    on_start: StartListener | None,
) -> list[PollOutcome]:
    delays: dict[str, float] = {}
    for job in jobs:
        host = host_of(job.url)
        delays[host] = max(delays.get(host, 0.0), job.start_delay)
    paces = dict(settings.paces)
    batch_slots = asyncio.Semaphore(_MAX_IN_FLIGHT)
    now = asyncio.get_running_loop().time()
    gates = {
        host: HostGate(settings, first_start=now + delay, pace=paces.get(host))
        for host, delay in delays.items()
    }
    taken: set[str] = set()

    def ready(task: asyncio.Task[PollOutcome]) -> None:
        if on_outcome is not None and not task.cancelled() and task.exception() is None:
            outcome = task.result()
            started = time.perf_counter()
            if on_outcome(outcome):
                taken.add(outcome.url)
            _Busy.add(started)

    async with make_session(settings, max_connections=_MAX_IN_FLIGHT) as session:
        tasks = []
        for job in jobs:
            task = asyncio.create_task(
                _poll_one(
                    session, settings, job, gates, Hops(gates, settings, batch_slots), on_start
                )
            )
            task.add_done_callback(ready)
            tasks.append(task)
        await _until_done_or_stopped(tasks)
    return [
        task.result()
        if task.done() and not task.cancelled()
        else PollOutcome(job.url, cancelled=True)
        for job, task in zip(jobs, tasks, strict=True)
        if job.url not in taken
    ]


async def _until_done_or_stopped(tasks: list[asyncio.Task[PollOutcome]]) -> None:
    pending: set[asyncio.Task[PollOutcome]] = set(tasks)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=0.05)
        if pending and worker.stop_requested():
            # Stopping: keep what finished, drop the rest (those feeds stay due).
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            return


async def _poll_one(
    session: aiohttp.ClientSession,
    settings: PollSettings,
    job: PollJob,
    gates: dict[str, HostGate],
    hops: Hops,
    on_start: StartListener | None = None,
) -> PollOutcome:
    gate = gates[host_of(job.url)]
    outcome = await _poll_one_raw(session, settings, job, gate, hops, on_start)
    message = outcome.error.message if outcome.error is not None else ""
    if message and (len(message) > _LONGEST_MESSAGE or not message.isprintable()):
        # Messages quote servers and libraries: one line, storable, printable,
        # and short (aiohttp quotes a whole body it took for a status line).
        message = one_line(message)
        if len(message) > _LONGEST_MESSAGE:
            message = message[: _LONGEST_MESSAGE - 1] + "\u2026"
        assert outcome.error is not None
        outcome = replace(outcome, error=replace(outcome.error, message=message))
    return replace(outcome, pace=gate.pace)


_LONGEST_MESSAGE = 300


async def _poll_one_raw(
    session: aiohttp.ClientSession,
    settings: PollSettings,
    job: PollJob,
    gate: HostGate,
    hops: Hops,
    on_start: StartListener | None = None,
) -> PollOutcome:
    started = time.perf_counter()
    try:
        for attempt in (1, 2):
            if gate.closed:
                return PollOutcome(url=job.url, host_throttled=True)
            await hops.start(host_of(job.url))
            try:
                if gate.closed:  # throttled while this one waited its turn
                    return PollOutcome(url=job.url, host_throttled=True)
                if attempt == 1 and on_start is not None:
                    on_start(job.url)
                sent, clock, busy = time.time(), time.perf_counter(), _Busy.seconds
                fetched = await fetch(session, job, settings, on_sent=hops)
                held = _Busy.seconds - busy
                gate.weigh(fetched, sent=sent, latency=time.perf_counter() - clock - held)
            finally:
                hops.end()
            if isinstance(fetched, FeedError):
                return PollOutcome(
                    url=job.url, error=fetched, seconds=time.perf_counter() - started
                )
            if attempt == 1 and fetched.status == 429 and fetched.retry_after is None:
                # Refused for our pace, not for a time of its choosing: the
                # pace slowed down, ask once more at it.
                continue
            if is_throttling(fetched):
                gate.throttled += 1
            return replace(_outcome(job, fetched, settings), seconds=time.perf_counter() - started)
        raise AssertionError("unreachable: the second attempt returns")
    except Exception as exc:
        # A bug in fetching or parsing one feed must not cost the batch.
        log.exception("unexpected error polling %s", job.url)
        return PollOutcome.failed(
            job.url,
            "internal",
            f"internal error: {type(exc).__name__}: {exc}",
            seconds=time.perf_counter() - started,
        )


def _parse_within_limits(fetched: Fetched, settings: PollSettings) -> ParsedFeed | FeedError:
    started = time.perf_counter()
    try:
        return _parse_or_error(fetched, settings)
    finally:
        _Busy.add(started)


def _parse_or_error(fetched: Fetched, settings: PollSettings) -> ParsedFeed | FeedError:
    # Imported by a worker at its first parse, not by the forkserver before
    # any worker starts: the parsers are a third of what the forkserver
    # loaded while the first requests waited, and a warm round's first
    # answers (304s) need none of them.
    from rssmania._poll.parse import parse_feed  # noqa: PLC0415

    try:
        with cpu_limit(settings.parse_cpu_limit):
            return parse_feed(
                fetched.body,
                url=fetched.final_url,
                content_type=fetched.content_type,
                max_bytes=settings.max_bytes,
            )
    except ParseTooSlow:
        return FeedError(
            "too_slow", f"parsing took more than {settings.parse_cpu_limit:g} s of CPU time"
        )
    except MemoryError:
        return FeedError("too_large", "parsing needs more memory than a worker may use")
    except RecursionError:
        return FeedError("malformed", "the document nests elements too deeply to be read")
    except BaseException as exc:
        if not is_rust_panic(exc):
            raise
        # It went past the batch's guard, and the whole batch came back as an
        # internal error. Under a worker's memory cap a panic mid-parse is an
        # allocation that failed (pyo3: "Python API call failed" after a
        # MemoryError), as a compiled parser reports running out.
        if memory_limited():
            return FeedError(
                "too_large",
                f"parsing needs more memory than a worker may use (a parser panicked: {exc})",
            )
        return FeedError("internal", f"internal error: a compiled parser panicked: {exc}")


def _outcome(job: PollJob, fetched: Fetched, settings: PollSettings) -> PollOutcome:
    """Turn an HTTP answer into an outcome: parse a 200 unless its bytes are the last ones."""
    base = PollOutcome(
        url=job.url,
        http_status=fetched.status,
        final_url=fetched.final_url,
        permanent_url=fetched.permanent_url,
        retry_after=fetched.retry_after,
        interval_hint=fetched.cache_lifetime,
    )
    if fetched.status == 304 and not (job.etag or job.last_modified):
        # Nothing was asked conditionally: "not modified" since when? Taken as
        # is, the feed looked healthy for ever with nothing in it.
        return replace(
            base,
            error=FeedError(
                "http",
                "HTTP 304 Not Modified to a request that sent no validators",
                http_status=304,
            ),
        )
    if fetched.status == 304:
        return replace(
            base,
            not_modified=True,
            # A 304 may omit the validators; keep the ones that earned it.
            etag=fetched.etag or job.etag,
            last_modified=fetched.last_modified or job.last_modified,
            body_hash=job.body_hash,
        )
    error = _status_error(fetched)
    if error is not None:
        return replace(base, error=error)
    base = replace(
        base,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        body_hash=hashlib.sha256(fetched.body).hexdigest()[:32],
    )
    if base.body_hash == job.body_hash:
        # The server ignored our validators but sent the same bytes: no parse.
        return replace(base, not_modified=True)
    parsed = _parse_within_limits(fetched, settings)
    if isinstance(parsed, FeedError):
        return replace(base, error=parsed)
    hints = [h for h in (fetched.cache_lifetime, parsed.interval_hint) if h]
    return replace(base, feed=parsed, interval_hint=max(hints) if hints else None)


def _status_error(fetched: Fetched) -> FeedError | None:
    status = fetched.status
    if status == 200:
        return None
    text = f"HTTP {status} {fetched.reason}".rstrip()
    if status == 410:
        return FeedError("gone", f"{text}: the feed was removed for good", http_status=status)
    if is_throttling(fetched):
        wait = fetched.retry_after
        later = f", asked to retry in {wait:.0f} s" if wait is not None else ""
        if wait is not None and wait > MAX_RETRY_AFTER:
            later += f" (it will be {MAX_RETRY_AFTER // 86400} days, the longest rssmania waits)"
        return FeedError("throttled", f"{text}{later}", http_status=status)
    if 300 <= status < 400:
        return FeedError("http", f"{text} without a usable Location", http_status=status)
    if status < 400:
        return FeedError("http", f"{text}: no feed in this response", http_status=status)
    return FeedError("http", text, http_status=status)
