"""What the decider hands storage, and what storage tells the decider: plain intents.

    storage.feed_states() -> FeedState -> decide() -> FeedWrite (EntryWrite...) -> storage

Both ``_decide`` (pure) and ``_storage`` (SQL) import this module; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rssmania._poll.jobs import ParsedEntry
from rssmania.types import EntryStatus, FeedError


@dataclass(frozen=True)
class FeedState:
    """What the scheduler and the decider need to know of a stored feed."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    error_count: int
    interval: int | None
    body_hash: str | None = None
    interval_hint: int | None = None
    redirect_url: str | None = None
    redirect_streak: int = 0


@dataclass(frozen=True)
class EntryWrite:
    entry: ParsedEntry
    status: EntryStatus
    sort_date: datetime
    quiet: bool = False
    """Stored but not reported: only the way rssmania reads entries changed, or the
    entry went back to the version before last."""


@dataclass(frozen=True)
class FeedWrite:
    feed_id: int
    checked: datetime
    next_check: datetime
    next_check_reason: str
    http_status: int | None
    error_count: int
    error: FeedError | None
    validators: tuple[str | None, str | None] | None
    """(etag, last_modified) to store, or None to keep the stored ones."""
    body_hash: str | None
    interval_hint: int | None
    title: str | None
    link: str | None
    entries: tuple[EntryWrite, ...]
    not_modified: bool = False
    redirect: tuple[str | None, int] = (None, 0)
    """(permanent redirect target seen, polls in a row it was seen)."""
    move_to: str | None = None
    disabled_reason: str | None = None
    not_before: datetime | None = None
    """The end of the server's Retry-After: no poll before it, not even ``update --all``."""
    served: tuple[str, ...] | None = None
    """The keys of every entry the document holds (None: not parsed, keep the stored list):
    retention never deletes an entry the feed still serves, or it would come back as new."""
