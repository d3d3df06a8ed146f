"""The full-text index, fed from the change log by its own cursor.

Kept apart from the poll's transactions: a round stores entries, and the
index catches up after it (``catch_up``), in batches of its own; a kill
between the two repeats a batch, never loses one. Entries deleted from
``entries`` leave the index by a trigger (schema 5).
"""

from __future__ import annotations

import html
import re
import sqlite3
from datetime import datetime

from rssmania._storage import changes
from rssmania._storage.connection import transaction

BATCH = 300
"""Changes indexed per transaction: each holds the write lock for a few tens of ms, so
that a reader's mark-read waits that long at most (2,000 held it for 200-300 ms)."""

# Summaries and content are sanitized HTML (nh3) when stored: well-formed,
# no script or style text, so dropping tags leaves the words.
_TAG = re.compile(r"<[^>]*>")


def text_of(fragment: str | None) -> str:
    if not fragment:
        return ""
    return (
        html.unescape(_TAG.sub(" ", fragment)) if "<" in fragment or "&" in fragment else fragment
    )


def catch_up(db: sqlite3.Connection, path: str, *, now: datetime, limit: int | None = None) -> int:
    """Index what the log holds past the search cursor; how many changes were read."""
    done = 0
    while limit is None or done < limit:
        with transaction(db, path):
            batch = index_batch(db, now=now)
        if not batch:
            return done
        done += batch
    return done


def index_batch(db: sqlite3.Connection, *, now: datetime) -> int:
    """Index the next BATCH changes, in the caller's transaction; how many were read."""
    start = changes.cursor(db, changes.SEARCH)
    rows = db.execute(
        "SELECT c.seq, c.entry_id, e.title, e.author, e.summary, e.content "
        "FROM changes c LEFT JOIN entries e ON e.id = c.entry_id "
        "WHERE c.seq > ? ORDER BY c.seq LIMIT ?",
        (start, BATCH),
    ).fetchall()
    if not rows:
        return 0
    latest: dict[int, tuple[str, str, str] | None] = {}
    for _, entry_id, title, author, summary, content in rows:
        if title is None and author is None and summary is None and content is None:
            latest[entry_id] = None  # gone (deleted), or nothing to index
            continue
        body = " ".join(filter(None, (text_of(summary), text_of(content))))
        latest[entry_id] = (text_of(title), author or "", body)
    db.executemany("DELETE FROM search WHERE rowid = ?", [(i,) for i in latest])
    db.executemany(
        "INSERT INTO search (rowid, title, author, body) VALUES (?, ?, ?, ?)",
        [(i, *values) for i, values in latest.items() if values is not None],
    )
    changes.move_cursor(db, changes.SEARCH, rows[-1][0], now=now)
    return len(rows)


def lag(db: sqlite3.Connection) -> int:
    """Changes the index has not read yet."""
    row = db.execute(
        "SELECT count(*) FROM changes WHERE seq > coalesce((SELECT seq FROM cursors "
        "WHERE name = ?), 0)",
        (changes.SEARCH,),
    ).fetchone()
    return int(row[0])
