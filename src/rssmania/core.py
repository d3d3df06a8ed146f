"""The Aggregator: the facade of the poll side.

It holds the database's poll lock, a user's subscriptions, and the executor
(local processes, in-process, or Dask); a round itself is the Coordinator's
(``_coordinator``: feeds due -> workers -> decide -> store -> results).
Reading (state, search, paging) is ``rssmania.Library``'s.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from rssmania._coordinator import Coordinator
from rssmania._executors import PoolType, SerialExecutor, WorkerPool
from rssmania._opml import OpmlOutline, category_path, parse_opml, write_opml
from rssmania._poll.jobs import PollSettings
from rssmania._poll.worker import fast_parser_problem, run_batch
from rssmania._round import PollBatch
from rssmania._schedule import DEFAULT_INTERVAL, LONGEST_INTERVAL, MAX_INTERVAL
from rssmania._storage import Storage
from rssmania._storage import entries as _entries
from rssmania._storage import search as _search
from rssmania._storage import subscriptions as _subs
from rssmania._storage import users as _users
from rssmania._storage.connection import BUSY_TIMEOUT, transaction
from rssmania._storage.entries import EntryQuery
from rssmania._storage.frozen import login_name_5
from rssmania._text import CONTROLS, is_utf8, without_controls
from rssmania._urls import check_feed_url, stored_forms
from rssmania._version import __version__
from rssmania.exceptions import (
    AggregatorStateError,
    DatabaseLockedError,
    FeedNotFoundError,
    InvalidFeedURLError,
    UserNotFoundError,
    UserRequiredError,
)
from rssmania.types import (
    UNSET,
    Entry,
    EntryChange,
    Feed,
    FeedResult,
    Unset,
)

log = logging.getLogger("rssmania.core")
_CHECKED_PARSER = False

USER_AGENT = f"rssmania/{__version__} (+https://github.com/rssmania/rssmania)"

T = TypeVar("T")


class _State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Aggregator:
    """Subscriptions, polling and stored entries of one database.

    Use it as a context manager::

        with Aggregator("feeds.sqlite") as agg:
            agg.add_feed("https://example.org/feed.xml")
            for result in agg.update():
                for entry in result.new:
                    print(entry.title, entry.link)

    ``workers`` is the number of worker processes (default: one per core);
    ``workers=1`` polls in this process, on the same code path.
    ``executor="dask://HOST:PORT"`` polls on a Dask cluster instead (``pip
    install 'rssmania[dask]'``); this process still keeps the database and
    decides. ``outbox=True`` marks every new or updated entry in the
    change log for printing, until :meth:`ack_changes` is called: what the
    command line uses to report each article exactly once, even across a
    crash.

    Subscriptions are a user's: ``user`` names whose (default: the only
    user, made on first use; UserRequiredError when there are several).
    Polling is per feed, whoever follows it. Reading state, search and
    paging are ``rssmania.Library``'s.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        workers: int | None = None,
        executor: str = "local",
        default_interval: int = DEFAULT_INTERVAL,
        user_agent: str = USER_AGENT,
        timeout: float = 60.0,
        max_bytes: int = 16 * 1024 * 1024,
        outbox: bool = False,
        stop_grace: float = 3.0,
        per_host_limit: int = 2,
        per_host_spacing: float = 0.0,
        max_interval: int = MAX_INTERVAL,
        parse_cpu_limit: float | None = 30.0,
        worker_memory_limit: int | None = 2 * 1024**3,
        max_tasks_per_child: int = 100,
        refuse_private_addresses: bool = False,
        allowed_networks: Iterable[str] = (),
        now: Callable[[], datetime] | None = None,
        user: str | None = None,
        index_search: bool = True,
        publish_progress: bool = False,
        _poll_batch: PollBatch = run_batch,
        _batch_deadline: float | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError("workers must be at least 1")
        if executor != "local" and workers is not None:
            raise ValueError("workers is for the local pool; a Dask cluster has its own")
        _check_interval("default_interval", default_interval)
        _check_user_agent(user_agent)
        self.workers = workers or os.cpu_count() or 1
        self.default_interval = default_interval
        self.settings = PollSettings(
            user_agent=user_agent,
            total_timeout=timeout,
            read_timeout=min(30.0, timeout),
            connect_timeout=min(10.0, timeout),
            max_bytes=max_bytes,
            host_concurrency=per_host_limit,
            host_spacing=per_host_spacing,
            parse_cpu_limit=parse_cpu_limit,
            refuse_private=refuse_private_addresses,
            allowed_networks=tuple(allowed_networks),
        )
        self.max_interval = max_interval
        self.outbox = outbox
        self.stop_grace = stop_grace
        self._now = now or (lambda: datetime.now(UTC))
        self._user_name = user
        self._user: int | None = None
        self._executor: PoolType | SerialExecutor
        if executor != "local":
            # Dask's adapter only when asked for: a tenth of the command's start-up.
            from rssmania._dask import DaskPool, scheduler_address  # noqa: PLC0415

            # Before the database is opened: a malformed address leaked it.
            address = scheduler_address(executor)
            self._executor = DaskPool(address, known_entries=self._known_entries)
        elif self.workers == 1:
            self._executor = SerialExecutor()
        else:
            self._executor = WorkerPool(
                self.workers,
                memory_limit=worker_memory_limit,
                max_tasks_per_child=max_tasks_per_child,
            )
        try:
            self._storage = Storage(path)
        except BaseException:
            if not isinstance(self._executor, SerialExecutor):
                self._executor.close()
            raise
        self._rounds = Coordinator(
            self._storage,
            self._executor,
            _poll_batch,
            self.settings,
            default_interval=default_interval,
            max_interval=max_interval,
            announce=outbox,
            stop_grace=stop_grace,
            batch_deadline=_batch_deadline,
            index_search=index_search,
            now=self._now,
            publish_progress=publish_progress,
        )
        self._entered = False
        self._poll_lock: int | None = None
        self._round: Generator[FeedResult, None, None] | None = None
        self._state = _State.OPEN
        self._thread = threading.get_ident()

    def _known_entries(self, url: str) -> dict[str, str]:
        """A feed's stored entries: a Dask worker sends back only the others."""
        return self._rounds.stored_entries(url)

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> Self:
        self._check_open()
        if self._entered:
            raise AggregatorStateError("the aggregator is in a with block already")
        self._entered = True
        global _CHECKED_PARSER  # noqa: PLW0603 - said once per process, not per aggregator
        if not _CHECKED_PARSER:
            _CHECKED_PARSER = True
            problem = fast_parser_problem()
            if problem is not None:
                log.warning("%s", problem)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers and close the database. Safe to call twice."""
        if self._state is _State.CLOSED:
            return
        self._check_thread()
        self._state = _State.CLOSED
        try:
            self._end_round()
        finally:
            try:
                if not isinstance(self._executor, SerialExecutor):
                    if self._rounds.stop.requested:
                        self._executor.kill()
                    else:
                        self._executor.close()
            finally:
                self._storage.close()
                if self._poll_lock is not None:
                    os.close(self._poll_lock)
                    self._poll_lock = None

    def _lock_polling(self) -> None:
        """Be the only process polling into this database, until close().

        Two pollers on one database would fetch every feed twice and could
        report an article twice; readers and `add` do not need this lock.
        """
        if self._poll_lock is not None or self._storage.path == ":memory:":
            return
        # The file's real name: through a symlink (or as ./x and x) another
        # process would take another lock and poll the same database.
        path = os.path.realpath(self._storage.path) + ".lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DatabaseLockedError(path, f"cannot create the lock file: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatabaseLockedError(
                self._storage.path, "another rssmania process is updating this database"
            ) from None
        self._poll_lock = fd

    def stop(self) -> None:
        """Ask a running update() or watch() to stop; callable from a signal handler or thread.

        The first call stops scheduling and lets work in flight finish for a
        few seconds (what finished is stored); a second call stops at once.
        """
        # Only flags: this may run in a signal handler that interrupted the
        # pool's own code, whose locks are not reentrant. The round loop sees
        # the flags within 0.1 s and kills the workers itself.
        self._rounds.stop.request()

    @property
    def stopping(self) -> bool:
        return self._rounds.stop.requested

    def _end_round(self) -> None:
        # A round the caller stopped iterating still has batches in flight:
        # closing its generator kills them now, not whenever it is collected
        # (which could be in the middle of the next round).
        if self._round is not None:
            self._round.close()
            self._round = None

    def _check_open(self) -> None:
        if self._state is _State.CLOSED:
            raise AggregatorStateError("the aggregator is closed")
        self._check_thread()

    def _check_thread(self) -> None:
        # Its database connection and its round belong to one thread; closing
        # from another one failed half-way and left the workers and the lock.
        if threading.get_ident() != self._thread:
            raise AggregatorStateError(
                "an Aggregator is used from the thread that created it; other threads "
                "may call stop() and in_flight()"
            )

    # -- the user and subscriptions ---------------------------------------------

    def _user_id(self) -> int:
        """The user this aggregator's subscription calls act for (see ``user``)."""
        if self._user is None:
            with transaction(self._storage.db, self._storage.path) as db:
                if self._user_name is not None:
                    self._user = _users.by_name(db, self._user_name).id
                else:
                    only = _users.the_only(db) or _users.add(
                        db, login_name_5(), None, fever=None, now=self._now()
                    )
                    self._user = only.id
        return self._user

    def _subscriptions(self, work: Callable[[sqlite3.Connection, int], T]) -> T:
        user = self._user_id()
        with transaction(self._storage.db, self._storage.path) as db:
            return work(db, user)

    def add_feed(self, url: str, *, title: str | None = None, category: str | None = None) -> Feed:
        """Subscribe to ``url``; raises InvalidFeedURLError or FeedExistsError."""
        self._check_open()
        _check_text("title", title)
        _check_text("category", category)
        url = check_feed_url(url)
        row = (url, _title(title), category_path(category))

        def add(db: sqlite3.Connection, user: int) -> Feed:
            _subs.add(db, user, [row], now=self._now(), skip_existing=False)
            return _subs.get(db, user, url)

        return self._subscriptions(add)

    def add_feeds(self, urls: Iterable[str], *, category: str | None = None) -> list[Feed]:
        """Subscribe to several URLs at once: all of them, or (on any error) none."""
        self._check_open()
        _check_text("category", category)
        checked = [check_feed_url(url) for url in urls]
        rows = [(url, None, category_path(category)) for url in dict.fromkeys(checked)]

        def add(db: sqlite3.Connection, user: int) -> list[Feed]:
            _subs.add(db, user, rows, now=self._now(), skip_existing=False)
            return [_subs.get(db, user, url) for url, _, _ in rows]

        return self._subscriptions(add)

    def set_feed(
        self,
        url: str,
        *,
        interval: int | Unset | None = UNSET,
        title: str | Unset | None = UNSET,
        category: str | Unset | None = UNSET,
        enabled: bool | Unset = UNSET,
    ) -> Feed:
        """Change a feed's settings; ``None`` clears one (interval: back to the default).

        ``enabled=True`` resumes a feed that was stopped (410 Gone, paused)
        and polls it at the next round; ``enabled=False`` pauses it for this
        user (a feed is polled while one of its followers has it unpaused).
        Title, category and pause are the user's; the interval is the feed's.
        """
        self._check_open()
        if not isinstance(interval, Unset) and interval is not None:
            _check_interval("interval", interval)
        if not isinstance(title, Unset):
            _check_text("title", title)
        if not isinstance(category, Unset):
            _check_text("category", category)
        if not isinstance(enabled, Unset | bool):
            raise TypeError(f"enabled must be True or False, not {enabled!r}")

        def change(stored: str) -> Feed:
            def work(db: sqlite3.Connection, user: int) -> Feed:
                _subs.update(
                    db,
                    user,
                    stored,
                    interval=interval,
                    # "" is none, as the command line's --title '' and --category '' say.
                    title=_title(title) if isinstance(title, str) else title,
                    category=category_path(category) if isinstance(category, str) else category,
                    enabled=enabled,
                    now=self._now(),
                    default_interval=self.default_interval,
                )
                return _subs.get(db, user, stored)

            return self._subscriptions(work)

        return self._for_url(url, change)

    def in_flight(self) -> list[tuple[str, float]]:
        """Feeds being polled now and for how long (seconds), longest first. Thread-safe.

        A feed is polled from its request on: one that waits its turn behind its
        host's limit is not yet (with a Dask cluster, or ``workers=1``, which do
        not say when a request goes out: from its batch's start).
        """
        now, wall = time.monotonic(), time.time()
        feeds = [
            feed
            for batch in list(self._rounds.in_flight.values())
            for feed in batch.polling(now, wall)
        ]
        return sorted(feeds, key=lambda item: -item[1])

    def remove_feed(self, url: str) -> None:
        """Unsubscribe; the feed and its entries are deleted when nobody else follows it.

        Raises FeedNotFoundError.
        """
        self._check_open()
        self._for_url(url, lambda stored: self._subscriptions(
            lambda db, user: _subs.remove(db, user, stored)))  # fmt: skip

    def get_feed(self, url: str) -> Feed:
        self._check_open()
        return self._for_url(
            url, lambda stored: self._subscriptions(lambda db, user: _subs.get(db, user, stored))
        )

    def _for_url(self, url: str, action: Callable[[str], T]) -> T:
        """``action`` on the feed ``url`` names, as typed or as add_feed normalizes it."""
        if not is_utf8(url):
            raise FeedNotFoundError(url)  # never stored: SQLite takes only UTF-8 text
        *forms, last = stored_forms(url)
        for form in forms:
            with contextlib.suppress(FeedNotFoundError):
                return action(form)
        return action(last)

    def get_feeds(self) -> list[Feed]:
        """The user's subscriptions, with their unread counts."""
        self._check_open()
        return self._subscriptions(_subs.all_of)

    def import_opml(self, data: bytes, *, source: str = "<opml>") -> tuple[list[str], list[str]]:
        """Subscribe to every feed of an OPML document, in one transaction.

        Returns (added URLs, skipped messages). Raises InvalidOPMLError, and
        then nothing is changed.
        """
        self._check_open()
        outlines = parse_opml(data, source=source)
        rows: list[tuple[str, str | None, str | None]] = []
        skipped: list[str] = []
        for outline in outlines:
            try:
                rows.append((check_feed_url(outline.url), _title(outline.title), outline.category))
            except InvalidFeedURLError as exc:
                skipped.append(str(exc))
        added = self._subscriptions(
            lambda db, user: _subs.add(db, user, rows, now=self._now(), skip_existing=True)
        )
        fresh = set(added)  # a list asked 200,000 times took minutes
        skipped.extend(f"already subscribed: {url}" for url, *_ in rows if url not in fresh)
        return added, skipped

    def export_opml(self, *, title: str = "rssmania subscriptions") -> bytes:
        self._check_open()
        outlines = [
            # Not display_title: a stand-in URL would come back as the feed's own title.
            # category_path: what an older version stored may nest deeper than import keeps.
            OpmlOutline(
                url=f.url, title=f.given_title, category=category_path(f.category), site_url=f.link
            )
            for f in self.get_feeds()
        ]
        return write_opml(outlines, title=title, now=self._now())

    # -- entries ---------------------------------------------------------------

    def get_entries(self, *, feed_url: str | None = None, limit: int | None = None) -> list[Entry]:
        """The user's stored entries, newest first (``rssmania.Library`` filters and pages)."""
        self._check_open()
        if limit is not None and (type(limit) is not int or limit < 0):
            raise TypeError(f"limit must be a whole number from 0, or None, not {limit!r}")
        if limit == 0:
            return []

        def listing(feed_ids: tuple[int, ...] | None) -> list[Entry]:
            def work(db: sqlite3.Connection, user: int) -> list[Entry]:
                query = EntryQuery(feed_ids=feed_ids)
                found, _ = _entries.page(db, user, query, limit=limit or 2**62, after_key=None)
                return found

            return self._subscriptions(work)

        if feed_url is None:
            return listing(None)
        return self._for_url(
            feed_url,
            lambda stored: listing(
                (self._subscriptions(lambda db, user: _subs.feed_id(db, user, stored)),)
            ),
        )

    def pending_changes(self) -> list[EntryChange]:
        """Changes recorded for the command line to print and not yet acknowledged, oldest first.

        Takes the database's poll lock, as update() does: the printing has one reader.
        """
        self._check_open()
        self._lock_polling()
        return self._storage.pending_changes(self._viewer())

    def ack_changes(self, up_to_seq: int) -> None:
        """Mark changes up to ``up_to_seq`` as shown."""
        self._check_open()
        self._lock_polling()
        self._rounds.when_unlocked(lambda: self._storage.ack_changes(up_to_seq, now=self._now()))

    def _viewer(self) -> int | None:
        """The user whose titles a round's results show; None when it cannot say which."""
        try:
            return self._user_id()
        except (UserRequiredError, UserNotFoundError):
            return None

    def next_due(self) -> datetime | None:
        """When the next feed comes due (None: no feed is polled)."""
        self._check_open()
        return self._storage.next_due()

    def update_search_index(self) -> int:
        """Bring the full-text index up to date with what was stored; changes read."""
        self._check_open()
        return self._rounds.when_unlocked(
            lambda: _search.catch_up(self._storage.db, self._storage.path, now=self._now())
        )

    # -- polling -----------------------------------------------------------------

    def update(self, *, all_feeds: bool = False) -> Iterator[FeedResult]:
        """Poll the feeds that are due (every feed with ``all_feeds=True``), once.

        Yields one FeedResult per feed, as soon as its result is committed.
        Stops early (without error) after stop(); feeds not polled stay due.
        """
        self._check_open()
        self._lock_polling()
        self._end_round()
        self._plan_default_interval()
        self._rounds.load_views(self._viewer())
        states = self._storage.feed_states(now=self._now(), due_only=not all_feeds)
        if states and not isinstance(self._executor, SerialExecutor):
            self._executor.warm_up()  # for Dask: connects, or raises ClusterError
        self._round = self._as_round(self._rounds.poll(states))
        return self._round

    def watch(
        self,
        *,
        idle: float = 1.0,
        on_idle: Callable[[datetime | None], None] | None = None,
    ) -> Iterator[FeedResult]:
        """Poll forever: whatever is due, as soon as it is due, until stop().

        ``idle`` bounds how long it sleeps between looks at the database, so
        that feeds added by another process are picked up. ``on_idle(next_due)``
        is called at each of those looks with nothing due (next_due: None when
        there is no feed to poll), from the thread that iterates.
        """
        self._check_open()
        self._lock_polling()
        self._end_round()
        self._plan_default_interval()
        self._rounds.load_views(self._viewer())
        if not isinstance(self._executor, SerialExecutor):
            self._executor.warm_up()
        self._rounds.on_idle = on_idle
        self._round = self._as_round(self._rounds.watch(idle))
        return self._round

    def _plan_default_interval(self) -> None:
        """This aggregator's default interval applies now to the feeds on the default."""

        db = self._storage.db
        # Not worth waiting for: another program's write (a backup) is for the
        # round to wait out, with what it has to store.
        db.execute("PRAGMA busy_timeout = 200")
        try:
            with transaction(db, self._storage.path):
                _subs.plan_default_interval(db, self.default_interval, now=self._now())
        except DatabaseLockedError:
            # Another program holds a write: each feed's next poll plans with
            # this interval anyway; `run` must not end for this.
            log.info("the database is locked: the default interval applies from each next poll")
        finally:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")

    def _as_round(
        self, results: Generator[FeedResult, None, None]
    ) -> Generator[FeedResult, None, None]:
        try:
            yield from results
        finally:
            results.close()
            self._rounds.new_stop_flag()


def _check_interval(name: str, value: object) -> None:
    # A float slipped past the range check (-5.0 was stored, and `run`
    # polled the feed without a pause); neither it nor "60" is a number of
    # seconds SQLite and the scheduler agree on.
    if type(value) is not int:
        raise TypeError(f"{name} must be a whole number of seconds, not {value!r}")
    if not 1 <= value <= LONGEST_INTERVAL:
        raise ValueError(f"{name} must be from 1 to {LONGEST_INTERVAL} seconds (a year)")


def _check_text(name: str, value: object) -> None:
    # Bytes were stored as a BLOB, and every command failed on them after.
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be text or None, not {type(value).__name__}")
    if value is not None and not is_utf8(value):
        raise ValueError(f"{name} holds bytes that are not UTF-8 text: {value!r}")


def _check_user_agent(user_agent: object) -> None:
    # Checked here, once: aiohttp refused it in every request, and every
    # feed of the round was backed off for an error of ours.
    if not isinstance(user_agent, str) or not user_agent.strip():
        raise ValueError(f"the user agent must be some text, not {user_agent!r}")
    if CONTROLS.search(user_agent) or "\n" in user_agent or "\r" in user_agent:
        raise ValueError(f"the user agent holds a control character: {user_agent!r}")
    if not is_utf8(user_agent):
        raise ValueError(f"the user agent holds bytes that are not UTF-8 text: {user_agent!r}")


def _title(title: str | None) -> str | None:
    """A title as stored: no control characters, stripped, and none when nothing is left."""
    return (without_controls(title).strip() or None) if title is not None else None
