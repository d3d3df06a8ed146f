"""JSON Lines: one object per entry, the format of ``update --json`` and ``entries --json``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rssmania.types import Entry


def _date(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def entry_object(entry: Entry) -> dict[str, Any]:
    return {
        "feed_url": entry.feed_url,
        "feed_title": entry.feed_title,
        "id": entry.id,
        "title": entry.title,
        "link": entry.link,
        "author": entry.author,
        "published": _date(entry.published),
        "updated": _date(entry.updated),
        "first_seen": _date(entry.first_seen),
        "status": entry.status.value,
        "summary": entry.summary,
        "content": entry.content,
        "enclosures": [
            {"href": e.href, "type": e.type, "length": e.length} for e in entry.enclosures
        ],
        "read": entry.read,
        "starred": entry.starred,
    }


def entry_line(entry: Entry) -> str:
    return json.dumps(entry_object(entry), ensure_ascii=False)
