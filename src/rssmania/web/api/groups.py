"""Categories as the Miniflux and Fever clients see them: every feed is in one.

Those clients have no place for a feed outside a category, so a feed with
none is in "All" (Miniflux's name for it), a real category with an id;
putting a feed in "All" takes it out of any.
"""

from __future__ import annotations

from rssmania import Category, Feed, User
from rssmania.web.context import Web

ALL = "All"


async def with_all(w: Web, user: User, feeds: list[Feed]) -> list[Category]:
    """The user's categories, "All" among them when a feed has none or nothing else is;
    "All" counts the feeds with no category."""
    found = await w.run(w.library.category_list, user.id)
    if not any(c.name == ALL for c in found) and (
        not found or any(f.category is None for f in feeds)
    ):
        await w.run(w.library.add_category, user.id, ALL, exist_ok=True)
        found = await w.run(w.library.category_list, user.id)
    loose = [f for f in feeds if f.category is None]
    return [
        Category(c.id, c.name, c.feeds + len(loose), c.unread + sum(f.unread for f in loose))
        if c.name == ALL
        else c
        for c in found
    ]


def group_of(feed: Feed) -> str:
    return feed.category or ALL
