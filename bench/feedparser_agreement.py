"""How far rssmania's reading of feeds agrees with feedparser's, on any folder of feeds.

    python bench/feedparser_agreement.py FOLDER [FOLDER ...] [--list 20]

For a held-out check (issue 22): feeds gathered from other projects' test
data, outside the repository, never seen while tuning the parser. Every file
under the folders is parsed by ``parse_feed`` (either path, as production
does) and by ``feedparser.parse`` on the same bytes; entries are paired in
document order after both are deduplicated by rssmania's identity rule, and
compared field by field as tests/test_agreement.py does:

- title, link: equal after feedparser's are reduced to text / resolved alike;
- date: equal at whole seconds where both read one; "invented" counts dates
  rssmania reads where feedparser reads none whose text has no year;
- text: an entry rssmania shows empty although feedparser finds text;
- entries: feedparser's entries (deduplicated by id, else link, else link and
  title) that rssmania does not have: articles lost;
- errors: an exception out of parse_feed (a bug), or a feed one reads and
  the other does not.
"""

from __future__ import annotations

import argparse
import calendar
import io
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from rssmania._poll.html import text_of, web_link
from rssmania._poll.jobs import ParsedFeed
from rssmania._poll.parse import parse_feed

URL = "https://feeds.example.org/heldout/feed.xml"
_YEAR = re.compile(r"\b(1[89]|2[01])\d\d\b")


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


def compare(folders: Sequence[Path]) -> tuple[Counter[str], list[tuple[str, str, str]]]:
    counts: Counter[str] = Counter()
    notes: list[tuple[str, str, str]] = []
    files = sorted(p for folder in folders for p in folder.rglob("*") if p.is_file())
    for path in files:
        name = path.as_posix()
        body = path.read_bytes()
        counts["files"] += 1
        try:
            ours = parse_feed(body, url=URL, content_type=None)
        except Exception as exc:  # the check is for exactly this
            counts["exceptions"] += 1
            notes.append((name, "exception", repr(exc)))
            continue
        ref = _reference(body)
        entries = ours.entries if isinstance(ours, ParsedFeed) else ()
        if not isinstance(ours, ParsedFeed) and ref:
            notes.append((name, "unread", f"{ours} (feedparser: {len(ref)} entries)"))
        if len(ref) > len(entries):
            counts["lost"] += len(ref) - len(entries)
            notes.append((name, "lost", f"{len(entries)} entries, feedparser {len(ref)}"))
        for entry, raw in zip(entries, ref, strict=False):
            counts["entries"] += 1
            title = text_of(raw.get("title")) or ""
            counts["title"] += (entry.title or "") == title
            if (entry.title or "") != title:
                notes.append((name, "title", f"{entry.title!r} / feedparser {title!r}"))
            link = web_link(raw.get("link"), base=URL)
            counts["link"] += entry.link == link
            if entry.link != link:
                notes.append((name, "link", f"{entry.link} / feedparser {link}"))
            date, text = _date(raw), raw.get("published") or raw.get("updated") or ""
            if entry.published is not None and date is not None:
                counts["dated"] += 1
                counts["date"] += entry.published == date
                if entry.published != date:
                    notes.append((name, "date", f"{entry.published} / feedparser {date} ({text})"))
            elif entry.published is not None and not _YEAR.search(text):
                counts["invented"] += 1
                notes.append((name, "invented", f"{entry.published} from {text!r}"))
            content = raw.get("content")
            ref_text = (content[0].get("value") if content else None) or raw.get("summary")
            if text_of(ref_text) and not text_of(entry.content or entry.summary):
                counts["empty"] += 1
                notes.append((name, "empty", f"{entry.title!r}"))
    return counts, notes


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--list", type=int, default=20, help="differences listed per kind")
    args = parser.parse_args(argv)
    counts, notes = compare(args.folders)
    n, dated = counts["entries"], counts["dated"]
    print(f"{counts['files']} files, {n} entries paired; exceptions {counts['exceptions']}")
    print(f"title  {counts['title'] / n:.2%}" if n else "no entries")
    print(f"link   {counts['link'] / n:.2%}" if n else "")
    print(f"date   {counts['date'] / dated:.2%} of {dated} dated by both" if dated else "")
    print(f"dates read without a year in the text: {counts['invented']}")
    print(f"entries lost: {counts['lost']}; empty where feedparser has text: {counts['empty']}")
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for name, kind, what in notes:
        by_kind.setdefault(kind, []).append((name, what))
    for kind, items in by_kind.items():
        print(f"== {kind}: {len(items)}")
        for name, what in items[: args.list]:
            print(f"   {name}: {what}"[:300])


if __name__ == "__main__":
    main()
