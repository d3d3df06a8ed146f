"""The worker side of a round: fetch and parse a batch of feeds, never touch the database.

    poll_batch(settings, jobs)                      # in a worker process
        asyncio event loop, one aiohttp session per batch
        for each job, concurrently:
            fetch(job)    conditional GET, caps   -> Fetched | FeedError
            parse_feed()  bytes -> entries        -> ParsedFeed | FeedError
        -> [PollOutcome, ...]                       # plain data, never raises

The coordinator (``rssmania._round``) sends batches, so that the cost of
crossing a process boundary is paid once per batch, not once per feed. It
imports only ``jobs`` and ``worker``: ``poll_batch`` (aiohttp, the parsers) is
loaded on first use, so that a coordinator starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rssmania._poll.jobs import ParsedEntry, ParsedFeed, PollJob, PollOutcome, PollSettings
from rssmania._poll.worker import use_stop_event, worker_init

if TYPE_CHECKING:
    from rssmania._poll.batch import poll_batch

__all__ = [
    "ParsedEntry",
    "ParsedFeed",
    "PollJob",
    "PollOutcome",
    "PollSettings",
    "poll_batch",
    "use_stop_event",
    "worker_init",
]


def __getattr__(name: str) -> Any:
    if name == "poll_batch":
        from rssmania._poll.batch import poll_batch  # noqa: PLC0415 - loaded on first use

        return poll_batch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
