"""lemon24/reader as a peer for ``speed.py``: ``update_feeds(workers=8)``.

    python bench/peer_reader.py add DB URLS.txt      (untimed set-up)
    python bench/peer_reader.py update DB [--workers 8]
    python bench/peer_reader.py count DB             ({url: entries} as JSON)

``update`` passes ``scheduled=False``: reader would otherwise skip the feeds
not yet due, and the warm poll must poll them all, like ``update --all``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from reader import make_reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["add", "update", "count"])
    parser.add_argument("db", type=Path)
    parser.add_argument("urls", type=Path, nargs="?")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    reader = make_reader(str(args.db))
    if args.action == "add":
        for url in args.urls.read_text().split():
            reader.add_feed(url, exist_ok=True)
    elif args.action == "update":
        reader.update_feeds(workers=args.workers, scheduled=False)
    else:
        # get_entry_counts() computes per-period averages on every call: minutes for
        # 2,000 feeds. reader's own table gives the same totals at once.
        with sqlite3.connect(args.db) as db:
            counts = dict(db.execute("SELECT feed, count(*) FROM entries GROUP BY feed"))
        errors = [f"{f.url}: {f.last_exception}" for f in reader.get_feeds() if f.last_exception]
        json.dump(counts, sys.stdout)
        for line in errors[:5]:
            print(line, file=sys.stderr)
    reader.close()


if __name__ == "__main__":
    main()
