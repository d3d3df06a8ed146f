"""When to poll each feed next. Pure: every function takes ``now`` and returns a value."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

DEFAULT_INTERVAL = 30 * 60
MAX_INTERVAL = 24 * 60 * 60
"""A publisher's hint (max-age, ttl...) may lengthen the interval up to this, no further."""
LONGEST_INTERVAL = 365 * 24 * 60 * 60
"""The longest interval a user may set: a feed is polled at least once a year."""
MAX_BACKOFF = 24 * 60 * 60
MAX_RETRY_AFTER = 7 * 24 * 60 * 60
OFFLINE_RETRY = 5 * 60
JITTER = 0.1
"""Each delay grows by up to this fraction, so feeds added together drift apart."""
MOVE_AFTER = 3
"""Polls in a row that must see the same permanent redirect before the stored URL changes."""


def jitter(key: str, moment: datetime) -> float:
    """A fraction in [0, 1) that looks random but is a function of its inputs (testable)."""
    digest = hashlib.blake2b(f"{key}|{moment.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def effective_interval(base: int, hint: int | None, *, max_interval: int = MAX_INTERVAL) -> int:
    """The feed's interval, raised (never lowered) by what its publisher asks, up to a cap."""
    if hint is None or hint <= base:
        return base
    return min(hint, max(max_interval, base))


def retry_delay(interval: int, error_count: int) -> int:
    """Seconds to wait after the ``error_count``-th error in a row.

    Doubles with each error, from the feed's own interval up to a day, and
    never gives up: a feed that heals is picked up again within a day.
    """
    if error_count <= 0:
        return interval
    delay: int = interval * 2 ** min(error_count - 1, 32)
    return min(delay, max(MAX_BACKOFF, interval))


def after(now: datetime, seconds: float, spread: float) -> datetime:
    """``now`` plus ``seconds``, stretched by up to JITTER according to ``spread`` in [0, 1).

    At most LONGEST_INTERVAL ahead: a date past the year 9999 is no date.
    """
    return now + timedelta(seconds=min(seconds, LONGEST_INTERVAL) * (1 + JITTER * spread))
