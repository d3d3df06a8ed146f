"""Finding a site's feeds from its address, as a browser's "subscribe" does.

    an address -> fetched with the poller's guards (size cap, timeouts, redirects,
                  private addresses refused when asked)
               -> a feed itself?             its own URL and title
               -> a page?                    its <link rel="alternate"> feeds
               -> a page that names none?    the first of the usual places
                                             (/feed, /rss.xml, /atom.xml, /index.xml)

Used by the web reader's "add a feed" and by ``rssmania add``; a call does
network I/O and never raises for what the site does: failures are a
``FeedError`` value.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from aiohttp import ClientSession

from rssmania._poll.fetch import fetch, make_session
from rssmania._poll.jobs import PollJob, PollSettings
from rssmania._poll.parse import parse_feed
from rssmania._urls import check_feed_url
from rssmania.exceptions import InvalidFeedURLError
from rssmania.types import FeedError

_FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "text/xml",
    "application/xml",
}
USUAL_PLACES = ("/feed", "/rss.xml", "/atom.xml", "/index.xml")
"""Where sites that announce no feed keep one (WordPress, static site generators, Hugo)."""
_FEED_ENDINGS = (".xml", ".rss", ".atom", ".rdf", ".json", "/feed", "/rss", "/atom", "/feed/")
MAX_PAGE = 2 * 1024 * 1024
"""A page bigger than this is not looked at: a site's home page is a few hundred KB."""


@dataclass(frozen=True)
class FoundFeed:
    url: str
    title: str | None


async def find_feeds(
    address: str,
    *,
    user_agent: str,
    refuse_private: bool = False,
    timeout: float = 20.0,
) -> list[FoundFeed] | FeedError:
    """The feeds at ``address``: itself when it is one, else those its page links to."""
    try:
        url = check_feed_url(address if "://" in address else f"https://{address}")
    except InvalidFeedURLError as exc:
        return FeedError("invalid", str(exc))
    settings = PollSettings(
        user_agent=user_agent,
        total_timeout=timeout,
        read_timeout=timeout,
        connect_timeout=min(10.0, timeout),
        max_bytes=MAX_PAGE,
        refuse_private=refuse_private,
    )
    async with make_session(settings, max_connections=2) as session:
        fetched = await fetch(session, PollJob(url), settings)
        if isinstance(fetched, FeedError):
            return fetched
        if fetched.status != 200:
            return FeedError("http", f"the site answered {fetched.status} {fetched.reason}".strip())
        # Parsing a big document is CPU: not on the event loop of a web server.
        parsed = await asyncio.to_thread(
            parse_feed, fetched.body, url=fetched.final_url, content_type=fetched.content_type
        )
        if not isinstance(parsed, FeedError):
            return [FoundFeed(fetched.final_url, parsed.title)]
        linked = await asyncio.to_thread(_linked_feeds, fetched.body, fetched.final_url)
        if linked:
            return linked
        for path in USUAL_PLACES:
            found = await _feed_at(session, settings, urljoin(fetched.final_url, path))
            if found is not None:
                return [found]
    return FeedError(
        "not_a_feed",
        "no feed here: the page names none, and none is at " + ", ".join(USUAL_PLACES),
    )


def looks_like_a_feed(url: str) -> bool:
    """Whether a URL's path names a feed (``.xml``, ``/feed``...): taken as given, not fetched."""
    path = urlsplit(url).path.lower()
    return path.endswith(_FEED_ENDINGS)


async def _feed_at(session: ClientSession, settings: PollSettings, url: str) -> FoundFeed | None:
    try:
        url = check_feed_url(url)
    except InvalidFeedURLError:
        return None
    fetched = await fetch(session, PollJob(url), settings)
    if isinstance(fetched, FeedError) or fetched.status != 200:
        return None
    parsed = await asyncio.to_thread(
        parse_feed, fetched.body, url=fetched.final_url, content_type=fetched.content_type
    )
    return None if isinstance(parsed, FeedError) else FoundFeed(fetched.final_url, parsed.title)


def _linked_feeds(page: bytes, base: str) -> list[FoundFeed]:
    """The feeds a page's <link rel="alternate"> name (none for what is not a page)."""
    try:
        tree = lxml.html.document_fromstring(page)
    except (ValueError, lxml.etree.ParserError):
        return []
    found: dict[str, FoundFeed] = {}
    for link in tree.iterfind(".//link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or kind not in _FEED_TYPES or not href:
            continue
        try:
            url = check_feed_url(urljoin(base, href))
        except InvalidFeedURLError:
            continue
        found.setdefault(url, FoundFeed(url, (link.get("title") or "").strip() or None))
    return list(found.values())
