"""Feed URLs: what is accepted, and which host a URL belongs to."""

from __future__ import annotations

import contextlib
import re
import socket
from functools import lru_cache
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from rssmania._text import CONTROLS, is_utf8
from rssmania.exceptions import InvalidFeedURLError

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NUMERIC_HOST = re.compile(r"[0-9][0-9a-fx.]*")
# A host in brackets (an IPv6 address) is followed by a port or nothing.
_BRACKETED_HOST = re.compile(r"[^\[\]]*|\[[^\[\]]*\](?::[0-9]*)?")


def check_feed_url(url: str) -> str:
    """Return ``url`` normalized, or raise InvalidFeedURLError saying what is wrong with it.

    Normalized as RFC 3986 says two URLs are the same: scheme and host in
    lower case, no default port, no dot segments, no fragment (never sent);
    so that "HTTP://Example.org:80/a/./feed#top" is not a second subscription
    to http://example.org/a/feed, every article announced twice. Then written
    as the HTTP client (yarl) sends it: an international host by IDNA 2008
    (UTS 46), escapes of unreserved characters decoded ("/f%31" is "/f1") and
    the others in upper case, other characters escaped ("/café" is
    "/caf%C3%A9"). One request, one subscription.
    """
    url = url.strip()
    if not is_utf8(url):
        raise InvalidFeedURLError(url, "holds bytes that are not UTF-8 text")
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
    if not _BRACKETED_HOST.fullmatch(parts.netloc.rpartition("@")[2]):
        # urlsplit keeps "[::1]" of "[::1]evil.example" and drops the rest.
        raise InvalidFeedURLError(url, "text after the bracketed address of the host")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise InvalidFeedURLError(url, str(exc)) from exc
    if any(c.isspace() for c in url):
        raise InvalidFeedURLError(url, "contains whitespace")
    if CONTROLS.search(url):
        raise InvalidFeedURLError(url, "contains a control character")
    if parts.port == 0:
        raise InvalidFeedURLError(url, "port 0 is no port")
    try:
        return _normalized(parts)
    except ValueError as exc:  # yarl's, and the IDNA codec's (a UnicodeError)
        raise InvalidFeedURLError(url, f"the host is not a valid domain name: {exc}") from None


def _normalized(parts: SplitResult) -> str:
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    elif _NUMERIC_HOST.fullmatch(host):
        # 127.1, 2130706433, 0x7f.1: IPv4 as browsers read it, which the HTTP
        # client refuses ("not a canonical IPv4 address") on every poll.
        with contextlib.suppress(OSError):
            host = socket.inet_ntoa(socket.inet_aton(host))
    if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{parts.port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    path = parts.path or "/"
    if "/." in path:
        # urljoin removes dot segments the way RFC 3986 says to.
        path = urlsplit(urljoin("http://h/", path.lstrip("/") or "/")).path
    # Imported here: the commands that only list or show pay nothing for it.
    from yarl import URL  # noqa: PLC0415

    # IDNA 2003, Python's codec, sends "faß.de" to fass.de, another domain;
    # yarl (and browsers) to xn--fa-hia.de. And yarl refuses what it cannot
    # send ("a\u200db.example"), where the codec dropped the character.
    return str(URL(urlunsplit((scheme, netloc, path, parts.query, ""))))


def stored_forms(url: str) -> list[str]:
    """How a feed's URL may be stored: as given (stripped), and normalized as add stores it."""
    url = url.strip()
    try:
        normal = check_feed_url(url)
    except InvalidFeedURLError:
        return [url]
    return [url] if normal == url else [url, normal]


# Asked several times per feed and round (batching, gates, the coordinator):
# 14,000 urlsplit calls for a round of 2,000 feeds. Bounded: a few MB at most.
@lru_cache(maxsize=32768)
def host_of(url: str) -> str:
    """The host politeness limits apply to: the name, without the port."""
    return (urlsplit(url).hostname or "").lower()
