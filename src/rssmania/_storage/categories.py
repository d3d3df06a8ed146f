"""Categories with ids: what the sync APIs name by number.

A subscription holds its category's name ("Tech/Python": a path); this
table gives each name a stable id per user and keeps categories that have no
feed yet (a client creates the category, then the feed in it). Triggers list
every name a subscription takes (schema 7).
"""

from __future__ import annotations

import sqlite3

from rssmania._storage.entries import category_clause
from rssmania.exceptions import CategoryExistsError, CategoryNotFoundError
from rssmania.types import Category

_LISTING = (
    "SELECT c.id, c.name, count(s.feed_id), coalesce(sum(s.unread), 0) "
    "FROM categories c LEFT JOIN subscriptions s "
    "ON s.user_id = c.user_id AND s.category = c.name "
    "WHERE c.user_id = ? {where} GROUP BY c.id ORDER BY lower(c.name), c.name"
)


def all_of(db: sqlite3.Connection, user_id: int) -> list[Category]:
    """The user's categories, each with its own feeds and their unread entries."""
    return [Category(*row) for row in db.execute(_LISTING.format(where=""), (user_id,))]


def by_id(db: sqlite3.Connection, user_id: int, category_id: int) -> Category:
    row = db.execute(_LISTING.format(where="AND c.id = ?"), (user_id, category_id)).fetchone()
    if row is None:
        raise CategoryNotFoundError(f"#{category_id}")
    return Category(*row)


def by_name(db: sqlite3.Connection, user_id: int, name: str) -> Category:
    row = db.execute(_LISTING.format(where="AND c.name = ?"), (user_id, name)).fetchone()
    if row is None:
        raise CategoryNotFoundError(name)
    return Category(*row)


def add(db: sqlite3.Connection, user_id: int, name: str, *, exist_ok: bool) -> Category:
    cursor = db.execute(
        "INSERT OR IGNORE INTO categories (user_id, name) VALUES (?, ?)", (user_id, name)
    )
    if not cursor.rowcount and not exist_ok:
        raise CategoryExistsError(name)
    return by_name(db, user_id, name)


def rename(db: sqlite3.Connection, user_id: int, old: str, new: str) -> int:
    """Rename a category and the ones below it ("Tech/Python" follows "Tech");
    into a name that exists, the two merge. How many subscriptions moved."""
    if old == new:
        by_name(db, user_id, old)
        return 0
    clause, params = category_clause("name", (old,))
    names = [r[0] for r in db.execute(
        f"SELECT name FROM categories WHERE user_id = ? AND {clause}", (user_id, *params)
    )]  # fmt: skip
    if not names:
        raise CategoryNotFoundError(old)
    moved = 0
    for name in names:
        target = new + name[len(old) :]
        # Renamed in place, the id stays (clients hold it); into a name taken, merged.
        db.execute(
            "UPDATE OR IGNORE categories SET name = ? WHERE user_id = ? AND name = ?",
            (target, user_id, name),
        )
        moved += db.execute(
            "UPDATE subscriptions SET category = ? WHERE user_id = ? AND category = ?",
            (target, user_id, name),
        ).rowcount
        db.execute("DELETE FROM categories WHERE user_id = ? AND name = ?", (user_id, name))
    return moved


def remove(db: sqlite3.Connection, user_id: int, name: str) -> int:
    """Remove a category and the ones below it; their feeds are kept, in no category.
    How many subscriptions it held."""
    clause, params = category_clause("name", (name,))
    gone = db.execute(
        f"DELETE FROM categories WHERE user_id = ? AND {clause}", (user_id, *params)
    ).rowcount
    if not gone:
        raise CategoryNotFoundError(name)
    clause, params = category_clause("category", (name,))
    return db.execute(
        f"UPDATE subscriptions SET category = NULL WHERE user_id = ? AND {clause}",
        (user_id, *params),
    ).rowcount
