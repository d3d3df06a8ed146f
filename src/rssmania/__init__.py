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
    CategoryExistsError,
    CategoryNotFoundError,
    ClusterError,
    DatabaseLockedError,
    EntryNotFoundError,
    FeedExistsError,
    FeedNotFoundError,
    InvalidFeedURLError,
    InvalidOPMLError,
    InvalidSearchError,
    RssmaniaError,
    StorageError,
    UnstorableDataError,
    UserExistsError,
    UserNotFoundError,
    UserRequiredError,
    WorkerStartupError,
)
from rssmania.types import (
    Category,
    Counts,
    Enclosure,
    Entry,
    EntryChange,
    EntryStatus,
    Feed,
    FeedError,
    FeedErrorKind,
    FeedResult,
    FeedSummary,
    Page,
    RetentionPolicy,
    RoundSummary,
    Unset,
    User,
)

if TYPE_CHECKING:
    from rssmania.core import Aggregator
    from rssmania.library import Library


def __getattr__(name: str) -> object:
    # Imported when first asked for: a worker process imports this package
    # (for rssmania._poll) but never the Aggregator, its storage and its
    # executors, a fifth of a second before every poll's first batch.
    if name == "Aggregator":
        from rssmania.core import Aggregator  # noqa: PLC0415 - see above

        return Aggregator
    if name == "Library":
        from rssmania.library import Library  # noqa: PLC0415 - see above

        return Library
    raise AttributeError(f"module 'rssmania' has no attribute {name!r}")


__all__ = [
    "Aggregator",
    "AggregatorStateError",
    "Category",
    "CategoryExistsError",
    "CategoryNotFoundError",
    "ClusterError",
    "Counts",
    "DatabaseLockedError",
    "Enclosure",
    "Entry",
    "EntryChange",
    "EntryNotFoundError",
    "EntryStatus",
    "Feed",
    "FeedError",
    "FeedErrorKind",
    "FeedExistsError",
    "FeedNotFoundError",
    "FeedResult",
    "FeedSummary",
    "InvalidFeedURLError",
    "InvalidOPMLError",
    "InvalidSearchError",
    "Library",
    "Page",
    "RetentionPolicy",
    "RoundSummary",
    "RssmaniaError",
    "StorageError",
    "Unset",
    "UnstorableDataError",
    "User",
    "UserExistsError",
    "UserNotFoundError",
    "UserRequiredError",
    "WorkerStartupError",
    "__version__",
    "check_feed_url",
]
