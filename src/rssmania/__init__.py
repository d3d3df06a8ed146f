"""rssmania: a feed poller and aggregator that uses every core and never loses an article.

The public API is what this module exports; everything under an underscore
may change.
"""

from __future__ import annotations

from rssmania._urls import check_feed_url
from rssmania._version import __version__
from rssmania.core import Aggregator
from rssmania.exceptions import (
    AggregatorStateError,
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

__all__ = [
    "Aggregator",
    "AggregatorStateError",
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
