"""What a parser hands over before it is made safe: the common ground of both parse paths.

The fast path (fastfeedparser) and the tolerant one (feedparser) each turn a
document into a ``RawFeed``; ``rssmania._poll.parse`` then does the rest the
same way for both (sanitizing, links, identity), so that a feed that moves
from one path to the other keeps its entries as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from rssmania._poll import ffp_shim

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def alternate_link(links: Iterable[Mapping[str, Any]]) -> str | None:
    """An entry's web page among its links: the first alternate that is HTML, else the first.

    Atom's rule (a link without rel is an alternate; without type, HTML is
    assumed), as feedparser applies it, except that an entry whose only
    alternate is, say, a PDF keeps that link (feedparser has none). Never
    ``rel="replies"`` (the comments) or an enclosure. Both paths pick the
    same link, so an entry keeps its link, and its identity, whichever reads it.
    """
    alternates = [
        link
        for link in links
        if (link.get("rel") or "alternate") == "alternate" and link.get("href")
    ]
    for link in alternates:
        if str(link.get("type") or "text/html").lower() in _HTML_TYPES:
            return str(link["href"])
    return str(alternates[0]["href"]) if alternates else None


def resolved(url: str, base: str | None) -> str | None:
    """An xml:base made absolute against the document's ``url``; None for one that is no
    URL ("http://[oops/", on which urljoin raises): the bases around it apply instead."""
    if not base:
        return None
    try:
        return urljoin(url, base)
    except ValueError:
        return None


@dataclass(slots=True)
class RawEntry:
    id: str | None = None
    title: str | None = None
    """As the feed has it: text, or HTML for Atom ``type="html"`` titles."""
    link: str | None = None
    """Possibly relative to ``base``."""
    author: str | None = None
    summary: str | None = None
    """HTML, unsanitized."""
    content: str | None = None
    """HTML, unsanitized."""
    enclosures: list[tuple[str, str | None, int | None]] = field(default_factory=list)
    """(href, type, length)."""
    published: datetime | None = None
    updated: datetime | None = None
    base: str | None = None
    """The entry's xml:base when it has one, absolute; else the feed's base applies."""
    summary_base: str | None = None
    """The xml:base where its summary is, when not ``base``, absolute."""
    content_base: str | None = None
    """The xml:base where its content is (``<content xml:base="post/">``), when not ``base``."""


@dataclass(slots=True)
class RawFeed:
    title: str | None
    link: str | None
    entries: list[RawEntry]
    base: str
    """What relative links resolve against: the document's xml:base or the final URL."""
    interval_hint: int | None = None
    warning: str | None = None
    parser: str = "fast"
    """Which path read it: "fast", "feedparser" or "json"."""


def repeats_content(summary: str, content: str) -> bool:
    """``summary`` is the text fastfeedparser makes up from ``content`` when an entry
    has no summary: the start of its text. Also when the publisher wrote it
    (heise's Atom feed repeats each content's text in its summary), which both
    paths then leave out alike, so that an entry reads the same whichever
    path parsed it, and a reader is not shown the same text twice.
    """
    return (
        summary != content
        and len(summary) <= ffp_shim.SYNTH_DESCRIPTION_LEN
        and summary == ffp_shim.synthesized_description(content)
    )
