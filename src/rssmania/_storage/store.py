"""``Storage``: the poll side's writer: feeds due, poll results, and the change log.

Subscriptions, users and reading state are the sibling modules' (shared with
the read side, ``rssmania.Library``); this connection belongs to one thread,
the aggregator's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rssmania._intents import FeedState, FeedWrite
from rssmania._pace import Pace
from rssmania._storage import changes
from rssmania._storage.connection import connect, query, to_datetime, to_text, transaction
from rssmania._storage.rows import FEED_COLUMNS, NO_DATE, feed_from_row
from rssmania._urls import host_of
from rssmania.exceptions import FeedNotFoundError
from rssmania.types import Entry, EntryChange, EntryStatus, Feed

# Feeds that may be polled: someone follows them unpaused, they are not
# stopped, their host has not asked us to wait, and neither have they
# (Retry-After): a server's explicit request holds even for `update --all`.
_POLLABLE = (
    "disabled_reason IS NULL AND EXISTS (SELECT 1 FROM subscriptions s "
    "WHERE s.feed_id = feeds.id AND NOT s.paused) AND NOT EXISTS (SELECT 1 FROM hosts h "
    "WHERE h.name = feeds.host AND h.throttled_until > ?) "
    "AND (not_before IS NULL OR not_before <= ?)"
)

_INSERT_ENTRY = """
    INSERT INTO entries (content_hash, title, link, author, summary, content, enclosures,
                         published, updated, feed_id, key, first_seen, last_changed, status,
                         sort_date)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# An upsert, so that replaying a result (a retry after a crash) converges on
# the same row instead of failing or duplicating. first_seen and sort_date are
# kept from the first sighting.
_UPSERT_ENTRY = (
    _INSERT_ENTRY
    + """
    ON CONFLICT (feed_id, key) DO UPDATE SET
        content_hash = excluded.content_hash, title = excluded.title, link = excluded.link,
        author = excluded.author, summary = excluded.summary, content = excluded.content,
        enclosures = excluded.enclosures, published = excluded.published,
        updated = excluded.updated, last_changed = excluded.last_changed,
        status = excluded.status,
        previous_hash = CASE entries.content_hash WHEN excluded.content_hash
                        THEN entries.previous_hash ELSE entries.content_hash END
    RETURNING id, first_seen
"""
)


class Storage:
    """One connection, used from one thread: the aggregator's."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.db = connect(self.path)
        # Statement journals in memory: the round's multi-row statements
        # (the unread rows and the change log of each feed) wrote theirs to
        # temporary files, two thirds of a cold round's 380,000 writes and a
        # third of its system time. They are small; the read side's large
        # sorts are on other connections.
        self.db.execute("PRAGMA temp_store = MEMORY")

    def close(self) -> None:
        self.db.close()

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return query(self.db, self.path, sql, params)

    def feed_states(self, *, now: datetime, due_only: bool) -> list[FeedState]:
        """Feeds that may be polled (due at ``now`` with ``due_only``), longest-waiting first.

        Stopped feeds (410 Gone), feeds everyone paused, and feeds of a
        throttled host are never listed.
        """
        sql = (
            "SELECT id, url, etag, last_modified, error_count, interval, body_hash, "
            f"interval_hint, redirect_url, redirect_streak FROM feeds WHERE {_POLLABLE}"
        )
        params: tuple[str, ...] = (to_text(now), to_text(now))
        if due_only:
            sql += " AND (next_check IS NULL OR next_check <= ?)"
            params += (to_text(now),)
        sql += " ORDER BY coalesce(next_check, ''), id"
        return [FeedState(*row) for row in self._query(sql, params)]

    def next_due(self) -> datetime | None:
        """When the next feed comes due (a throttled host's feeds: when the host is free)."""
        rows = self._query(
            "SELECT min(max(coalesce(f.next_check, ''), coalesce(h.throttled_until, ''))) "
            "FROM feeds f LEFT JOIN hosts h ON h.name = f.host WHERE f.disabled_reason IS NULL "
            "AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id AND NOT s.paused)"
        )
        value = rows[0][0]
        if value is None:
            return None  # no feeds at all
        return datetime.min.replace(tzinfo=UTC) if value == "" else to_datetime(value)

    def throttle_host(self, host: str, *, until: datetime, reason: str) -> None:
        with transaction(self.db, self.path) as db:
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
        return {
            name: (until, reason)
            for name, text, reason in rows
            if (until := to_datetime(text)) is not None
        }

    def host_paces(self) -> dict[str, Pace]:
        """Each host's pace as the last run left it (``rssmania._pace``)."""
        rows = self._query("SELECT name, delay, latency, fastest, floor, since FROM host_paces")
        return {
            name: Pace(delay=delay, latency=latency, fastest=fastest, floor=floor, since=since)
            for name, delay, latency, fastest, floor, since in rows
        }

    def save_paces(self, paces: dict[str, Pace], *, now: datetime) -> None:
        if not paces:
            return
        with transaction(self.db, self.path) as db:
            db.executemany(
                "INSERT OR REPLACE INTO host_paces (name, delay, latency, fastest, floor, "
                "since, learned) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (host, p.delay, p.latency, p.fastest, p.floor, p.since, to_text(now))
                    for host, p in paces.items()
                ],
            )

    def get_feed_by_id(self, feed_id: int) -> Feed:
        rows = self._query(f"SELECT {FEED_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        if not rows:
            raise FeedNotFoundError(f"#{feed_id}")
        return feed_from_row(rows[0])

    # -- one poll result -----------------------------------------------------

    def entry_hashes(self, feed_id: int) -> dict[str, str]:
        return self.entry_versions(feed_id)[0]

    def entry_versions(self, feed_id: int) -> tuple[dict[str, str], dict[str, str]]:
        """Each stored entry's content hash, and the one it had before its last change."""
        rows = self._query(
            "SELECT key, content_hash, previous_hash FROM entries WHERE feed_id = ?", (feed_id,)
        )
        return {key: now for key, now, _ in rows}, {key: was for key, _, was in rows if was}

    def apply_many(self, writes: Sequence[FeedWrite], *, announce: bool) -> list[Applied | None]:
        """Store several feeds' poll results in one transaction; None for a feed removed meanwhile.

        Each feed's result is still whole or absent (a kill rolls the whole
        group back, and those feeds stay due). Grouping is what makes the
        writes cheap: every commit rewrites the pages that each feed touches
        (the feeds table, index roots, the change log) and a checkpoint
        follows every few MB of those; one commit per feed wrote 9 KB of WAL
        per entry, one per 32 feeds 1.5 KB, and took half the CPU.
        ``announce`` marks the changes for the command line to print.
        """
        with transaction(self.db, self.path) as db:
            return [_apply_one(db, write, announce) for write in writes]

    # -- the command line's printing -------------------------------------------

    def pending_changes(self, user_id: int | None) -> list[EntryChange]:
        return changes.to_print(self.db, self.path, user_id)

    def ack_changes(self, up_to_seq: int, *, now: datetime) -> None:
        with transaction(self.db, self.path) as db:
            changes.move_cursor(db, changes.PRINT, up_to_seq, now=now)


_FEED_UPDATE = (
    "UPDATE feeds SET title = coalesce(?, title), link = coalesce(?, link), "
    "last_checked = ?, next_check = ?, next_check_reason = ?, last_status = ?, "
    "error_count = ?, last_error = ?, polls = polls + 1, "
    "not_modified_count = not_modified_count + ?, redirect_url = ?, "
    "redirect_streak = ?, disabled_reason = coalesce(?, disabled_reason), "
    "not_before = ?{validators} "
    f"WHERE id = ? RETURNING {FEED_COLUMNS}"
)
_UPDATE_KEEPING_VALIDATORS = _FEED_UPDATE.format(validators="")
_UPDATE_WITH_VALIDATORS = _FEED_UPDATE.format(
    validators=", etag = ?, last_modified = ?, body_hash = ?, interval_hint = ?, "
    "served = coalesce(?, served)"
)


@dataclass(frozen=True)
class Applied:
    """One feed's result, as committed: the feed after it, and its new or updated entries."""

    feed: Feed
    changes: list[EntryChange]


def _apply_one(db: sqlite3.Connection, write: FeedWrite, announce: bool) -> Applied | None:
    checked = to_text(write.checked)
    params: tuple[Any, ...] = (
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
        _opt(write.not_before),
    )
    if write.validators is None:
        row = db.execute(_UPDATE_KEEPING_VALIDATORS, (*params, write.feed_id)).fetchone()
    else:
        served = json.dumps(write.served) if write.served is not None else None
        row = db.execute(
            _UPDATE_WITH_VALIDATORS,
            (*params, *write.validators, write.body_hash, write.interval_hint, served,
             write.feed_id),
        ).fetchone()  # fmt: skip
    if row is None:
        return None  # removed by another process while it was polled
    if write.move_to is not None:
        # Unless the new URL is subscribed already: then both stay as they are.
        row = (
            db.execute(
                "UPDATE feeds SET moved_from = url, url = ?, host = ? WHERE id = ? "
                f"AND NOT EXISTS (SELECT 1 FROM feeds WHERE url = ?) RETURNING {FEED_COLUMNS}",
                (write.move_to, host_of(write.move_to), write.feed_id, write.move_to),
            ).fetchone()
            or row
        )
    feed = feed_from_row(row)
    reported: list[tuple[int, Entry]] = []
    logged: list[tuple[int, str]] = []
    fresh: list[tuple[int, str]] = []
    for item in write.entries:
        e = item.entry
        published = _opt(e.published)
        # Most feeds give one date: formatting dates was a tenth of storing.
        updated = published if e.updated == e.published else _opt(e.updated)
        sort_date = (
            published
            if published is not None and item.sort_date is e.published
            else to_text(item.sort_date)
        )
        enclosures = (
            json.dumps([[x.href, x.type, x.length] for x in e.enclosures]) if e.enclosures else "[]"
        )
        values = (e.content_hash, e.title, e.link, e.author, e.summary, e.content, enclosures,
                  published, updated, write.feed_id, e.key, checked, checked, item.status.value,
                  sort_date)  # fmt: skip
        row_id: int | None = None
        if item.status is EntryStatus.NEW:
            # A plain insert and lastrowid cost half an upsert with RETURNING,
            # and a new entry's other columns are known: first seen now, unread.
            with suppress(sqlite3.IntegrityError):  # stored after all: upsert below
                row_id = db.execute(_INSERT_ENTRY, values).lastrowid
        if row_id is None:
            row_id, first_seen = db.execute(_UPSERT_ENTRY, values).fetchone()
        else:
            first_seen = checked
        assert row_id is not None
        if first_seen == checked and item.status is EntryStatus.NEW:
            fresh.append((row_id, sort_date))
        # Every stored change goes to the log (the search index reads the
        # quiet ones too); only reported ones are announced.
        logged.append((row_id, item.status.value))
        if item.quiet:
            continue  # stored, not reported (see EntryWrite.quiet)
        # An entry seen before keeps its first sighting.
        seen = write.checked if first_seen == checked else to_datetime(first_seen) or NO_DATE
        entry = Entry(
            feed_url=feed.url,
            feed_title=feed.title,
            id=e.key,
            title=e.title,
            link=e.link,
            author=e.author,
            summary=e.summary,
            content=e.content,
            enclosures=e.enclosures,
            published=e.published,
            updated=e.updated,
            first_seen=seen,
            last_changed=write.checked,
            status=item.status,
            entry_id=row_id,
            feed_id=write.feed_id,
        )
        reported.append((row_id, entry))
    if write.entries:
        # Counted from the feed's own index (tens of rows): exact whichever way
        # each entry went in.
        db.execute(
            "UPDATE feeds SET entry_count = "
            "(SELECT count(*) FROM entries WHERE feed_id = ?1) WHERE id = ?1",
            (write.feed_id,),
        )
    if fresh:
        _unread_for_subscribers(db, write.feed_id, fresh)
        db.execute("UPDATE feeds SET last_new = ? WHERE id = ?", (checked, write.feed_id))
    seqs: dict[int, int] = {}
    if logged:
        quiet = {row_id for row_id, _ in logged} - {row_id for row_id, _ in reported}
        seqs = changes.append(
            db, [(i, kind, announce and i not in quiet) for i, kind in logged], at=checked
        )
    return Applied(feed, [EntryChange(seqs.get(row_id, 0), entry) for row_id, entry in reported])


def _unread_for_subscribers(
    db: sqlite3.Connection, feed_id: int, fresh: list[tuple[int, str]]
) -> None:
    """New entries are unread for everyone who follows the feed: one statement per feed."""
    # Per entry and subscriber, these two statements took 0.08 s for 60,000
    # entries (a cold round of 2,000 feeds); a trigger per row, 0.12 s.
    db.execute(
        "INSERT OR IGNORE INTO unread (user_id, entry_id, feed_id, sort_date) "
        "SELECT s.user_id, json_extract(j.value, '$[0]'), s.feed_id, json_extract(j.value, '$[1]') "
        "FROM subscriptions s, json_each(?) j WHERE s.feed_id = ?",
        (json.dumps(fresh), feed_id),
    )
    db.execute(
        "UPDATE subscriptions SET unread = (SELECT count(*) FROM unread u "
        "WHERE u.user_id = subscriptions.user_id AND u.feed_id = subscriptions.feed_id) "
        "WHERE feed_id = ?",
        (feed_id,),
    )


def _opt(value: datetime | None) -> str | None:
    return None if value is None else to_text(value)
