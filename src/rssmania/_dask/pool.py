"""``DaskPool``: the round's pool of workers, on a Dask cluster (see the package docstring)."""

from __future__ import annotations

import importlib
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from rssmania._dask.connect import connect
from rssmania._dask.worker import PollBatch, entry_digest, run_on_worker, running_batches
from rssmania._poll.jobs import PollJob, PollOutcome, PollSettings
from rssmania.exceptions import ClusterError

if TYPE_CHECKING:
    import distributed

log = logging.getLogger("rssmania.dask")

KnownEntries = Callable[[str], Mapping[str, str]]
"""A feed URL -> its stored entries, key -> content hash (what the decider compares)."""

MAX_KNOWN = 1000
"""Digests sent per feed. Fewer than stored only costs bandwidth: an entry not
recognised on the worker travels back and the decider finds it unchanged."""
BATCH_MODULE = "rssmania._poll.batch"
"""What workers import before their first batch (aiohttp and the parsers)."""


class WorkerLostError(BrokenProcessPool):
    """A batch whose worker died (Dask retried it on others, and gave up), or that kill() stopped.

    A ``BrokenProcessPool``: the round treats it as the local pool's dead
    worker, bisecting the batch until the feed that kills workers runs alone.
    """


@dataclass(eq=False)
class _Batch:
    key: str
    result: Future[list[PollOutcome]]
    task: distributed.Future | None = None
    withdrawn: bool = False
    """Cancelled or killed here: whatever Dask says of it afterwards is ignored."""
    notified: bool = False
    """A cancelled ``result`` went through set_running_or_notify_cancel, which wakes ``wait()``."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class DaskStopEvent:
    """The stop signal of a pool's batches, as the round sets and clears it."""

    def __init__(self, pool: DaskPool) -> None:
        self._pool = pool

    def set(self) -> None:
        # Stopping must not fail: with the scheduler gone, so are the batches.
        try:
            self._pool.set_stop()
        except Exception:
            log.warning("could not tell the Dask workers to stop", exc_info=True)

    def clear(self) -> None:
        """At the start of a round: a fresh event, nothing for the workers to undo."""
        self._pool.new_round()


class DaskPool:
    """Poll batches on a Dask cluster, behaving as the local ``WorkerPool`` does.

    Connects at first use (``warm_up``, ``workers`` or ``submit``), checks
    versions, and waits up to ``connect_timeout`` seconds
    for a worker (default: Dask's ``distributed.comm.timeouts.connect``, which
    ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s`` sets).
    ``known_entries``, when given, is asked for each feed's stored entries, so
    that workers send back only those that may be new.
    """

    def __init__(
        self,
        address: str,
        *,
        connect_timeout: float | None = None,
        known_entries: KnownEntries | None = None,
        restart_after: float = 2.0,
    ) -> None:
        self.address = address
        self.connect_timeout = connect_timeout
        self.known_entries = known_entries
        self.restart_after = restart_after
        self.rebuilds = 0
        self.stop_event = DaskStopEvent(self)
        self._client: distributed.Client | None = None
        self._id = uuid.uuid4().hex[:12]
        self._topic = f"rssmania-started-{self._id}"
        self._stop_name = self._new_stop_name()
        self._stops_set: list[str] = []
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count()

    # -- connection ------------------------------------------------------------

    def client(self) -> distributed.Client:
        """The connected client; raises ClusterError."""
        client = self._client
        if client is not None and client.status == "running":
            return client
        if client is not None:
            self._client = None
            with suppress(Exception):
                client.close(timeout=1)
            raise ClusterError(self.address, "lost the connection to the scheduler")
        self._client = self._connect()
        return self._client

    def _connect(self) -> distributed.Client:
        client = connect(self.address, timeout=self.connect_timeout, name=f"rssmania-{self._id}")
        client.subscribe_topic(self._topic, self._on_started)
        return client

    def call(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` with a connected client; Dask's connection errors become ClusterError."""
        client = self.client()
        try:
            return fn()
        except (OSError, TimeoutError) as exc:
            if client.status != "running":
                raise ClusterError(self.address, "lost the connection to the scheduler") from exc
            raise

    def _new_stop_name(self) -> str:
        # One event per round (and per kill): batches of an earlier round may
        # still be winding down, and their event stays set for good.
        return f"rssmania-stop-{self._id}-{uuid.uuid4().hex[:12]}"

    def new_round(self) -> None:
        """A fresh stop event; those set before are removed from the scheduler."""
        self._stop_name = self._new_stop_name()
        done, self._stops_set = self._stops_set, []
        if done:
            from distributed import Event  # noqa: PLC0415 - Dask is optional

            client = self.client()
            for name in done:
                with suppress(Exception):
                    Event(name, client=client).clear()

    def set_stop(self) -> None:
        from distributed import Event  # noqa: PLC0415 - Dask is optional

        self._stops_set.append(self._stop_name)
        Event(self._stop_name, client=self.client()).set()

    @property
    def workers(self) -> int:
        """Threads of the cluster, where batches run: the round makes two batches per thread."""
        threads: dict[str, int] = self.call(lambda: self.client().nthreads())
        return max(1, sum(threads.values()))

    def warm_up(self) -> None:
        """Connect (checking versions) and have every worker import the poll code now.

        A round then fails early on an unreachable cluster, and no batch pays
        for importing aiohttp and the parsers.
        """
        client = self.client()
        with suppress(Exception):  # a worker that cannot import it will say so in its batch
            self.call(lambda: client.run(importlib.import_module, BATCH_MODULE))

    def startup_failed(self) -> bool:
        """Never: a Dask worker that cannot start never joins, and connecting waits for one."""
        return False

    # -- submitting ----------------------------------------------------------------

    def submit(
        self, poll: PollBatch, settings: PollSettings, jobs: Sequence[PollJob], /
    ) -> Future[list[PollOutcome]]:
        """Run ``poll(settings, jobs)`` on a worker; raises ClusterError."""
        client = self.client()
        known = self._known(jobs)
        key = f"rssmania-batch-{self._id}-{next(self._counter)}"
        batch = _Batch(key, Future())
        with self._lock:
            self._batches[key] = batch
        try:
            # Positional arguments only (keywords such as ``retries`` would be
            # taken by Dask), a key of our own, and never pure.
            task = client.submit(
                run_on_worker,
                poll,
                settings,
                list(jobs),
                known,
                self._stop_name,
                self._topic,
                key=key,
                pure=False,
            )
        except Exception as exc:
            with self._lock:
                self._batches.pop(key, None)
            if client.status != "running":
                raise ClusterError(self.address, "lost the connection to the scheduler") from exc
            raise
        batch.task = task
        batch.result.add_done_callback(partial(self._on_result_done, batch))
        task.add_done_callback(partial(self._settle, batch))
        return batch.result

    def _known(self, jobs: Sequence[PollJob]) -> dict[str, frozenset[bytes]]:
        if self.known_entries is None:
            return {}
        known = {}
        for job in jobs:
            stored = self.known_entries(job.url)
            if stored:
                known[job.url] = frozenset(
                    entry_digest(key, content_hash)
                    for key, content_hash in itertools.islice(stored.items(), MAX_KNOWN)
                )
        return known

    def _on_started(self, event: tuple[float, Any]) -> None:
        # On the client's event loop: nothing here may wait for the scheduler.
        with self._lock:
            batch = self._batches.get(event[1])
        if batch is None:
            return
        with batch.lock:
            result = batch.result
            if result.done() or result.running():
                return  # cancelled before it started, or a re-run after a worker died
            if not result.set_running_or_notify_cancel():
                batch.notified = True

    def _on_result_done(self, batch: _Batch, result: Future[list[PollOutcome]]) -> None:
        if not result.cancelled():
            return
        # Cancelled here before it started: withdraw it from Dask too.
        self._notify_cancelled(batch)
        if not batch.withdrawn:
            batch.withdrawn = True
            with self._lock:
                self._batches.pop(batch.key, None)
            if batch.task is not None:
                with suppress(Exception):
                    batch.task.cancel()

    @staticmethod
    def _notify_cancelled(batch: _Batch) -> None:
        with batch.lock:
            if not batch.notified:
                batch.notified = True
                batch.result.set_running_or_notify_cancel()

    def _settle(self, batch: _Batch, task: distributed.Future) -> None:
        """Dask's outcome of a task -> its future here, in the local pool's words."""
        # On Dask's callback thread: result() may fetch from a worker.
        with self._lock:
            self._batches.pop(batch.key, None)
        if batch.withdrawn:
            return
        from distributed import KilledWorker  # noqa: PLC0415 - Dask is optional

        status = task.status
        error: BaseException | None = None
        try:
            if status == "finished":
                self._set(batch, result=task.result())
                return
            if status == "error":
                error = task.exception()
        except Exception as exc:  # fetching the result failed
            error = exc
        if isinstance(error, KilledWorker):
            error = WorkerLostError(f"Dask gave up on the batch: {error}")
        elif error is None or self.lost():
            # Cancelled, but not by us: the scheduler went away and took its tasks.
            error = ClusterError(self.address, "lost the connection to the scheduler mid-round")
        self._set(batch, error=error)

    def lost(self) -> bool:
        client = self._client
        return client is None or client.status != "running"

    @staticmethod
    def _set(
        batch: _Batch,
        *,
        result: list[PollOutcome] | None = None,
        error: BaseException | None = None,
    ) -> None:
        with suppress(InvalidStateError):  # cancelled meanwhile
            if error is not None:
                batch.result.set_exception(error)
            else:
                batch.result.set_result(result or [])

    # -- stopping ----------------------------------------------------------------

    def rebuild(self) -> None:
        """After a WorkerLostError: nothing to rebuild, Dask replaced the worker itself."""
        self.rebuilds += 1
        log.warning("a Dask worker died running a batch (%d so far)", self.rebuilds)

    def kill(self) -> None:
        """Stop every batch now: those not started never will, running ones are told to stop.

        A batch that ignores the stop (stuck where no signal reaches) has its
        worker restarted ``restart_after`` seconds later.
        """
        with self._lock:
            batches = list(self._batches.values())
            self._batches.clear()
            stop_name, self._stop_name = self._stop_name, self._new_stop_name()
        if not batches:
            return
        for batch in batches:
            batch.withdrawn = True
        client = self._client
        if client is not None and client.status == "running":
            from distributed import Event  # noqa: PLC0415 - Dask is optional

            try:
                Event(stop_name, client=client).set()
                client.cancel([b.task for b in batches if b.task is not None], force=True)
            except Exception:
                log.warning("could not cancel the batches on the cluster", exc_info=True)
            threading.Thread(
                target=self._restart_stuck,
                args=(client, stop_name),
                name="rssmania-dask-reaper",
                daemon=True,
            ).start()
        for batch in batches:
            if batch.result.cancel():
                self._notify_cancelled(batch)
            else:
                with suppress(InvalidStateError):
                    batch.result.set_exception(WorkerLostError("the pool was killed"))

    def _restart_stuck(self, client: distributed.Client, stop_name: str) -> None:
        from distributed import Event  # noqa: PLC0415 - Dask is optional

        time.sleep(self.restart_after)
        try:
            running = client.run(running_batches, stop_name)
            stuck = [worker for worker, count in running.items() if count]
            if stuck:
                log.warning("restarting Dask workers whose batches ignore the stop: %s", stuck)
                client.restart_workers(stuck, timeout=60, raise_for_error=False)
            Event(stop_name, client=client).clear()  # frees it on the scheduler
        except Exception:
            if self._client is client:  # else closed meanwhile: nothing to say
                log.warning("could not restart stuck Dask workers", exc_info=True)

    def close(self) -> None:
        """Cancel what has not started, let running batches finish, disconnect."""
        with self._lock:
            batches = list(self._batches.values())
        for batch in batches:
            batch.result.cancel()
        wait([b.result for b in batches])
        client, self._client = self._client, None
        if client is not None:
            with suppress(Exception):
                client.unsubscribe_topic(self._topic)
            with suppress(Exception):
                client.close(timeout=5)
