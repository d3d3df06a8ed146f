"""The database schema and its migrations, keyed by ``PRAGMA user_version``.

Dates are stored as ISO 8601 text in UTC with a fixed width (microseconds,
``+00:00``), so that text order is time order and SQL can sort on them.
"""

from __future__ import annotations

import sqlite3

from rssmania._storage.frozen import feed_url_4, host_4, login_name_5

APPLICATION_ID = 0x52534D41
"""``PRAGMA application_id`` of an rssmania database ("RSMA"), set by schema 5: another
program's SQLite file is told apart by its header, not guessed from its tables."""

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
    # Schema 5: from a poller to a reader. Users own subscriptions over shared
    # feeds; each user's unread and starred entries are rows of their own.
    # Unread rows are dense (one per user and unread entry): "unread, newest
    # first" is the main view of every client and an index range, where rows
    # of read entries would make it a scan of everything read. Entry ids never
    # come back after a delete (AUTOINCREMENT): the sync APIs page by id.
    # What an older database holds goes to a first user.
    """
    CREATE TABLE users (
        id        INTEGER PRIMARY KEY,
        name      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password  TEXT,
        created   TEXT NOT NULL
    );
    CREATE TABLE tokens (
        id        INTEGER PRIMARY KEY,
        user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        hash      TEXT NOT NULL UNIQUE,
        created   TEXT NOT NULL,
        last_used TEXT
    );
    CREATE INDEX tokens_user ON tokens (user_id);
    INSERT INTO users (id, name, created)
    SELECT 1, rssmania_login_name(), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')
    WHERE EXISTS (SELECT 1 FROM feeds);

    CREATE TABLE subscriptions (
        user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        feed_id   INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        title     TEXT,
        category  TEXT,
        paused    INTEGER NOT NULL DEFAULT 0,
        added     TEXT NOT NULL,
        unread    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, feed_id)
    ) WITHOUT ROWID;
    CREATE INDEX subscriptions_feed ON subscriptions (feed_id);
    INSERT INTO subscriptions (user_id, feed_id, title, category, paused, added)
    SELECT 1, id, user_title, category, disabled_reason IS 'paused by you', added FROM feeds;
    UPDATE feeds SET user_title = NULL, category = NULL,
        disabled_reason = nullif(disabled_reason, 'paused by you');
    ALTER TABLE feeds ADD COLUMN served TEXT;
    ALTER TABLE feeds ADD COLUMN keep_read_days INTEGER;
    ALTER TABLE feeds ADD COLUMN keep_unread_days INTEGER;
    ALTER TABLE feeds ADD COLUMN keep_max INTEGER;

    CREATE TABLE entries_5 (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
        previous_hash TEXT,
        UNIQUE (feed_id, key)
    );
    INSERT INTO entries_5 (id, feed_id, key, content_hash, title, link, author, summary,
        content, enclosures, published, updated, first_seen, last_changed, status, sort_date,
        previous_hash)
    SELECT id, feed_id, key, content_hash, title, link, author, summary, content, enclosures,
        published, updated, first_seen, last_changed, status, sort_date, previous_hash
    FROM entries ORDER BY id;

    CREATE TABLE unread (
        user_id   INTEGER NOT NULL,
        entry_id  INTEGER NOT NULL,
        feed_id   INTEGER NOT NULL,
        sort_date TEXT NOT NULL,
        PRIMARY KEY (user_id, entry_id)
    ) WITHOUT ROWID;
    CREATE INDEX unread_date ON unread (user_id, sort_date DESC, entry_id DESC);
    CREATE INDEX unread_feed ON unread (user_id, feed_id, sort_date DESC, entry_id DESC);
    INSERT INTO unread (user_id, entry_id, feed_id, sort_date)
    SELECT 1, id, feed_id, sort_date FROM entries WHERE NOT read;
    CREATE TABLE starred (
        user_id   INTEGER NOT NULL,
        entry_id  INTEGER NOT NULL,
        feed_id   INTEGER NOT NULL,
        starred   TEXT NOT NULL,
        PRIMARY KEY (user_id, entry_id)
    ) WITHOUT ROWID;
    INSERT INTO starred (user_id, entry_id, feed_id, starred)
    SELECT 1, id, feed_id, last_changed FROM entries WHERE starred;
    UPDATE subscriptions SET unread =
        (SELECT count(*) FROM unread u WHERE u.user_id = 1 AND u.feed_id = subscriptions.feed_id);

    -- The change log: every new or updated entry, in order. Each consumer
    -- (the command line's printing, the search index, live pages) keeps a
    -- cursor; "announce" marks what the command line is to print (the
    -- outbox's rows: an aggregator without one records for the others only).
    CREATE TABLE changes (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        entry_id  INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        announce  INTEGER NOT NULL DEFAULT 0,
        at        TEXT NOT NULL
    );
    CREATE INDEX changes_announced ON changes (seq) WHERE announce;
    CREATE TABLE cursors (
        name      TEXT PRIMARY KEY,
        seq       INTEGER NOT NULL,
        moved     TEXT NOT NULL
    );
    INSERT INTO changes (seq, entry_id, kind, announce, at)
    SELECT o.seq, o.entry_id, e.status, 1, e.last_changed
    FROM outbox o JOIN entries e ON e.id = o.entry_id ORDER BY o.seq;
    INSERT INTO cursors (name, seq, moved)
    SELECT 'print', coalesce((SELECT min(seq) - 1 FROM outbox),
                             (SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),
           strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now');
    -- Every stored entry waits for the search index, which starts from 0.
    INSERT INTO changes (entry_id, kind, announce, at)
    SELECT id, 'new', 0, first_seen FROM entries ORDER BY id;
    INSERT INTO cursors (name, seq, moved)
    VALUES ('search', 0, strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
    DROP TABLE outbox;
    DROP TABLE entries;
    ALTER TABLE entries_5 RENAME TO entries;
    CREATE INDEX entries_sort_date ON entries (sort_date DESC, id DESC);

    CREATE VIRTUAL TABLE search USING fts5 (
        title, author, body, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER entries_deleted AFTER DELETE ON entries BEGIN
        DELETE FROM search WHERE rowid = old.id;
        DELETE FROM unread WHERE entry_id = old.id AND user_id IN (SELECT id FROM users);
        DELETE FROM starred WHERE entry_id = old.id AND user_id IN (SELECT id FROM users);
    END;

    -- The retention policy's global values (per-feed overrides: feeds.keep_*).
    CREATE TABLE settings (
        name      TEXT PRIMARY KEY,
        value     TEXT NOT NULL
    );
    PRAGMA application_id = 1381190977;
    """,
    # Schema 6: the web reader's sessions (a digest of the cookie's random
    # token, as for API tokens), and when each feed last brought a new entry
    # (the health page: 2,000 feeds' latest entry out of a million rows
    # would be a scan per look).
    """
    CREATE TABLE sessions (
        hash      TEXT PRIMARY KEY,
        user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf      TEXT NOT NULL,
        created   TEXT NOT NULL,
        seen      TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_user ON sessions (user_id);
    ALTER TABLE feeds ADD COLUMN last_new TEXT;
    UPDATE feeds SET last_new = (SELECT max(first_seen) FROM entries e WHERE e.feed_id = feeds.id);
    """,
    # Schema 7: the sync APIs. Categories get stable integer ids (Miniflux's and
    # Fever's clients keep them), and may exist with no feed in them yet; the
    # subscriptions still hold the name, which the triggers keep listed here.
    # Fever's clients send md5("name:secret"): a SHA-256 of that key is kept,
    # for the password and for each API token. Each feed counts its entries:
    # the APIs give a listing's total with every page, and counting a
    # million rows took a quarter of a second.
    """
    CREATE TABLE categories (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name      TEXT NOT NULL,
        UNIQUE (user_id, name)
    );
    INSERT INTO categories (user_id, name)
    SELECT DISTINCT user_id, category FROM subscriptions WHERE category IS NOT NULL
    ORDER BY user_id, category;
    CREATE TRIGGER subscriptions_category_added AFTER INSERT ON subscriptions
    WHEN NEW.category IS NOT NULL BEGIN
        INSERT OR IGNORE INTO categories (user_id, name) VALUES (NEW.user_id, NEW.category);
    END;
    CREATE TRIGGER subscriptions_category_moved AFTER UPDATE OF category ON subscriptions
    WHEN NEW.category IS NOT NULL BEGIN
        INSERT OR IGNORE INTO categories (user_id, name) VALUES (NEW.user_id, NEW.category);
    END;
    ALTER TABLE users ADD COLUMN fever TEXT;
    ALTER TABLE tokens ADD COLUMN fever TEXT;
    CREATE INDEX users_fever ON users (fever) WHERE fever IS NOT NULL;
    CREATE INDEX tokens_fever ON tokens (fever) WHERE fever IS NOT NULL;
    ALTER TABLE feeds ADD COLUMN entry_count INTEGER NOT NULL DEFAULT 0;
    UPDATE feeds SET entry_count = (SELECT count(*) FROM entries e WHERE e.feed_id = feeds.id);
    CREATE TRIGGER entries_counted AFTER INSERT ON entries BEGIN
        UPDATE feeds SET entry_count = entry_count + 1 WHERE id = NEW.feed_id;
    END;
    CREATE TRIGGER entries_uncounted AFTER DELETE ON entries BEGIN
        UPDATE feeds SET entry_count = entry_count - 1 WHERE id = OLD.feed_id;
    END;
    """,
    # Schema 8: each host's pace
    # (rssmania._pace), learned from its answers and kept from run to run, and
    # each feed's Retry-After window, which no poll enters, not even
    # `update --all`.
    """
    CREATE TABLE host_paces (
        name      TEXT PRIMARY KEY,
        delay     REAL NOT NULL,
        latency   REAL,
        fastest   REAL,
        floor     REAL NOT NULL,
        since     REAL NOT NULL,
        learned   TEXT NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE feeds ADD COLUMN not_before TEXT;
    """,
    # Schema 9: a feed's entry count is set once per stored poll
    # (rssmania._storage.store), not by a trigger per inserted entry, which
    # rewrote the feed's row at every insert: storing a cold round of 2,000
    # feeds took 3.6 s of CPU with it, 2.5 s without.
    """
    DROP TRIGGER entries_counted;
    """,
)


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema up to date, under the write lock (two processes may open a new file)."""
    if db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
        return  # the common case, without taking the write lock
    db.create_function("rssmania_feed_url", 1, feed_url_4, deterministic=True)
    db.create_function("rssmania_host", 1, host_4, deterministic=True)
    db.create_function("rssmania_login_name", 0, login_name_5)
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


def _statements(script: str) -> list[str]:
    # executescript() would commit the open transaction first: split instead.
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out
