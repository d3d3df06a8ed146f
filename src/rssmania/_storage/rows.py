"""Rows to public types, and the column lists that go with them."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from rssmania._storage.connection import to_datetime
from rssmania.types import Enclosure, Entry, EntryStatus, Feed

log = logging.getLogger("rssmania.storage")

# What a required date reads as when another tool wrote something else there.
NO_DATE = datetime.min.replace(tzinfo=UTC)

PAUSED = "paused by you"

# A feed as the poller sees it: no user in view.
FEED_COLUMNS = (
    "url, title, link, NULL, NULL, added, last_checked, next_check, "
    "last_status, error_count, last_error, interval, next_check_reason, polls, "
    "not_modified_count, moved_from, disabled_reason, id, 0, last_new"
)
# A feed as one user sees it, from feeds f JOIN subscriptions s.
SUBSCRIPTION_COLUMNS = (
    "f.url, f.title, f.link, s.title, s.category, s.added, f.last_checked, f.next_check, "
    "f.last_status, f.error_count, f.last_error, f.interval, f.next_check_reason, f.polls, "
    f"f.not_modified_count, f.moved_from, CASE WHEN s.paused THEN '{PAUSED}' "
    "ELSE f.disabled_reason END, f.id, s.unread, f.last_new"
)
# An entry from entries e JOIN feeds f; the last two are the viewer's state (see entry_state).
ENTRY_COLUMNS = (
    "f.url, f.title, e.key, e.title, e.link, e.author, e.summary, "
    "e.content, e.enclosures, e.published, e.updated, e.first_seen, e.last_changed, e.status, "
    "e.id, e.feed_id"
)


def entry_state(user: str) -> str:
    """The columns read, starred and the feed's title for the user ``user`` names (SQL)."""
    return (
        f"NOT EXISTS (SELECT 1 FROM unread u WHERE u.user_id = {user} AND u.entry_id = e.id), "
        f"EXISTS (SELECT 1 FROM starred st WHERE st.user_id = {user} AND st.entry_id = e.id), "
        f"(SELECT s.title FROM subscriptions s WHERE s.user_id = {user} AND s.feed_id = e.feed_id)"
    )


def feed_from_row(row: tuple[Any, ...]) -> Feed:
    (url, title, link, user_title, category, added, last_checked, next_check,
     last_status, error_count, last_error, interval, next_check_reason, polls,
     not_modified_count, moved_from, disabled_reason, feed_id, unread, last_new) = row  # fmt: skip
    return Feed(
        url=url,
        title=title,
        link=link,
        user_title=user_title,
        category=category,
        added=to_datetime(added) or NO_DATE,
        last_checked=to_datetime(last_checked),
        next_check=to_datetime(next_check),
        last_status=last_status,
        error_count=error_count,
        last_error=last_error,
        interval=interval,
        next_check_reason=next_check_reason,
        polls=polls,
        not_modified_count=not_modified_count,
        moved_from=moved_from,
        disabled_reason=disabled_reason,
        id=feed_id,
        unread=unread,
        last_new=to_datetime(last_new),
    )


def enclosures_from_text(stored: str) -> tuple[Enclosure, ...]:
    try:
        return tuple(Enclosure(str(x[0]), *x[1:3]) for x in json.loads(stored) if x)
    except (TypeError, ValueError, KeyError, IndexError):
        log.warning("the database holds enclosures rssmania cannot read: %r", stored[:100])
        return ()


def entry_from_row(row: tuple[Any, ...]) -> Entry:
    """An entry from ENTRY_COLUMNS, then optionally entry_state's three columns."""
    (feed_url, feed_title, key, title, link, author, summary, content, enclosures,
     published, updated, first_seen, last_changed, status, entry_id,
     feed_id) = row[:16]  # fmt: skip
    read, starred, user_title = row[16:19] if len(row) >= 19 else (False, False, None)
    return Entry(
        feed_url=feed_url,
        feed_title=user_title if user_title is not None else feed_title,
        id=key,
        title=title,
        link=link,
        author=author,
        summary=summary,
        content=content,
        enclosures=enclosures_from_text(enclosures),
        published=to_datetime(published),
        updated=to_datetime(updated),
        first_seen=to_datetime(first_seen) or NO_DATE,
        last_changed=to_datetime(last_changed) or NO_DATE,
        status=EntryStatus.UPDATED if status == EntryStatus.UPDATED else EntryStatus.NEW,
        read=bool(read),
        starred=bool(starred),
        entry_id=entry_id,
        feed_id=feed_id,
    )
