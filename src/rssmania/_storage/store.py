"""``Storage``: feeds, entries and the outbox in one SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rssmania._decide import EntryWrite, FeedState, FeedWrite
from rssmania._storage.schema import migrate
from rssmania._urls import host_of
from rssmania.exceptions import FeedExistsError, FeedNotFoundError, StorageError
from rssmania.types import Enclosure, Entry, EntryChange, EntryStatus, Feed

_FEED_COLUMNS = (
    "url, title, link, user_title, category, added, last_checked, next_check, "
    "last_status, error_count, last_error, interval, next_check_reason, polls, "
    "not_modified_count, moved_from, disabled_reason"
)
# Feeds that may be polled: not stopped, and not on a host that asked us to wait.
_POLLABLE = (
    "disabled_reason IS NULL AND NOT EXISTS (SELECT 1 FROM hosts h "
    "WHERE h.name = feeds.host AND h.throttled_until > ?)"
)
_ENTRY_COLUMNS = (
    "f.url, coalesce(f.user_title, f.title), e.key, e.title, e.link, e.author, e.summary, "
    "e.content, e.enclosures, e.published, e.updated, e.first_seen, e.last_changed, e.status, "
    "e.read, e.starred"
)

# An upsert, so that replaying a result (a retry after a crash) converges on
# the same row instead of failing or duplicating. first_seen and sort_date are
# kept from the first sighting.
_UPSERT_ENTRY = """
    INSERT INTO entries (content_hash, title, link, author, summary, content, enclosures,
                         published, updated, feed_id, key, first_seen, last_changed, status,
                         sort_date)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (feed_id, key) DO UPDATE SET
        content_hash = excluded.content_hash, title = excluded.title, link = excluded.link,
        author = excluded.author, summary = excluded.summary, content = excluded.content,
        enclosures = excluded.enclosures, published = excluded.published,
        updated = excluded.updated, last_changed = excluded.last_changed,
        status = excluded.status
    RETURNING id, first_seen, read, starred
"""


class Unset:
    """The value of an option that was not given (None means 'clear it')."""


UNSET = Unset()


def to_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def to_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class Storage:
    """One connection, used from one thread: the aggregator's."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so that
            # each transaction is exactly what the code says it is.
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise StorageError(self.path, f"cannot open: {exc}") from exc
        if sqlite3.sqlite_version_info < (3, 35):  # for RETURNING
            self._db.close()
            raise StorageError(
                self.path, f"SQLite {sqlite3.sqlite_version} is too old (3.35 or newer is needed)"
            )
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable against a killed process (only a power cut can
            # lose the last transactions in WAL mode) and much faster than FULL.
            self._db.execute("PRAGMA synchronous = NORMAL")
            migrate(self._db)
        except sqlite3.Error as exc:
            self._db.close()
            raise StorageError(self.path, _explain(exc)) from exc

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; every sqlite3 error leaves as a StorageError."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                # SQLite may have rolled back already (disk full, I/O error).
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise StorageError(self.path, _explain(exc)) from exc

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(self.path, _explain(exc)) from exc

    # -- feeds ---------------------------------------------------------------

    def add_feeds(
        self,
        feeds: Iterable[tuple[str, str | None, str | None]],
        *,
        now: datetime,
        skip_existing: bool,
    ) -> list[str]:
        """Add (url, user_title, category) rows in one transaction; return the URLs added.

        A URL already subscribed is skipped, or with ``skip_existing=False``
        raises FeedExistsError and nothing is added.
        """
        added = []
        with self._transaction() as db:
            for url, title, category in feeds:
                cursor = db.execute(
                    "INSERT INTO feeds (url, user_title, category, added, host) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING",
                    (url, title, category, to_text(now), host_of(url)),
                )
                if cursor.rowcount:
                    added.append(url)
                elif not skip_existing:
                    raise FeedExistsError(url)
        return added

    def add_feed(self, url: str, *, title: str | None, category: str | None, now: datetime) -> Feed:
        self.add_feeds([(url, title, category)], now=now, skip_existing=False)
        return self.get_feed(url)

    def remove_feed(self, url: str) -> None:
        with self._transaction() as db:
            if not db.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount:
                raise FeedNotFoundError(url)

    def get_feed(self, url: str) -> Feed:
        rows = self._query(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ?", (url,))
        if not rows:
            raise FeedNotFoundError(url)
        return _feed(rows[0])

    def get_feed_by_id(self, feed_id: int) -> Feed:
        rows = self._query(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        if not rows:
            raise FeedNotFoundError(f"#{feed_id}")
        return _feed(rows[0])

    def get_feeds(self) -> list[Feed]:
        rows = self._query(
            f"SELECT {_FEED_COLUMNS} FROM feeds "
            "ORDER BY coalesce(category, ''), lower(coalesce(user_title, title, url)), url"
        )
        return [_feed(row) for row in rows]

    def feed_states(self, *, now: datetime, due_only: bool) -> list[FeedState]:
        """Feeds that may be polled (due at ``now`` with ``due_only``), longest-waiting first.

        Stopped feeds (410 Gone) and feeds of a throttled host are never listed.
        """
        sql = (
            "SELECT id, url, etag, last_modified, error_count, interval, body_hash, "
            f"interval_hint, redirect_url, redirect_streak FROM feeds WHERE {_POLLABLE}"
        )
        params: tuple[str, ...] = (to_text(now),)
        if due_only:
            sql += " AND (next_check IS NULL OR next_check <= ?)"
            params += (to_text(now),)
        sql += " ORDER BY coalesce(next_check, ''), id"
        return [FeedState(*row) for row in self._query(sql, params)]

    def next_due(self) -> datetime | None:
        """When the next feed comes due (a throttled host's feeds: when the host is free)."""
        rows = self._query(
            "SELECT min(max(coalesce(f.next_check, ''), coalesce(h.throttled_until, ''))) "
            "FROM feeds f LEFT JOIN hosts h ON h.name = f.host WHERE f.disabled_reason IS NULL"
        )
        value = rows[0][0]
        if value is None:
            return None  # no feeds at all
        return datetime.min.replace(tzinfo=UTC) if value == "" else to_datetime(value)

    def throttle_host(self, host: str, *, until: datetime, reason: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO hosts (name, throttled_until, reason) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET "
                "throttled_until = max(throttled_until, excluded.throttled_until), "
                "reason = excluded.reason",
                (host, to_text(until), reason),
            )

    def host_throttles(self, *, now: datetime) -> dict[str, tuple[datetime, str]]:
        rows = self._query(
            "SELECT name, throttled_until, reason FROM hosts WHERE throttled_until > ?",
            (to_text(now),),
        )
        return {name: (datetime.fromisoformat(until), reason) for name, until, reason in rows}

    def set_feed(
        self,
        url: str,
        *,
        interval: int | Unset | None,
        title: str | Unset | None,
        category: str | Unset | None,
        enabled: bool | Unset,
        now: datetime,
    ) -> Feed:
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)).fetchone():
                raise FeedNotFoundError(url)
            for column, value in (
                ("interval", interval),
                ("user_title", title),
                ("category", category),
            ):
                if not isinstance(value, Unset):
                    db.execute(f"UPDATE feeds SET {column} = ? WHERE url = ?", (value, url))
            if enabled is True:
                # Resuming a stopped feed, or changing its interval: poll it soon.
                db.execute(
                    "UPDATE feeds SET disabled_reason = NULL, error_count = 0, next_check = ?, "
                    "next_check_reason = 'resumed' WHERE url = ?",
                    (to_text(now), url),
                )
            elif enabled is False:
                db.execute(
                    "UPDATE feeds SET disabled_reason = 'paused by you' WHERE url = ?", (url,)
                )
        return self.get_feed(url)

    # -- one poll result -----------------------------------------------------

    def entry_hashes(self, feed_id: int) -> dict[str, str]:
        rows = self._query("SELECT key, content_hash FROM entries WHERE feed_id = ?", (feed_id,))
        return dict(rows)

    def apply(self, write: FeedWrite, *, outbox: bool) -> list[EntryChange] | None:
        """Store one feed's poll result in one transaction; return the changes committed.

        None when the feed no longer exists.
        """
        checked = to_text(write.checked)
        row_ids: list[int] = []
        stored: list[tuple[str, int, int]] = []
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM feeds WHERE id = ?", (write.feed_id,)).fetchone():
                return None  # removed by another process while it was polled
            for item in write.entries:
                e = item.entry
                enclosures = json.dumps([[x.href, x.type, x.length] for x in e.enclosures])
                values = (
                    e.content_hash, e.title, e.link, e.author, e.summary, e.content, enclosures,
                    _opt(e.published), _opt(e.updated),
                )  # fmt: skip
                cursor = db.execute(
                    _UPSERT_ENTRY,
                    (*values, write.feed_id, e.key, checked, checked, item.status.value,
                     to_text(item.sort_date)),
                )  # fmt: skip
                row_id, first_seen, read, starred = cursor.fetchone()
                row_ids.append(row_id)
                stored.append((first_seen, read, starred))
            if write.validators is not None:
                db.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ?, body_hash = ?, "
                    "interval_hint = ? WHERE id = ?",
                    (*write.validators, write.body_hash, write.interval_hint, write.feed_id),
                )
            db.execute(
                "UPDATE feeds SET title = coalesce(?, title), link = coalesce(?, link), "
                "last_checked = ?, next_check = ?, next_check_reason = ?, last_status = ?, "
                "error_count = ?, last_error = ?, polls = polls + 1, "
                "not_modified_count = not_modified_count + ?, redirect_url = ?, "
                "redirect_streak = ?, disabled_reason = coalesce(?, disabled_reason) "
                "WHERE id = ?",
                (
                    write.title,
                    write.link,
                    checked,
                    to_text(write.next_check),
                    write.next_check_reason,
                    write.http_status,
                    write.error_count,
                    write.error.message if write.error else None,
                    int(write.not_modified),
                    *write.redirect,
                    write.disabled_reason,
                    write.feed_id,
                ),
            )
            if write.move_to is not None:
                # Unless the new URL is subscribed already: then both stay as they are.
                db.execute(
                    "UPDATE feeds SET moved_from = url, url = ?, host = ? WHERE id = ? "
                    "AND NOT EXISTS (SELECT 1 FROM feeds WHERE url = ?)",
                    (write.move_to, host_of(write.move_to), write.feed_id, write.move_to),
                )
            feed_url, feed_title = db.execute(
                "SELECT url, coalesce(user_title, title) FROM feeds WHERE id = ?", (write.feed_id,)
            ).fetchone()
            seqs = []
            if outbox:
                for row_id in row_ids:
                    cursor = db.execute(
                        "INSERT INTO outbox (entry_id) VALUES (?) RETURNING seq", (row_id,)
                    )
                    seqs.append(cursor.fetchone()[0])
            else:
                seqs = [0] * len(row_ids)
        return [
            EntryChange(seq, _written_entry(feed_url, feed_title, item, *row, checked))
            for seq, item, row in zip(seqs, write.entries, stored, strict=True)
        ]

    # -- entries and the outbox ----------------------------------------------

    def get_entries(self, *, feed_url: str | None, limit: int | None) -> list[Entry]:
        sql = f"SELECT {_ENTRY_COLUMNS} FROM entries e JOIN feeds f ON f.id = e.feed_id"
        params: list[Any] = []
        if feed_url is not None:
            feed_id = self._query("SELECT id FROM feeds WHERE url = ?", (feed_url,))
            if not feed_id:
                raise FeedNotFoundError(feed_url)
            sql += " WHERE e.feed_id = ?"
            params.append(feed_id[0][0])
        sql += " ORDER BY e.sort_date DESC, e.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_entry(row) for row in self._query(sql, params)]

    def pending_changes(self) -> list[EntryChange]:
        rows = self._query(
            f"SELECT o.seq, {_ENTRY_COLUMNS} FROM outbox o JOIN entries e ON e.id = o.entry_id "
            "JOIN feeds f ON f.id = e.feed_id ORDER BY o.seq"
        )
        return [EntryChange(row[0], _entry(row[1:])) for row in rows]

    def ack_changes(self, up_to_seq: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM outbox WHERE seq <= ?", (up_to_seq,))


def _opt(value: datetime | None) -> str | None:
    return None if value is None else to_text(value)


def _written_entry(
    feed_url: str,
    feed_title: str | None,
    item: EntryWrite,
    first_seen: str,
    read: int,
    starred: int,
    checked: str,
) -> Entry:
    e = item.entry
    return Entry(
        feed_url=feed_url,
        feed_title=feed_title,
        id=e.key,
        title=e.title,
        link=e.link,
        author=e.author,
        summary=e.summary,
        content=e.content,
        enclosures=e.enclosures,
        published=e.published,
        updated=e.updated,
        first_seen=datetime.fromisoformat(first_seen),
        last_changed=datetime.fromisoformat(checked),
        status=item.status,
        read=bool(read),
        starred=bool(starred),
    )


def _feed(row: tuple[Any, ...]) -> Feed:
    (url, title, link, user_title, category, added, last_checked, next_check,
     last_status, error_count, last_error, interval, next_check_reason, polls,
     not_modified_count, moved_from, disabled_reason) = row  # fmt: skip
    added_at = to_datetime(added)
    assert added_at is not None
    return Feed(
        url=url,
        title=title,
        link=link,
        user_title=user_title,
        category=category,
        added=added_at,
        last_checked=to_datetime(last_checked),
        next_check=to_datetime(next_check),
        last_status=last_status,
        error_count=error_count,
        last_error=last_error,
        interval=interval,
        next_check_reason=next_check_reason,
        polls=polls,
        not_modified_count=not_modified_count,
        moved_from=moved_from,
        disabled_reason=disabled_reason,
    )


def _entry(row: tuple[Any, ...]) -> Entry:
    (feed_url, feed_title, key, title, link, author, summary, content, enclosures,
     published, updated, first_seen, last_changed, status, read, starred) = row  # fmt: skip
    return Entry(
        feed_url=feed_url,
        feed_title=feed_title,
        id=key,
        title=title,
        link=link,
        author=author,
        summary=summary,
        content=content,
        enclosures=tuple(Enclosure(*x) for x in json.loads(enclosures)),
        published=to_datetime(published),
        updated=to_datetime(updated),
        first_seen=to_datetime(first_seen) or datetime.min.replace(tzinfo=UTC),
        last_changed=to_datetime(last_changed) or datetime.min.replace(tzinfo=UTC),
        status=EntryStatus(status),
        read=bool(read),
        starred=bool(starred),
    )


def _explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "file is not a database" in text:
        return "not an rssmania database (file is not a database)"
    if "locked" in text or "busy" in text:
        return "the database is locked by another process"
    if "readonly" in text or "unable to open" in text:
        return f"cannot write the database: {text}"
    return text
