"""The fast path: fastfeedparser (lxml and a compiled extractor), checked against the document.

fastfeedparser reads a common feed 30 to 80 times faster than feedparser but
is less tolerant, and where it is wrong it is wrong quietly. So its result is
only taken when the document itself vouches for it; otherwise the caller
falls back to feedparser (``rssmania._poll.tolerant``):

- it raised, or found no entry at all (a broken document may "recover" as
  an empty channel; feedparser says whether it is one);
- it found fewer entries than the document has ``<item>``/``<entry>``
  elements (items nested illegally, a body cut short, HTML in an RSS shell);
- it produced U+FFFD although the document holds none: the bytes were
  decoded with the wrong charset (windows-1252 served without a declaration);
- the document declares a single-byte charset but is written in UTF-8 (its text
  would read "BrÃ©sil" for "Brésil");
- it lost an Atom ``type="xhtml"`` title;
- an entry came out without text although its element has some: a
  ``media:description`` (a YouTube channel's feed) or ``itunes:summary``, or
  HTML written unescaped inside ``<description>`` (Reddit's feeds); the
  extractor reads none of those; or, of such HTML, only the text before its
  first element (whitespace is no text);
- an entry came out with neither id nor link (its identity would be a hash);
- the document nests xml:base in a way the per-entry bases below cannot express.

xml:base: the extractor does not resolve it, so a document that uses it is
parsed once more with lxml to learn each entry's base (lxml resolves the
chain of xml:base attributes), and the bases are matched to the entries by
position. The same parse gives an RSS 1.0 entry its content:encoded, which
the extractor reads in RSS 2.0 only, and an RSS item with atom:link elements
its first alternate link in document order, as feedparser lists them.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

# Imported for what it does at import: fastfeedparser reads dates by rssmania's rules.
from rssmania._poll import dates as _dates  # noqa: F401
from rssmania._poll import ffp_shim
from rssmania._poll.hints import publisher_interval
from rssmania._poll.raw import RawEntry, RawFeed, alternate_link, repeats_content, resolved

log = logging.getLogger("rssmania.poll.parse")

# An entry element's start tag, with or without a prefix; not <items>, not <item_x>.
_ENTRY_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)(?=[\s>/])")
_XHTML_TITLE = re.compile(rb"<(?:[\w.-]+:)?title\b[^>]*\btype\s*=\s*[\"']xhtml", re.I)
_REPLACEMENT = "\ufffd"
# Channel-level scheduling hints, read from the head of the document.
_TTL = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>")
_SY = re.compile(rb"<sy:update(Period|Frequency)>\s*([A-Za-z0-9]{1,12})\s*</sy:update\1>")
_ENTRY_ELEMENTS = (
    "item",
    "{http://www.w3.org/2005/Atom}entry",
    "{http://purl.org/rss/1.0/}item",
    "{http://my.netscape.com/rdf/simple/0.9/}item",
)


class Fallback(Exception):
    """The fast path declines this document; the message says why (for logs and tests)."""


def parse_fast(body: bytes, *, url: str, checked: bool = True) -> RawFeed:
    """Read ``body`` fetched from ``url``, or raise ``Fallback``.

    ``checked=False`` skips the checks against the document (what the fast
    path would read wrong, it hands over): for tests that compare the two
    paths on every document either can read at all.
    """
    is_json = body.lstrip()[:1] == b"{"
    if is_json:
        body = _json_cleaned(body)
    try:
        parsed = ffp_shim.parse(body, include_tags=False, include_media=False)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise Fallback(f"fastfeedparser raised {type(exc).__name__}: {exc}") from None
    raw_entries: list[dict[str, Any]] = parsed.get("entries") or []
    if not is_json and not raw_entries:
        # Nothing gained by speed; feedparser tells a valid empty channel
        # from a broken document (which fastfeedparser may recover as empty).
        raise Fallback("no entries")
    # Where each entry element starts: counted here, read again below.
    starts = [] if is_json else [m.start() for m in _ENTRY_TAG.finditer(body)]
    if checked and len(raw_entries) < len(starts):
        raise Fallback(
            f"{len(raw_entries)} entries read, {len(starts)} entry elements in the document"
        )
    entries = [_entry(raw) for raw in raw_entries]
    if checked and not is_json and any(not e.id and not e.link for e in entries):
        # Its identity would be a hash of its text: ask feedparser, which
        # finds links the fast path misses (an Atom link under another
        # prefix inside RSS, a <link> beside an atom:link).
        raise Fallback("an entry has neither id nor link")
    meta: dict[str, Any] = parsed.get("feed") or {}
    title = meta.get("title") or None
    if checked and _lost_characters(title, entries) and b"\xef\xbf\xbd" not in body:
        raise Fallback("U+FFFD in the text: the charset was guessed wrong")
    if checked and not is_json and _utf8_declared_otherwise(body):
        raise Fallback("UTF-8 text under a single-byte charset declaration")
    if (
        checked
        and not is_json
        and any(not e.title for e in entries)
        and b"xhtml" in body
        and _XHTML_TITLE.search(body)
    ):
        raise Fallback("an XHTML title was lost")
    tree: _Tree | None = None  # lxml's reading of the document: at most one parse
    if checked and not is_json and _text_may_be_lost(body, entries, starts):
        tree = _Tree.read(body, url, entries, why="an entry's text may be cut")
        if _text_lost(tree, entries):
            raise Fallback("an entry's text was not read")
    if not is_json and b"encoded" in body and _is_rdf(body, starts):
        tree = tree or _Tree.read(body, url, entries, why="RSS 1.0 content:encoded")
        _take_encoded_content(tree, entries)
    # fastfeedparser lists no links for an RSS item's <link>: links listed are
    # atom:link elements (or its guid, put before them).
    if (
        not is_json
        and starts
        and any(r.get("links") for r in raw_entries)
        and _is_rss(body, starts)
    ):
        tree = tree or _Tree.read(body, url, entries, why="a link under a prefix in an item")
        _take_links_in_order(tree, entries)
    base = url
    if not is_json and b"xml:base" in body:
        base = _apply_xml_base(tree or _Tree.read(body, url, entries, why="xml:base"), url, entries)
    return RawFeed(
        title=title,
        link=meta.get("link") or None,
        entries=entries,
        base=base,
        interval_hint=None if is_json else _interval_hint(body, starts),
        parser="json" if is_json else "fast",
    )


_DECLARED = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([\w.:-]+)", re.I)
# A UTF-8 encoded Latin-1 letter (é is C3 A9): next to never two Latin-1 characters.
_SINGLE_BYTE = (b"iso-8859", b"iso8859", b"latin", b"windows-125", b"cp125", b"us-ascii")
_UTF8_PAIR = re.compile(rb"[\xc2\xc3][\x80-\xbf]")


_RDF_ROOT = re.compile(rb"<(?:[\w.-]+:)?RDF[\s>]")


def _is_rdf(body: bytes, starts: list[int]) -> bool:
    """An RSS 1.0 document: its root, rdf:RDF, comes before the first entry."""
    return _RDF_ROOT.search(body, 0, starts[0] if starts else len(body)) is not None


def _is_rss(body: bytes, starts: list[int]) -> bool:
    """Entries are RSS items (not Atom entries)."""
    return body[starts[0] : starts[0] + 60].split(b">", 1)[0].rstrip(b"/ \t\r\n").endswith(b"item")


_ATOM_NS = "{http://www.w3.org/2005/Atom}"


def _take_links_in_order(tree: _Tree, entries: list[RawEntry]) -> None:
    """An RSS item's link: the first alternate among its <link> and atom:link elements, in
    document order, as feedparser lists them (issue 22).

    fastfeedparser takes an atom:link over the item's <link>, and without a
    <link>, a guid that is a web address over an atom:link (which it then
    drops), so an entry's link changed with the path that read its feed.
    """
    for entry, element in zip(entries, tree.elements, strict=True):
        links: list[dict[str, str | None]] = []
        has_guid = False
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "guid":
                has_guid = True
            elif child.tag.startswith(_ATOM_NS) and child.tag.endswith("}link"):
                attributes = child.attrib
                links.append({k: attributes.get(k) for k in ("rel", "type", "href")})
            elif child.tag == "link" and (child.text or "").strip():
                href = (child.text or "").strip()
                links.append({"rel": "alternate", "type": "text/html", "href": href})
        chosen = alternate_link(links)
        if chosen is None or chosen == entry.link:
            continue
        if not has_guid and entry.id == entry.link:
            entry.id = None  # fastfeedparser's copy of the link it chose, not a guid
        entry.link = chosen


def _take_encoded_content(tree: _Tree, entries: list[RawEntry]) -> None:
    """RSS 1.0's content:encoded, the full text beside a short description: the
    extractor reads it in RSS 2.0 only, and the entry kept the excerpt alone."""
    for entry, element in zip(entries, tree.elements, strict=True):
        if entry.content is not None:
            continue
        _, content = _text_elements(element)
        if content is not None and _local_name(content.tag) == "encoded":
            text = content.text or ""
            if text.strip():
                entry.content = text


def _utf8_declared_otherwise(body: bytes) -> bool:
    declared = _DECLARED.match(body.lstrip()[:200])
    if declared is None or not declared.group(1).lower().startswith(_SINGLE_BYTE):
        return False
    return _UTF8_PAIR.search(body) is not None


def _entry(raw: dict[str, Any]) -> RawEntry:
    # Run for every entry of every feed: over half of the fast path's own time
    # (profiled on bench/feedgen.py's feeds), so lookups are bound once and
    # arguments positional.
    get = raw.get
    contents = get("content")
    value = None
    if contents:
        content = contents[0]
        value = content.get("value")
        if value and content.get("type") in _XHTML_TYPES:
            value = _xhtml_inside(value)
    summary = get("description") or None
    if value and summary and repeats_content(summary, value):
        # fastfeedparser makes up a description from the content (its first
        # 512 characters of text) when the entry has none: not a summary.
        summary = None
    published_text = get("published")
    updated_text = get("updated")
    published = _date(published_text)
    # Most entries carry one date, or the same one twice.
    updated = published if updated_text == published_text else _date(updated_text)
    ident = get("id") or None
    link = _link(raw)
    if ident is not None and ident == get("link") and link != ident:
        # fastfeedparser copies an entry's first link into a missing id, even
        # one that is no alternate (rel="enclosure", "license"): not its id.
        ident = None
    return RawEntry(
        ident,
        get("title") or None,
        link,
        get("author") or None,
        summary,
        value or None,
        _enclosures(raw),
        published,
        updated,
    )


_XHTML_TYPES = frozenset({"xhtml", "application/xhtml+xml"})


# The members of a JSON Feed that are numbers ("expired" is the one boolean);
# every other one is text, an object or a list of them.
_JSON_NUMBERS = frozenset({"size_in_bytes", "duration_in_seconds"})


def _json_cleaned(body: bytes) -> bytes:
    """A JSON Feed with what no member of its kind holds left out ("title": 5, "url": {}).

    fastfeedparser took those as they came, and failed the feed on one
    number where a date was, or passed an integer on as a title. A numeric
    id is its decimal text, as the JSON Feed spec asks readers to take it.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Fallback(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("items", []), list):
        raise Fallback("a JSON document that is not an object with a list of items")
    return json.dumps(_json_members(document)).encode()


def _json_members(value: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, member in value.items():
        if isinstance(member, str) or (key == "expired" and isinstance(member, bool)):
            kept[key] = member
        elif type(member) in (int, float):
            if key in _JSON_NUMBERS:
                kept[key] = member
            elif key == "id":
                kept[key] = str(member)
        elif isinstance(member, dict):
            kept[key] = _json_members(member)
        elif isinstance(member, list):
            kept[key] = [
                _json_members(x) if isinstance(x, dict) else x
                for x in member
                if isinstance(x, (dict, str))
            ]
    return kept


def _link(raw: dict[str, Any]) -> str | None:
    """RSS's <link>; else the alternate among the links (Atom, JSON Feed, atom:link in RSS).

    fastfeedparser's "link" is an RSS <link>, or the first Atom link
    whatever its rel (the comments, a PDF): one of "links", then.
    """
    link: str | None = raw.get("link") or None
    links = raw.get("links")
    if not links:
        return link
    if link is not None and len(links) == 1:
        # An RSS item's one link, as fastfeedparser lists it: alternate_link's
        # answer for a single link without going through it.
        only = links[0]
        if only.get("href") == link:
            return link if (only.get("rel") or "alternate") == "alternate" else None
        return link
    if link is None or any(other.get("href") == link for other in links):
        return alternate_link(links)
    return link


# Atom xhtml content comes back as the serialized <content> element, and its
# body is by definition one <div> that wraps the text (RFC 4287 3.1.1.3):
# what the reader sees is inside it, as feedparser has it.
_XHTML_WRAPPER = re.compile(r"\A\s*<[^>]*>\s*<div\b[^>]*>(.*)</div>\s*</[^>]*>\s*\Z", re.S)


def _xhtml_inside(value: str) -> str:
    match = _XHTML_WRAPPER.match(value)
    return match.group(1) if match else value


def _enclosures(raw: dict[str, Any]) -> list[tuple[str, str | None, int | None]]:
    listed = raw.get("enclosures")
    found = (
        [
            (href, e.get("type") or None, _length(e.get("length")))
            for e in listed
            if (href := e.get("url") or e.get("href"))
        ]
        if listed
        else []
    )
    # Atom's enclosures are links.
    for link in raw.get("links") or ():
        if link.get("rel") == "enclosure" and (href := link.get("href")):
            found.append((href, link.get("type") or None, _length(link.get("length"))))
    return found


def _lost_characters(title: str | None, entries: list[RawEntry]) -> bool:
    if title and _REPLACEMENT in title:
        return True
    return any(
        (e.title and _REPLACEMENT in e.title)
        or (e.summary and _REPLACEMENT in e.summary)
        or (e.content and _REPLACEMENT in e.content)
        for e in entries
    )


@dataclass(frozen=True)
class _Tree:
    """The document as lxml reads it, with each entry's element matched to the entries by position.

    For what the extractor does not give: xml:base (lxml resolves the chain
    of attributes) and the elements an entry's text may hide in.
    """

    root: Any
    elements: list[Any]

    @classmethod
    def read(cls, body: bytes, url: str, entries: list[RawEntry], *, why: str) -> _Tree:
        """Parse ``body``, or raise Fallback saying ``why`` it was needed and what failed."""
        parser = etree.XMLParser(
            recover=True, resolve_entities=False, no_network=True, huge_tree=True
        )
        try:
            root = etree.fromstring(body, parser, base_url=url)
        except etree.LxmlError as exc:
            raise Fallback(f"{why}, and lxml cannot read the document: {exc}") from None
        if root is None:
            raise Fallback(f"{why}, and lxml finds no root element")
        elements = list(root.iter(*_ENTRY_ELEMENTS))
        if len(elements) != len(entries):
            # Cannot tell which is which: feedparser can.
            raise Fallback(f"{why}, and the entries cannot be matched to their elements")
        return cls(root, elements)


def _apply_xml_base(tree: _Tree, url: str, entries: list[RawEntry]) -> str:
    """Set each entry's base from the document's xml:base; return the feed's own base."""
    for entry, element in zip(entries, tree.elements, strict=True):
        base = element.base
        if base and base != url:
            entry.base = resolved(url, base)
        summary, content = _text_elements(element)
        if summary is not None and summary.base and summary.base != base:
            entry.summary_base = resolved(url, summary.base)
        if content is not None and content.base and content.base != base:
            entry.content_base = resolved(url, content.base)
    return resolved(url, tree.root.base) or url


# Where an entry's text can be, by local name: description, media:description,
# summary, itunes:summary, content, content:encoded.
_TEXT_ELEMENTS = frozenset({"description", "summary", "content", "encoded"})
# What the extractor may have missed, found without parsing: a prefixed
# description, summary or encoded (media:, itunes:, content:), or a text
# element whose text starts with a tag (HTML left unescaped; not CDATA).
_TEXT_HINT = re.compile(
    rb"<[\w.-]+:(?:description|summary|encoded)\b"
    rb"|<(?:[\w.-]+:)?(?:description|summary|content|encoded)\b[^>]*>\s*<(?![!/])"
)
# An element written inside a text element whose text came out without markup:
# after text, or first; not in Atom's xhtml, whose body is elements by design.
_CHILD_HINT = re.compile(
    rb"<(?:[\w.-]+:)?(?:description|summary|content|encoded)\b(?![^>]*xhtml)[^>]*(?<!/)>"
    rb"[^<]*<(?![!/])"
)


def _text_may_be_lost(body: bytes, entries: list[RawEntry], starts: list[int]) -> bool:
    """An entry came out without text (title-only entries exist), or with text
    and no markup (HTML written unescaped inside ``<description>`` comes out as
    its text up to the first element, issue 22), and its part of the document
    has where text could be: then an lxml parse, a fraction of what feedparser
    would cost, tells. ``starts``: where each entry element starts."""
    suspects = [
        (i, _TEXT_HINT if not e.summary and not e.content else _CHILD_HINT)
        for i, e in enumerate(entries)
        if not (e.summary and "<" in e.summary) and not (e.content and "<" in e.content)
    ]
    if not suspects:
        return False
    if len(starts) != len(entries):
        return any(hint.search(body) is not None for hint in {h for _, h in suspects})
    # Entries come in document order, each from its start tag to the next
    # one's. Looking only there spares the second parse when a title-only
    # entry sits among entries with content:encoded (the hint matches theirs).
    ends = [*starts[1:], len(body)]
    return any(hint.search(body, starts[i], ends[i]) for i, hint in suspects)


def _local_name(tag: str) -> str:
    """An element's name without its namespace: "encoded" for "{...content/}encoded",
    and "commentRss" for "wfw:commentRss", as lxml's recovering parser keeps an
    undeclared prefix (etree.QName raises on it)."""
    return tag.rpartition("}")[2].rpartition(":")[2]


def _text_elements(element: Any) -> tuple[Any, Any]:
    """The children that hold an entry's summary (or description) and its content."""
    summary = content = None
    for child in element:
        if not isinstance(child.tag, str):
            continue  # a comment or a processing instruction
        name = _local_name(child.tag)
        if name in ("content", "encoded") and content is None:
            content = child
        elif name in ("summary", "description") and summary is None:
            summary = child
    return summary, content


def _text_lost(tree: _Tree, entries: list[RawEntry]) -> bool:
    """Some entry came out without text and its element holds some, or with less
    text than an element of its text holds (elements written unescaped inside).
    Whitespace is no text: a description that is one element with line breaks
    around it lost nothing."""
    for entry, element in zip(entries, tree.elements, strict=True):
        textless = not entry.summary and not entry.content
        for child in element.iterdescendants():
            if not isinstance(child.tag, str) or _local_name(child.tag) not in _TEXT_ELEMENTS:
                continue  # a comment, a processing instruction, not a text element
            if textless and ((child.text or "").strip() or len(child)):
                return True
            if not textless and len(child) and "xhtml" not in (child.get("type") or ""):
                written = _visible_length("".join(child.itertext()))
                kept = max(_visible_length(entry.summary), _visible_length(entry.content))
                if written > kept:
                    return True
    return False


def _visible_length(text: str | None) -> int:
    return len("".join(text.split())) if text else 0


def _interval_hint(body: bytes, starts: list[int]) -> int | None:
    # Channel-level elements come before the entries (where a <ttl> in an
    # entry's content would be somebody's text).
    head = body[: starts[0]] if starts else body
    if b"<ttl>" not in head and b"<sy:update" not in head:
        return None
    meta: dict[str, str] = {}
    ttl = _TTL.search(head)
    if ttl:
        meta["ttl"] = ttl.group(1).decode()
    for match in _SY.finditer(head):
        meta[f"sy_update{match.group(1).decode().lower()}"] = match.group(2).decode()
    return publisher_interval(meta) if meta else None


def _length(value: object) -> int | None:
    if isinstance(value, int):
        return value if value >= 0 else None
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
