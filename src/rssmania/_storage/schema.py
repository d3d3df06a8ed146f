"""The database schema and its migrations, keyed by ``PRAGMA user_version``.

Dates are stored as ISO 8601 text in UTC with a fixed width (microseconds,
``+00:00``), so that text order is time order and SQL can sort on them.
"""

from __future__ import annotations

import sqlite3

from rssmania._urls import check_feed_url, host_of
from rssmania.exceptions import InvalidFeedURLError

# Each step moves the schema from version i to i + 1; never edit a released step.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE feeds (
        id            INTEGER PRIMARY KEY,
        url           TEXT NOT NULL UNIQUE,
        title         TEXT,
        link          TEXT,
        user_title    TEXT,
        category      TEXT,
        added         TEXT NOT NULL,
        last_checked  TEXT,
        next_check    TEXT,
        etag          TEXT,
        last_modified TEXT,
        last_status   INTEGER,
        error_count   INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        interval      INTEGER,
        host          TEXT NOT NULL DEFAULT '',
        next_check_reason TEXT,
        body_hash     TEXT,
        interval_hint INTEGER,
        polls         INTEGER NOT NULL DEFAULT 0,
        not_modified_count INTEGER NOT NULL DEFAULT 0,
        redirect_url  TEXT,
        redirect_streak INTEGER NOT NULL DEFAULT 0,
        moved_from    TEXT,
        disabled_reason TEXT
    );
    CREATE INDEX feeds_next_check ON feeds (next_check);
    CREATE INDEX feeds_host ON feeds (host);

    -- Hosts that asked several of their feeds to slow down (429/503 with
    -- Retry-After): none of their feeds is polled before throttled_until.
    CREATE TABLE hosts (
        name            TEXT PRIMARY KEY,
        throttled_until TEXT NOT NULL,
        reason          TEXT
    );

    CREATE TABLE entries (
        id            INTEGER PRIMARY KEY,
        feed_id       INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        key           TEXT NOT NULL,
        content_hash  TEXT NOT NULL,
        title         TEXT,
        link          TEXT,
        author        TEXT,
        summary       TEXT,
        content       TEXT,
        enclosures    TEXT NOT NULL DEFAULT '[]',
        published     TEXT,
        updated       TEXT,
        first_seen    TEXT NOT NULL,
        last_changed  TEXT NOT NULL,
        status        TEXT NOT NULL,
        sort_date     TEXT NOT NULL,
        read          INTEGER NOT NULL DEFAULT 0,
        starred       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (feed_id, key)
    );
    CREATE INDEX entries_sort_date ON entries (sort_date DESC, id DESC);
    CREATE INDEX entries_feed_sort_date ON entries (feed_id, sort_date DESC, id DESC);

    -- New and updated entries not yet shown by the command line: written in the
    -- same transaction as the entry, deleted once printed, so that a kill
    -- between the two neither loses nor repeats an article.
    CREATE TABLE outbox (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        entry_id      INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE
    );
    """,
    # A feed's entries are found through UNIQUE (feed_id, key) and sorted
    # (a few thousand rows at most); this index cost 15% of every insert.
    """
    DROP INDEX entries_feed_sort_date;
    """,
    # The hash an entry had before its last change: an entry that goes back
    # to it is stored without being reported again (see rssmania._decide).
    """
    ALTER TABLE entries ADD COLUMN previous_hash TEXT;
    """,
    # Feed URLs written as the HTTP client sends them (see check_feed_url):
    # "faß.de" had become fass.de, another domain, and "/f%31.xml" a second
    # subscription to "/f1.xml". A URL whose new form is subscribed already
    # stays as it was (OR IGNORE): which of the two to keep is the user's call.
    """
    UPDATE OR IGNORE feeds
    SET url = rssmania_feed_url(url), host = rssmania_host(rssmania_feed_url(url))
    WHERE rssmania_feed_url(url) != url;
    """,
)


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema up to date, under the write lock (two processes may open a new file)."""
    if db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
        return  # the common case, without taking the write lock
    db.create_function("rssmania_feed_url", 1, _feed_url, deterministic=True)
    db.create_function("rssmania_host", 1, host_of, deterministic=True)
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise sqlite3.DatabaseError(
                f"the database was written by a newer rssmania (schema {version}, "
                f"this one knows up to {len(MIGRATIONS)})"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _feed_url(url: str) -> str:
    """``url`` as add stores it now; as it was if it no longer passes (never refused here)."""
    try:
        return check_feed_url(url)
    except InvalidFeedURLError:
        return url


def _statements(script: str) -> list[str]:
    # executescript() would commit the open transaction first: split instead.
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out
