"""The read side: users, subscriptions, entries, reading state, counts and search.

A ``Library`` is safe to share between threads (a web server's): each
thread reads through a read-only connection of its own, which in WAL mode
never waits for the poller; state changes are short write transactions on
one connection, taken in turn. The poller (``Aggregator``) may run in this
process or another: both see one database.

    with Library("feeds.sqlite") as lib:
        me = lib.default_user()
        page = lib.entries(me.id, read=False, limit=50)
        lib.mark_read(me.id, [e.entry_id for e in page.entries])

Every call that names entries or feeds takes the user it acts for; an id
outside that user's subscriptions is not found, whoever else follows it.
"""

from __future__ import annotations

import hmac
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Literal, Self, TypeVar

from rssmania import accounts
from rssmania._opml import OpmlOutline, category_path, parse_opml, write_opml
from rssmania._schedule import DEFAULT_INTERVAL, LONGEST_INTERVAL
from rssmania._search_query import InvalidSearchError as _BadQuery
from rssmania._search_query import parse_query
from rssmania._storage import categories as _categories
from rssmania._storage import changes as _changes
from rssmania._storage import entries as _entries
from rssmania._storage import retention as _retention
from rssmania._storage import search as _search
from rssmania._storage import state as _state
from rssmania._storage import status as _status
from rssmania._storage import subscriptions as _subs
from rssmania._storage import users as _users
from rssmania._storage.connection import (
    BUSY_TIMEOUT,
    check_readable,
    connect,
    storage_error,
    transaction,
)
from rssmania._storage.entries import EntryQuery
from rssmania._text import without_controls
from rssmania._urls import check_feed_url
from rssmania.exceptions import (
    AggregatorStateError,
    DatabaseLockedError,
    EntryNotFoundError,
    InvalidFeedURLError,
    InvalidSearchError,
    StorageError,
    UserNotFoundError,
)
from rssmania.types import (
    UNSET,
    Category,
    Counts,
    Entry,
    Feed,
    FeedSummary,
    Page,
    RetentionPolicy,
    Unset,
    User,
)

T = TypeVar("T")

Order = Literal["newest", "oldest", "id", "-id", "rank"]

SESSION_IDLE = timedelta(days=30)
"""A web session unused this long is over."""
SESSION_TOUCH = timedelta(hours=1)

MAX_LIMIT = 10_000
MAX_IDS = 10_000


class Library:
    """Reading one database, from any number of threads."""

    def __init__(
        self,
        path: str | Path,
        *,
        now: Callable[[], datetime] | None = None,
        readonly: bool = False,
    ) -> None:
        """``readonly``: never write (a file this process may not write; a database
        that must exist: StorageError when it does not, or is of an older version)."""
        self.path = str(path)
        self._now = now or (lambda: datetime.now(UTC))
        self._writer: sqlite3.Connection | None = None
        if readonly:
            check_readable(self.path)
        else:
            self._writer = connect(self.path)  # migrates a database of an older version
            self._writer.execute("PRAGMA busy_timeout = 5")
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._secret: str | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection, those of other threads included. Safe to call twice."""
        with self._readers_lock:
            if self._closed:
                return
            self._closed = True
            for db in self._readers:
                db.close()
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            with self._readers_lock:
                if self._closed:
                    raise AggregatorStateError("the library is closed")
                db = connect(self.path, readonly=self.path != ":memory:")
                self._readers.append(db)
            self._local.db = db
        if self._closed:
            raise AggregatorStateError("the library is closed")
        try:
            db.execute("BEGIN")  # one snapshot for every query of the call
            try:
                return work(db)
            finally:
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc) from exc

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._write_lock:
            if self._closed:
                raise AggregatorStateError("the library is closed")
            if self._writer is None:
                raise StorageError(self.path, "opened read-only: nothing can be changed")
            writer = self._writer
            deadline = time.monotonic() + BUSY_TIMEOUT
            while True:
                try:
                    with transaction(writer, self.path) as db:
                        return work(db)
                except DatabaseLockedError:
                    # The poller's transaction is short; SQLite's own wait sleeps in
                    # steps of up to 100 ms, which were most of a mark-read's p99
                    # during a round. Ours looks again every 2 ms.
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.002)

    # -- users -----------------------------------------------------------------

    def users(self) -> list[User]:
        return self._read(_users.all_users)

    def user(self, name: str) -> User:
        return self._read(lambda db: _users.by_name(db, name))

    def default_user(self, name: str | None = None) -> User:
        """The user ``name`` names; without one, the only user (made on first use).

        Raises UserRequiredError when there are several, UserNotFoundError
        for a name nobody has.
        """
        if name is not None:
            return self.user(name)
        if (only := self._read(_users.the_only)) is not None:
            return only

        def first(db: sqlite3.Connection) -> User:
            from rssmania._storage.frozen import login_name_5  # noqa: PLC0415

            return _users.the_only(db) or _users.add(
                db, login_name_5(), None, fever=None, now=self._now()
            )

        return self._write(first)

    def add_user(self, name: str, password: str | None = None) -> User:
        name = _user_name(name)
        hashed = accounts.hash_password(password) if password is not None else None
        fever = accounts.fever_digest(name, password) if password is not None else None
        return self._write(lambda db: _users.add(db, name, hashed, fever=fever, now=self._now()))

    def set_password(self, name: str, password: str | None) -> None:
        """A new password (None: none; the web and the APIs refuse the user then)."""
        hashed = accounts.hash_password(password) if password is not None else None

        def change(db: sqlite3.Connection) -> None:
            stored = _users.by_name(db, name).name
            fever = accounts.fever_digest(stored, password) if password is not None else None
            _users.set_password(db, name, hashed, fever=fever)

        self._write(change)

    def remove_user(self, name: str) -> None:
        """Delete a user, their subscriptions, state and tokens; feeds nobody follows go."""
        self._write(lambda db: _users.remove(db, name))

    def authenticate(self, name: str, password: str) -> User | None:
        """The user, when ``password`` is theirs; None otherwise (unknown names included)."""
        try:
            user, stored = self._read(lambda db: _users.password_of(db, name))
        except UserNotFoundError:
            accounts.verify_password(_DUMMY_HASH(), password)  # the same time either way
            return None
        if not accounts.verify_password(stored, password):
            return None
        # A password set before schema 7 has no Fever key yet: the first login makes it.
        fever = accounts.fever_digest(user.name, password)
        self._write(lambda db: _users.fill_fever(db, user.id, fever))
        return user

    def new_token(self, name: str) -> str:
        """A new API token for the user: shown once, stored as a digest."""
        token, digest = accounts.new_token()

        def add(db: sqlite3.Connection) -> None:
            user = _users.by_name(db, name)
            fever = accounts.fever_digest(user.name, token)
            _users.add_token(db, user.id, digest, fever=fever, now=self._now())

        self._write(add)
        return token

    def user_by_token(self, token: str) -> User | None:
        digest = accounts.token_digest(token)
        return self._read(lambda db: _users.by_token(db, digest))

    def login_token(self, name: str, password: str) -> str | None:
        """A login token for a sync API (Google Reader's ClientLogin) from the user's
        password; None when it is not theirs.

        Checking the token (``user_by_login_token``) costs a lookup, not a password
        hash; it holds until the user's password changes. Given one of the user's API
        tokens instead of the password, the API token itself is the login token: it
        stops working when revoked.
        """
        user = self.authenticate(name, password)
        if user is None:
            by_token = self.user_by_token(password) if password else None
            if by_token is not None and by_token.name.casefold() == name.casefold():
                return password
            return None
        found, stored = self._read(lambda db: _users.password_of(db, user.name))
        if found.id != user.id:  # renamed or remade in between
            return None
        return f"{user.name}/{accounts.login_signature(self._login_secret(), user.id, stored)}"

    def user_by_login_token(self, token: str) -> User | None:
        """The user a ``login_token`` was made for; None for any other text."""
        name, _, signature = token.rpartition("/")
        if not name or len(signature) != 64:
            return None
        try:
            user, stored = self._read(lambda db: _users.password_of(db, name))
        except UserNotFoundError:
            return None
        expected = accounts.login_signature(self._login_secret(), user.id, stored)
        return user if hmac.compare_digest(expected, signature) else None

    def _login_secret(self) -> str:
        found = self._secret
        if found is None:
            found = self._read(_users.login_secret)
            if found is None:
                made = accounts.new_secret()
                found = self._write(lambda db: _users.login_secret(db, made=made)) or made
            self._secret = found
        return found

    def user_by_fever_key(self, api_key: str) -> User | None:
        """The user whose Fever key this is: md5 of "name:password" or of "name:token"
        (a token made since schema 7; a password set or used since)."""
        if len(api_key) > 200:
            return None
        digest = accounts.token_digest(api_key.strip().lower())
        return self._read(lambda db: _users.by_fever(db, digest))

    # -- subscriptions -----------------------------------------------------------

    def feeds(self, user: int) -> list[Feed]:
        """The user's subscriptions, by category then title, with unread counts."""
        return self._read(lambda db: _subs.all_of(db, user))

    def feed_summaries(self, user: int) -> list[FeedSummary]:
        """The user's subscriptions as a list shows them (id, title, category, unread,
        healthy), in ``feeds()``'s order: a tenth of its cost for thousands of feeds."""
        return self._read(lambda db: _subs.summaries(db, user))

    def entry_totals(self, user: int) -> dict[int, int]:
        """Entries stored per feed id, read or not (unread ones: ``Feed.unread``)."""
        return self._read(lambda db: _subs.totals(db, user))

    def feed(self, user: int, feed_id: int) -> Feed:
        return self._read(lambda db: _subs.get_by_id(db, user, feed_id))

    def add_feed(
        self, user: int, url: str, *, title: str | None = None, category: str | None = None
    ) -> Feed:
        url = check_feed_url(url)
        given = (without_controls(title).strip() or None) if title else None

        def add(db: sqlite3.Connection) -> Feed:
            _subs.add(db, user, [(url, given, category_path(category))], now=self._now(),
                      skip_existing=False)  # fmt: skip
            return _subs.get(db, user, url)

        return self._write(add)

    def remove_feed(self, user: int, feed_id: int) -> None:
        def remove(db: sqlite3.Connection) -> None:
            _subs.remove(db, user, _subs.get_by_id(db, user, feed_id).url)

        self._write(remove)

    def set_feed(
        self,
        user: int,
        feed: int,
        *,
        title: str | Unset | None = UNSET,
        category: str | Unset | None = UNSET,
        interval: int | Unset | None = UNSET,
        enabled: bool | Unset = UNSET,
        default_interval: int = DEFAULT_INTERVAL,
    ) -> Feed:
        """Rename, move, pause or resume a subscription; the interval is the feed's."""
        if (
            not isinstance(interval, Unset)
            and interval is not None
            and (type(interval) is not int or not 1 <= interval <= LONGEST_INTERVAL)
        ):
            raise ValueError(f"interval must be from 1 to {LONGEST_INTERVAL} seconds")
        given_title = title
        if isinstance(title, str):
            given_title = without_controls(title).strip() or None
        given_category = category_path(category) if isinstance(category, str) else category

        def change(db: sqlite3.Connection) -> Feed:
            url = _subs.get_by_id(db, user, feed).url
            _subs.update(
                db,
                user,
                url,
                interval=interval,
                title=given_title,
                category=given_category,
                enabled=enabled,
                now=self._now(),
                default_interval=default_interval,
            )
            return _subs.get_by_id(db, user, feed)

        return self._write(change)

    def refresh_feed(self, user: int, feed: int) -> None:
        """Poll the feed at the poller's next look (within a second or so), not at its time.

        Not inside a Retry-After or a throttled host's wait: a server's
        explicit request outranks ours.
        """

        def due(db: sqlite3.Connection) -> None:
            _subs.get_by_id(db, user, feed)
            _status.poll_soon(db, feed, now=self._now())

        self._write(due)

    def import_opml(
        self, user: int, data: bytes, *, source: str = "<opml>"
    ) -> tuple[list[str], list[str]]:
        """Subscribe to an OPML document's feeds: (URLs added, messages of those skipped)."""
        outlines = parse_opml(data, source=source)
        rows: list[tuple[str, str | None, str | None]] = []
        skipped: list[str] = []
        for outline in outlines:
            try:
                title = without_controls(outline.title).strip() or None if outline.title else None
                rows.append((check_feed_url(outline.url), title, outline.category))
            except InvalidFeedURLError as exc:
                skipped.append(str(exc))
        added = self._write(
            lambda db: _subs.add(db, user, rows, now=self._now(), skip_existing=True)
        )
        fresh = set(added)
        skipped.extend(f"already subscribed: {url}" for url, *_ in rows if url not in fresh)
        return added, skipped

    def export_opml(self, user: int, *, title: str = "rssmania subscriptions") -> bytes:
        outlines = [
            OpmlOutline(
                url=f.url, title=f.given_title, category=category_path(f.category), site_url=f.link
            )
            for f in self.feeds(user)
        ]
        return write_opml(outlines, title=title, now=self._now())

    def throttled_hosts(self) -> dict[str, tuple[datetime, str]]:
        """Hosts that asked us to slow down: until when, and why."""
        now = self._now()
        return self._read(lambda db: _status.throttled_hosts(db, now=now))

    def categories(self, user: int) -> list[str]:
        """The names of the categories the user's feeds are in."""
        return self._read(lambda db: _subs.categories(db, user))

    def category_list(self, user: int) -> list[Category]:
        """Every category of the user's, with its id, feeds in it too or not (the sync APIs)."""
        return self._read(lambda db: _categories.all_of(db, user))

    def category(self, user: int, category: int | str) -> Category:
        """A category by id or by name; CategoryNotFoundError for none of the user's."""
        if isinstance(category, str):
            name = category_path(category) or ""
            return self._read(lambda db: _categories.by_name(db, user, name))
        return self._read(lambda db: _categories.by_id(db, user, category))

    def add_category(self, user: int, name: str, *, exist_ok: bool = False) -> Category:
        """A new category, empty; CategoryExistsError (unless ``exist_ok``) for a name taken."""
        path = _category_name(name)
        return self._write(lambda db: _categories.add(db, user, path, exist_ok=exist_ok))

    def rename_category(self, user: int, old: str, new: str) -> int:
        """Rename a category and those below it; into a name taken, the two merge.
        How many feeds moved."""
        source, target = category_path(old) or "", _category_name(new)
        return self._write(lambda db: _categories.rename(db, user, source, target))

    def remove_category(self, user: int, name: str) -> int:
        """Remove a category and those below it; their feeds stay, in no category.
        How many feeds were in them."""
        path = category_path(name) or ""
        return self._write(lambda db: _categories.remove(db, user, path))

    # -- entries -----------------------------------------------------------------

    def entries(
        self,
        user: int,
        *,
        feed: int | None = None,
        category: str | None = None,
        read: bool | None = None,
        starred: bool | None = None,
        search: str | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
        min_id: int | None = None,
        max_id: int | None = None,
        ids: Iterable[int] | None = None,
        order: Order | None = None,
        limit: int = 100,
        page: str | None = None,
        offset: int = 0,
    ) -> Page:
        """A page of the user's entries; every filter given must hold.

        ``order``: ``newest`` (by date, the default), ``oldest``, ``id`` and
        ``-id`` (by entry id: what the sync APIs page by), or ``rank`` (the
        best matches of ``search`` first, the default with a search).
        ``before``/``after`` bound the entry's date; ``min_id``/``max_id``
        its id (both exclusive). ``page`` is the ``next`` of the page before;
        ``offset`` skips that many entries first (slower than ``page`` deep down).
        ``category=""`` lists the feeds in no category.
        """
        if type(limit) is not int or not 0 < limit <= MAX_LIMIT:
            raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
        if type(offset) is not int or not 0 <= offset < 2**31:
            raise ValueError(f"offset must be a whole number from 0, not {offset!r}")
        q = self._query(
            user, feed=feed, category=category, read=read, starred=starred, search=search,
            before=before, after=after, min_id=min_id, max_id=max_id, ids=ids, order=order,
        )  # fmt: skip

        def run(db: sqlite3.Connection) -> Page:
            found, next_key = _entries.page(db, user, q, limit=limit, after_key=page, offset=offset)
            return Page(tuple(found), next_key)

        return self._read(run)

    def entry_refs(
        self,
        user: int,
        *,
        feed: int | None = None,
        category: str | None = None,
        read: bool | None = None,
        starred: bool | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
        order: Literal["newest", "oldest", "id", "-id"] | None = None,
        limit: int = 100,
        page: str | None = None,
    ) -> tuple[list[tuple[int, datetime]], str | None]:
        """(entry id, the date it is listed under) of the page ``entries`` would give with
        the same arguments, and its ``next``: a sync's list of ids without the text."""
        if type(limit) is not int or not 0 < limit <= MAX_LIMIT:
            raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
        q = self._query(
            user, feed=feed, category=category, read=read, starred=starred, search=None,
            before=before, after=after, min_id=None, max_id=None, ids=None, order=order,
        )  # fmt: skip
        return self._read(lambda db: _entries.refs(db, user, q, limit=limit, after_key=page))

    def unread_ids(self, user: int) -> list[int]:
        """Every unread entry's id, ascending: what a sync compares with its own."""
        return self._read(lambda db: _entries.ids(db, user, table="unread"))

    def starred_ids(self, user: int) -> list[int]:
        """Every starred entry's id, ascending."""
        return self._read(lambda db: _entries.ids(db, user, table="starred"))

    def count_entries(
        self,
        user: int,
        *,
        feed: int | None = None,
        category: str | None = None,
        read: bool | None = None,
        starred: bool | None = None,
        search: str | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
        min_id: int | None = None,
        max_id: int | None = None,
        ids: Iterable[int] | None = None,
    ) -> int:
        """How many entries ``entries()`` lists with these filters, over all its pages."""
        q = self._query(
            user, feed=feed, category=category, read=read, starred=starred, search=search,
            before=before, after=after, min_id=min_id, max_id=max_id, ids=ids, order="id",
        )  # fmt: skip
        return self._read(lambda db: _entries.count(db, user, q))

    def _query(
        self,
        user: int,
        *,
        feed: int | None,
        category: str | None,
        read: bool | None,
        starred: bool | None,
        search: str | None,
        before: datetime | None,
        after: datetime | None,
        min_id: int | None,
        max_id: int | None,
        ids: Iterable[int] | None,
        order: Order | None,
    ) -> EntryQuery:
        for name, value in (("feed", feed), ("min_id", min_id), ("max_id", max_id)):
            if value is not None and (type(value) is not int or not 0 <= value < 2**63):
                raise ValueError(f"{name} must be a whole number from 0, not {value!r}")
        for name, date in (("before", before), ("after", after)):
            if date is not None and (not isinstance(date, datetime) or date.tzinfo is None):
                raise ValueError(f"{name} must be a datetime with a time zone, not {date!r}")
        if order not in (None, "newest", "oldest", "id", "-id", "rank"):
            raise ValueError(f"order must be newest, oldest, id, -id or rank, not {order!r}")
        q = EntryQuery(
            feed_ids=(feed,) if feed is not None else None,
            categories=(category_path(category) or "",) if category is not None else None,
            unread=None if read is None else not read,
            starred=starred,
            before=before,
            after=after,
            min_id=min_id,
            max_id=max_id,
            ids=_ids(ids) if ids is not None else None,
            oldest_first=order in ("oldest", "id"),
            by_id=order in ("id", "-id"),
        )
        if search is not None:
            q = self._with_search(user, q, search, ranked=order in (None, "rank"))
            # The poller indexes between rounds; what a round just stored, or an
            # `update` left, is indexed now, so that a search misses nothing stored
            # (read-only, it finds what is indexed).
            if self._writer is not None and self._read(_search.lag):
                self.update_search_index()
        return q

    def _with_search(self, user: int, q: EntryQuery, text: str, *, ranked: bool) -> EntryQuery:
        try:
            parsed = parse_query(text, now=self._now())
        except _BadQuery as exc:
            raise InvalidSearchError(text, str(exc)) from None
        feed_ids = q.feed_ids
        if parsed.feeds:
            named = self._feeds_named(user, parsed.feeds)
            feed_ids = tuple(i for i in named if feed_ids is None or i in feed_ids)
        categories = q.categories
        if parsed.categories:
            categories = tuple(category_path(c) or "" for c in parsed.categories)
        from dataclasses import replace  # noqa: PLC0415

        return replace(
            q,
            match=parsed.match,
            exclude=parsed.exclude,
            feed_ids=feed_ids,
            categories=categories,
            unread=q.unread if parsed.unread is None else parsed.unread,
            starred=q.starred if parsed.starred is None else parsed.starred,
            before=_earliest(q.before, parsed.before),
            after=_latest(q.after, parsed.after),
            ranked=ranked,
        )

    def _feeds_named(self, user: int, names: tuple[str, ...]) -> tuple[int, ...]:
        wanted = [n.casefold() for n in names]
        return tuple(
            f.id
            for f in self.feeds(user)
            if f.url.casefold() in wanted
            or any(t is not None and t.casefold() in wanted for t in (f.user_title, f.title))
        )

    def entry(self, user: int, entry_id: int) -> Entry:
        found = self.entries(user, ids=[entry_id], limit=1).entries
        if not found:
            raise EntryNotFoundError(entry_id)
        return found[0]

    # -- state ---------------------------------------------------------------------

    def mark_read(self, user: int, entry_ids: Iterable[int], *, missing_ok: bool = False) -> int:
        """Mark entries read; how many were unread.

        An id not in the user's feeds: EntryNotFoundError, and nothing is marked;
        with ``missing_ok`` (a sync app's ids, some gone since), the others are."""
        ids = _ids(entry_ids)
        return self._write(lambda db: _state.set_read(db, user, ids, True, missing_ok=missing_ok))

    def mark_unread(self, user: int, entry_ids: Iterable[int], *, missing_ok: bool = False) -> int:
        ids = _ids(entry_ids)
        return self._write(lambda db: _state.set_read(db, user, ids, False, missing_ok=missing_ok))

    def star(self, user: int, entry_ids: Iterable[int], *, missing_ok: bool = False) -> int:
        ids = _ids(entry_ids)
        return self._write(
            lambda db: _state.set_starred(
                db, user, ids, True, now=self._now(), missing_ok=missing_ok
            )
        )

    def unstar(self, user: int, entry_ids: Iterable[int], *, missing_ok: bool = False) -> int:
        ids = _ids(entry_ids)
        return self._write(
            lambda db: _state.set_starred(
                db, user, ids, False, now=self._now(), missing_ok=missing_ok
            )
        )

    def mark_all_read(
        self,
        user: int,
        *,
        feed: int | None = None,
        category: str | None = None,
        before: datetime | None = None,
        max_id: int | None = None,
    ) -> int:
        """Mark read everything unread (of a feed, of a category and its sub-categories),
        optionally only what is dated before ``before`` or has an id up to ``max_id``:
        what "mark all as read" sends, so that what arrived since stays unread."""

        def mark(db: sqlite3.Connection) -> int:
            if feed is not None:
                _subs.get_by_id(db, user, feed)  # FeedNotFoundError for another user's
            return _state.mark_all_read(
                db,
                user,
                feed_ids=(feed,) if feed is not None else None,
                categories=(category_path(category) or "",) if category is not None else None,
                before=before,
                max_id=max_id,
            )

        return self._write(mark)

    def starred_count(self, user: int) -> int:
        return self._read(lambda db: _state.starred_count(db, user))

    def counts(self, user: int) -> Counts:
        return self._read(lambda db: _state.counts(db, user))

    # -- sessions of the web reader -------------------------------------------------

    def start_session(self, user: int) -> tuple[str, str]:
        """A new session: (the cookie's token, its CSRF token). Only a digest is stored."""
        token, digest = accounts.new_token()
        csrf = accounts.new_token()[0]
        self._write(lambda db: _users.add_session(db, user, digest, csrf, now=self._now()))
        return token, csrf

    def session(self, token: str) -> tuple[User, str] | None:
        """The user and CSRF token of a live session; None for an unknown or expired one."""
        digest = accounts.token_digest(token)
        found = self._read(lambda db: _users.by_session(db, digest))
        if found is None:
            return None
        user, csrf, seen = found
        now = self._now()
        if now - seen > SESSION_IDLE:
            self._write(lambda db: _users.end_session(db, digest))
            return None
        if now - seen > SESSION_TOUCH:  # a write an hour, not one a request
            self._write(lambda db: _users.touch_session(db, digest, now=now))
        return user, csrf

    def end_session(self, token: str) -> None:
        digest = accounts.token_digest(token)
        self._write(lambda db: _users.end_session(db, digest))

    # -- what changed: live pages ------------------------------------------------------

    def newest_entry_id(self) -> int:
        """The highest entry id so far: "mark all read" up to it leaves what comes after."""
        return self._read(_status.newest_entry_id)

    def last_change(self) -> int:
        """The change log's latest seq: what a page has seen when it is drawn."""
        return self._read(_changes.last_seq)

    def new_since(self, user: int, seq: int) -> tuple[int, int]:
        """(Entries new in the user's feeds after ``seq`` and still unread, the latest seq)."""

        return self._read(
            lambda db: (_changes.new_unread_since(db, user, seq), _changes.last_seq(db))
        )

    def poll_progress(self) -> dict[str, object] | None:
        """What the poller said of its round last: feeds done, of how many, in flight."""

        return self._read(_status.progress)

    # -- upkeep --------------------------------------------------------------------

    def update_search_index(self, *, limit: int | None = None) -> int:
        """Index what changed since the index last caught up; how many changes were read."""
        done = 0
        while limit is None or done < limit:
            batch = self._write(lambda db: _search.index_batch(db, now=self._now()))
            if not batch:
                break
            done += batch
        return done

    def retention(self) -> RetentionPolicy:
        """The global retention policy (``run`` and ``prune`` apply it)."""
        return self._read(_retention.policy)

    def set_retention(self, policy: RetentionPolicy) -> None:
        for field in _retention.FIELDS:
            _check_keep(field, getattr(policy, field))
        self._write(lambda db: _retention.set_policy(db, policy))

    def feed_retention(self, user: int, feed: int) -> RetentionPolicy:
        """What applies to one of the user's feeds: its own values over the global ones."""

        def get(db: sqlite3.Connection) -> RetentionPolicy:
            _subs.get_by_id(db, user, feed)
            return _retention.feed_policy(db, feed)

        return self._read(get)

    def set_feed_retention(
        self,
        user: int,
        feed: int,
        *,
        read_days: _retention.Override | Unset = UNSET,
        unread_days: _retention.Override | Unset = UNSET,
        max_per_feed: _retention.Override | Unset = UNSET,
    ) -> RetentionPolicy:
        """A feed's own retention values: a number, None for forever, "global" for the
        global policy's. The feed is shared: its followers all keep what it keeps."""
        given = {
            field: value
            for field, value in (
                ("read_days", read_days),
                ("unread_days", unread_days),
                ("max_per_feed", max_per_feed),
            )
            if not isinstance(value, Unset)
        }
        for field, value in given.items():
            if value != "global":
                _check_keep(field, value)

        def change(db: sqlite3.Connection) -> RetentionPolicy:
            _subs.get_by_id(db, user, feed)
            _retention.set_feed_policy(db, feed, **given)
            return _retention.feed_policy(db, feed)

        return self._write(change)

    def prune(self, *, dry_run: bool = False) -> dict[str, int]:
        """Apply the retention policy: entries deleted (or that would be), by feed URL."""

        urls = self._read(_status.feed_urls)
        gone = _retention.prune_all(self._write, urls, now=self._now(), dry_run=dry_run)
        return {urls[feed_id]: count for feed_id, count in gone.items()}


def _check_keep(field: str, value: object) -> None:
    if value is not None and (type(value) is not int or not 0 < value <= 1_000_000):
        raise ValueError(f"{field} must be a whole number from 1, or None (forever), not {value!r}")


def _ids(values: Iterable[int]) -> tuple[int, ...]:
    ids = tuple(values)
    if len(ids) > MAX_IDS:
        raise ValueError(f"at most {MAX_IDS} entry ids at once")
    for value in ids:
        if type(value) is not int or not 0 < value < 2**63:
            raise ValueError(f"an entry id is a whole number from 1, not {value!r}")
    return ids


def _user_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not name:
        raise ValueError("a user name is some text")
    if len(name) > 64 or not name.isprintable() or ":" in name:
        raise ValueError(f"{name!r} is not a user name: at most 64 printable characters, no colon")
    return name


def _category_name(name: str) -> str:
    path = category_path(name) if isinstance(name, str) else None
    if not path:
        raise ValueError("a category name is some text")
    if len(path) > 200:
        raise ValueError("a category name is at most 200 characters")
    return path


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a is not None and b is not None else a or b


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a is not None and b is not None else a or b


_dummy: list[str] = []


def _DUMMY_HASH() -> str:
    if not _dummy:
        _dummy.append(accounts.hash_password("not a password of anyone's"))
    return _dummy[0]
