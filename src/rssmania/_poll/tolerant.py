"""The tolerant path: feedparser, for what the fast path cannot read faithfully.

feedparser reads almost anything (a loose parser behind the strict one,
charset sniffing with fallbacks, nested xml:base) at about 1 MB/s, so it only
sees documents the fast path gave up on. Its own sanitizer is left off:
``rssmania._poll.html`` sanitizes both paths alike. Each entry
carries the xml:base in effect at its content, which feedparser tracks
element by element.

feedparser, given a ``str`` or ``bytes`` that names a path, opens that local
file, so the body is always wrapped in a file object.
"""

from __future__ import annotations

import calendar
import html
import io
import re
import time
import xml.sax
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from rssmania._poll.dates import read_date
from rssmania._poll.hints import publisher_interval
from rssmania._poll.raw import RawEntry, RawFeed, alternate_link, repeats_content, resolved
from rssmania.types import FeedError

# Bozo exceptions that say "the document was read fine, but its declared type
# or charset was off": not a reason to distrust an empty feed.
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def parse_tolerant(body: bytes, *, url: str, content_type: str | None) -> RawFeed | FeedError:
    """Read ``body`` (entity declarations already defused) with feedparser."""
    # No content-location: feedparser would resolve relative ids against it,
    # and an entry's identity must not change with the URL its feed is read
    # from (nor with the parse path). Links are resolved by the caller.
    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            # Both off: the caller sanitizes and resolves for both paths alike
            # (feedparser's resolver also rewrites the markup it touches).
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except (MemoryError, RecursionError):
        raise  # the worker's limits speak for these
    except Exception as exc:
        # feedparser raises on some broken documents (a stray end tag, a bad
        # encoding declaration, a lone surrogate): the fuzz tests list them.
        return FeedError("malformed", f"the parser failed on it: {type(exc).__name__}: {exc}")
    entries = [_entry(raw, url) for raw in parsed.entries]
    if b"xml:base" in body:
        _ids_as_written(body, entries)
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.get("version") and not entries:
        reason = f": {first_line(bozo)}" if bozo else ""
        return FeedError("malformed", f"not a feed that can be read{reason}")
    if bozo is not None and not entries and not isinstance(bozo, _HARMLESS_BOZO):
        return FeedError("malformed", f"malformed feed, no entry recovered: {first_line(bozo)}")
    meta = parsed.get("feed", {})
    warning = None
    if bozo is not None and not isinstance(bozo, _HARMLESS_BOZO):
        warning = f"not well-formed, {len(entries)} entries recovered: {first_line(bozo)}"
    return RawFeed(
        title=_str(meta.get("title")),
        link=_str(meta.get("link")),
        entries=entries,
        base=url,
        interval_hint=publisher_interval(meta),
        warning=warning,
        parser="feedparser",
    )


def _entry(raw: dict[str, Any], url: str) -> RawEntry:
    content = raw.get("content")
    best = _content(content) if isinstance(content, list) else None
    summary_base = (raw.get("summary_detail") or {}).get("base")
    content_base = (best or {}).get("base")
    # The entry's own base, as in effect at its title (feedparser has already
    # resolved links and enclosures against it).
    base = (raw.get("title_detail") or {}).get("base") or content_base or summary_base
    summary = _str(raw.get("summary"))
    content = _str(best.get("value")) if best else None
    if summary is not None and content is not None and repeats_content(summary.strip(), content):
        summary = None  # as the fast path has it (see repeats_content)
    return RawEntry(
        id=_str(raw.get("id")),
        title=_str(raw.get("title")),
        # Not feedparser's "link": the last of several RSS <link>s (the fast
        # path has the first), or, with no link at all, the guid, even one
        # that is no address ("post-1" became http://host/post-1). The
        # caller falls back on an id that is a web address, for both paths.
        link=alternate_link(raw.get("links") or ()),
        author=_author(raw),
        summary=summary,
        content=content,
        enclosures=[
            (href, _str(e.get("type")), _length(e.get("length")))
            for e in raw.get("enclosures") or ()
            if (href := _str(e.get("href")))
        ],
        # dict.get, not raw.get: FeedParserDict maps a missing updated_parsed to
        # published_parsed (with a warning); the fallback is ours to decide.
        published=_date(dict.get(raw, "published_parsed"), dict.get(raw, "published")),
        updated=_date(dict.get(raw, "updated_parsed"), dict.get(raw, "updated")),
        # The xml:base in effect where each text is (feedparser tracks it per
        # element), made absolute against the feed's URL.
        base=resolved(url, base),
        summary_base=resolved(url, summary_base) if summary_base != base else None,
        content_base=resolved(url, content_base) if content_base != base else None,
    )


# An id or guid element's text, as written (no markup inside either).
_WRITTEN_ID = re.compile(rb"<(?:[\w.-]+:)?(?:id|guid)\b[^>]*>\s*([^<]*?)\s*</", re.S)


def _ids_as_written(body: bytes, entries: list[RawEntry]) -> None:
    """Relative ids as the document writes them, not resolved against an xml:base.

    feedparser resolves an id against the xml:base in effect, and after an
    element with an xml:base of its own (reddit's <content>) the id that
    follows still gets that base: "t3_42tizy" came out "/t3_42tizy". The fast
    path keeps every id as written, and so an entry's key changed with the
    path. Only a document with xml:base can have its ids resolved (no URL is
    given to feedparser); an id it does not write is replaced by the one it
    writes that the resolved id ends with.
    """
    written = {
        html.unescape(m.group(1).decode("utf-8", "replace")) for m in _WRITTEN_ID.finditer(body)
    }
    written.discard("")
    for entry in entries:
        if entry.id is None or entry.id in written:
            continue
        ends = [w for w in written if entry.id.endswith(w) and ":" not in w]
        if ends:
            entry.id = max(ends, key=len)


def _author(raw: dict[str, Any]) -> str | None:
    """The author as written when it holds an email address, else feedparser's name.

    The finishing step takes the name out of "email (Name)" and "Name (email)"
    for both paths. feedparser's own split cuts a long top-level domain
    ("jonas@insanity.industries (Jonas Sundrup)" gave the name "stries (Jonas
    Sundrup"); for an Atom author it writes "Name (email)" itself.
    """
    written = _str(raw.get("author"))
    if written is not None and "@" in written:
        return written
    return _str((raw.get("author_detail") or {}).get("name")) or written


def _content(value: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not value:
        return None
    # Prefer the HTML rendering when a feed offers several.
    return next((c for c in value if "html" in str(c.get("type", ""))), value[0])


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _length(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _date(parsed: object, text: object) -> datetime | None:
    if isinstance(text, str):
        # Read as the fast path reads it, so that an entry's date does not
        # depend on which path saw it first: feedparser's own reading put
        # "2024/07/14 10:00:00" in December and 10:00 CEST at 10:00 UTC. Its
        # reading stands where the fast path reads no date at all.
        date = read_date(text)
        if date is not None:
            return date
    if isinstance(parsed, time.struct_time) and (
        not isinstance(text, str) or any(str(parsed.tm_year + d) in text for d in (0, -1, 1))
    ):
        # Only a date whose year is written (give or take the shift to UTC):
        # feedparser fills a missing one (a time alone, "10:30") from today.
        try:
            # feedparser normalises every date to UTC before building the struct.
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, ValueError, OSError):
            return None
    if not isinstance(text, str):
        return None
    # feedparser gives up on an RFC 822 date without its zone, which the
    # fast path reads as UTC: so does this one, and an entry keeps its date
    # (and its place in the list) whichever path reads it.
    try:
        date = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return date if date.tzinfo is not None else date.replace(tzinfo=UTC)


def first_line(exc: object) -> str:
    """What went wrong, in a line a person reads: where in the document, and what."""
    if isinstance(exc, xml.sax.SAXParseException):
        # Its str() starts with the parser's name for the input: "<unknown>:2:3: ...".
        return f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}: {exc.getMessage()}"
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
