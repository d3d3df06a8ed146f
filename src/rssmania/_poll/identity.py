"""An entry's identity when it has no guid of its own: its link, or its link and title.

A guid (an Atom id) is the entry's key. Without one, the link is, unless
another entry of the same document has the same link and no guid either (a
news page that lists every post at one URL): those are distinct articles,
keyed by link and title, or link and text when they have no title
(issue 22: keyed by the link alone, 98 of 99 posts of such a feed were
dropped as repeats). Miniflux keys such entries by link alone; NetNewsWire
and FeedDemon combine the link with the title.

A feed can add a second post at a link, or drop one, so one article can
have either key from one poll to the next: ``alias_of`` gives the other,
and the decider keeps whichever is stored (``rssmania._decide``).
"""

from __future__ import annotations

import hashlib
import json

from rssmania._poll.jobs import ParsedEntry


def link_and_title_key(link: str, title: str | None, text: str | None) -> str:
    """The key of an entry without a guid that shares its link with another."""
    what = json.dumps([link, title] if title else [link, None, text], ensure_ascii=False)
    return "sha256:" + hashlib.sha256(what.encode()).hexdigest()


def alias_of(entry: ParsedEntry) -> str | None:
    """The key ``entry`` has when its link is shared, if it is keyed by its link alone;
    its link, if it is keyed by link and title; else None.

    Computed where it is needed (an entry not stored under its key), not for
    every entry of every poll: a hash per entry cost the finishing step 10%.
    """
    if entry.alias is not None:
        return entry.alias
    if entry.link is not None and entry.key == entry.link:
        return link_and_title_key(entry.link, entry.title, entry.content or entry.summary)
    return None
