"""Parsing fetched bytes into plain data, and deciding each entry's identity.

Runs in a worker process. ``parse_feed`` takes bytes only: feedparser, given a
``str`` or ``bytes`` that names a path, opens that local file, so the body is
always wrapped in a file object before it reaches the parser.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from rssmania._poll.hints import publisher_interval
from rssmania._poll.jobs import ParsedEntry, ParsedFeed
from rssmania.types import Enclosure, FeedError

# Bozo exceptions that say "the document was read fine, but its declared type
# or charset was off": not a reason to distrust an empty feed.
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
# A DOCTYPE with an internal subset that declares entities: the way to make a
# 1 KB document expand to gigabytes (billion laughs, quadratic blowup).
_ENTITY_DTD = re.compile(rb"<!DOCTYPE[^\[>]*\[[^\]]*<!ENTITY.*?\]\s*>", re.I | re.S)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.I | re.S)


def parse_feed(body: bytes, *, url: str, content_type: str | None) -> ParsedFeed | FeedError:
    """Parse ``body`` fetched from ``url``; relative links resolve against ``url``."""
    if not body.strip():
        return FeedError("empty", "the server sent an empty body")
    # Feeds have no business declaring entities; drop the declarations, so that
    # references to them stay unexpanded text instead of exploding.
    body = _ENTITY_DTD.sub(b"", body[:65536], count=1) + body[65536:]
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    except (MemoryError, RecursionError):
        raise  # the worker's limits speak for these
    except Exception as exc:
        # feedparser raises on some broken documents (a stray end tag, a bad
        # encoding declaration, a lone surrogate): the fuzz tests list them.
        return FeedError("malformed", f"the parser failed on it: {type(exc).__name__}: {exc}")
    entries = _entries(parsed.entries)
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.get("version") and not entries:
        if _HTML_START.match(body[:4096]) or (content_type or "").startswith("text/html"):
            return FeedError("not_a_feed", "the URL serves an HTML page, not a feed")
        if body.lstrip()[:1] == b"{":
            return FeedError("not_a_feed", "JSON documents (JSON Feed) are not supported yet")
        reason = f": {_one_line(bozo)}" if bozo else ""
        return FeedError("malformed", f"not a feed that can be read{reason}")
    if bozo is not None and not entries and not isinstance(bozo, _HARMLESS_BOZO):
        return FeedError("malformed", f"malformed feed, no entry recovered: {_one_line(bozo)}")
    meta = parsed.get("feed", {})
    warning = None
    if bozo is not None and not isinstance(bozo, _HARMLESS_BOZO):
        warning = f"not well-formed, {len(entries)} entries recovered: {_one_line(bozo)}"
    return ParsedFeed(
        title=_text(meta.get("title")),
        link=_web_link(meta.get("link")),
        entries=entries,
        interval_hint=publisher_interval(meta),
        warning=warning,
    )


def _entries(raw_entries: list[dict[str, Any]]) -> tuple[ParsedEntry, ...]:
    seen: set[str] = set()
    out = []
    for raw in raw_entries:
        entry = _entry(raw)
        # A feed that lists one id twice keeps its first (newest, by convention) copy.
        if entry.key in seen:
            continue
        seen.add(entry.key)
        out.append(entry)
    return tuple(out)


def _entry(raw: dict[str, Any]) -> ParsedEntry:
    title = _text(raw.get("title"))
    link = _web_link(raw.get("link"))
    author = _text(raw.get("author"))
    summary = _text(raw.get("summary"))
    content = _content(raw.get("content"))
    if content is not None and content == summary:
        summary = None
    enclosures = _enclosures(raw.get("enclosures"))
    # dict.get, not raw.get: FeedParserDict maps a missing updated_parsed to
    # published_parsed (with a warning); the fallback is ours to decide.
    published = _date(dict.get(raw, "published_parsed"))
    updated = _date(dict.get(raw, "updated_parsed"))
    visible = json.dumps(
        [title, link, author, summary, content, [(e.href, e.type, e.length) for e in enclosures]],
        ensure_ascii=False,
    )
    content_hash = hashlib.sha256(visible.encode()).hexdigest()[:32]
    key = _text(raw.get("id")) or link or _fallback_key(title, summary, content)
    return ParsedEntry(
        key=key,
        content_hash=content_hash,
        title=title,
        link=link,
        author=author,
        summary=summary,
        content=content,
        enclosures=enclosures,
        published=published or updated,
        updated=updated or published,
    )


def _fallback_key(title: str | None, summary: str | None, content: str | None) -> str:
    # No guid and no link: the entry is what it says. Dates are left out on
    # purpose, since feeds regenerate them on every request.
    text = json.dumps([title, content or summary], ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _web_link(value: object) -> str | None:
    """A link a reader may open: http(s) only, never javascript:, data:, file:..."""
    text = _text(value)
    if text is None or not text.lower().startswith(("http://", "https://")):
        return None
    return text


def _content(value: object) -> str | None:
    if not isinstance(value, list) or not value:
        return None
    # Prefer the HTML rendering when a feed offers several.
    best = next((c for c in value if "html" in str(c.get("type", ""))), value[0])
    return _text(best.get("value"))


def _enclosures(value: object) -> tuple[Enclosure, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for raw in value:
        href = _web_link(raw.get("href"))
        if href is None:
            continue
        length = str(raw.get("length", "")).strip()
        out.append(
            Enclosure(
                href=href,
                type=_text(raw.get("type")),
                length=int(length) if length.isdigit() else None,
            )
        )
    return tuple(out)


def _date(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        # feedparser normalises every date to UTC before building the struct.
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _one_line(exc: object) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
