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

Numeric references to what is not a character of XML (``&#0;``, a lone
surrogate ``&#55296;``, ``&#xFFFF;``, beyond U+10FFFF) make lxml drop the
rest of an entry and feedparser fail on the whole feed: they become U+FFFD,
as in HTML. ``&#128;`` to ``&#159;`` are, in practice, windows-1252 bytes
written as references (``&#146;`` for an apostrophe): they become that
character, as in HTML. Other control characters (``&#27;``, the start of
terminal escape sequences) are dropped: no text needs them.

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
            kept.append(_ODD_REFERENCE.sub(_numeric, text))
    if not kept:
        # The name of the root element is enough for a DOCTYPE without subset.
        head = body[match.start() : match.end() - 1].rstrip()
        return body[: match.start()] + head + b">" + body[pos:]
    subset = b"".join(kept)
    return body[: match.end()] + subset + b"]>" + body[pos:]


# XML's own five, and character references: always fine.
_XML_REFERENCE = rb"(?:lt|gt|amp|quot|apos|\#[0-9]{1,7}|\#x[0-9a-fA-F]{1,6});"
# Numeric references that may name no character, a control or a C1 code
# (checked one by one in ``_numeric``): a cheap net, since every feed is
# full of &#8217; and &#160;, which it lets through at C speed.
_ODD_NUMBER = (
    rb"\#(?:0*([0-8]|1[124-9]|2[0-9]|3[01]|12[7-9]|1[3-5][0-9]|5[5-7][0-9]{3}|6553[45]|[0-9]{7,})"
    rb"|x0*([0-8bcefBCEF]|1[0-9a-fA-F]|7[fF]|[89][0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2}"
    rb"|[fF]{3}[eEfF]|[0-9a-fA-F]{6,})"
    rb"|X([0-9a-fA-F]+));"
)
_ODD_REFERENCE = re.compile(rb"&" + _ODD_NUMBER)
_SUSPECT = re.compile(rb"&(?:" + _ODD_NUMBER + rb"|(?!" + _XML_REFERENCE + rb"))")
_REFERENCE = re.compile(
    rb"&(?:" + _ODD_NUMBER + rb"|(?!" + _XML_REFERENCE + rb")(?:([A-Za-z_][\w.-]{0,31});)?)"
)
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
        name = match.group(4)
        if match.group(1, 2, 3) != (None, None, None):
            return _numeric(match)
        if name is None:
            return b"&amp;"  # a bare ampersand
        if name in declared:
            return match.group()
        return _HTML_ENTITIES.get(name) or b"&amp;" + name + b";"

    parts = _CDATA.split(body)
    # split() puts the CDATA sections at odd positions: those are left as they are.
    parts[::2] = [_REFERENCE.sub(fix, part) if b"&" in part else part for part in parts[::2]]
    return b"".join(parts)


_REPLACEMENT = b"&#xFFFD;"


def _numeric(match: re.Match[bytes]) -> bytes:
    """The reference an ``_ODD_NUMBER`` should have been (b"" for a control character)."""
    decimal, hexadecimal, upper_x = match.group(1, 2, 3)
    base = 10 if decimal is not None else 16
    digits = (decimal or hexadecimal or upper_x).lstrip(b"0") or b"0"
    if len(digits) > 8:  # int() of thousands of digits is slow, and refused past 4,300
        return _REPLACEMENT
    code = int(digits, base)
    if code == 0:
        return _REPLACEMENT
    if (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code < 0x7F
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    ):
        # Caught by the net but fine; only &#X is not XML's spelling.
        return b"&#%d;" % code if upper_x is not None else match.group()
    if 0x80 <= code <= 0x9F:
        try:
            return b"&#%d;" % ord(bytes([code]).decode("cp1252"))
        except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: nothing in windows-1252 either
            return b""
    if code < 0x20 or code == 0x7F:
        return b""
    return _REPLACEMENT  # a surrogate, U+FFFE, U+FFFF, beyond U+10FFFF


def _prolog_end(body: bytes) -> int:
    """Where a DOCTYPE's internal subset, if any, ends (entities are declared before it)."""
    match = _DOCTYPE.search(body)
    if match is None:
        return 0
    end = body.find(b"]>", match.end())
    return end if end != -1 else 0
