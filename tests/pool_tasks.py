"""Batch functions for the executor conformance suite: module-level, so they pickle by name.

They run in local worker processes and in Dask workers alike; the Dask
workers of the tests import this checkout's ``tests`` package.
"""

from __future__ import annotations

import gc
import multiprocessing.queues
import os
import struct
import threading
import time
from collections.abc import Sequence

from rssmania._poll import PollJob, PollOutcome, PollSettings


def echo(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """One outcome per job, no network; ``final_url`` says which process ran it."""
    return [PollOutcome(job.url, final_url=f"pid:{os.getpid()}") for job in jobs]


def record_pid(jobs: Sequence[PollJob], marker: str) -> None:
    """Append this process's PID to the file named after ``marker`` (e.g. '?pids=') in a URL."""
    for job in jobs:
        if marker in job.url:
            with open(job.url.split(marker, 1)[1], "a") as out:
                out.write(f"{os.getpid()}\n")


def echo_counting(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """Like echo, and appends a line to the file named after '#runs=' in a URL: once per run."""
    record_pid(jobs, "#runs=")
    return echo(settings, jobs)


def hang_counting(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """Appends a line as echo_counting does, then stops answering (deaf to any stop)."""
    echo_counting(settings, jobs)
    time.sleep(3600)
    return echo(settings, jobs)


def process_settings(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """One outcome; its ``final_url`` is the worker's niceness and young-generation threshold."""
    return [PollOutcome(jobs[0].url, final_url=f"{os.nice(0)} {gc.get_threshold()[0]}")]


def send_half_a_result(flag: str) -> None:
    """Start a result message on the pool's result pipe and never finish it, as a worker
    killed while it sends does; then write ``flag`` and hang (local workers only)."""
    (queue,) = [o for o in gc.get_objects() if isinstance(o, multiprocessing.queues.SimpleQueue)]
    os.write(queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"x" * 100)
    with open(flag, "w") as out:
        out.write("sent")
    threading.Event().wait()
