"""What the poller says of itself to readers in other processes: hosts that asked us to
wait, the round in progress, a feed asked for now."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from rssmania._storage.connection import to_datetime, to_text

PROGRESS = "poll.progress"


def throttled_hosts(db: sqlite3.Connection, *, now: datetime) -> dict[str, tuple[datetime, str]]:
    rows = db.execute(
        "SELECT name, throttled_until, reason FROM hosts WHERE throttled_until > ?",
        (to_text(now),),
    ).fetchall()
    return {n: (d, r) for n, t, r in rows if (d := to_datetime(t)) is not None}


def publish_progress(db: sqlite3.Connection, progress: dict[str, object]) -> None:
    db.execute(
        "INSERT INTO settings (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (PROGRESS, json.dumps(progress)),
    )


def progress(db: sqlite3.Connection) -> dict[str, object] | None:
    row = db.execute("SELECT value FROM settings WHERE name = ?", (PROGRESS,)).fetchone()
    found = json.loads(row[0]) if row else None
    return found if isinstance(found, dict) else None


def poll_soon(db: sqlite3.Connection, feed_id: int, *, now: datetime) -> None:
    """Due now, unless stopped or inside a server's Retry-After (its request outranks ours)."""
    db.execute(
        "UPDATE feeds SET next_check = ?, next_check_reason = 'asked for' "
        "WHERE id = ? AND disabled_reason IS NULL "
        "AND coalesce(next_check_reason, '') != 'Retry-After'",
        (to_text(now), feed_id),
    )


def newest_entry_id(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT max(id) FROM entries").fetchone()[0] or 0)


def feed_urls(db: sqlite3.Connection) -> dict[int, str]:
    return dict(db.execute("SELECT id, url FROM feeds").fetchall())
