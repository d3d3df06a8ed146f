"""Opening the database, transactions, and SQLite's errors as rssmania's.

Two kinds of connection: the writer's (the poller's ``Storage``, the
``Library``'s state writes), which migrates the schema on open, and a reader's,
opened read-only, one per thread: in WAL mode readers never wait for a writer.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rssmania._storage.schema import APPLICATION_ID, MIGRATIONS, migrate
from rssmania.exceptions import DatabaseLockedError, StorageError, UnstorableDataError

log = logging.getLogger("rssmania.storage")

BUSY_TIMEOUT = 10.0
"""Seconds a write waits for another writer's transaction before it is DatabaseLockedError."""


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """An open, configured connection; the writer's brings the schema up to date first."""
    try:
        return _connect(path, readonly=readonly)
    except StorageError:
        if not readonly or not _unshared(Path(path)):
            raise
    # A WAL database read where its -shm file cannot be made (a folder this
    # user may not write): SQLite reads it as immutable only. No -wal file
    # means no writer is at work on it: nothing changes while we read.
    return _connect(path, readonly=True, immutable=True)


def _unshared(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return path.is_file() and not wal.exists() and not os.access(path.parent, os.W_OK)


def _connect(path: str | Path, *, readonly: bool, immutable: bool = False) -> sqlite3.Connection:
    name = str(path)
    try:
        if readonly and name != ":memory:":
            uri = f"file:{quote(str(Path(name).absolute()))}?mode=ro"
            if immutable:
                uri += "&immutable=1"
            db = sqlite3.connect(
                uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False
            )
        else:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so that
            # each transaction is exactly what the code says it is.
            db = sqlite3.connect(
                name, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False
            )
    except sqlite3.Error as exc:
        raise StorageError(name, f"cannot open: {exc}") from exc
    try:
        _configure(db, name, readonly=readonly)
    except BaseException:
        db.close()
        raise
    return db


def check_readable(path: str) -> None:
    """StorageError unless ``path`` is an rssmania database of this version, read without writing.

    What commands that only read need: a mistyped path is not a new, empty
    database, and an older schema cannot be read without migrating it.
    """
    if not Path(path).is_file():
        raise StorageError(path, "no database here (is the path right?)")
    db = connect(path, readonly=True)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc
    finally:
        db.close()
    if version < len(MIGRATIONS):
        raise StorageError(
            path,
            "written by an older rssmania: a command that writes (`rssmania update`) upgrades it",
        )
    if version > len(MIGRATIONS):
        raise StorageError(path, f"written by a newer rssmania (schema {version})")


def _configure(db: sqlite3.Connection, name: str, *, readonly: bool) -> None:
    if sqlite3.sqlite_version_info < (3, 35):  # for RETURNING
        raise StorageError(
            name, f"SQLite {sqlite3.sqlite_version} is too old (3.35 or newer is needed)"
        )
    try:
        if foreign := _foreign(db):
            raise StorageError(name, f"not an rssmania database: {foreign}; nothing was changed")
        if not readonly:
            db.execute("PRAGMA journal_mode = WAL")
            # Migrations rebuild tables: foreign keys are enforced after them.
            migrate(db)
        elif db.execute("PRAGMA user_version").fetchone()[0] == 0:
            raise StorageError(name, "no rssmania database here yet")
        db.execute("PRAGMA foreign_keys = ON")
        # NORMAL is durable against a killed process (only a power cut can
        # lose the last transactions in WAL mode) and much faster than FULL.
        db.execute("PRAGMA synchronous = NORMAL")
        # A checkpoint (the one moment WAL mode syncs to disk) every 32 MB
        # of WAL rather than SQLite's 4 MB: a cold round of 2,000 feeds
        # went from 85 syncs and 1.4-1.9 s in them to 13 and 0.85 s, and
        # rewrote the hot pages (indexes, the feeds table) less often.
        db.execute("PRAGMA wal_autocheckpoint = 8000")
        # 32 MB of page cache rather than SQLite's 2 MB: a round inserts
        # into two indexes (feed and key; date) at random places, and
        # with the small cache their pages were evicted and read again
        # (a tenth of the coordinator's CPU in a cold round of 2,000 feeds).
        db.execute("PRAGMA cache_size = -32768")
        # The change log is filled with json_each: built in since SQLite
        # 3.38, a build option before (which distributions enable).
        db.execute("SELECT value FROM json_each('[]')")
    except sqlite3.Error as exc:
        raise storage_error(name, exc) from exc


def _foreign(db: sqlite3.Connection) -> str:
    """Why a file is another program's database, or "" when it is rssmania's (or new)."""
    app = db.execute("PRAGMA application_id").fetchone()[0]
    if app not in (0, APPLICATION_ID):
        return f"its header names another application (application_id {app:#x})"
    if db.execute("PRAGMA user_version").fetchone()[0] != 0:
        return ""
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    # Switching such a file to WAL, or adding our tables to it, would change
    # another program's database behind its back (a `list` did both).
    if not names:
        return ""
    listed = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"it holds tables of another program ({listed})"


@contextmanager
def transaction(db: sqlite3.Connection, path: str) -> Iterator[sqlite3.Connection]:
    """One write transaction; every sqlite3 error leaves as a StorageError."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            # SQLite may have rolled back already (disk full, I/O error).
            if db.in_transaction:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise storage_error(path, exc) from exc


@contextmanager
def snapshot(db: sqlite3.Connection, path: str) -> Iterator[sqlite3.Connection]:
    """One read transaction: several queries that see the same state."""
    try:
        db.execute("BEGIN")
        try:
            yield db
        finally:
            if db.in_transaction:
                db.execute("COMMIT")
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc


def query(db: sqlite3.Connection, path: str, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    try:
        return db.execute(sql, tuple(params)).fetchall()
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc


def to_text(value: datetime) -> str:
    if value.tzinfo is not UTC:  # the parsers' dates are UTC already
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def to_datetime(value: str | None) -> datetime | None:
    """A stored date; one written by another tool is read as well as it can be."""
    if value is None:
        return None
    try:
        date = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        # Not a date at all: one bad row must not make every command fail.
        log.warning("the database holds a date rssmania cannot read: %r", value)
        return None
    # SQLite's own datetime('now') has no zone, and is UTC.
    return date if date.tzinfo is not None else date.replace(tzinfo=UTC)


def storage_error(path: str, exc: sqlite3.Error) -> StorageError:
    if _unbindable(exc):
        return UnstorableDataError(path, f"a value cannot be stored: {exc}")
    reason = _explain(exc)
    busy = reason == _LOCKED
    return DatabaseLockedError(path, reason) if busy else StorageError(path, reason)


def _unbindable(exc: sqlite3.Error) -> bool:
    """A value of a type SQLite does not take: ProgrammingError on Python 3.11, InterfaceError
    before, "Error binding parameter" either way; DataError for one it cannot hold."""
    if isinstance(exc, sqlite3.InterfaceError | sqlite3.DataError):
        return True
    return isinstance(exc, sqlite3.ProgrammingError) and "binding parameter" in str(exc)


_LOCKED = "the database is locked by another process"


def _explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "json_each" in text:
        return f"SQLite {sqlite3.sqlite_version} was built without its JSON functions"
    if "file is not a database" in text:
        return "not an rssmania database (file is not a database)"
    if "locked" in text or "busy" in text:
        return _LOCKED
    if "readonly" in text or "unable to open" in text:
        return f"cannot write the database: {text}"
    return text
