"""The worker side of a Dask round: the task, its round's stop event, what it sends back.

Runs in Dask worker processes (and is imported, not run, by the coordinator
and the scheduler, which unpickle tasks by name): no database, no Dask at
import time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from rssmania._poll import use_stop_event
from rssmania._poll.jobs import PollJob, PollOutcome, PollSettings

if TYPE_CHECKING:
    import distributed

log = logging.getLogger("rssmania.dask")

PollBatch = Callable[[PollSettings, Sequence[PollJob]], list[PollOutcome]]


def entry_digest(key: str, content_hash: str) -> bytes:
    """8 bytes that change when an entry's key or visible content does.

    A collision would hide a new entry, so it must be rare against the
    thousand or so entries of one feed: 2**-64 per pair is.
    """
    return hashlib.blake2b(f"{key}\0{content_hash}".encode(), digest_size=8).digest()


class _Watcher:
    """One round's stop event, watched once per worker process for all the batches of that round.

    A thread of its own: ``Event.wait`` is a request to the scheduler, which
    must not block a batch's event loop. It lingers a few seconds after the
    last batch, for the next one of the same round.
    """

    LINGER = 5.0

    def __init__(self, name: str, event: distributed.Event) -> None:
        self.name = name
        self.event = event
        self.stopped = threading.Event()
        self.batches = 0
        self.idle_since = time.monotonic()
        threading.Thread(target=self._watch, name="rssmania-stop-watch", daemon=True).start()

    def _watch(self) -> None:
        while True:
            with _watchers_lock:
                if not self.batches and time.monotonic() - self.idle_since > self.LINGER:
                    del _watchers[self.name]
                    return
            try:
                if self.event.wait(timeout=0.5):
                    self.stopped.set()  # a round's event is never cleared: set for good
                    return
            except Exception:  # the scheduler is unreachable: batches end on their timeouts
                log.debug("cannot read the stop event %s", self.name, exc_info=True)
                time.sleep(1.0)


_watchers: dict[str, _Watcher] = {}
"""Stop event name -> its watcher, in this worker process; also counts the batches running."""
_watchers_lock = threading.Lock()


class _ThreadStop:
    """The stop event ``poll_batch`` reads: the one of the round of the batch this thread runs.

    ``use_stop_event`` holds one event per process, and a Dask worker may run
    batches of several rounds (or coordinators) in several threads.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def is_set(self) -> bool:
        stopped: threading.Event | None = getattr(self._local, "stopped", None)
        return stopped is not None and stopped.is_set()

    @contextmanager
    def watching(self, name: str, client: distributed.Client) -> Iterator[None]:
        from distributed import Event  # noqa: PLC0415 - runs only where Dask is

        with _watchers_lock:
            watcher = _watchers.get(name)
            if watcher is None:
                watcher = _watchers[name] = _Watcher(name, Event(name, client=client))
            watcher.batches += 1
        self._local.stopped = watcher.stopped
        try:
            yield
        finally:
            self._local.stopped = None
            with _watchers_lock:
                watcher.batches -= 1
                watcher.idle_since = time.monotonic()


_THREAD_STOP = _ThreadStop()


def running_batches(stop_name: str) -> int:
    """Run by ``Client.run`` on each worker: how many batches of that round still run."""
    with _watchers_lock:
        watcher = _watchers.get(stop_name)
        return watcher.batches if watcher is not None else 0


def run_on_worker(
    poll: PollBatch,
    settings: PollSettings,
    jobs: Sequence[PollJob],
    known: Mapping[str, frozenset[bytes]],
    stop_name: str,
    topic: str,
) -> list[PollOutcome]:
    """The task: poll a batch, and send back only entries the coordinator may not have."""
    from distributed import get_client, get_worker  # noqa: PLC0415 - runs only where Dask is

    worker = get_worker()
    # Tells the coordinator that the batch started: its future becomes RUNNING.
    worker.log_event(topic, worker.get_current_task())
    use_stop_event(_THREAD_STOP)
    # The client is looked up here: the watching thread is not a task and could not.
    with _THREAD_STOP.watching(stop_name, get_client()):
        outcomes = poll(settings, jobs)
    return [without_known(outcome, known.get(outcome.url)) for outcome in outcomes]


def without_known(outcome: PollOutcome, known: frozenset[bytes] | None) -> PollOutcome:
    # The decider skips an entry whose key and content hash are stored; so
    # can the worker, and such entries need not cross the network.
    feed = outcome.feed
    if feed is None or not known:
        return outcome
    fresh = tuple(e for e in feed.entries if entry_digest(e.key, e.content_hash) not in known)
    if len(fresh) == len(feed.entries):
        return outcome
    return replace(outcome, feed=replace(feed, entries=fresh))
