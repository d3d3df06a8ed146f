"""The real-world corpus through the whole pipeline: served over HTTP, polled by workers, stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rssmania import Aggregator
from tests.feedserver import FeedServer


@pytest.mark.slow  # corpus-wide
def test_real_corpus_polls_without_internal_error(
    corpus: Path, server: FeedServer, db: Path
) -> None:
    files = sorted(p for p in (corpus / "real").rglob("*") if p.is_file())
    assert len(files) > 300, "the corpus looks incomplete"
    # One local server stands for hundreds of sites: lift the per-host limits.
    with Aggregator(db, workers=2, per_host_limit=16, per_host_spacing=0) as agg:
        for i, path in enumerate(files):
            content_type = "application/json" if path.suffix == ".json" else "application/xml"
            agg.add_feed(
                server.set(f"/{i}{path.suffix}", path.read_bytes(), content_type=content_type)
            )
        results = list(agg.update(all_feeds=True))
    assert len(results) == len(files)
    internal = [(r.feed.url, r.error) for r in results if r.error and r.error.kind == "internal"]
    assert internal == []
    with_entries = sum(1 for r in results if r.new)
    # Every feed with entries, JSON Feed included, must be read; a few corpus files
    # hold only a channel.
    assert with_entries >= len(files) * 0.97, (with_entries, len(files))
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert stored == sum(len(r.new) for r in results)
