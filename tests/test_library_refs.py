"""Library.entry_refs: the ids and dates of the pages ``entries`` gives, without the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from rssmania import Aggregator, Library
from tests.feedserver import FeedServer, items, rss


def test_refs_are_the_pages_of_entries_and_share_their_keys(
    tmp_path: Path, server: FeedServer
) -> None:
    for n in range(3):
        server.set(f"/{n}.xml", rss(f"F{n}", items(f"f{n}", 7)))
    db = tmp_path / "refs.sqlite"
    with Library(db) as lib:
        me = lib.default_user()
        feeds = [lib.add_feed(me.id, server.url(f"/{n}.xml"), category=f"C{n % 2}").id
                 for n in range(3)]  # fmt: skip
    with Aggregator(db, workers=1) as agg:
        assert sum(len(r.changes) for r in agg.update(all_feeds=True)) == 21
    with Library(db) as lib:
        some = [e.entry_id for e in lib.entries(me.id, limit=5).entries]
        lib.mark_read(me.id, some[:3])
        lib.star(me.id, some[2:4])
        filters: list[dict[str, object]] = [
            {}, {"read": False}, {"read": True}, {"starred": True}, {"feed": feeds[1]},
            {"category": "C0"}, {"category": "C1", "read": False},
        ]  # fmt: skip
        for order in ("newest", "oldest", "id", "-id"):
            for given in filters:
                whole = lib.entries(me.id, limit=100, order=order, **given)  # type: ignore[arg-type]
                refs, nothing_more = lib.entry_refs(me.id, limit=100, order=order, **given)  # type: ignore[arg-type]
                assert nothing_more is None
                assert [i for i, _ in refs] == [e.entry_id for e in whole.entries], (order, given)
                # Pages of 4 follow each other; a key of entries' is a key of refs'.
                seen: list[int] = []
                key: str | None = None
                while True:
                    page, key = lib.entry_refs(me.id, limit=4, order=order, page=key, **given)  # type: ignore[arg-type]
                    seen += [i for i, _ in page]
                    if key is None:
                        break
                assert seen == [e.entry_id for e in whole.entries]
                head = lib.entries(me.id, limit=4, order=order, **given)  # type: ignore[arg-type]
                if head.next is not None:
                    after = lib.entries(me.id, limit=4, order=order, page=head.next, **given)  # type: ignore[arg-type]
                    refs_after, _ = lib.entry_refs(
                        me.id, limit=4, order=order, page=head.next, **given
                    )  # type: ignore[arg-type]
                    assert [i for i, _ in refs_after] == [e.entry_id for e in after.entries]
        first = lib.entries(me.id, limit=1).entries[0]
        ((entry_id, listed),) = lib.entry_refs(me.id, limit=1)[0]
        assert entry_id == first.entry_id
        own = first.published or first.updated
        assert listed == (first.first_seen if own is None or own > first.first_seen else own)
        with pytest.raises(ValueError, match="limit"):
            lib.entry_refs(me.id, limit=0)
