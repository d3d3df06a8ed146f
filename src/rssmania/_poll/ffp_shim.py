"""Every use of fastfeedparser's private names, checked against the version they were read in.

fastfeedparser is pinned (pyproject.toml) because the fast path leans on how
this version behaves inside: the date parser it calls for every date, the
description it makes up from an entry's content. Those names are private and
may change in any release, so they are touched here and nowhere else, and
this module refuses to load under another version: an upgrade fails loudly
at import, in the tests, instead of reading dates or summaries quietly wrong.

The date reader is replaced, for both parse paths alike, by
``rssmania._poll.dates.read_date_iso`` (``install_date_reader``): the
extractor calls ``fastfeedparser.main._parse_date`` by its module name for
every date it meets, compiled core or not.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import version
from typing import Any

import fastfeedparser
import fastfeedparser.main as _main

FASTFEEDPARSER_VERSION = "0.6.5"

_installed = version("fastfeedparser")
if _installed != FASTFEEDPARSER_VERSION:
    raise ImportError(
        f"rssmania's fast parse path was written against fastfeedparser "
        f"{FASTFEEDPARSER_VERSION} and reads its private names; {_installed} is installed. "
        f"Install {FASTFEEDPARSER_VERSION}, or check rssmania._poll.ffp_shim against the new "
        f"version and raise the pin."
    )

parse = fastfeedparser.parse

# The library's own date reader, before rssmania's rules wrap it.
library_parse_date: Callable[[str], str | None] = _main._parse_date
library_rfc822_to_utc: Callable[[str], datetime | None] = _main._parsedate_to_utc
SYNTH_DESCRIPTION_LEN: int = _main._SYNTH_DESCRIPTION_LEN
# The zone names its date readers know ("CEST", "PST"), as offsets in seconds.
ZONES: dict[str, int] = _main._custom_tzinfos
# The compiled extractor's own synthesis, exposed "for parity" with the Python
# code (checked on the 12,816 contents of the corpus and of generated feeds),
# in 0.6 of the time.
_synthesize_compiled = getattr(_main._core, "synthesize_description", None)


def compiled_core_loaded() -> bool:
    """True when fastfeedparser's native extractor is in use (else it runs on lxml alone)."""
    return _main._core is not None


def install_date_reader(
    parse_date: Callable[[str], str | None],
    *,
    rfc822_to_utc: Callable[[str], datetime | None],
    dateutil_parse: Callable[[str], datetime | None],
) -> None:
    """Make fastfeedparser read dates with ``parse_date`` (text -> ISO 8601 UTC, or None),
    its RFC 822 fallback with ``rfc822_to_utc`` and its last resort with ``dateutil_parse``."""
    _main._parse_date = parse_date
    _main._parsedate_to_utc = rfc822_to_utc
    _main._slow_dateutil_parse = dateutil_parse
    # dateparser, an optional dependency, would guess a missing day as today's
    # (rssmania does not install it): never asked.
    _main._slow_dateparser = _no_date


def _no_date(_: str) -> None:
    return None


def synthesized_description(content: str) -> str | None:
    """The description fastfeedparser makes up from ``content`` when an entry has none."""
    description: object
    try:
        if _synthesize_compiled is not None:
            description = _synthesize_compiled(content, html.unescape)
        else:
            probe: dict[str, Any] = {"content": [{"value": content}]}
            _main._synthesize_entry_description(probe)
            description = probe.get("description")
    except Exception:
        return None
    # Entries get their description stripped after it is made up.
    return description.strip() if isinstance(description, str) else None
