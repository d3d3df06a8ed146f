"""Functions that run in worker processes: module-level, so they pickle by name."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import rssmania
from rssmania._poll import PollJob, PollOutcome, PollSettings, poll_batch
from tests.pool_tasks import record_pid


def poll_batch_dying_on_crash(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """Like poll_batch, but the worker process dies when a job's URL contains 'crash'."""
    if any("crash" in job.url for job in jobs):
        os._exit(13)
    return poll_batch(settings, jobs)


def poll_batch_hanging_on_hang(
    settings: PollSettings, jobs: Sequence[PollJob]
) -> list[PollOutcome]:
    """Like poll_batch, but the worker stops answering when a job's URL contains 'hang'."""
    if any("hang" in job.url for job in jobs):
        time.sleep(3600)
    return poll_batch(settings, jobs)


def poll_batch_raising_on_bug(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """Like poll_batch, but raises (a bug in the worker) when a job's URL contains 'bug'."""
    if any("bug" in job.url for job in jobs):
        raise ValueError("a bug that only this feed triggers")
    return poll_batch(settings, jobs)


def poll_batch_unstorable_on_bad(
    settings: PollSettings, jobs: Sequence[PollJob]
) -> list[PollOutcome]:
    """Like poll_batch, but a feed whose URL contains 'bad' comes back with a title no
    database stores (a lone surrogate): a result the coordinator cannot store."""
    outcomes = poll_batch(settings, jobs)
    return [
        replace(o, feed=replace(o.feed, title="caf\udce9"))
        if "bad" in o.url and o.feed is not None
        else o
        for o in outcomes
    ]


def poll_batch_recording_pid(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """Like poll_batch, and appends this worker's PID to the file named after '?pids=' in a URL
    (a query: a feed URL keeps no fragment)."""
    record_pid(jobs, "?pids=")
    return poll_batch(settings, jobs)


def unspaced(path: object, **options: Any) -> rssmania.Aggregator:
    """An Aggregator without the 0.1 s between two requests to one host.

    For tests about something else than politeness (tests/test_polite.py keeps
    the spacing): their feeds are all on 127.0.0.1, and the spacing was most
    of their time.
    """
    return rssmania.Aggregator(path, **{"per_host_spacing": 0.0, **options})  # type: ignore[arg-type]


def poll_batch_unbindable_on_bad(
    settings: PollSettings, jobs: Sequence[PollJob]
) -> list[PollOutcome]:
    """Like poll_batch_unstorable_on_bad, with a title of a type SQLite does not bind (a
    complex number): sqlite3 raises its own ProgrammingError, which storage wraps."""
    outcomes = poll_batch(settings, jobs)
    return [
        replace(o, feed=replace(o.feed, title=complex(1, 2)))  # type: ignore[arg-type]
        if "bad" in o.url and o.feed is not None
        else o
        for o in outcomes
    ]
