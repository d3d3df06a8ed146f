"""Parsing fetched bytes into plain data, and deciding each entry's identity.

    body -> not a feed at all? (empty, an HTML page)         -> FeedError
         -> charsets as a browser reads them                 (charset.py)
         -> defuse entity declarations, repair references    (entities.py)
            (all of it: prepare(), what both paths are given)
         -> fast path: fastfeedparser, checked               (fastpath.py)
            or, when it declines, feedparser                 (tolerant.py)
            both reading dates alike                         (dates.py)
         -> RawFeed -> sanitize, repair text encoded twice,
            absolute links, identity                         (html.py, identity.py, here)
         -> ParsedFeed

Runs in a worker process. Both paths end in the same finishing code, so an
entry reads the same whichever path parsed it this time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zlib
from collections import Counter
from datetime import datetime

from rssmania._poll.charset import as_browsers_read, unmangled
from rssmania._poll.entities import defuse_entities, repair_references
from rssmania._poll.fastpath import Fallback, parse_fast
from rssmania._poll.html import sanitize, text_of, web_link
from rssmania._poll.identity import link_and_title_key
from rssmania._poll.jobs import ParsedEntry, ParsedFeed, PollSettings
from rssmania._poll.raw import RawEntry, RawFeed
from rssmania._poll.tolerant import parse_tolerant
from rssmania.types import Enclosure, FeedError

log = logging.getLogger("rssmania.poll.parse")

_OPML_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<opml[\s>]", re.I | re.S)
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_BYTES: int = PollSettings.max_bytes
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.I | re.S)
# Bumped whenever the way entries are read or hashed changes, so that the
# coordinator can tell "the parser changed" from "the publisher edited it"
# (see rssmania._decide).
# 3: references repaired; 4: no controls, links picked alike; 5: summary base;
# 6: RSS 1.0 content:encoded, summaries that repeat the content, feedparser's authors;
# 7: charsets as browsers read them, text encoded twice repaired, unescaped HTML in a
# description read whole, an item's first link in document order (issue 22).
HASH_SCHEME = "7"


def parse_feed(
    body: bytes, *, url: str, content_type: str | None, max_bytes: int = DEFAULT_MAX_BYTES
) -> ParsedFeed | FeedError:
    """Parse ``body`` fetched from ``url`` (its final URL); relative links resolve against it.

    ``max_bytes``: the most a gzip file served as is may unpack to (the cap
    on a fetched body, ``PollSettings.max_bytes``).
    """
    prepared = prepare(body, content_type=content_type, max_bytes=max_bytes)
    if isinstance(prepared, FeedError):
        return prepared
    body, content_type = prepared
    raw = _read(body, url=url, content_type=content_type)
    if isinstance(raw, FeedError):
        return raw
    return finish(raw)


def prepare(
    body: bytes, *, content_type: str | None, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[bytes, str | None] | FeedError:
    """What both parse paths are given: ``body`` unpacked, recognised as a feed, in
    the charset a browser would read it in, with dangerous entities defused."""
    if body[:2] == _GZIP_MAGIC:
        # A .gz file served as is, without Content-Encoding: still the feed.
        unpacked = _gunzip(body, max_bytes)
        if isinstance(unpacked, FeedError):
            return unpacked
        body = unpacked
    if body[:3] == _UTF8_BOM and body[3:].lstrip()[:1] == b"{":
        body = body[3:]  # a JSON Feed written by a Windows tool; JSON has no BOM
    if not body.strip():
        return FeedError("empty", "the server sent an empty body")
    if _OPML_START.match(body[:4096]):
        return FeedError(
            "not_a_feed", "an OPML subscription list, not a feed (rssmania import reads it)"
        )
    html = _HTML_START.match(body[:4096]) or (content_type or "").startswith("text/html")
    if html and not _looks_like_feed(body):
        return FeedError("not_a_feed", "the URL serves an HTML page, not a feed")
    body, content_type = as_browsers_read(body, content_type)
    return repair_references(defuse_entities(body)), content_type


def _gunzip(body: bytes, max_bytes: int) -> bytes | FeedError:
    unpacker = zlib.decompressobj(wbits=31)
    try:
        out = unpacker.decompress(body, max_bytes)
    except zlib.error as exc:
        return FeedError("malformed", f"a gzip file that cannot be unpacked: {exc}")
    if unpacker.unconsumed_tail:
        return FeedError("too_large", f"a gzip file that unpacks to more than {max_bytes:,} bytes")
    return out


def _looks_like_feed(body: bytes) -> bool:
    head = body[:4096]
    return b"<rss" in head or b"<feed" in head or b"<rdf:RDF" in head


def _read(body: bytes, *, url: str, content_type: str | None) -> RawFeed | FeedError:
    try:
        return parse_fast(body, url=url)
    except Fallback as why:
        log.debug("%s: feedparser reads it: %s", url, why)
    if body.lstrip()[:1] in (b"{", b"["):
        # feedparser cannot read JSON at all: the fast path's word is final.
        return FeedError("malformed", "a JSON document that is not a readable JSON Feed")
    return parse_tolerant(body, url=url, content_type=content_type)


def finish(raw: RawFeed) -> ParsedFeed:
    # An empty <item/> has nothing to show, nothing to identify: left out.
    read = [_entry(e, raw.base) for e in raw.entries if _has_anything(e)]
    # Entries without a guid that share their link: keyed by link and title.
    shared = Counter(entry.key for entry, by_link in read if by_link)
    seen: set[str] = set()
    entries = []
    for one, by_link in read:
        entry = one
        if by_link and shared[one.key] > 1:
            key = link_and_title_key(one.key, one.title, one.content or one.summary)
            entry = one._replace(key=key, alias=one.key)
        # A feed that lists one id twice keeps its first (newest, by convention) copy.
        if entry.key in seen:
            continue
        seen.add(entry.key)
        entries.append(entry)
    return ParsedFeed(
        title=unmangled(text_of(raw.title)),
        link=web_link(raw.link, base=raw.base),
        entries=tuple(entries),
        interval_hint=raw.interval_hint,
        warning=raw.warning,
    )


def _entry(raw: RawEntry, feed_base: str) -> tuple[ParsedEntry, bool]:
    """The entry, and whether it is keyed by its link (it has no guid of its own)."""
    base = raw.base or feed_base
    title = unmangled(text_of(raw.title))
    # No usable link but an id that is a web address (an RSS guid is a
    # permalink unless it says otherwise): that is where the entry lives.
    link = web_link(raw.link, base=base) or web_link(raw.id)
    author = unmangled(_author_name(text_of(raw.author)))
    summary = unmangled(sanitize(raw.summary, base=raw.summary_base or base))
    if raw.content == raw.summary and raw.content_base == raw.summary_base:
        content = summary
    else:
        content = unmangled(sanitize(raw.content, base=raw.content_base or base))
    # One body, one place: an RSS description alone, or an Atom entry whose
    # summary repeats its content, is the content; both parsers agree then.
    if content is None:
        content, summary = summary, None
    elif summary == content:
        summary = None
    enclosures = _enclosures(raw, base)
    # Whole seconds: feedparser's dates have no fraction, and an entry must
    # read the same whichever path parsed it.
    published = _seconds(raw.published or raw.updated)
    updated = _seconds(raw.updated or raw.published)
    # An enclosure's type and length are not shown and the two parsers do
    # not always find them: only its address counts.
    visible = "\x1f".join(
        [title or "", link or "", author or "", summary or "", content or ""]
        + [e.href for e in enclosures]
    )
    content_hash = HASH_SCHEME + ":" + hashlib.sha256(visible.encode()).hexdigest()[:32]
    # An id that is the link as written is the link, resolved: fastfeedparser
    # copies a missing guid from the link, unresolved ("/posts/1"), where
    # feedparser leaves it empty; either way the key is the same.
    same = raw.id is not None and raw.id == raw.link and link is not None
    own_id = None if same else text_of(raw.id)
    key = own_id or link or _fallback_key(title, summary, content)
    return ParsedEntry(
        key=key,
        content_hash=content_hash,
        title=title,
        link=link,
        author=author,
        summary=summary,
        content=content,
        enclosures=enclosures,
        published=published,
        updated=updated,
    ), own_id is None and link is not None


# RSS <author> is an email address, often with the name in parentheses.
_EMAIL_AND_NAME = re.compile(r"\A\S+@\S+\s*\((.+)\)\Z")
_NAME_AND_EMAIL = re.compile(r"\A(.+?)\s*\(\S+@\S+\)\Z")


def _author_name(author: str | None) -> str | None:
    if author is None or "@" not in author:
        return author
    match = _EMAIL_AND_NAME.match(author) or _NAME_AND_EMAIL.match(author)
    return match.group(1).strip() if match else author


# A byte count beyond what SQLite and JSON tools hold in an integer is no size.
_MAX_LENGTH = 2**63 - 1


def _enclosures(raw: RawEntry, base: str) -> tuple[Enclosure, ...]:
    if not raw.enclosures:
        return ()
    found: dict[str, Enclosure] = {}
    for href, kind, length in raw.enclosures:
        url = web_link(href, base=base)
        # Feeds repeat an enclosure (once per format, or by mistake): keep one.
        if url is not None and url not in found:
            size = length if length is not None and length <= _MAX_LENGTH else None
            found[url] = Enclosure(href=url, type=kind, length=size)
    return tuple(found.values())


def _has_anything(raw: RawEntry) -> bool:
    return bool(raw.id or raw.link or raw.title or raw.summary or raw.content or raw.enclosures)


def _seconds(value: datetime | None) -> datetime | None:
    return value.replace(microsecond=0) if value is not None and value.microsecond else value


def _fallback_key(title: str | None, summary: str | None, content: str | None) -> str:
    # No guid and no link: the entry is what it says. Dates are left out on
    # purpose, since feeds regenerate them on every request.
    text = json.dumps([title, content or summary], ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
