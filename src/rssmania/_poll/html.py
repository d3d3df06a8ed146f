"""What a reader may be shown: sanitized HTML, plain-text titles, absolute http(s) links.

Sanitizing is ammonia's job (through ``nh3``): it parses HTML the way a
browser does, keeps a list of harmless tags and attributes, drops scripts,
event handlers and ``javascript:`` URLs, and rewrites relative URLs against
the entry's base, so an ``<img src="a.png">`` still shows once the HTML
leaves its feed. One ``Cleaner`` is built per base URL, that is about once
per feed.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import quote, urljoin, urlsplit

import nh3

from rssmania._text import CONTROLS, without_controls

# mailto: is harmless and common in feed content; everything else that is not
# a web address (javascript:, data:, file:, vbscript:...) goes.
_URL_SCHEMES = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=64)
def _cleaner(base: str) -> nh3.Cleaner:
    return nh3.Cleaner(url_schemes=set(_URL_SCHEMES), url_relative=("rewrite_with_base", base))


def sanitize(fragment: str | None, *, base: str) -> str | None:
    """Safe HTML from a feed's HTML ``fragment``; relative URLs resolve against ``base``."""
    if not fragment:
        return None
    if "<" not in fragment:
        # No markup at all: nothing a browser could run, nothing to rewrite.
        fragment = fragment.strip()
        return fragment or None
    try:
        cleaned = _cleaner(base).clean(fragment)
    except ValueError:
        # A base that is not an absolute URL: relative URLs cannot be made to work.
        cleaned = nh3.clean(fragment, url_schemes=set(_URL_SCHEMES), url_relative="deny")
    cleaned = cleaned.strip()
    return cleaned or None


# Markup in a title: an element closed, one with attributes or self-closed
# (<img src="..."/>), a comment, or a line break. A title that only names elements
# ("Why <canvas> beats <svg>", "The <details> element") is text: stripped as
# markup, it read "Why beats".
_MARKUP = re.compile(r"</[A-Za-z]|<!|<[A-Za-z][\w:-]*(?:\s[^<>]*=|[^<>]*/>)|<br\b", re.IGNORECASE)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def text_of(value: str | None) -> str | None:
    """Plain text of a title or name that may carry markup or entities."""
    if not value:
        return None
    if "<" in value and _MARKUP.search(value):
        # A line break parts two words.
        value = nh3.clean(_BREAK.sub(" ", value), tags=set())
        value = html.unescape(value)
    elif "&" in value:
        value = html.unescape(value)
    # isprintable() runs at C speed and is false for any whitespace but the
    # space (tab, newline, no-break space), for controls and for format
    # characters (emoji joiners). When true, collapsing whitespace changes
    # nothing unless spaces double or edge the text.
    if value.isprintable():
        if "  " in value or value.startswith(" ") or value.endswith(" "):
            value = " ".join(value.split())
    else:
        # Whitespace first: some controls (\v, \f, \x1c-\x1f) separate words.
        value = " ".join(without_controls(" ".join(value.split())).split())
    return value or None


def web_link(value: str | None, *, base: str | None = None) -> str | None:
    """An absolute http(s) link a reader may open, or None (javascript:, data:, file:...)."""
    if not value:
        return None
    # As a browser reads an href: tabs and newlines inside are dropped, other
    # controls percent-encoded (then no link can carry an escape sequence).
    value = value.strip()
    if not value.isprintable():
        value = value.replace("\t", "").replace("\n", "").replace("\r", "")
        value = CONTROLS.sub(lambda m: quote(m.group()), value)
    web = value[:8].lower().startswith(("http://", "https://"))
    if base and not web:
        try:
            value = urljoin(base, value)
        except ValueError:
            return None
        web = value[:8].lower().startswith(("http://", "https://"))
    if not web:
        return None
    host = value[value.index("//") + 2 :]
    if not host or host[0] in "/?#":  # "https://", "http:///x": nowhere to go
        return None
    if "[" in value or "]" in value:  # an IPv6 host, or a broken one: no link then
        try:
            urlsplit(value)
        except ValueError:
            return None
    return value
