"""The only code that touches the database.

SQLite in WAL mode: readers (``list``, ``entries``, a web UI) never wait for
the writer, and every poll result is written in one transaction, so a kill at
any moment leaves either all of a feed's result or none of it.
"""

from __future__ import annotations

from rssmania._storage.store import Storage

__all__ = ["Storage"]
