"""``poll_batch``: the function every worker runs, and the worker's start-up."""

from __future__ import annotations

import asyncio
import logging
import os
import select
import signal
import threading
import time
from collections.abc import Sequence

import httpx

from rssmania._poll.fetch import Fetched, fetch, make_client
from rssmania._poll.jobs import ParsedFeed, PollJob, PollOutcome, PollSettings
from rssmania._poll.parse import parse_feed
from rssmania.types import FeedError

log = logging.getLogger("rssmania.poll")

# Connections one batch may hold open at once: enough to overlap the slow
# servers of a batch without opening a socket per feed.
_MAX_CONNECTIONS = 16


def poll_batch(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """Fetch and parse every job; one outcome per job, in order. Does not raise."""
    return asyncio.run(_poll_all(settings, jobs))


async def _poll_all(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    async with make_client(settings, max_connections=_MAX_CONNECTIONS) as client:
        return list(await asyncio.gather(*(_poll_one(client, settings, job) for job in jobs)))


async def _poll_one(client: httpx.AsyncClient, settings: PollSettings, job: PollJob) -> PollOutcome:
    started = time.perf_counter()
    try:
        fetched = await fetch(client, job, settings)
        if not isinstance(fetched, Fetched):
            return PollOutcome(
                url=job.url,
                http_status=fetched.http_status,
                error=fetched,
                seconds=time.perf_counter() - started,
            )
        feed: ParsedFeed | None = None
        error: FeedError | None = None
        if not fetched.not_modified:
            parsed = parse_feed(
                fetched.body, url=fetched.final_url, content_type=fetched.content_type
            )
            if isinstance(parsed, FeedError):
                error = parsed
            else:
                feed = parsed
        return PollOutcome(
            url=job.url,
            http_status=fetched.status,
            # A 304 may omit the validators; keep the ones that earned it.
            etag=fetched.etag or (job.etag if fetched.not_modified else None),
            last_modified=fetched.last_modified
            or (job.last_modified if fetched.not_modified else None),
            final_url=fetched.final_url,
            not_modified=fetched.not_modified,
            feed=feed,
            error=error,
            seconds=time.perf_counter() - started,
        )
    except Exception as exc:
        # A bug in fetching or parsing one feed must not cost the batch.
        log.exception("unexpected error polling %s", job.url)
        return PollOutcome.failed(
            job.url,
            "internal",
            f"internal error: {type(exc).__name__}: {exc}",
            seconds=time.perf_counter() - started,
        )


def worker_init(coordinator: int) -> None:
    """Run once in each worker process; ``coordinator`` is the PID of the process that polls."""
    # Ctrl+C reaches the whole process group; only the coordinator decides
    # what to do with it (finish, then stop), so workers ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with, args=(coordinator,), daemon=True).start()


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
