"""A worker process's side of the pool: start-up, the stop signal, and the batch entry point.

Light on purpose: the coordinator imports this module (it pickles ``run_batch``
and ``worker_init`` by name), and must not pay for aiohttp and the parsers,
which only workers use. aiohttp is imported by the forkserver (see
``rssmania._executors``), once, before any worker forks; the parsers by each
worker at its first parse (``rssmania._poll.batch``).
"""

from __future__ import annotations

import importlib.util
import os
import select
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from rssmania._poll.jobs import PollJob, PollOutcome, PollSettings
from rssmania._poll.limits import limit_memory
from rssmania._process import collect_garbage_less_often, yield_to_the_coordinator

BATCH_MODULE = "rssmania._poll.batch"
"""What the forkserver imports before forking workers."""


class EventLike(Protocol):
    def is_set(self) -> bool: ...


_stop_event: EventLike | None = None
"""Set by the coordinator to stop: a batch then returns what it finished, at once."""


def use_stop_event(event: EventLike | None) -> None:
    global _stop_event  # noqa: PLW0603 - one per process, installed by worker_init
    _stop_event = event


def stop_requested() -> bool:
    return _stop_event is not None and _stop_event.is_set()


def run_batch(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """``poll_batch``, imported where it runs: free in a worker, whose forkserver preloaded it.

    With ``settings.results_to`` each outcome goes to the coordinator as soon as it is
    ready (``rssmania._poll.channel``); those that could not are returned.
    """
    from rssmania._poll.batch import poll_batch  # noqa: PLC0415 - see the module docstring

    if settings.results_to is None:
        return poll_batch(settings, jobs)
    from rssmania._poll.channel import Outbox  # noqa: PLC0415 - as poll_batch

    outbox = Outbox(*settings.results_to)
    try:
        return poll_batch(settings, jobs, outbox.send, outbox.started)
    finally:
        outbox.close()  # before returning: the coordinator reads to end of file


def worker_init(
    coordinator: int, stop_event: EventLike, started: Any, memory_limit: int | None
) -> None:
    """Run once in each worker process; ``coordinator`` is the PID of the process that polls."""
    use_stop_event(stop_event)
    limit_memory(memory_limit)
    collect_garbage_less_often()
    yield_to_the_coordinator()
    with started.get_lock():
        started.value += 1
    # Ctrl+C reaches the whole process group; only the coordinator decides
    # what to do with it (finish, then stop), so workers ignore it. So with a
    # SIGTERM to the group (systemd's stop, kill -TERM -PGID): it killed the
    # workers at once, and the feeds in flight lost their grace period. But
    # the pool's own terminate() (after a worker died) must still end a
    # worker: SIGTERM is blocked in every thread, and one thread reads it
    # with its sender, and exits only when that is the coordinator.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_exit_with, args=(coordinator,), daemon=True).start()
    threading.Thread(target=_exit_on_sigterm_from, args=(coordinator,), daemon=True).start()


def _exit_on_sigterm_from(coordinator: int) -> None:
    while True:
        sent = signal.sigwaitinfo({signal.SIGTERM})
        if sent.si_pid == coordinator:
            os._exit(128 + signal.SIGTERM)


def _exit_with(coordinator: int) -> None:
    # If the coordinator is SIGKILLed nobody tells its workers. Their parent
    # is the forkserver, which itself waits for every worker to go, so
    # watching our parent would wait forever: watch the coordinator.
    try:
        handle = os.pidfd_open(coordinator)
    except ProcessLookupError:
        os._exit(1)
    except OSError:  # no pidfd (Linux < 5.3): poll, at the risk of a reused PID
        while _exists(coordinator):
            time.sleep(1.0)
        os._exit(1)
    select.select([handle], [], [])  # readable once the process has exited
    os._exit(1)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fast_parser_problem() -> str | None:
    """Why feeds will parse slowly here, if they will; found without importing the parsers.

    fastfeedparser falls back to plain lxml, silently and about three times
    slower, where its compiled extractor is missing (no wheel for this
    platform) or disabled.
    """
    if os.environ.get("FASTFEEDPARSER_DISABLE_CORE"):
        return "FASTFEEDPARSER_DISABLE_CORE is set: fastfeedparser's compiled extractor is off"
    spec = importlib.util.find_spec("fastfeedparser")
    folders = spec.submodule_search_locations if spec is not None else None
    if not folders or not any(any(Path(f).glob("_core.*")) for f in folders):
        return (
            "fastfeedparser's compiled extractor is not installed (no wheel for this "
            "platform?): feeds parse about three times slower"
        )
    return None
