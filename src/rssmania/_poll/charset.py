"""Characters as a browser reads them: the WHATWG Encoding Standard's labels, UTF-8 found
under a single-byte label, and text that was encoded twice.

    body -> BOM? as it says
         -> declared (XML declaration, else the Content-Type charset) single-byte,
            yet valid UTF-8 with a multi-byte sequence?   -> UTF-8
         -> declared ISO-8859-1/latin1/US-ASCII (and two more such labels)
            with bytes the label's own codec reads as C1 controls -> windows-1252
         -> re-declared as UTF-8, so that both parse paths read the same text

A browser reads the labels ``iso-8859-1``, ``latin1`` and ``us-ascii`` as
windows-1252 (https://encoding.spec.whatwg.org/#names-and-labels), and so
do publishers, who write curly quotes, dashes and the euro sign in the
bytes 0x80-0x9F; Python's codecs (and libxml2's) make C1 controls of them,
which the parsers then drop ("Childrens" for "Children's", issue 22).
``iso-8859-9`` is windows-1254 and ``iso-8859-11`` windows-874 the same way.

A feed whose bytes are valid UTF-8 and hold at least one multi-byte
sequence is UTF-8 whatever it declares: no text in a single-byte charset
is valid UTF-8 by chance, except in contrived cases ("Ã©" written in
latin1 on purpose).

``unmangled``: text encoded as UTF-8 twice ("CafÃ©" for "Café", "Â«" for
"«") is repaired by ftfy where the repair is unambiguous. It costs about
23 µs per title that looks mangled, and little for the rest: a test for a
lead byte followed by a continuation byte, read as windows-1252 or latin-1,
in the first 1,024 characters of a text, comes first.
"""

from __future__ import annotations

import re
from functools import cache

# WHATWG labels (lower case) of the encodings whose bytes 0x80-0x9F a
# browser reads otherwise than Python's codec of the same name, by Python codec.
_WHATWG_SINGLE_BYTE = {
    "cp1252": (
        "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 "
        "iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 "
        "x-cp1252"
    ),
    "cp1254": (
        "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 "
        "iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254"
    ),
    "cp874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
}
_CODEC_OF = {
    label: codec for codec, labels in _WHATWG_SINGLE_BYTE.items() for label in labels.split()
}
# Any other single-byte label: UTF-8 found under it is UTF-8 all the same.
_SINGLE_BYTE_PREFIXES = (
    "iso-8859", "iso8859", "iso_8859", "latin", "windows-125", "cp125", "koi8",
    "macintosh", "mac", "x-mac", "ibm866", "cp866",
)  # fmt: skip
_DECLARATION = re.compile(rb"\A(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([\w.:-]+)([\"'])", re.I)
_CHARSET_PARAM = re.compile(r";\s*charset\s*=\s*[\"']?([\w.:-]+)[\"']?", re.I)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_C1_BYTE = re.compile(rb"[\x80-\x9f]")


def as_browsers_read(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """``body`` and its ``content_type``, re-encoded as UTF-8 where a browser would read
    its bytes otherwise than the label's own codec; unchanged otherwise."""
    if body.startswith(_BOMS):
        return body, content_type
    declared = _DECLARATION.match(body, 0, min(len(body), 1024))
    label = declared.group(2).decode("ascii").lower() if declared else None
    if label is None and content_type and (param := _CHARSET_PARAM.search(content_type)):
        label = param.group(1).lower()
    if label is None or not _single_byte(label) or not _HIGH_BYTE.search(body):
        return body, content_type
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return _declared_utf8(body, declared), _without_charset(content_type)
    codec = _CODEC_OF.get(label)
    if codec is None or not _C1_BYTE.search(body):
        return body, content_type  # the label's codec reads it as a browser does
    text = body.decode("latin-1").translate(_browser_table(codec))
    return _declared_utf8(text.encode("utf-8"), declared), _without_charset(content_type)


def _single_byte(label: str) -> bool:
    return label in _CODEC_OF or label.startswith(_SINGLE_BYTE_PREFIXES)


def _declared_utf8(body: bytes, declared: re.Match[bytes] | None) -> bytes:
    if declared is None:
        return body  # XML without a declaration is UTF-8
    return declared.expand(rb"\g<1>utf-8\g<3>") + body[declared.end() :]


def _without_charset(content_type: str | None) -> str | None:
    return _CHARSET_PARAM.sub("", content_type) if content_type else content_type


@cache
def _browser_table(codec: str) -> dict[int, str]:
    """Latin-1 text to ``codec``'s, as WHATWG defines it: the bytes Python's codec
    leaves undefined (cp1252's 0x81, 0x8D, 0x8F, 0x90, 0x9D) are the same code points."""
    table = {}
    for byte in range(0x80, 0x100):
        try:
            table[byte] = bytes([byte]).decode(codec)
        except UnicodeDecodeError:
            table[byte] = chr(byte)
    return table


# What UTF-8 read as windows-1252 or latin-1 looks like: a lead byte (Â to ô)
# followed by a continuation byte (0x80-0xBF, as latin-1 or windows-1252 shows it).
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)


# How far into a text mangling is looked for: text encoded twice is so from its
# start (a tool's step, not a writer's); a whole article searched for it cost
# the finishing step 15% of its time on the corpus.
_LOOK_AHEAD = 1024


def unmangled(text: str | None) -> str | None:
    """``text`` with UTF-8 that was decoded as a single-byte charset repaired (ftfy)."""
    if not text or text.isascii() or _MOJIBAKE.search(text, 0, _LOOK_AHEAD) is None:
        return text
    # Imported here: a fifth of the workers' start-up, for a repair few feeds need.
    import ftfy  # noqa: PLC0415

    return ftfy.fix_encoding(text)
