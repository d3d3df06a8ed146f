"""Functions that run in worker processes: module-level, so they pickle by name."""

from __future__ import annotations

import os
from collections.abc import Sequence

from rssmania._poll import PollJob, PollOutcome, PollSettings, poll_batch


def poll_batch_dying_on_crash(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    """Like poll_batch, but the worker process dies when a job's URL contains 'crash'."""
    if any("crash" in job.url for job in jobs):
        os._exit(13)
    return poll_batch(settings, jobs)
