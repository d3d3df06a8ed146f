"""The public data types: plain frozen dataclasses, safe to keep, compare and pickle."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


class Unset:
    """The type of UNSET: an option that was not given, where None means "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


@dataclass(frozen=True)
class Enclosure:
    """A file attached to an entry (podcast audio, image...)."""

    href: str
    type: str | None = None
    length: int | None = None


class EntryStatus(enum.StrEnum):
    """Why an entry is reported: it was never seen, or its content changed."""

    NEW = "new"
    UPDATED = "updated"


@dataclass(frozen=True)
class Entry:
    """An article as stored.

    ``id`` is the entry's identity within its feed: the feed's guid/id, else its
    link, else a hash of its title and content. Dates are timezone-aware UTC;
    ``published`` falls back to ``updated`` and vice versa, and both are None
    only when the feed gave no date at all.
    """

    feed_url: str
    feed_title: str | None
    id: str
    title: str | None
    link: str | None
    author: str | None
    summary: str | None
    content: str | None
    enclosures: tuple[Enclosure, ...]
    published: datetime | None
    updated: datetime | None
    first_seen: datetime
    last_changed: datetime
    status: EntryStatus
    read: bool = False
    starred: bool = False
    entry_id: int = 0
    """The stable integer id the reading commands and the sync APIs take (0: not stored)."""
    feed_id: int = 0


class FeedErrorKind(enum.StrEnum):
    """What went wrong with a feed, as a machine reads it; ``FeedError.message`` says it to people.

    A ``StrEnum``: each kind equals its word (``kind == "http"`` holds) and
    prints as it, in JSON too.
    """

    HTTP = "http"
    """The server answered with an error status, or a redirect that leads nowhere usable."""
    GONE = "gone"
    """410 Gone: the feed was removed for good; polling stops."""
    THROTTLED = "throttled"
    """429, or 503 with Retry-After: the server asked us to slow down (not counted as a fault)."""
    CONNECT = "connect"
    """The server could not be reached (DNS, refused, unreachable)."""
    TIMEOUT = "timeout"
    """No complete answer in time."""
    NETWORK = "network"
    """The connection broke, or the answer was not valid HTTP."""
    BLOCKED = "blocked"
    """Refused by us: a private address while those are refused."""
    OFFLINE = "offline"
    """No feed at all could be reached: the machine is offline (not counted against the feed)."""
    TOO_LARGE = "too_large"
    """The body, or what parsing it needs, is over the limit."""
    TOO_SLOW = "too_slow"
    """Parsing used up its CPU time."""
    NOT_A_FEED = "not_a_feed"
    """A web page or some other document, not a feed."""
    MALFORMED = "malformed"
    """A feed that cannot be read."""
    EMPTY = "empty"
    """An empty body."""
    INVALID = "invalid"
    """A URL that cannot be asked for (feed discovery)."""
    WORKER_DIED = "worker_died"
    """The worker process died while polling this feed, alone: the feed is blamed."""
    WORKER_HUNG = "worker_hung"
    """The worker process stopped answering while polling this feed, alone, and was killed."""
    INTERNAL = "internal"
    """A bug of rssmania's, or a result it cannot store."""


KindName = Literal[
    "http", "gone", "throttled", "connect", "timeout", "network", "blocked", "offline",
    "too_large", "too_slow", "not_a_feed", "malformed", "empty", "invalid", "worker_died",
    "worker_hung", "internal",
]  # fmt: skip
"""The kinds by their words, for ``FeedError("http", ...)``: a typo fails mypy."""


@dataclass(frozen=True, init=False)
class FeedError:
    """Why a feed could not be polled: a value, never raised.

    ``kind`` is a :class:`FeedErrorKind` (given as one or as its word);
    ``message`` is for people.
    """

    kind: FeedErrorKind
    message: str
    http_status: int | None = None

    def __init__(
        self, kind: FeedErrorKind | KindName, message: str, http_status: int | None = None
    ) -> None:
        object.__setattr__(self, "kind", FeedErrorKind(kind))
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "http_status", http_status)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Feed:
    """A subscription and its health."""

    url: str
    title: str | None
    link: str | None
    user_title: str | None
    category: str | None
    added: datetime
    last_checked: datetime | None
    next_check: datetime | None
    last_status: int | None
    error_count: int
    last_error: str | None
    interval: int | None
    """Per-feed polling interval in seconds; None means the aggregator's default."""
    next_check_reason: str | None = None
    """Why the next check is when it is: interval, publisher's hint, backoff, Retry-After..."""
    polls: int = 0
    not_modified_count: int = 0
    """Polls answered 304 (or with the very same bytes): what conditional GET saved."""
    moved_from: str | None = None
    """The URL this feed had before a permanent redirect moved it."""
    disabled_reason: str | None = None
    """Why polling stopped (410 Gone, paused); None while the feed is polled."""
    id: int = 0
    """The feed's stable integer id (shared by every user who follows its URL)."""
    unread: int = 0
    """Entries the user has not read (0 where no user is in view: a poll's result)."""
    last_new: datetime | None = None
    """When a poll last found a new entry in it."""

    @property
    def given_title(self) -> str | None:
        """Your title if you gave one, else the feed's own; None before the first poll."""
        return self.user_title if self.user_title is not None else self.title

    @property
    def display_title(self) -> str:
        return self.user_title or self.title or self.url

    @property
    def healthy(self) -> bool:
        return self.error_count == 0 and self.disabled_reason is None

    @property
    def not_modified_ratio(self) -> float | None:
        return self.not_modified_count / self.polls if self.polls else None


@dataclass(frozen=True)
class FeedSummary:
    """What a list of a user's feeds shows: cheaper than Feed for thousands of them."""

    id: int
    title: str
    category: str | None
    unread: int
    healthy: bool


@dataclass(frozen=True)
class Category:
    """One of a user's categories: a stable id, its name (a path: "Tech/Python"), and its
    own feeds (not its sub-categories') and their unread entries."""

    id: int
    name: str
    feeds: int
    unread: int


@dataclass(frozen=True)
class User:
    """An account: subscriptions, reading state and credentials of its own."""

    id: int
    name: str
    created: datetime
    has_password: bool


@dataclass(frozen=True)
class RetentionPolicy:
    """How long stored entries are kept; None is forever.

    Starred entries, and entries their feed still serves, are kept whatever it says.
    """

    read_days: int | None = 60
    """Read entries (read by every follower) go this many days after first seen."""
    unread_days: int | None = None
    """Unread entries go this many days after first seen."""
    max_per_feed: int | None = 2000
    """A feed keeps this many entries, newest first; read ones beyond it go."""


@dataclass(frozen=True)
class Page:
    """Some entries, and the ``page`` argument that asks for the ones after (None: no more)."""

    entries: tuple[Entry, ...]
    next: str | None


@dataclass(frozen=True)
class Counts:
    """Unread entries, per feed id and per category (a category counts its sub-categories)."""

    feeds: dict[int, int]
    categories: dict[str, int]
    total: int
    starred: int


@dataclass(frozen=True)
class EntryChange:
    """A new or updated entry, as committed; ``seq`` orders changes in the outbox."""

    seq: int
    entry: Entry

    @property
    def status(self) -> EntryStatus:
        return self.entry.status


@dataclass(frozen=True)
class FeedResult:
    """What one poll of one feed did, once its transaction is committed."""

    feed: Feed
    changes: tuple[EntryChange, ...]
    error: FeedError | None
    not_modified: bool
    seconds: float

    @property
    def new(self) -> tuple[Entry, ...]:
        return tuple(c.entry for c in self.changes if c.status is EntryStatus.NEW)

    @property
    def updated(self) -> tuple[Entry, ...]:
        return tuple(c.entry for c in self.changes if c.status is EntryStatus.UPDATED)


@dataclass(frozen=True)
class RoundSummary:
    """Totals of one round (an ``update``)."""

    feeds: int
    new: int
    updated: int
    errors: int
    not_modified: int
    seconds: float
    interrupted: bool
    offline: int = 0
    """Feeds not reached because the network was down: not counted as errors."""
