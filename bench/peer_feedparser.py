"""The seed's way, as a peer for ``speed.py``: ``feedparser.parse(url)`` for every feed.

    python bench/peer_feedparser.py STATE.sqlite URLS.txt [--processes N]

Serial by default (the tutorial's loop); ``--processes N`` maps the same
function over a ``multiprocessing.Pool``. Each feed's ETag and Last-Modified
are kept in STATE.sqlite with the ids of the entries seen, and sent back on
the next poll, as the tutorial's readers would. ``--count`` prints
``{url: entries}`` as JSON instead of polling.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import feedparser

Job = tuple[str, str | None, str | None]
Outcome = tuple[str, int, str | None, str | None, list[str]]


def poll(job: Job) -> Outcome:
    """Takes one feed, never raises: a broken feed is an empty outcome, not a broken pool."""
    url, etag, modified = job
    try:
        parsed: Any = feedparser.parse(url, etag=etag, modified=modified)
    except Exception:
        return url, 0, etag, modified, []
    status = int(parsed.get("status", 0))
    if status == 304:
        return url, status, etag, modified, []
    ids = [str(e.get("id") or e.get("link") or e.get("title")) for e in parsed.entries]
    return url, status, parsed.get("etag"), parsed.get("modified"), ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state", type=Path)
    parser.add_argument("urls", type=Path, nargs="?")
    parser.add_argument("--processes", type=int, default=0, help="0: serial, in this process")
    parser.add_argument("--count", action="store_true")
    args = parser.parse_args()
    db = sqlite3.connect(args.state)
    db.execute("CREATE TABLE IF NOT EXISTS feeds (url PRIMARY KEY, etag, modified)")
    db.execute("CREATE TABLE IF NOT EXISTS entries (url, id, PRIMARY KEY (url, id))")
    if args.count:
        rows = db.execute("SELECT url, count(*) FROM entries GROUP BY url")
        json.dump(dict(rows.fetchall()), sys.stdout)
        return
    known = {url: (etag, modified) for url, etag, modified in db.execute("SELECT * FROM feeds")}
    urls = args.urls.read_text().split()
    jobs: list[Job] = [(url, *known.get(url, (None, None))) for url in urls]
    # feedparser sets no timeout: one stuck server would hang the loop forever.
    socket.setdefaulttimeout(60)
    if args.processes:
        with multiprocessing.Pool(args.processes) as pool:
            outcomes = list(pool.imap_unordered(poll, jobs, chunksize=4))
    else:
        outcomes = [poll(job) for job in jobs]
    with db:
        for url, status, etag, modified, ids in outcomes:
            if status in (0, 304):
                continue
            db.execute("INSERT OR REPLACE INTO feeds VALUES (?, ?, ?)", (url, etag, modified))
            db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?)", [(url, i) for i in ids])
    db.close()


if __name__ == "__main__":
    main()
