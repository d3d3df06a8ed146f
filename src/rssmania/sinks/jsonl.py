"""JSON Lines: one object per entry, the format of ``update --json`` and ``entries --json``."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from rssmania.types import Entry, Feed


def _date(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# The entries of one poll share first_seen (the moment it was stored).
_first_seen = lru_cache(maxsize=8)(_date)
# Built once: json.dumps with options builds an encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def entry_object(entry: Entry) -> dict[str, Any]:
    published = _date(entry.published)
    return {
        "feed_url": entry.feed_url,
        "feed_title": entry.feed_title,
        "id": entry.id,
        "title": entry.title,
        "link": entry.link,
        "author": entry.author,
        "published": published,
        "updated": published if entry.updated == entry.published else _date(entry.updated),
        "first_seen": _first_seen(entry.first_seen),
        "status": entry.status.value,
        "summary": entry.summary,
        "content": entry.content,
        "enclosures": [
            {"href": e.href, "type": e.type, "length": e.length} for e in entry.enclosures
        ],
        "read": entry.read,
        "starred": entry.starred,
    }


def feed_object(feed: Feed) -> dict[str, Any]:
    return {
        "url": feed.url,
        "title": feed.display_title,
        "category": feed.category,
        "last_checked": _date(feed.last_checked),
        "next_check": _date(feed.next_check),
        "next_check_reason": feed.next_check_reason,
        "interval": feed.interval,
        "last_status": feed.last_status,
        "error_count": feed.error_count,
        "last_error": feed.last_error,
        "polls": feed.polls,
        "not_modified": feed.not_modified_count,
        "moved_from": feed.moved_from,
        "stopped": feed.disabled_reason,
    }


def entry_line(entry: Entry) -> str:
    return _encode(entry_object(entry))
