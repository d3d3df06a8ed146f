"""Deciding what a poll outcome means: pure, data in, intents out.

    FeedState (stored) + PollOutcome (from a worker) + stored entry hashes
        -> FeedWrite: new and updated entries, validators, health, next check

Nothing here touches the database or the clock; storage applies a FeedWrite in
one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rssmania._poll.jobs import ParsedEntry, PollOutcome
from rssmania._schedule import next_check
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


@dataclass(frozen=True)
class EntryWrite:
    entry: ParsedEntry
    status: EntryStatus
    sort_date: datetime


@dataclass(frozen=True)
class FeedWrite:
    feed_id: int
    checked: datetime
    next_check: datetime
    http_status: int | None
    error_count: int
    error: FeedError | None
    validators: tuple[str | None, str | None] | None
    """(etag, last_modified) to store, or None to keep the stored ones."""
    title: str | None
    link: str | None
    entries: tuple[EntryWrite, ...]


def decide(
    state: FeedState,
    outcome: PollOutcome,
    stored: Mapping[str, str],
    *,
    now: datetime,
    default_interval: int,
) -> FeedWrite:
    """``stored`` maps each stored entry key of the feed to its content hash."""
    interval = state.interval or default_interval
    if outcome.error is not None:
        errors = state.error_count + 1
        return FeedWrite(
            feed_id=state.id,
            checked=now,
            next_check=next_check(now, interval=interval, error_count=errors),
            http_status=outcome.http_status,
            error_count=errors,
            error=outcome.error,
            validators=None,
            title=None,
            link=None,
            entries=(),
        )
    writes: list[EntryWrite] = []
    if outcome.feed is not None:
        for entry in outcome.feed.entries:
            known = stored.get(entry.key)
            if known == entry.content_hash:
                continue
            status = EntryStatus.NEW if known is None else EntryStatus.UPDATED
            writes.append(EntryWrite(entry, status, sort_date(entry, now)))
    return FeedWrite(
        feed_id=state.id,
        checked=now,
        next_check=next_check(now, interval=interval, error_count=0),
        http_status=outcome.http_status,
        error_count=0,
        error=None,
        validators=(outcome.etag, outcome.last_modified),
        title=outcome.feed.title if outcome.feed else None,
        link=outcome.feed.link if outcome.feed else None,
        entries=tuple(writes),
    )


def sort_date(entry: ParsedEntry, first_seen: datetime) -> datetime:
    """The date an entry is listed under: its own, but never in the future.

    A date later than the moment we first saw the entry is clock skew or a
    scheduled post; listing it under first_seen keeps it from sitting on top
    of the list for weeks.
    """
    own = entry.published or entry.updated
    if own is None or own > first_seen:
        return first_seen
    return own
