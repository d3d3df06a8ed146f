"""Users and their API tokens (hashes only: ``rssmania.accounts`` makes them)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from rssmania._storage.connection import to_datetime, to_text
from rssmania._storage.rows import NO_DATE
from rssmania._storage.subscriptions import drop_unfollowed_feeds
from rssmania.exceptions import UserExistsError, UserNotFoundError, UserRequiredError
from rssmania.types import User

_COLUMNS = "id, name, created, password IS NOT NULL"


def _user(row: tuple[Any, ...]) -> User:
    return User(
        id=row[0], name=row[1], created=to_datetime(row[2]) or NO_DATE, has_password=bool(row[3])
    )


def all_users(db: sqlite3.Connection) -> list[User]:
    return [_user(r) for r in db.execute(f"SELECT {_COLUMNS} FROM users ORDER BY name")]


def by_name(db: sqlite3.Connection, name: str) -> User:
    row = db.execute(f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise UserNotFoundError(name)
    return _user(row)


def by_id(db: sqlite3.Connection, user_id: int) -> User:
    row = db.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise UserNotFoundError(f"#{user_id}")
    return _user(row)


def the_only(db: sqlite3.Connection) -> User | None:
    """The one user, None when there is none; UserRequiredError when there are several."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM users ORDER BY id LIMIT 6").fetchall()
    if len(rows) > 1:
        names = ", ".join(r[1] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise UserRequiredError(names)
    return _user(rows[0]) if rows else None


def add(
    db: sqlite3.Connection, name: str, password: str | None, *, fever: str | None, now: datetime
) -> User:
    row = db.execute(
        f"INSERT INTO users (name, password, fever, created) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (name) DO NOTHING RETURNING {_COLUMNS}",
        (name, password, fever, to_text(now)),
    ).fetchone()
    if row is None:
        raise UserExistsError(name)
    return _user(row)


def password_of(db: sqlite3.Connection, name: str) -> tuple[User, str | None]:
    row = db.execute(f"SELECT {_COLUMNS}, password FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise UserNotFoundError(name)
    return _user(row[:4]), row[4]


def set_password(
    db: sqlite3.Connection, name: str, password: str | None, *, fever: str | None
) -> None:
    """A new password ends the user's sessions: whoever knew the old one is logged out."""
    user = by_name(db, name)
    db.execute("UPDATE users SET password = ?, fever = ? WHERE id = ?", (password, fever, user.id))
    db.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))


def remove(db: sqlite3.Connection, name: str) -> None:
    user = by_name(db, name)
    db.execute("DELETE FROM unread WHERE user_id = ?", (user.id,))
    db.execute("DELETE FROM starred WHERE user_id = ?", (user.id,))
    db.execute("DELETE FROM users WHERE id = ?", (user.id,))  # subscriptions, tokens: cascade
    drop_unfollowed_feeds(db)


def add_token(
    db: sqlite3.Connection, user_id: int, digest: str, *, fever: str | None, now: datetime
) -> None:
    db.execute(
        "INSERT INTO tokens (user_id, hash, fever, created) VALUES (?, ?, ?, ?)",
        (user_id, digest, fever, to_text(now)),
    )


def fill_fever(db: sqlite3.Connection, user_id: int, fever: str) -> None:
    db.execute("UPDATE users SET fever = ? WHERE id = ? AND fever IS NULL", (fever, user_id))


def by_fever(db: sqlite3.Connection, digest: str) -> User | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM users WHERE fever = ?1 AND password IS NOT NULL "
        "UNION ALL SELECT u.id, u.name, u.created, u.password IS NOT NULL "
        "FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.fever = ?1 LIMIT 1",
        (digest,),
    ).fetchone()
    return _user(row) if row else None


def by_token(db: sqlite3.Connection, digest: str) -> User | None:
    row = db.execute(
        f"SELECT {', '.join('u.' + c for c in ('id', 'name', 'created'))}, "
        "u.password IS NOT NULL FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?",
        (digest,),
    ).fetchone()
    return _user(row) if row else None


def revoke_tokens(db: sqlite3.Connection, user_id: int) -> int:
    return db.execute("DELETE FROM tokens WHERE user_id = ?", (user_id,)).rowcount


def add_session(
    db: sqlite3.Connection, user_id: int, digest: str, csrf: str, *, now: datetime
) -> None:
    db.execute(
        "INSERT INTO sessions (hash, user_id, csrf, created, seen) VALUES (?, ?, ?, ?, ?)",
        (digest, user_id, csrf, to_text(now), to_text(now)),
    )


def by_session(db: sqlite3.Connection, digest: str) -> tuple[User, str, datetime] | None:
    """The session's user, its CSRF token and when it was last seen."""
    row = db.execute(
        "SELECT u.id, u.name, u.created, u.password IS NOT NULL, s.csrf, s.seen "
        "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ?",
        (digest,),
    ).fetchone()
    if row is None:
        return None
    return _user(row[:4]), row[4], to_datetime(row[5]) or NO_DATE


def touch_session(db: sqlite3.Connection, digest: str, *, now: datetime) -> None:
    db.execute("UPDATE sessions SET seen = ? WHERE hash = ?", (to_text(now), digest))


def end_session(db: sqlite3.Connection, digest: str) -> None:
    db.execute("DELETE FROM sessions WHERE hash = ?", (digest,))


def end_sessions(db: sqlite3.Connection, user_id: int, *, older_than: datetime | None) -> None:
    if older_than is None:
        db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    else:
        db.execute(
            "DELETE FROM sessions WHERE user_id = ? AND seen < ?", (user_id, to_text(older_than))
        )


LOGIN_SECRET = "api.login_secret"
"""The key of the sync APIs' login tokens (rssmania.accounts.login_signature)."""


def login_secret(db: sqlite3.Connection, *, made: str | None = None) -> str | None:
    """The server's secret for login tokens; ``made`` is stored first when there is none."""
    if made is not None:
        db.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (LOGIN_SECRET, made),
        )
    row = db.execute("SELECT value FROM settings WHERE name = ?", (LOGIN_SECRET,)).fetchone()
    return str(row[0]) if row else None
