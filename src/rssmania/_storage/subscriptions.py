"""Subscriptions: one user's view of a shared feed (title, category, paused).

A URL is one row of ``feeds``, polled once and its entries stored once,
however many users follow it; the feed goes when its last follower does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta

from rssmania._storage.connection import to_datetime, to_text
from rssmania._storage.rows import SUBSCRIPTION_COLUMNS, feed_from_row
from rssmania._urls import host_of
from rssmania.exceptions import FeedExistsError, FeedNotFoundError
from rssmania.types import Feed, FeedSummary, Unset

_ORDER = "ORDER BY coalesce(s.category, ''), lower(coalesce(s.title, f.title, f.url)), f.url"


def add(
    db: sqlite3.Connection,
    user_id: int,
    feeds: Iterable[tuple[str, str | None, str | None]],
    *,
    now: datetime,
    skip_existing: bool,
) -> list[str]:
    """Subscribe ``user_id`` to (url, title, category) rows; return the URLs added.

    A URL the user follows already is skipped, or with ``skip_existing=False``
    raises FeedExistsError. A URL someone else follows is shared: its stored
    entries are the new subscriber's, unread.
    """
    added = []
    stamp = to_text(now)
    for url, title, category in feeds:
        db.execute(
            "INSERT INTO feeds (url, added, host) VALUES (?, ?, ?) ON CONFLICT (url) DO NOTHING",
            (url, stamp, host_of(url)),
        )
        (feed_id,) = db.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
        cursor = db.execute(
            "INSERT INTO subscriptions (user_id, feed_id, title, category, added) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (user_id, feed_id, title, category, stamp),
        )
        if not cursor.rowcount:
            if not skip_existing:
                raise FeedExistsError(url)
            continue
        added.append(url)
        db.execute(
            "INSERT OR IGNORE INTO unread (user_id, entry_id, feed_id, sort_date) "
            "SELECT ?, id, feed_id, sort_date FROM entries WHERE feed_id = ?",
            (user_id, feed_id),
        )
        recount(db, user_id, [feed_id])
    return added


def recount(db: sqlite3.Connection, user_id: int, feed_ids: Iterable[int]) -> None:
    """Set the unread counts of these subscriptions from the unread rows (an index range each)."""
    db.executemany(
        "UPDATE subscriptions SET unread = (SELECT count(*) FROM unread u "
        "WHERE u.user_id = ?1 AND u.feed_id = ?2) WHERE user_id = ?1 AND feed_id = ?2",
        [(user_id, feed_id) for feed_id in set(feed_ids)],
    )


def feed_id(db: sqlite3.Connection, user_id: int, url: str) -> int:
    row = db.execute(
        "SELECT f.id FROM feeds f JOIN subscriptions s ON s.feed_id = f.id AND s.user_id = ? "
        "WHERE f.url = ?",
        (user_id, url),
    ).fetchone()
    if row is None:
        raise FeedNotFoundError(url)
    return int(row[0])


def remove(db: sqlite3.Connection, user_id: int, url: str) -> None:
    """Unsubscribe; the feed and its entries go when nobody follows it any more."""
    fid = feed_id(db, user_id, url)
    db.execute("DELETE FROM unread WHERE user_id = ? AND feed_id = ?", (user_id, fid))
    db.execute("DELETE FROM starred WHERE user_id = ? AND feed_id = ?", (user_id, fid))
    db.execute("DELETE FROM subscriptions WHERE user_id = ? AND feed_id = ?", (user_id, fid))
    drop_unfollowed_feeds(db)


def drop_unfollowed_feeds(db: sqlite3.Connection) -> None:
    # Entries go with their feed (ON DELETE CASCADE), and their search rows
    # and other users' state with them (the entries_deleted trigger).
    db.execute(
        "DELETE FROM feeds WHERE NOT EXISTS (SELECT 1 FROM subscriptions s "
        "WHERE s.feed_id = feeds.id)"
    )


def get(db: sqlite3.Connection, user_id: int, url: str) -> Feed:
    return _one(db, user_id, "f.url = ?", url, url)


def get_by_id(db: sqlite3.Connection, user_id: int, fid: int) -> Feed:
    return _one(db, user_id, "f.id = ?", fid, f"#{fid}")


def _one(db: sqlite3.Connection, user_id: int, where: str, value: object, name: str) -> Feed:
    # Through the user's subscription: another user's feed is not found, by URL or id.
    row = db.execute(
        f"SELECT {SUBSCRIPTION_COLUMNS} FROM feeds f JOIN subscriptions s "
        f"ON s.feed_id = f.id AND s.user_id = ? WHERE {where}",
        (user_id, value),
    ).fetchone()
    if row is None:
        raise FeedNotFoundError(name)
    return feed_from_row(row)


def all_of(db: sqlite3.Connection, user_id: int) -> list[Feed]:
    rows = db.execute(
        f"SELECT {SUBSCRIPTION_COLUMNS} FROM feeds f JOIN subscriptions s "
        f"ON s.feed_id = f.id WHERE s.user_id = ? {_ORDER}",
        (user_id,),
    ).fetchall()
    return [feed_from_row(row) for row in rows]


def update(
    db: sqlite3.Connection,
    user_id: int,
    url: str,
    *,
    interval: int | Unset | None,
    title: str | Unset | None,
    category: str | Unset | None,
    enabled: bool | Unset,
    now: datetime,
    default_interval: int,
) -> None:
    """Change a subscription (title, category, paused) and its feed's interval."""
    fid = feed_id(db, user_id, url)
    for column, value in (("title", title), ("category", category)):
        if not isinstance(value, Unset):
            db.execute(
                f"UPDATE subscriptions SET {column} = ? WHERE user_id = ? AND feed_id = ?",
                (value, user_id, fid),
            )
    if not isinstance(interval, Unset):
        # The poll interval is the feed's: one poll serves every follower.
        db.execute("UPDATE feeds SET interval = ? WHERE id = ?", (interval, fid))
        plan_interval(db, fid, interval or default_interval, now=now)
    if enabled is True:
        db.execute(
            "UPDATE subscriptions SET paused = 0 WHERE user_id = ? AND feed_id = ?", (user_id, fid)
        )
        # Resuming a stopped feed: poll it soon.
        db.execute(
            "UPDATE feeds SET disabled_reason = NULL, error_count = 0, next_check = ?, "
            "next_check_reason = 'resumed' WHERE id = ?",
            (to_text(now), fid),
        )
    elif enabled is False:
        db.execute(
            "UPDATE subscriptions SET paused = 1 WHERE user_id = ? AND feed_id = ?", (user_id, fid)
        )


def plan_interval(db: sqlite3.Connection, fid: int, interval: int, *, now: datetime) -> None:
    """A shorter interval applies now, not after the check the old one planned
    (a day away, say); a longer one from that check on."""
    row = db.execute("SELECT last_checked, next_check FROM feeds WHERE id = ?", (fid,)).fetchone()
    if row is None:
        return
    last_checked, next_check = map(to_datetime, row)
    if last_checked and next_check:
        due = last_checked + timedelta(seconds=interval)
        if due < next_check:
            db.execute(
                "UPDATE feeds SET next_check = ?, next_check_reason = 'interval' WHERE id = ?",
                (to_text(max(due, now)), fid),
            )


def plan_default_interval(db: sqlite3.Connection, interval: int, *, now: datetime) -> int:
    """Feeds on the default interval are checked ``interval`` after their last check,
    when an earlier, longer default planned them later; how many moved.

    `run --interval 60` left a feed polled a minute before on the old 30
    minutes. Backoff, Retry-After and publishers' hints stay as planned.
    """
    rows = db.execute(
        "SELECT id, last_checked, next_check FROM feeds WHERE interval IS NULL "
        "AND next_check_reason = 'interval' AND disabled_reason IS NULL"
    ).fetchall()
    moved = []
    for fid, last_checked, next_check in rows:
        last, planned = to_datetime(last_checked), to_datetime(next_check)
        if last is not None and planned is not None:
            due = last + timedelta(seconds=interval)
            if due < planned:
                moved.append((to_text(max(due, now)), fid))
    db.executemany("UPDATE feeds SET next_check = ? WHERE id = ?", moved)
    return len(moved)


def categories(db: sqlite3.Connection, user_id: int) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT category FROM subscriptions WHERE user_id = ? "
        "AND category IS NOT NULL ORDER BY category",
        (user_id,),
    ).fetchall()
    return [row[0] for row in rows]


def views(db: sqlite3.Connection, user_id: int) -> dict[int, tuple[str | None, str | None]]:
    """Each of the user's feeds: their own title and category."""
    rows = db.execute(
        "SELECT feed_id, title, category FROM subscriptions WHERE user_id = ?", (user_id,)
    ).fetchall()
    return {feed_id: (title, category) for feed_id, title, category in rows}


def summaries(db: sqlite3.Connection, user_id: int) -> list[FeedSummary]:
    rows = db.execute(
        "SELECT f.id, coalesce(s.title, f.title, f.url), s.category, s.unread, "
        "f.error_count = 0 AND f.disabled_reason IS NULL AND NOT s.paused "
        f"FROM feeds f JOIN subscriptions s ON s.feed_id = f.id WHERE s.user_id = ? {_ORDER}",
        (user_id,),
    ).fetchall()
    return [
        FeedSummary(i, title, category, unread, bool(ok)) for i, title, category, unread, ok in rows
    ]


def totals(db: sqlite3.Connection, user_id: int) -> dict[int, int]:
    """Entries stored per feed of the user's, read or not."""
    rows = db.execute(
        "SELECT f.id, f.entry_count FROM subscriptions s JOIN feeds f ON f.id = s.feed_id "
        "WHERE s.user_id = ?",
        (user_id,),
    )
    return dict(rows)
