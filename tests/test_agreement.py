"""What rssmania stores agrees with feedparser on the real-world corpus.

feedparser is the reference: the most tolerant and most used parser there
is. For every XML feed of ``corpus/real``, the entries ``parse_feed`` returns
(whichever path read them) are compared with feedparser's, entry by entry:
count, identity, link, title, date, and whether the entry has text at all
(a summary or content; their wording differs by sanitizer, but an entry
whose text was lost is a reader's empty article). Where they differ and we are right,
the difference is listed below with the reason; any other difference fails.

How the reference is read, so that the comparison is about parsing:
- feedparser is given the bytes alone (no URL), so it resolves relative ids
  against xml:base only, as we do; its links are then resolved against the
  same URL ours are;
- entries are identified and deduplicated by our rule (id, else link, with
  the title when entries without an id share the link): a feed that lists
  one id twice is one entry to a reader;
- dates are compared at whole seconds (feedparser has no fractions) and
  titles with whitespace collapsed and markup reduced to text.
"""

from __future__ import annotations

import calendar
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from rssmania._poll.html import text_of, web_link
from rssmania._poll.jobs import ParsedEntry, ParsedFeed
from rssmania._poll.parse import parse_feed

URL = "https://feeds.example.org/corpus/feed.xml"
FIELDS = ("id", "link", "title", "date", "text")

# (file under corpus/real, field) -> (entries that differ, why ours is right).
KNOWN: dict[tuple[str, str], tuple[int, str]] = {
    ("FeedKit/Ampersand.xml", "id"): (
        20,
        "guids with bare ampersands (?utm_source=x&utm_medium=rss) are read as written; "
        'feedparser turns each into "&utm;_medium"',
    ),
    ("NetNewsWire/OneFootTsunami.atom", "link"): (
        3,
        'href="" resolves to the feed document itself (wp-atom.php), which feedparser '
        "takes as the entry's link; we take the entry's id, http://onefoottsunami.com/?p=N",
    ),
    ("NetNewsWire/pappacoda.atom", "link"): (
        1,
        "the entry's only alternate link is a PDF; feedparser skips it for the tag: id, "
        "which no browser can open",
    ),
    ("NetNewsWire/kc0011.rss", "date"): (
        20,
        'pubDate "2020/1/10 14:33:00" is read as that time in UTC; feedparser reads no date',
    ),
    ("feed-rs/rss2/rss_2.0_ilmessaggero.xml", "date"): (
        1,
        'an Italian day name ("mer, 16 nov 2022 00:38:15 +0100"): the date is read, '
        "feedparser gives up on it",
    ),
    ("rss-parser/reddit-home.rss", "id"): (
        24,
        'the id is "t3_42tizy"; feedparser resolves it against the xml:base of the '
        "content element before it (/t3_42tizy), an element the id is not inside",
    ),
}
# file -> (entries we keep, feedparser's, why).
KNOWN_COUNTS: dict[str, tuple[int, int, str]] = {
    "node-feedparser/illegally-nested.xml": (
        10,
        20,
        "ten empty <item/> elements nested in the real items: nothing to show or identify",
    ),
    "NetNewsWire/scriptingNews.rss": (
        50,
        48,
        "two pairs of untitled posts whose guid is the same day's link; the texts differ, so "
        "they are kept apart as posts without a guid that share a link are (a guid written as "
        "the link cannot be told from the fast path's copy of the link)",
    ),
    "miniflux/no_encoding_ISO-8859-1.xml": (
        9,
        10,
        "one <item> has no title, link, guid or text: nothing to show or identify",
    ),
}


def _reference(body: bytes) -> list[dict[str, Any]]:
    parsed = feedparser.parse(io.BytesIO(body))
    links = Counter(
        web_link(raw.get("link"), base=URL) for raw in parsed.entries if not text_of(raw.get("id"))
    )
    seen: set[object] = set()
    out = []
    for raw in parsed.entries:
        link = web_link(raw.get("link"), base=URL)
        key: object = text_of(raw.get("id")) or link
        if key is not None and key == link and links[link] > 1:
            # Posts without a guid that share one link are told apart by title.
            key = (link, text_of(raw.get("title")))
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        out.append(raw)
    return out


def _date(raw: dict[str, Any]) -> datetime | None:
    value = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC) if value else None


def _differences(ours: ParsedEntry, ref: dict[str, Any]) -> list[str]:
    ref_key = text_of(ref.get("id")) or web_link(ref.get("link"), base=URL)
    out = []
    # A key made of link and title is a hash: it agrees when link and title do.
    if ref_key is not None and ours.key != ref_key and not ours.key.startswith("sha256:"):
        out.append("id")
    if ours.link != web_link(ref.get("link"), base=URL):
        out.append("link")
    if (ours.title or "") != (text_of(ref.get("title")) or ""):
        out.append("title")
    if ours.published != _date(ref):
        out.append("date")
    content = ref.get("content")
    ref_text = (content[0].get("value") if content else None) or ref.get("summary")
    if bool(text_of(ours.content or ours.summary)) != bool(text_of(ref_text)):
        out.append("text")
    return out


def compare(
    corpus: Path,
) -> tuple[Counter[str], int, dict[tuple[str, str], int], dict[str, tuple[int, int]]]:
    """Per field, how many entries agree; how many were compared; the differences by file."""
    agree: Counter[str] = Counter()
    compared = 0
    found: dict[tuple[str, str], int] = {}
    counts: dict[str, tuple[int, int]] = {}
    root = corpus / "real"
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".json"):
        name = path.relative_to(root).as_posix()
        body = path.read_bytes()
        ours = parse_feed(body, url=URL, content_type=None)
        ref = _reference(body)
        entries = ours.entries if isinstance(ours, ParsedFeed) else ()
        if len(entries) != len(ref):
            counts[name] = (len(entries), len(ref))
            continue
        for entry, raw in zip(entries, ref, strict=True):
            compared += 1
            wrong = _differences(entry, raw)
            for field in FIELDS:
                if field in wrong:
                    found[name, field] = found.get((name, field), 0) + 1
                else:
                    agree[field] += 1
    return agree, compared, found, counts


@pytest.mark.slow  # corpus-wide
def test_entries_agree_with_feedparser(corpus: Path) -> None:
    agree, compared, found, counts = compare(corpus)
    assert counts == {name: (ours, ref) for name, (ours, ref, _) in KNOWN_COUNTS.items()}
    assert compared > 5000
    for field in FIELDS:
        assert agree[field] / compared >= 0.99, (field, agree[field], compared)
    unexplained = {k: n for k, n in found.items() if KNOWN.get(k, (None,))[0] != n}
    assert unexplained == {}
    fixed = sorted(set(KNOWN) - set(found))
    assert fixed == [], "these no longer differ: remove them from KNOWN"


def test_json_feeds_are_read_whole(corpus: Path) -> None:
    # feedparser cannot read JSON Feed, so the reference is the document itself.
    for path in sorted((corpus / "real").rglob("*.json")):
        document = json.loads(path.read_bytes())
        ours = parse_feed(path.read_bytes(), url=URL, content_type="application/feed+json")
        assert isinstance(ours, ParsedFeed), (path.name, ours)
        ids = {str(item.get("id") or item.get("url")) for item in document["items"]}
        assert len(ours.entries) == len(ids), path.name
        assert {e.key for e in ours.entries} == ids, path.name
        dated = [i for i in document["items"] if i.get("date_published") or i.get("date_modified")]
        assert sum(1 for e in ours.entries if e.published) == len(dated), path.name


if __name__ == "__main__":
    import sys

    agree_, compared_, found_, counts_ = compare(Path(sys.argv[1]))
    print("compared", compared_, {f: round(agree_[f] / compared_, 4) for f in FIELDS})
    print("count differences", counts_)
    for key_, n_ in sorted(found_.items()):
        print(key_, n_)
