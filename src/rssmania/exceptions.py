"""Every error rssmania raises, in one tree.

    RssmaniaError
    ├── InvalidFeedURLError      a URL that is not http(s) with a host
    ├── FeedExistsError          adding a URL that is already subscribed
    ├── FeedNotFoundError        naming a URL that is not subscribed
    ├── InvalidOPMLError         an OPML file that cannot be read
    ├── InvalidSearchError       a search query that cannot be read (a bad date, too long)
    ├── UserNotFoundError        naming a user that does not exist
    ├── UserExistsError          adding a user whose name is taken
    ├── UserRequiredError        several users, and none named
    ├── EntryNotFoundError       an entry id that is not one of the user's entries
    ├── StorageError             the database cannot be opened or written
    │   ├── DatabaseLockedError  another rssmania is updating the same database
    │   └── UnstorableDataError  a value no column can hold (a poll result: that feed's error)
    ├── WorkerStartupError       worker processes die before they can start
    ├── ClusterError             a Dask cluster unreachable, lost, or of other versions
    └── AggregatorStateError     using an aggregator or a library the wrong way (closed, re-entered)

A feed that fails to poll (HTTP error, timeout, malformed XML...) is *not* an
exception: it is a value, :class:`rssmania.FeedError`, attached to that feed's
result and health, so that one feed never stops a round.

Every class pickles (its state lives in ``args``), because some of them cross
process boundaries; a test round-trips them all.
"""

from __future__ import annotations


class RssmaniaError(Exception):
    """Base class of every error rssmania raises."""


class InvalidFeedURLError(RssmaniaError, ValueError):
    """The URL is not an http:// or https:// URL with a host."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(url, reason)
        self.url = url
        self.reason = reason

    def __str__(self) -> str:
        return f"invalid feed URL {self.url!r}: {self.reason}"


class FeedExistsError(RssmaniaError):
    """The feed is already subscribed."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url

    def __str__(self) -> str:
        return f"already subscribed: {self.url}"


class FeedNotFoundError(RssmaniaError, LookupError):
    """No subscribed feed has this URL."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url

    def __str__(self) -> str:
        return f"not subscribed: {self.url}"


class InvalidOPMLError(RssmaniaError, ValueError):
    """The OPML document cannot be read."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, reason)
        self.source = source
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot read OPML {self.source}: {self.reason}"


class InvalidSearchError(RssmaniaError, ValueError):
    """The search query cannot be read; ``str()`` says which part and why."""

    def __init__(self, query: str, reason: str) -> None:
        super().__init__(query, reason)
        self.query = query
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot search for {self.query!r}: {self.reason}"


class UserNotFoundError(RssmaniaError, LookupError):
    """No user has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no such user: {self.name}"


class UserExistsError(RssmaniaError):
    """A user of this name exists already (names are compared without case)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"a user named {self.name!r} exists already"


class UserRequiredError(RssmaniaError):
    """The database has several users and the call did not say which one it acts for."""

    def __init__(self, names: str) -> None:
        super().__init__(names)
        self.names = names

    def __str__(self) -> str:
        return (
            f"this database has several users ({self.names}): say which one with "
            "--user NAME or $RSSMANIA_USER"
        )


class EntryNotFoundError(RssmaniaError, LookupError):
    """No entry of this id is in one of the user's subscriptions.

    Another user's entry is not found either: ids never tell who follows what.
    """

    def __init__(self, entry_id: int) -> None:
        super().__init__(entry_id)
        self.entry_id = entry_id

    def __str__(self) -> str:
        return f"no entry {self.entry_id} in your subscriptions"


class CategoryNotFoundError(RssmaniaError, LookupError):
    """The user has no category of this name or id."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no such category: {self.name}"


class CategoryExistsError(RssmaniaError):
    """The user has a category of this name already."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"a category named {self.name!r} exists already"


class StorageError(RssmaniaError):
    """The database cannot be opened, read or written."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"database {self.path}: {self.reason}"


class DatabaseLockedError(StorageError):
    """Another process is updating this database (rssmania, or any program holding a write)."""


class UnstorableDataError(StorageError):
    """A value that SQLite cannot bind (an unsupported type): the data's fault, not the database's.

    Storing a poll result that raises it is that feed's error, not the
    round's end.
    """


class WorkerStartupError(RssmaniaError, RuntimeError):
    """Worker processes die before running any code of ours.

    Workers never import the caller's main module; what is left is the
    machine refusing processes (a process or memory limit) or a broken
    installation, which ``workers=1`` (polling in this process) shows.
    """

    def __str__(self) -> str:
        return (
            "worker processes die as they start (a limit on processes or memory? "
            "workers=1 polls in this process and shows the error)"
        )


class ClusterError(RssmaniaError):
    """The Dask cluster cannot be reached, was lost mid-round, or does not match this rssmania.

    The round ends with it; feeds that had not finished stay due.
    """

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(address, reason)
        self.address = address
        self.reason = reason

    def __str__(self) -> str:
        return f"Dask cluster {self.address}: {self.reason}"


class AggregatorStateError(RssmaniaError, RuntimeError):
    """The aggregator is used in a state that does not allow it (e.g. after close())."""
