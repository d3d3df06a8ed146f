"""Wrote tests/data/schema4.sqlite with rssmania at b2d259c (schema 4); kept to show how.

Read and starred were then set by SQL on a-0, b-0 (read) and a-1 (starred): schema 4 has
the columns, no command set them.
"""

import sqlite3
import sys

sys.path.insert(0, ".")
from pathlib import Path

from rssmania import Aggregator
from tests.feedserver import FeedServer, items, rss

out = Path("tests/data/schema4.sqlite")
out.unlink(missing_ok=True)
with FeedServer() as s:
    a = s.set("/a.xml", rss("Feed A", items("a", 5)))
    b = s.set("/b.xml", rss("Feed B", items("b", 3)))
    c = s.set("/c.xml", rss("Feed C", items("c", 2)))
    with Aggregator(out, workers=1, outbox=True) as agg:
        agg.add_feed(a, title="My A", category="Tech/Python")
        agg.add_feed(b, category="News")
        agg.add_feed(c)
        first = list(agg.update())
        # shown by the command line: acknowledged
        agg.ack_changes(max(ch.seq for ch in agg.pending_changes()))
        s.set("/a.xml", rss("Feed A", items("a", 7)))
        s.set("/c.xml", rss("Feed C", items("c", 3)))
        list(agg.update(all_feeds=True))
        print("pending", [(ch.seq, ch.entry.id) for ch in agg.pending_changes()])
        agg.set_feed(c, enabled=False)
        print([(f.url, f.user_title, f.category, f.disabled_reason) for f in agg.get_feeds()])
        print(len(agg.get_entries()))

db = sqlite3.connect(out)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.execute("PRAGMA journal_mode=DELETE")
db.execute("VACUUM")
db.close()
print(out.stat().st_size)
