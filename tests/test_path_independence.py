"""One answer from both paths: every document of the corpus read by each parse path, forced.

Which path reads a feed is decided document by document: a new entry that
makes the fast path decline hands the whole document to feedparser. If the
two paths read an entry differently, its stored fields change with the path
(a new id is a duplicate article, a new title an edit nobody made). So every
file of the corpus (real/, edge-cases/, feedparser-suite/) is prepared as
``parse_feed`` prepares it, then read by the fast path and by the tolerant
path called directly, and the stored fields are compared entry by entry:
id, link, title, the two dates, whether there is text.

The fast path reads with its checks: a document it declines (2,200 of the
feedparser suite's 2,250 tiny cases, mostly entries with no id or link, or no
entry at all) is never read by it, so there is nothing of its own to compare.
Each difference that remains is listed below with its reason.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rssmania._poll import fastpath
from rssmania._poll.html import text_of
from rssmania._poll.jobs import ParsedEntry
from rssmania._poll.parse import finish, prepare
from rssmania._poll.tolerant import parse_tolerant
from rssmania.types import FeedError

URL = "https://feeds.example.org/corpus/feed.xml"
FOLDERS = ("real", "edge-cases", "feedparser-suite")

# (file, field) -> (entries that differ, why).
KNOWN: dict[tuple[str, str], tuple[int, str]] = {
    ("real/NetNewsWire/OneFootTsunami.atom", "link"): (
        3,
        'href="" resolves to the feed document (wp-atom.php) in feedparser; the fast path '
        "reads no link there and takes the entry's id, http://onefoottsunami.com/?p=N",
    ),
    ("edge-cases/fastfeedparser/malformed_rss_namespaced.xml", "entry"): (
        2,
        "a doubled XML declaration and undeclared rss: prefixes: feedparser reads no entry, "
        "the fast path both",
    ),
    ("feedparser-suite/wellformed/atom10/entry_link_rel_self.xml", "entry"): (
        1,
        'an entry whose only link is rel="self": fastfeedparser takes it as the link and '
        "the id, feedparser as neither, and the entry is then empty",
    ),
    ("feedparser-suite/wellformed/rss/item_guid_isPermaLink_ValueError.xml", "entry"): (
        1,
        'a guid that is no URL ("http://example.c[o.test/"): the fast path keeps it as the '
        "id, feedparser drops it, and the entry is then empty",
    ),
}


def _differences(fast: ParsedEntry, tolerant: ParsedEntry) -> list[str]:
    out = [
        field
        for field, a, b in (
            ("id", fast.key, tolerant.key),
            ("link", fast.link, tolerant.link),
            ("title", fast.title, tolerant.title),
            ("published", fast.published, tolerant.published),
            ("updated", fast.updated, tolerant.updated),
        )
        if a != b
    ]
    if bool(text_of(fast.content or fast.summary)) != bool(
        text_of(tolerant.content or tolerant.summary)
    ):
        out.append("text")
    return out


def compare(corpus: Path) -> tuple[Counter[str], dict[tuple[str, str], int]]:
    """Counts (files, declined, entries, agree) and the differing entries by (file, field)."""
    counts: Counter[str] = Counter()
    found: Counter[tuple[str, str]] = Counter()
    paths = sorted(p for d in FOLDERS for p in (corpus / d).rglob("*") if p.is_file())
    for path in paths:
        name = path.relative_to(corpus).as_posix()
        prepared = prepare(path.read_bytes(), content_type=None)
        if isinstance(prepared, FeedError):
            continue  # not a feed (HTML, OPML, empty): one answer, before either path
        body, content_type = prepared
        if body.lstrip()[:1] in (b"{", b"["):
            continue  # JSON: the fast path's alone
        counts["files"] += 1
        try:
            fast = finish(fastpath.parse_fast(body, url=URL)).entries
        except fastpath.Fallback:
            counts["declined"] += 1
            continue
        read = parse_tolerant(body, url=URL, content_type=content_type)
        tolerant = {} if isinstance(read, FeedError) else {e.key: e for e in finish(read).entries}
        by_position = list(tolerant.values())
        for i, entry in enumerate(fast):
            counts["entries"] += 1
            other = tolerant.get(entry.key) or (by_position[i] if i < len(by_position) else None)
            wrong = ["entry"] if other is None else _differences(entry, other)
            for field in wrong:
                found[name, field] += 1
            if not wrong:
                counts["agree"] += 1
        # What feedparser reads beyond the fast path's entries counts against both.
        extra = len(tolerant) - len(fast)
        if extra > 0:
            counts["entries"] += extra
            found[name, "entry"] += extra
    return counts, dict(found)


@pytest.mark.slow
def test_both_paths_store_the_same_fields_for_the_corpus(corpus: Path) -> None:
    counts, found = compare(corpus)
    assert counts["files"] > 2500, "the corpus looks incomplete"
    assert counts["entries"] > 5000
    assert counts["agree"] / counts["entries"] >= 0.995, counts
    assert found == {key: n for key, (n, _) in KNOWN.items()}


if __name__ == "__main__":
    import sys

    counts_, found_ = compare(Path(sys.argv[1]))
    print(dict(counts_), f"agree {counts_['agree'] / counts_['entries']:.4%}")
    for key_, n_ in sorted(found_.items()):
        print(key_, n_, "(listed)" if KNOWN.get(key_, (None,))[0] == n_ else "(NOT LISTED)")
