"""Reading state: one user's unread and starred entries, and the counts.

Unread is a row per user and unread entry; starred, a row per user and starred
entry. Each subscription carries its unread count, recounted (an index range)
in the transaction of every write that changes one, so that the counts of
2,000 feeds are one read of 2,000 rows whatever the number of entries.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from rssmania._storage.connection import to_text
from rssmania._storage.entries import category_clause
from rssmania._storage.subscriptions import recount
from rssmania.exceptions import EntryNotFoundError
from rssmania.types import Counts


def _owned(
    db: sqlite3.Connection, user_id: int, entry_ids: Iterable[int], *, missing_ok: bool = False
) -> list[tuple[int, int, str]]:
    """(entry id, feed id, sort date) of the entries given, all of them in the user's feeds
    (with ``missing_ok``, those of them that are)."""
    wanted = sorted({int(i) for i in entry_ids})
    rows = db.execute(
        # CROSS JOIN: the ids first. Left to itself the planner went through the user's
        # 2,000 feeds and their million entries to find them (300 ms a mark-read).
        "SELECT e.id, e.feed_id, e.sort_date FROM json_each(?) j "
        "CROSS JOIN entries e ON e.id = j.value "
        "CROSS JOIN subscriptions s ON s.feed_id = e.feed_id AND s.user_id = ?",
        (json.dumps(wanted), user_id),
    ).fetchall()
    if len(rows) != len(wanted) and not missing_ok:
        found = {row[0] for row in rows}
        # Another user's entry is "not found" too: ids never tell who follows what.
        raise EntryNotFoundError(next(i for i in wanted if i not in found))
    return [tuple(r) for r in rows]


def set_read(
    db: sqlite3.Connection,
    user_id: int,
    entry_ids: Iterable[int],
    read: bool,
    *,
    missing_ok: bool = False,
) -> int:
    """Mark entries read or unread; how many changed. All of them or (an unknown id) none,
    unless ``missing_ok``: then those of the user's."""
    rows = _owned(db, user_id, entry_ids, missing_ok=missing_ok)
    if read:
        changed = db.execute(
            "DELETE FROM unread WHERE user_id = ? AND entry_id IN (SELECT value FROM json_each(?))",
            (user_id, json.dumps([r[0] for r in rows])),
        ).rowcount
    else:
        changed = db.execute(
            "INSERT OR IGNORE INTO unread (user_id, entry_id, feed_id, sort_date) "
            "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
            "json_extract(value, '$[2]') FROM json_each(?)",
            (user_id, json.dumps(rows)),
        ).rowcount
    if changed:
        recount(db, user_id, (r[1] for r in rows))
    return changed


def set_starred(
    db: sqlite3.Connection,
    user_id: int,
    entry_ids: Iterable[int],
    starred: bool,
    *,
    now: datetime,
    missing_ok: bool = False,
) -> int:
    rows = _owned(db, user_id, entry_ids, missing_ok=missing_ok)
    if starred:
        return db.execute(
            "INSERT OR IGNORE INTO starred (user_id, entry_id, feed_id, starred) "
            "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? "
            "FROM json_each(?)",
            (user_id, to_text(now), json.dumps(rows)),
        ).rowcount
    return db.execute(
        "DELETE FROM starred WHERE user_id = ? AND entry_id IN (SELECT value FROM json_each(?))",
        (user_id, json.dumps([r[0] for r in rows])),
    ).rowcount


def mark_all_read(
    db: sqlite3.Connection,
    user_id: int,
    *,
    feed_ids: tuple[int, ...] | None,
    categories: tuple[str, ...] | None,
    before: datetime | None,
    max_id: int | None,
) -> int:
    """Mark read every unread entry of these feeds or categories (all: neither given),
    only those dated before ``before`` and with ids up to ``max_id`` when given."""
    where = ["unread.user_id = ?"]
    params: list[object] = [user_id]
    if feed_ids is not None:
        where.append(f"unread.feed_id IN ({','.join('?' * len(feed_ids))})")
        params += feed_ids
    if categories is not None:
        clause, more = category_clause("s.category", categories)
        where.append(
            "unread.feed_id IN (SELECT s.feed_id FROM subscriptions s WHERE s.user_id = ? AND "
            + clause
            + ")"
        )
        params += [user_id, *more]
    if before is not None:
        where.append("unread.sort_date < ?")
        params.append(to_text(before))
    if max_id is not None:
        where.append("unread.entry_id <= ?")
        params.append(max_id)
    touched = [
        row[0]
        for row in db.execute(
            f"DELETE FROM unread WHERE {' AND '.join(where)} RETURNING feed_id", params
        )
    ]
    if touched:
        recount(db, user_id, touched)
    return len(touched)


def counts(db: sqlite3.Connection, user_id: int) -> Counts:
    """Unread per feed and per category (each category counts its sub-categories)."""
    feeds: dict[int, int] = {}
    categories: dict[str, int] = {}
    for feed_id, category, unread in db.execute(
        "SELECT feed_id, category, unread FROM subscriptions WHERE user_id = ?", (user_id,)
    ):
        feeds[feed_id] = unread
        if category:
            parts = category.split("/")
            for depth in range(1, len(parts) + 1):
                name = "/".join(parts[:depth])
                categories[name] = categories.get(name, 0) + unread
    starred = starred_count(db, user_id)
    return Counts(feeds=feeds, categories=categories, total=sum(feeds.values()), starred=starred)


def unread_and_starred(
    db: sqlite3.Connection, user_id: int, entry_ids: list[int]
) -> tuple[set[int], set[int]]:
    """Which of these entries the user has unread, and which starred."""
    ids = json.dumps(entry_ids)
    found: tuple[set[int], set[int]] = (set(), set())
    for table, into in (("unread", found[0]), ("starred", found[1])):
        into.update(
            row[0]
            for row in db.execute(
                f"SELECT entry_id FROM {table} WHERE user_id = ? AND entry_id IN "
                "(SELECT value FROM json_each(?))",
                (user_id, ids),
            )
        )
    return found


def starred_count(db: sqlite3.Connection, user_id: int) -> int:
    (count,) = db.execute("SELECT count(*) FROM starred WHERE user_id = ?", (user_id,)).fetchone()
    return int(count)
