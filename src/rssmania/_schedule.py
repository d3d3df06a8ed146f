"""When to poll each feed next. Pure: every function takes ``now`` and returns a value."""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_INTERVAL = 30 * 60
MIN_INTERVAL = 1
MAX_BACKOFF = 24 * 60 * 60


def retry_delay(interval: int, error_count: int) -> int:
    """Seconds to wait after the ``error_count``-th error in a row.

    Doubles with each error, from the feed's own interval up to a day, and
    never gives up: a feed that heals is picked up again within a day.
    """
    if error_count <= 0:
        return interval
    delay: int = interval * 2 ** (error_count - 1)
    return min(delay, max(MAX_BACKOFF, interval))


def next_check(now: datetime, *, interval: int, error_count: int) -> datetime:
    return now + timedelta(seconds=retry_delay(max(interval, MIN_INTERVAL), error_count))


def is_due(next_check_at: datetime | None, now: datetime) -> bool:
    return next_check_at is None or next_check_at <= now
