"""What crosses the process boundary: plain picklable data, in both directions.

``PollJob`` goes parent -> worker; ``PollOutcome`` comes back. An outcome is
never an exception: a failed poll is an outcome whose ``error`` is set, because
an exception raised in a child loses its cause on the way back and one that
cannot be rebuilt breaks the whole pool (see STYLE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from rssmania._pace import Pace
from rssmania.types import Enclosure, FeedError, FeedErrorKind, KindName


@dataclass(frozen=True)
class PollSettings:
    """Limits and identity shared by every job of a round."""

    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_bytes: int = 16 * 1024 * 1024
    max_redirects: int = 5
    host_concurrency: int = 2
    """Requests in flight to one host at once."""
    host_spacing: float = 0.0
    """The least seconds between the starts of two requests to one host; the host's
    learned pace (``rssmania._pace``) may space them further."""
    throttled_host_after: int = 2
    """Feeds of one host answering 429/503 before the rest of that host is left alone."""
    parse_cpu_limit: float | None = 30.0
    """CPU seconds one parse may take before it is that feed's error."""
    refuse_private: bool = False
    """Refuse to connect to private, loopback and link-local addresses (checked on every hop)."""
    allowed_networks: tuple[str, ...] = ()
    """Networks exempted from ``refuse_private``, e.g. an intranet feed server."""
    paces: tuple[tuple[str, Pace], ...] = ()
    """Per batch: the pace learned so far of its hosts (host name, Pace)."""
    results_to: tuple[str, int] | None = None
    """Per batch: where to send each outcome as it is ready (``rssmania._poll.channel``):
    the coordinator's socket and this batch's number."""


@dataclass(frozen=True)
class PollJob:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    """Hash of the last body parsed: a server that ignores validators costs no parse."""
    start_delay: float = 0.0
    """Seconds before the first request to its host: the previous round asked that host
    so recently that its spacing is not over (``run`` polls round after round)."""


class ParsedEntry(NamedTuple):
    """One entry as a worker read it. A tuple, not a dataclass: a cold round makes,
    pickles and unpickles 60,000 of them, in two thirds of the time (235 ms against 347).
    It compares and iterates as a tuple; nothing relies on either."""

    key: str
    """Identity within the feed: guid/id, else link (with the title when several
    entries of the document share it), else a hash of title+content."""
    content_hash: str
    """Changes exactly when what a reader sees changes (not when only a date moves)."""
    title: str | None
    link: str | None
    author: str | None
    summary: str | None
    content: str | None
    enclosures: tuple[Enclosure, ...]
    published: datetime | None
    updated: datetime | None
    alias: str | None = None
    """For an entry keyed by link and title (its link is shared in the document),
    its link: the key it had alone there, and may be stored under
    (rssmania._poll.identity.alias_of)."""


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    interval_hint: int | None = None
    """Seconds from RSS <ttl> or sy:updatePeriod/sy:updateFrequency."""
    warning: str | None = None
    """Set when the document was not well-formed but entries could be recovered."""


@dataclass(frozen=True)
class PollOutcome:
    url: str
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    not_modified: bool = False
    """A 304, or a 200 whose body hashes to the last one parsed."""
    body_hash: str | None = None
    permanent_url: str | None = None
    """Where every redirect hop was permanent (301/308): the URL the feed moved to."""
    retry_after: float | None = None
    """Seconds the server asked us to wait (429/503 Retry-After)."""
    interval_hint: int | None = None
    """Seconds the publisher says the feed stays fresh (max-age, Expires, ttl, sy:update*)."""
    host_throttled: bool = False
    """Not requested: other feeds of its host were throttled in the same batch."""
    cancelled: bool = False
    """Not finished when the round was stopped: nothing to store, the feed stays due."""
    feed: ParsedFeed | None = None
    error: FeedError | None = None
    seconds: float = 0.0
    pace: Pace | None = None
    """The pace of the feed's host once this answer was weighed (``rssmania._pace``)."""

    @classmethod
    def failed(
        cls,
        url: str,
        kind: FeedErrorKind | KindName,
        message: str,
        *,
        http_status: int | None = None,
        seconds: float = 0.0,
    ) -> PollOutcome:
        return cls(
            url=url,
            http_status=http_status,
            error=FeedError(kind=kind, message=message, http_status=http_status),
            seconds=seconds,
        )
