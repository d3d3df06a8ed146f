"""The worker side of a round: fetch and parse a batch of feeds, never touch the database.

    poll_batch(settings, jobs)                      # in a worker process
        asyncio event loop, one httpx client per batch
        for each job, concurrently:
            fetch(job)    conditional GET, caps   -> Fetched | FeedError
            parse_feed()  bytes -> entries        -> ParsedFeed | FeedError
        -> [PollOutcome, ...]                       # plain data, never raises

The coordinator (``rssmania._round``) sends batches, so that the cost of
crossing a process boundary is paid once per batch, not once per feed.
"""

from __future__ import annotations

from rssmania._poll.batch import poll_batch, use_stop_event, worker_init
from rssmania._poll.jobs import ParsedEntry, ParsedFeed, PollJob, PollOutcome, PollSettings

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
