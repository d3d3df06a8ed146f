"""Retention: which stored entries go, feed by feed.

    kept always   starred by anyone; served by the feed now (it would come back as new)
    unread        (by anyone) kept unread_days after first seen; forever by default
    read          (by everyone) kept read_days after first seen (60), and only
                  the newest max_per_feed of a feed (2,000)

Global values live in ``settings``; a feed's own override in ``feeds.keep_*``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from rssmania._storage import changes
from rssmania._storage.connection import to_text
from rssmania._storage.subscriptions import recount
from rssmania.types import RetentionPolicy

FIELDS = ("read_days", "unread_days", "max_per_feed")
_COLUMNS = {
    "read_days": "keep_read_days",
    "unread_days": "keep_unread_days",
    "max_per_feed": "keep_max",
}
_FOREVER = -1
"""A feed's own value that says forever (NULL: the global value)."""

Override = int | None | Literal["global"]


def policy(db: sqlite3.Connection) -> RetentionPolicy:
    stored = dict(db.execute("SELECT name, value FROM settings WHERE name LIKE 'retention.%'"))
    values: dict[str, int | None] = {}
    for field in FIELDS:
        text = stored.get(f"retention.{field}")
        if text is not None:
            values[field] = None if text == "never" else int(text)
    return RetentionPolicy(**values)


def set_policy(db: sqlite3.Connection, new: RetentionPolicy) -> None:
    for field in FIELDS:
        value = getattr(new, field)
        db.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (f"retention.{field}", "never" if value is None else str(value)),
        )


def feed_policy(db: sqlite3.Connection, feed_id: int) -> RetentionPolicy:
    """What applies to one feed: its own values over the global policy."""
    base = policy(db)
    row = db.execute(
        "SELECT keep_read_days, keep_unread_days, keep_max FROM feeds WHERE id = ?", (feed_id,)
    ).fetchone()
    own = row or (None, None, None)
    return RetentionPolicy(
        **{f: _value(v, getattr(base, f)) for f, v in zip(FIELDS, own, strict=True)}
    )


def set_feed_policy(db: sqlite3.Connection, feed_id: int, **values: Override) -> None:
    """A feed's own values: a number, None for forever, "global" for the global value."""
    for field, value in values.items():
        stored = None if value == "global" else _FOREVER if value is None else value
        db.execute(f"UPDATE feeds SET {_COLUMNS[field]} = ? WHERE id = ?", (stored, feed_id))


_CANDIDATES = """
WITH ranked AS (
    SELECT e.id, e.key, e.first_seen,
           row_number() OVER (ORDER BY e.sort_date DESC, e.id DESC) AS n
    FROM entries e WHERE e.feed_id = :feed
)
SELECT r.id FROM ranked r
WHERE NOT EXISTS (SELECT 1 FROM starred st WHERE st.entry_id = r.id
                  AND st.user_id IN (SELECT id FROM users))
  AND r.key NOT IN (SELECT value FROM json_each(coalesce(:served, '[]')))
  AND CASE WHEN EXISTS (SELECT 1 FROM unread u WHERE u.entry_id = r.id
                        AND u.user_id IN (SELECT id FROM users))
      THEN :unread_cut IS NOT NULL AND r.first_seen < :unread_cut
      ELSE (:read_cut IS NOT NULL AND r.first_seen < :read_cut)
           OR (:max IS NOT NULL AND r.n > :max)
      END
"""


def _value(override: int | None, default: int | None) -> int | None:
    if override is None:
        return default
    return None if override < 0 else override


CHUNK = 300
"""Entries deleted per transaction: each delete also leaves the search index, and a first
prune of a big database (700,000 entries) in one transaction held the write lock for
minutes, while the web reader's writes gave up after 10 s."""


def feed_ids(db: sqlite3.Connection) -> list[int]:
    return [row[0] for row in db.execute("SELECT id FROM feeds ORDER BY id")]


def prune_feed(
    db: sqlite3.Connection, feed_id: int, *, now: datetime, dry_run: bool
) -> tuple[int, bool]:
    """Delete (or count) what the policy lets go of one feed, CHUNK entries at most:
    (how many, whether more are left). In the caller's transaction."""
    base = policy(db)
    row = db.execute(
        "SELECT served, keep_read_days, keep_unread_days, keep_max FROM feeds WHERE id = ?",
        (feed_id,),
    ).fetchone()
    if row is None:
        return 0, False
    served, read_days, unread_days, keep_max = row
    read = _value(read_days, base.read_days)
    unread = _value(unread_days, base.unread_days)
    if read is None and unread is None and _value(keep_max, base.max_per_feed) is None:
        return 0, False  # keeps everything: nothing to look for
    params = {
        "feed": feed_id,
        "served": served,
        "read_cut": to_text(now - timedelta(days=read)) if read is not None else None,
        "unread_cut": to_text(now - timedelta(days=unread)) if unread is not None else None,
        "max": _value(keep_max, base.max_per_feed),
    }
    ids = [r[0] for r in db.execute(_CANDIDATES, params)]
    if dry_run or not ids:
        return len(ids), False
    chunk = ids[:CHUNK]
    db.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in chunk])
    for (user_id,) in db.execute(
        "SELECT user_id FROM subscriptions WHERE feed_id = ?", (feed_id,)
    ).fetchall():
        recount(db, user_id, [feed_id])
    return len(chunk), len(ids) > CHUNK


Write = Callable[[Callable[[sqlite3.Connection], Any]], Any]
"""Runs its argument in a write transaction of the caller's and returns what it returns."""


def prune_all(
    write: Write,
    feeds: Iterable[int],
    *,
    now: datetime,
    dry_run: bool,
    stopped: Callable[[], bool] = lambda: False,
) -> dict[int, int]:
    """Apply the policy to ``feeds``, a transaction a CHUNK (the poller and the web reader
    write in between), then prune the change log likewise; entries gone per feed id."""
    gone: dict[int, int] = {}
    for feed_id in feeds:
        more = True

        def chunk(db: sqlite3.Connection, feed: int = feed_id) -> tuple[int, bool]:
            return prune_feed(db, feed, now=now, dry_run=dry_run)

        while more and not stopped():
            count, more = write(chunk)
            if count:
                gone[feed_id] = gone.get(feed_id, 0) + count
    if not dry_run:
        while write(lambda db: changes.prune(db, now=now)) and not stopped():
            pass
    return gone
