"""Reading a feed's dates, the same way on both parse paths.

fastfeedparser's date reader is the base (fast on the common layouts, tolerant
of the rest); rssmania changes three things in it, for the fast path (through
``ffp_shim.install_date_reader``, which this module calls at import) and the
tolerant one (``read_date``) alike, so that an entry's date does not depend on
the path that read it:

- a date never gets precision the text does not have (issue 22). The last
  resort, dateutil, fills what is missing from a default, which was today:
  "August 2011" was stored as the 7th of August if read on the 7th. Now a
  partial date is read as the start of its period ("August 2011" is
  2011-08-01T00:00Z, "2011" is 2011-01-01T00:00Z), as feedparser reads a
  W3C year; a text without a year ("August 5", "10:00") is no date at all;
- an ISO offset whose ``+`` was lost to URL-decoding somewhere upstream
  ("2011-09-16T08:00:00 00:00") is that offset, not a time of 00:00 (issue 22);
- an RFC 822 offset written with a colon ("+02:00"), which email.utils takes
  for no zone at all, is read as the offset it is.

Every result is timezone-aware UTC; a text with no zone is read as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from dateutil import parser as dateutil_parser

from rssmania._poll import ffp_shim

# Two defaults that differ in every field a date can lack: what dateutil
# takes from the default shows as a difference between the two readings.
_START = datetime(1, 1, 1)
_OTHER = datetime(2, 2, 2, 1, 1, 1)
_LOST_PLUS = re.compile(r"\A(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?) (\d\d:?\d\d)\Z")
_COLON_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)\s*\Z")


def read_date(text: str) -> datetime | None:
    """A feed's date text as a UTC datetime, or None."""
    iso = read_date_iso(text)
    if iso is None:
        return None
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@lru_cache(maxsize=8192)
def read_date_iso(text: str) -> str | None:
    """What fastfeedparser's date reader returns (ISO 8601 in UTC, or None), by rssmania's rules."""
    if not text:
        return None
    candidate = text.strip()
    if " " in candidate[-6:]:
        candidate = _LOST_PLUS.sub(r"\1+\2", candidate)
    return ffp_shim.library_parse_date(candidate)


def _rfc822_to_utc(value: str) -> datetime | None:
    return ffp_shim.library_rfc822_to_utc(_COLON_OFFSET.sub(r"\1\2\3", value))


@lru_cache(maxsize=512)
def _dateutil_start_of_period(value: str) -> datetime | None:
    """dateutil's reading of ``value``, with what it lacks taken as the start of its period."""
    try:
        start = dateutil_parser.parse(value, default=_START, tzinfos=ffp_shim.ZONES)
        other = dateutil_parser.parse(value, default=_OTHER, tzinfos=ffp_shim.ZONES)
    except (ValueError, TypeError, ArithmeticError):
        # ArithmeticError: OverflowError, and the decimal.InvalidOperation
        # dateutil raises for a number too long to be a time.
        return None
    if start.year != other.year:
        return None  # no year: any year would be made up
    if start.tzinfo is None:
        return start.replace(tzinfo=UTC)
    try:
        return start.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


ffp_shim.install_date_reader(
    read_date_iso, rfc822_to_utc=_rfc822_to_utc, dateutil_parse=_dateutil_start_of_period
)
