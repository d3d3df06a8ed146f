"""Control characters: text from a feed or a server must never drive the terminal.

A title with ``&#27;[2J`` clears the screen of whoever lists it, and OSC
sequences (``ESC ] 0;...``) retitle the window or worse. Such characters
mean nothing in a title, a name or a link, so the parsers drop them, and
the console drops them again from anything it prints (error messages quote
servers).
"""

from __future__ import annotations

import re

# C0 controls but tab, newline and carriage return; DEL; the C1 controls.
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def without_controls(text: str) -> str:
    """``text`` without control characters (whitespace is left alone)."""
    return CONTROLS.sub("", text) if CONTROLS.search(text) else text


def is_utf8(text: str) -> bool:
    """False for text holding lone surrogates: how Python hands over command-line
    arguments (and file names) whose bytes are not UTF-8; SQLite refuses them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def one_line(text: str) -> str:
    """``text`` on one line, with no control character and no lone surrogate.

    For messages that quote a server or a library (aiohttp's caret diagrams
    span lines; header bytes that are not UTF-8 come out of it as lone
    surrogates, which SQLite refuses to store).
    """
    if not text.isprintable():
        text = " ".join(without_controls(text).split())
    return text.encode("utf-8", "replace").decode("utf-8")
