"""rssmania: a feed poller and aggregator that uses every core and never loses an article.

The public API is what this module exports; everything under an underscore
may change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rssmania._urls import check_feed_url
from rssmania._version import __version__
from rssmania.exceptions import (
    AggregatorStateError,
    ClusterError,
    DatabaseLockedError,
    FeedExistsError,
    FeedNotFoundError,
    InvalidFeedURLError,
    InvalidOPMLError,
    RssmaniaError,
    StorageError,
    WorkerStartupError,
)
from rssmania.types import (
    Enclosure,
    Entry,
    EntryChange,
    EntryStatus,
    Feed,
    FeedError,
    FeedResult,
    RoundSummary,
)

if TYPE_CHECKING:
    from rssmania.core import Aggregator


def __getattr__(name: str) -> object:
    # Imported when first asked for: a worker process imports this package
    # (for rssmania._poll) but never the Aggregator, its storage and its
    # executors, a fifth of a second before every poll's first batch.
    if name == "Aggregator":
        from rssmania.core import Aggregator  # noqa: PLC0415 - see above

        return Aggregator
    raise AttributeError(f"module 'rssmania' has no attribute {name!r}")


__all__ = [
    "Aggregator",
    "AggregatorStateError",
    "ClusterError",
    "DatabaseLockedError",
    "Enclosure",
    "Entry",
    "EntryChange",
    "EntryStatus",
    "Feed",
    "FeedError",
    "FeedExistsError",
    "FeedNotFoundError",
    "FeedResult",
    "InvalidFeedURLError",
    "InvalidOPMLError",
    "RoundSummary",
    "RssmaniaError",
    "StorageError",
    "WorkerStartupError",
    "__version__",
    "check_feed_url",
]
