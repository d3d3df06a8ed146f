"""Entities and references, made safe and well-formed before any XML parser sees a document.

A DOCTYPE's internal subset can declare entities that expand a few bytes into
gigabytes: nested ones (billion laughs) or one big entity referenced many
times (one 100 KB entity referenced 20,000 times costs feedparser 7.6 GB and
minutes). Feeds have no use for that. The few that declare entities at all
declare HTML's (``<!ENTITY nbsp "&#160;">``), so those are kept: a
declaration survives only if its replacement text is short and refers to no
other entity. Everything else in the subset (external entities, parameter
entities, element and attribute lists) is dropped.

References (``repair_references``): feeds are full of ``&nbsp;`` that no
DTD declares and of bare ``&`` ("Q&A"). XML has neither, and lxml's recovering
parser, after such an error, drops the escaped markup of every later entry
(``&lt;p&gt;`` read as "p") and cuts titles at the ``&``: quietly wrong text.
So, outside CDATA sections, an HTML entity no DTD declares becomes its
character reference, an unknown name and a bare ``&`` become text, as a
browser shows them.

Pure bytes in, bytes out; runs before both the fast parser and feedparser.
"""

from __future__ import annotations

import html.entities
import re

# The DOCTYPE sits in the prolog, but the prolog may be padded with comments
# of any length, so the whole document is searched (only a DOCTYPE with an
# internal subset matches; ``<!DOCTYPE html>`` in content does not).
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[^\[>]*\[", re.I)
# One token of an internal subset: whitespace, a comment, a processing
# instruction, a parameter-entity reference, a markup declaration with its
# quoted literals, or the subset's end.
_TOKEN = re.compile(
    rb"""\s+
    | <!--.*?-->
    | <\?.*?\?>
    | %[^;\s]*;
    | <!(?:[^<>"']|"[^"]*"|'[^']*')*>
    | \]\s*>""",
    re.S | re.X,
)
_ENTITY = re.compile(rb"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+("[^"]*"|'[^']*')\s*>\Z""")
# A harmless replacement text: a few characters, or character references.
_SAFE_VALUE = re.compile(rb"(?:[^&%<]|&\#\d{1,7};|&\#x[0-9a-fA-F]{1,6};){0,16}\Z")


def defuse_entities(body: bytes) -> bytes:
    """``body`` with dangerous entity declarations removed; unchanged if it declares none."""
    match = _DOCTYPE.search(body)
    if match is None:
        return body
    kept: list[bytes] = []
    pos = match.end()
    while True:
        token = _TOKEN.match(body, pos)
        if token is None:
            # Not a subset we can read: drop the whole DOCTYPE rather than
            # let a parser find out what it means.
            end = body.find(b"]>", pos)
            end = body.find(b">", pos) if end == -1 else end + 1
            return body[: match.start()] + body[end + 1 :] if end != -1 else body[: match.start()]
        pos = token.end()
        text = token.group()
        if text.startswith(b"]"):
            break
        entity = _ENTITY.match(text)
        if entity is not None and _SAFE_VALUE.match(entity.group(2)[1:-1]):
            kept.append(text)
    if not kept:
        # The name of the root element is enough for a DOCTYPE without subset.
        head = body[match.start() : match.end() - 1].rstrip()
        return body[: match.start()] + head + b">" + body[pos:]
    subset = b"".join(kept)
    return body[: match.end()] + subset + b"]>" + body[pos:]


# XML's own five, and character references: always fine.
_XML_REFERENCE = rb"(?:lt|gt|amp|quot|apos|\#[0-9]{1,7}|\#x[0-9a-fA-F]{1,6});"
_SUSPECT = re.compile(rb"&(?!" + _XML_REFERENCE + rb")")
_REFERENCE = re.compile(rb"&(?!" + _XML_REFERENCE + rb")(?:([A-Za-z_][\w.-]{0,31});)?")
_CDATA = re.compile(rb"(<!\[CDATA\[.*?\]\]>)", re.S)
_DECLARED_NAME = re.compile(rb"<!ENTITY\s+([A-Za-z_][\w.-]*)")
_HTML_ENTITIES = {
    name[:-1].encode(): "".join(f"&#{ord(c)};" for c in text).encode()
    for name, text in html.entities.html5.items()
    if name.endswith(";")
}


def repair_references(body: bytes) -> bytes:
    """``body`` with every ``&`` outside CDATA a well-formed reference; unchanged if it was."""
    if _SUSPECT.search(body) is None:
        return body
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:100]:
        return body  # UTF-16 or -32: not ASCII-compatible bytes, left to the parsers
    declared = set(_DECLARED_NAME.findall(body[: _prolog_end(body)]))

    def fix(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        if name is None:
            return b"&amp;"  # a bare ampersand
        if name in declared:
            return match.group()
        return _HTML_ENTITIES.get(name) or b"&amp;" + name + b";"

    parts = _CDATA.split(body)
    # split() puts the CDATA sections at odd positions: those are left as they are.
    parts[::2] = [_REFERENCE.sub(fix, part) if b"&" in part else part for part in parts[::2]]
    return b"".join(parts)


def _prolog_end(body: bytes) -> int:
    """Where a DOCTYPE's internal subset, if any, ends (entities are declared before it)."""
    match = _DOCTYPE.search(body)
    if match is None:
        return 0
    end = body.find(b"]>", match.end())
    return end if end != -1 else 0
