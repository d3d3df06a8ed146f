"""Feed URLs: what is accepted, and which host a URL belongs to."""

from __future__ import annotations

from urllib.parse import urlsplit

from rssmania._text import CONTROLS
from rssmania.exceptions import InvalidFeedURLError


def check_feed_url(url: str) -> str:
    """Return ``url`` stripped, or raise InvalidFeedURLError saying what is wrong with it."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidFeedURLError(url, str(exc)) from exc
    if parts.scheme.lower() not in ("http", "https"):
        reason = (
            f"scheme {parts.scheme!r} is not supported (only http and https)"
            if parts.scheme
            else "not a URL (expected http:// or https://)"
        )
        raise InvalidFeedURLError(url, reason)
    if not parts.hostname:
        raise InvalidFeedURLError(url, "no host name")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise InvalidFeedURLError(url, str(exc)) from exc
    if any(c.isspace() for c in url):
        raise InvalidFeedURLError(url, "contains whitespace")
    if CONTROLS.search(url):
        raise InvalidFeedURLError(url, "contains a control character")
    return url


def host_of(url: str) -> str:
    """The host politeness limits apply to: the name, without the port."""
    return (urlsplit(url).hostname or "").lower()
