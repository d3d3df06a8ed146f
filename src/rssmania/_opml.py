"""Read and write OPML subscription lists: bytes in, outlines out, and back.

Pure: no files, no network, no clock (``write_opml`` is given ``now``).

Reading is lenient about what real exporters produce (OPML 1.0 or 2.0, feeds
nested at any depth, ``xmlurl``/``xmlURL`` spellings, the 2.0 ``category``
attribute) and strict about what could hurt: a document type declaration is
refused before its internal subset is read, so no entity is ever defined or
expanded. Every way a document can be unreadable becomes
:class:`~rssmania.exceptions.InvalidOPMLError` with a short reason.

URLs are not checked here; the caller validates them (and decides what to do
with duplicates, which are kept).

Round trip: ``parse_opml(write_opml(x, ...)) == x`` holds, up to the order of
the outlines (``write_opml`` groups them by folder), for outlines in the normal
form ``parse_opml`` returns: strings stripped of surrounding whitespace, not
empty, and free of characters XML cannot carry; categories made of non-empty
``/``-separated components.
"""

from __future__ import annotations

import email.utils
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.parsers.expat import ErrorString

from rssmania._text import without_controls
from rssmania.exceptions import InvalidOPMLError

__all__ = ["OpmlOutline", "category_path", "parse_opml", "write_opml"]


@dataclass(frozen=True)
class OpmlOutline:
    """One feed of an OPML subscription list."""

    url: str
    """The feed URL (``xmlUrl``)."""
    title: str | None
    """The feed's name (``text``, else ``title``), if the list gives one."""
    category: str | None
    """The folder path, components joined by ``/`` (``"Tech/Python"``); None at top level."""
    site_url: str | None = None
    """The site's URL (``htmlUrl``), if known."""


# --- reading -------------------------------------------------------------------------------------


class _DoctypeRefusedError(Exception):
    """Raised from inside the XML parser to stop at a DOCTYPE."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _RefuseDoctype:
    """An XMLParser target that builds a tree but stops at any DOCTYPE.

    Entities can only be declared inside a DOCTYPE, and the parser reports the
    DOCTYPE before reading its internal subset, so stopping here means no
    entity (a billion laughs, an external file) is ever declared.
    """

    def __init__(self) -> None:
        self._builder = ET.TreeBuilder()

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        return self._builder.start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        return self._builder.end(tag)

    def data(self, data: str) -> None:
        self._builder.data(data)

    def close(self) -> ET.Element:
        return self._builder.close()

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _DoctypeRefusedError(name)


MAX_FOLDER_DEPTH = 32
"""Folders nested deeper than this put their feeds in the 32nd: a category, not a maze."""
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+)?html\b", re.I | re.S
)


def _looks_like_html(data: bytes) -> bool:
    # The usual unreadable "OPML" is a web page saved instead of the export; say so.
    return _HTML_START.match(data[:4096].lstrip(b"\xef\xbb\xbf")) is not None


def _parse_xml(data: bytes, source: str) -> ET.Element:
    if not data.strip():
        raise InvalidOPMLError(source, "empty document")
    parser = ET.XMLParser(target=_RefuseDoctype())
    try:
        parser.feed(data)
        root: ET.Element = parser.close()
    except _DoctypeRefusedError as exc:
        name = exc.name[:40]
        if name.lower() == "html":
            reason = "this is an HTML page (<!DOCTYPE html>), not OPML"
        else:
            reason = f"<!DOCTYPE {name}> refused: OPML needs no DOCTYPE, and entities are unsafe"
        raise InvalidOPMLError(source, reason) from None
    except ET.ParseError as exc:
        line, column = exc.position
        what = (ErrorString(exc.code) or "error").removeprefix("not well-formed ").strip("()")
        # expat counts columns from 0; editors count from 1.
        reason = f"not well-formed XML: line {line}, column {column + 1} ({what})"
        if _looks_like_html(data):
            reason = f"this looks like an HTML page, not OPML; {reason}"
        raise InvalidOPMLError(source, reason) from exc
    except (ValueError, LookupError) as exc:
        # An encoding the parser cannot decode ("unknown encoding: x", multi-byte codecs).
        raise InvalidOPMLError(source, f"cannot decode: {exc}") from exc
    return root


def _local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``, lower-cased: exporters vary in both."""
    return tag.rpartition("}")[2].lower()


def _attrs(element: ET.Element) -> dict[str, str]:
    """The element's un-namespaced attributes, keys lower-cased, values stripped."""
    found: dict[str, str] = {}
    for key, value in element.attrib.items():
        if not key.startswith("{"):
            found.setdefault(key.lower(), value.strip())
    return found


def _clean_path(parts: Iterable[str]) -> str | None:
    """Folder names joined by "/": blank ones left out, no control characters, and as
    deep as a nested OPML folder is kept (a category of 1,500 levels made export
    recurse until Python gave up)."""
    names = (name for name in (without_controls(p).strip() for p in parts) if name)
    path = "/".join(itertools.islice(names, MAX_FOLDER_DEPTH))
    return path or None


def category_path(value: str | None) -> str | None:
    """A category as stored: "/ Tech //Python/ " is "Tech/Python", "" none at all."""
    return _clean_path(value.split("/")) if value is not None else None


def _category_attribute(value: str) -> str | None:
    # OPML 2.0: a comma-separated list of slash-delimited paths, e.g. "/Tech/Python,/News".
    return _clean_path(value.split(",", 1)[0].split("/"))


def parse_opml(data: bytes, *, source: str = "<opml>") -> list[OpmlOutline]:
    """Return the feeds of an OPML document, in document order.

    A feed is an outline with a non-empty ``xmlUrl``, at any depth under
    ``<body>``; an outline without one is a folder, and the names of the folders
    around a feed make its category (``"Tech/Python"``). A feed outside any
    folder takes its category from an OPML 2.0 ``category`` attribute, if any.
    Attribute names are matched without regard to case.

    ``source`` names the document in errors (a path, a URL).

    Raises:
        InvalidOPMLError: the bytes are not an OPML document.
    """
    root = _parse_xml(data, source)
    root_name = _local_name(root.tag)
    if root_name != "opml":
        raise InvalidOPMLError(source, f"root element is <{root_name}>, not <opml>")
    body = next((child for child in root if _local_name(child.tag) == "body"), None)
    if body is None:
        raise InvalidOPMLError(source, "no <body> element")

    outlines: list[OpmlOutline] = []
    # An explicit stack rather than recursion: nesting depth is the document's choice.
    stack: list[tuple[ET.Element, tuple[str, ...]]] = [(child, ()) for child in reversed(body)]
    while stack:
        element, folders = stack.pop()
        inner = folders
        if _local_name(element.tag) == "outline":
            attrs = _attrs(element)
            text = attrs.get("text") or attrs.get("title") or None
            url = attrs.get("xmlurl", "")
            if url:
                category = _clean_path(folders)
                if category is None and attrs.get("category"):
                    category = _category_attribute(attrs["category"])
                if text == url or attrs.get("title") == url:
                    # write_opml's stand-in for a missing title (older exports
                    # wrote the URL as the title too): it is not a name.
                    text = None
                site_url = attrs.get("htmlurl") or None
                outlines.append(OpmlOutline(url, text, category, site_url))
            elif text is not None and len(folders) < MAX_FOLDER_DEPTH:
                # Deeper folders are folded into the deepest kept one: copying the
                # path at each of 200,000 levels took minutes.
                inner = (*folders, text)
        # Children of any element, outline or not, are searched: feeds may sit anywhere in <body>.
        stack.extend((child, inner) for child in reversed(element))
    return outlines


# --- writing -------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, even escaped; a feed title can hold them.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML_CHAR.sub("", value)


@dataclass
class _Folder:
    folders: dict[str, _Folder] = field(default_factory=dict)
    feeds: list[OpmlOutline] = field(default_factory=list)


def _feed_element(outline: OpmlOutline) -> ET.Element:
    element = ET.Element("outline", type="rss")
    if outline.title:
        element.set("text", _xml_text(outline.title))
        element.set("title", _xml_text(outline.title))
    else:
        element.set("text", _xml_text(outline.url))
    element.set("xmlUrl", _xml_text(outline.url))
    if outline.site_url:
        element.set("htmlUrl", _xml_text(outline.site_url))
    return element


def _fill(parent: ET.Element, folder: _Folder) -> None:
    # Folders first, then the feeds filed directly here: the usual reader layout.
    for name, sub in folder.folders.items():
        sub_element = ET.SubElement(parent, "outline", text=name, title=name)
        _fill(sub_element, sub)
    parent.extend(_feed_element(outline) for outline in folder.feeds)


def write_opml(outlines: Iterable[OpmlOutline], *, title: str, now: datetime) -> bytes:
    """Return an OPML 2.0 document, UTF-8, listing ``outlines``.

    Each category path component becomes a folder outline (``"A/B"`` nests B
    in A); folders keep the order in which they first appear, feeds keep their
    order within a folder, and feeds without a category follow the folders.
    ``now`` (timezone-aware) is written as the ``dateCreated``.

    Characters that XML cannot represent (most control characters) are dropped.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tree = _Folder()
    for outline in outlines:
        folder = tree
        for name in (_xml_text(outline.category or "")).split("/"):
            if name.strip():
                folder = folder.folders.setdefault(name.strip(), _Folder())
        folder.feeds.append(outline)

    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    date = email.utils.format_datetime(now.astimezone(UTC), usegmt=True)
    ET.SubElement(head, "dateCreated").text = date
    _fill(ET.SubElement(opml, "body"), tree)
    ET.indent(opml)
    document = ET.tostring(opml, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{document}\n'.encode()
