"""Where poll batches run: a local process pool, in-process for ``workers=1``, or Dask.

``WorkerPool`` adds what a long-running poller needs on top of
``ProcessPoolExecutor``: rebuilding after a worker dies (a dead worker breaks
the whole pool, every pending future and every later ``submit``), and killing
the workers at once on a forced stop. ``rssmania._dask.DaskPool`` offers the
same surface, ``PoolType``, on a Dask cluster; the round uses nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, ParamSpec, Protocol, TypeVar

from rssmania._poll.jobs import PollJob, PollOutcome, PollSettings
from rssmania._poll.worker import BATCH_MODULE, worker_init
from rssmania._worker_context import fork_forkserver, worker_context

FORKSERVER_MODULE = "rssmania._poll.forkserver"

log = logging.getLogger("rssmania.executors")

P = ParamSpec("P")
T = TypeVar("T")


def start_forkserver(*, by_fork: bool = False) -> None:
    """Start the process that workers fork from, importing the poll code (and return at once).

    aiohttp takes a tenth of a second to import; the workers fork from the
    forkserver once it has, and load only the parsers, at their first parse.
    ``by_fork``: as a fork of this process, which must have a single thread
    (``rssmania._worker_context.fork_forkserver``).
    """
    preload = [FORKSERVER_MODULE, BATCH_MODULE]
    if by_fork and fork_forkserver(preload):
        return
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    multiprocessing.forkserver.ensure_running()


class SerialExecutor(Executor):
    """Runs each call at submit time, in this process: the first tool for debugging."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        return future


class StopEventType(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...


class PoolType(Protocol):
    """What a round needs of its workers, local (WorkerPool) or on a cluster (DaskPool).

    A worker's death fails its futures with ``BrokenProcessPool``; setting
    ``stop_event`` makes running batches return what they finished;
    ``startup_failed()`` says, after a breakage, that no worker ever got as
    far as running our code.
    """

    @property
    def workers(self) -> int: ...
    @property
    def stop_event(self) -> StopEventType: ...
    def submit(
        self,
        fn: Callable[[PollSettings, Sequence[PollJob]], list[PollOutcome]],
        settings: PollSettings,
        jobs: Sequence[PollJob],
        /,
    ) -> Future[list[PollOutcome]]: ...
    def warm_up(self) -> None: ...
    def startup_failed(self) -> bool: ...
    def rebuild(self) -> None: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...


class WorkerPool:
    """A process pool that survives its workers' deaths."""

    def __init__(
        self, workers: int, *, memory_limit: int | None = None, max_tasks_per_child: int = 100
    ) -> None:
        self.workers = workers
        self.memory_limit = memory_limit
        self.max_tasks_per_child = max_tasks_per_child
        self.rebuilds = 0
        self._pool: ProcessPoolExecutor | None = None
        # forkserver, not fork: the coordinator may hold threads (a progress
        # bar, a web UI) and forking a threaded process can deadlock a child.
        # Workers never run the caller's main module again (a script, a GUI).
        self._context = worker_context()
        # Shared with every worker (also those of a rebuilt pool) at start-up.
        self.stop_event = self._context.Event()
        # Counts workers that got as far as our initializer: none at all
        # after a breakage means they die at start-up, not on a feed.
        self.started = self._context.Value("i", 0)

    def warm_up(self) -> None:
        """Start the forkserver now, to import the poll code while we read the database."""
        if self._pool is None:
            start_forkserver()

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        if self._pool is None:
            start_forkserver()  # with the poll code, whether or not warm_up() came first
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=self._context,
                initializer=worker_init,
                initargs=(os.getpid(), self.stop_event, self.started, self.memory_limit),
                # Recycled now and then: what a parser leaks goes with its process.
                max_tasks_per_child=self.max_tasks_per_child,
            )
        return self._pool.submit(fn, *args)

    def startup_failed(self) -> bool:
        return bool(self.started.value == 0)

    def rebuild(self) -> None:
        """Drop a broken pool; the next submit starts a fresh one."""
        self.rebuilds += 1
        log.warning("a worker process died; starting a new pool (rebuild %d)", self.rebuilds)
        self.kill()

    def kill(self) -> None:
        """Stop every worker now, without waiting for its work."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        # Taken now: shutdown() drops the pool's references to both.
        results = getattr(pool, "_result_queue", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
        for process in processes:
            process.join(timeout=5)
        if not any(process.is_alive() for process in processes):
            # A worker killed while it sent a result leaves half a message in
            # the result pipe: the pool's manager thread would wait for the
            # rest forever, and the interpreter with it at exit, joining that
            # thread. Our end is the last one that can write: closing it makes
            # that wait an end of file, which the pool takes as a breakage.
            writer = getattr(results, "_writer", None)
            if writer is not None:
                writer.close()

    def close(self) -> None:
        """Let running batches finish, then stop the workers."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
