"""Entries and subscriptions as Google Reader clients read them: JSON items, Atom feeds.

Pure: Library values in, bytes or plain data out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from rssmania.types import Entry, Feed, FeedSummary
from rssmania.web.api.greader_streams import KEPT_UNREAD, READ, READING_LIST, STARRED, long_id

ATOM_SCHEME = "http://www.google.com/reader/"


def listed_at(entry: Entry) -> datetime:
    """The date the Library lists an entry under (its own, never after it was first seen):
    the timestamps clients send back (``ts``, ``ot``) then mean what the Library's mean."""
    own = entry.published or entry.updated
    return entry.first_seen if own is None or own > entry.first_seen else own


def usec(when: datetime) -> str:
    return str(int(when.timestamp() * 1_000_000))


def label_id(category: str) -> str:
    return f"user/-/label/{category}"


def feed_stream(feed_id: int) -> str:
    return f"feed/{feed_id}"


def entry_categories(entry: Entry, category: str | None) -> list[str]:
    found = [READING_LIST, READ if entry.read else KEPT_UNREAD]
    if entry.starred:
        found.append(STARRED)
    if category:
        found.append(label_id(category))
    return found


def item(entry: Entry, feed: FeedSummary | None) -> dict[str, object]:
    """One entry as ``stream/contents`` gives it (Google's field names).

    The origin's ``htmlUrl`` (the site) is left empty: it would take the full feed
    list, half of a 1,000-item page's time, and apps take a feed's site from
    ``subscription/list``, which has it."""
    link = entry.link or ""
    body = entry.content or entry.summary or ""
    at = listed_at(entry)
    found: dict[str, object] = {
        "id": long_id(entry.entry_id),
        "crawlTimeMsec": str(int(entry.first_seen.timestamp() * 1000)),
        "timestampUsec": usec(at),
        "published": int((entry.published or at).timestamp()),
        "updated": int((entry.updated or entry.published or at).timestamp()),
        "title": entry.title or "",
        "author": entry.author or "",
        "canonical": [{"href": link}] if link else [],
        "alternate": [{"href": link, "type": "text/html"}] if link else [],
        "categories": entry_categories(entry, feed.category if feed else None),
        "origin": {
            "streamId": feed_stream(entry.feed_id),
            "title": (feed.title if feed else entry.feed_title) or entry.feed_url,
            "htmlUrl": "",
        },
        "summary": {"direction": "ltr", "content": entry.summary or body},
        "content": {"direction": "ltr", "content": body},
    }
    if entry.enclosures:
        found["enclosure"] = [
            # "href" as Google and FreshRSS; "url" too, which some clients read instead.
            {"href": e.href, "url": e.href, "type": e.type or "application/octet-stream"}
            | ({"length": str(e.length)} if e.length is not None else {})
            for e in entry.enclosures
        ]
    return found


def subscription(feed: Feed) -> dict[str, object]:
    found: dict[str, object] = {
        "id": feed_stream(feed.id),
        "title": feed.display_title,
        "url": feed.url,
        "htmlUrl": feed.link or "",
        "iconUrl": "",
        "firstitemmsec": str(int(feed.added.timestamp() * 1000)),
        "sortid": f"{feed.id:08X}",
        "categories": (
            [{"id": label_id(feed.category), "label": feed.category}] if feed.category else []
        ),
    }
    return found


def atom(
    title: str,
    self_url: str,
    entries: Iterable[Entry],
    feeds: Mapping[int, FeedSummary],
    *,
    now: datetime,
) -> bytes:
    """An Atom feed of entries, with Google's state categories that newsboat reads
    (``label="read"``, ``"kept-unread"``, ``"starred"``)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:gr="http://www.google.com/schemas/reader/atom/">\n'
        f"<title>{escape(title)}</title>\n"
        f"<id>{escape(self_url)}</id>\n"
        f'<link rel="self" href={quoteattr(self_url)}/>\n'
        f"<updated>{now.isoformat()}</updated>\n"
    ]
    for entry in entries:
        feed = feeds.get(entry.feed_id)
        at = listed_at(entry)
        parts.append("<entry>\n")
        parts.append(f"<id>{long_id(entry.entry_id)}</id>\n")
        parts.append(f'<title type="html">{escape(entry.title or "")}</title>\n')
        if entry.link:
            parts.append(f'<link rel="alternate" type="text/html" href={quoteattr(entry.link)}/>\n')
        parts.append(f"<published>{(entry.published or at).isoformat()}</published>\n")
        parts.append(f"<updated>{(entry.updated or entry.published or at).isoformat()}</updated>\n")
        if entry.author:
            parts.append(f"<author><name>{escape(entry.author)}</name></author>\n")
        for category in entry_categories(entry, feed.category if feed else None):
            label = category.rsplit("/", 1)[1] if "/state/" in category else category[13:]
            parts.append(
                f"<category term={quoteattr(category)} scheme={quoteattr(ATOM_SCHEME)} "
                f"label={quoteattr(label)}/>\n"
            )
        body = entry.content or entry.summary or ""
        parts.append(f'<content type="html">{escape(body)}</content>\n')
        source = (feed.title if feed else entry.feed_title) or entry.feed_url
        parts.append(
            f'<source gr:stream-id="{feed_stream(entry.feed_id)}"><title>{escape(source)}</title>'
            "</source>\n</entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")
