"""What a server and a publisher say about when to come back. Pure functions of their inputs."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.I)
_NO_CACHE = re.compile(r"(?:^|,)\s*(no-cache|no-store)\b", re.I)
# sy:updatePeriod is one of these words; sy:updateFrequency says how many times per period.
_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400,
            "yearly": 365 * 86400}  # fmt: skip
# A hint says at most this much: more means nothing to a poller, and a
# number of 30 digits fits no integer column nor JSON tool.
MAX_HINT = 365 * 86400


def _number(text: str) -> int | None:
    """A count of seconds, minutes or times written in ASCII digits, or None.

    Not str.isdigit(), which takes "²" (that int() refuses); and thousands of
    digits are more than int() reads (4,300) and more than any cap here.
    """
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= 12 else 10**12


def http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else None


def retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return float(min(seconds, MAX_HINT))
    when = http_date(value)
    if when is None:
        return None
    return min(max(0.0, (when - now).total_seconds()), MAX_HINT)


def cache_lifetime(headers: Mapping[str, str], *, now: datetime) -> int | None:
    """Seconds the response stays fresh by Cache-Control max-age, else Expires."""
    control = headers.get("cache-control", "")
    if _NO_CACHE.search(control):
        return None
    match = _MAX_AGE.search(control)
    if match:
        seconds = _number(match.group(1))
        return min(seconds, MAX_HINT) if seconds is not None else None
    expires = http_date(headers.get("expires"))
    if expires is None:
        return None
    # Measured against the server's own clock when it sends one.
    reference = http_date(headers.get("date")) or now
    seconds = int((expires - reference).total_seconds())
    return min(seconds, MAX_HINT) if seconds > 0 else None


def publisher_interval(feed: Mapping[str, Any]) -> int | None:
    """Seconds between updates that the feed itself announces (RSS <ttl>, sy:update*)."""
    hints = []
    ttl = _number(str(feed.get("ttl", "")))
    if ttl is not None:
        hints.append(ttl * 60)
    period = _PERIODS.get(str(feed.get("sy_updateperiod", "")).strip().lower())
    if period is not None:
        frequency = _number(str(feed.get("sy_updatefrequency", "1")))
        hints.append(period // frequency if frequency else period)
    return min(max(hints), MAX_HINT) if hints else None
