"""Poll batches on a Dask cluster: the same round as the local pool, on many machines.

    coordinator (this process: database, decisions)      Dask cluster (no database)
    ----------------------------------------------       -------------------------------------
    run_jobs -> DaskPool.submit(poll, settings, jobs)
                + digests of the entries already stored -> scheduler -> a worker thread:
                                                              run_on_worker(...)
                  future RUNNING  <- "started" event ----       says it started
                                                              poll(settings, jobs), watching
                                                                its round's stop event
                                                              drops the entries already stored
    concurrent.futures.Future <- outcomes, or WorkerLostError (Dask's KilledWorker),
                                 or ClusterError (the scheduler is gone)

Dask's own executor (``Client.get_executor``) is a ``concurrent.futures.Executor``
that differs from the standard library's; this adapter does not use it, and
each difference is handled here (measured with distributed 2026.8):

- ``pure=True`` by default: two polls of one batch would share one cached
  result. Every task gets its own key, and ``pure=False``.
- ``submit`` swallows keyword arguments named ``retries``, ``priority``,
  ``workers``, ``key``, ``pure``: ``submit`` here takes positional arguments only.
- ``cancel()`` of a running task returns True (and its result is lost);
  ``shutdown(wait=False)`` cancels running tasks; ``shutdown(cancel_futures=True)``
  raises TypeError. Here a future is PENDING until its worker says it started,
  then RUNNING, so ``cancel()`` answers as the standard library does; ``close()``
  cancels what has not started and waits for the rest; ``kill()`` stops all.
- ``map`` ignores ``chunksize``: there is no ``map``; the round makes batches,
  since one feed per task costs 3-5 ms of scheduling and 27% of throughput.
- Workers are spawned, long-lived and shared by rounds: what a task needs is
  imported by name (rssmania must be installed on every worker, and on the
  scheduler, which unpickles each task), and worker set-up happens per task.
- ``get_versions(check=True)`` only warns, and about packages we never use:
  versions of Python, Dask and the poll code are compared here, and any
  difference refuses the cluster (``ClusterError``).
- A worker that dies is replaced and its task re-run elsewhere; after the
  fourth death Dask gives up with ``KilledWorker``. That becomes
  ``WorkerLostError``, a ``BrokenProcessPool``: the round bisects the batch and
  quarantines the feed that kills workers, as it does for the local pool.
- Dask cannot kill a task. A stop sets the round's Dask ``Event``, which one
  thread per worker process watches (batches return what they finished); a
  batch still running a while after ``kill()`` has its worker restarted
  through its nanny.
- Signals reach only a process's main thread and Dask runs tasks in other
  threads, so the per-parse CPU limit does not apply there; a parse that runs
  away is caught by the round's hang deadline instead (``worker_hung``). The
  memory limit is Dask's own (``dask worker --memory-limit``).

Only this module imports Dask, and only once a Dask address is used: the core
runs without it (``pip install 'rssmania[dask]'`` adds it).
"""

from __future__ import annotations

from rssmania._dask.connect import scheduler_address
from rssmania._dask.pool import DaskPool, WorkerLostError
from rssmania.exceptions import ClusterError

__all__ = ["ClusterError", "DaskPool", "WorkerLostError", "scheduler_address"]
