"""Parse fidelity on feeds nobody tuned for (issue 22): each kind of fault found on
300 real feeds that are not in the corpus, read the same way on both paths."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import rssmania
from rssmania._poll import fastpath
from rssmania._poll.jobs import ParsedEntry, ParsedFeed
from rssmania._poll.parse import finish, parse_feed
from rssmania._poll.tolerant import parse_tolerant
from rssmania.types import FeedError

URL = "https://example.org/blog/feed.xml"


def rss(items: str, *, encoding: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>T</title><link>https://example.org/</link>{items}</channel></rss>"
    )


def both_paths(body: bytes) -> tuple[tuple[ParsedEntry, ...], tuple[ParsedEntry, ...]]:
    """The entries as the fast path reads ``body`` (forced) and as the tolerant path does."""
    fast = finish(fastpath.parse_fast(body, url=URL))
    tolerant = parse_tolerant(body, url=URL, content_type=None)
    assert not isinstance(tolerant, FeedError), tolerant
    return fast.entries, finish(tolerant).entries


def parsed(body: bytes, content_type: str | None = None) -> ParsedFeed:
    result = parse_feed(body, url=URL, content_type=content_type)
    assert isinstance(result, ParsedFeed), result
    return result


# -- 2. dates never invent precision ------------------------------------------------

DATES = {
    "month-and-year": ("August 2011", datetime(2011, 8, 1, tzinfo=UTC)),
    "year-alone": ("2011", datetime(2011, 1, 1, tzinfo=UTC)),
    "year-and-month": ("2011-08", datetime(2011, 8, 1, tzinfo=UTC)),
    "no-year": ("August 5", None),
    "a-time-alone": ("10:30", None),
    "plus-lost": ("2011-09-16T08:00:00 00:00", datetime(2011, 9, 16, 8, tzinfo=UTC)),
    "plus-lost-0530": ("2011-09-16T08:00:00 05:30", datetime(2011, 9, 16, 2, 30, tzinfo=UTC)),
    "a-whole-date": ("Tue, 16 Aug 2011 10:00:00 +0200", datetime(2011, 8, 16, 8, tzinfo=UTC)),
}


@pytest.mark.parametrize(("text", "expected"), DATES.values(), ids=DATES.keys())
def test_a_date_is_read_to_its_own_precision_on_both_paths(
    text: str, expected: datetime | None
) -> None:
    # Read on any day of the year, the date is the same: what the text lacks
    # is the start of its period, or, without a year, there is no date.
    body = rss(f"<item><guid>urn:1</guid><title>x</title><pubDate>{text}</pubDate></item>")
    fast, tolerant = both_paths(body.encode())
    assert fast[0].published == tolerant[0].published == expected


def test_fastfeedparser_under_another_version_is_refused_at_import() -> None:
    code = (
        "import importlib.metadata as m\n"
        "real = m.version\n"
        "m.version = lambda name: '9.9.9' if name == 'fastfeedparser' else real(name)\n"
        "import rssmania._poll.ffp_shim\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert "fastfeedparser 0.6.5" in run.stderr
    assert "9.9.9 is installed" in run.stderr


def test_only_the_shim_names_fastfeedparser_privately() -> None:
    package = Path(rssmania.__file__).parent
    users = sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if "fastfeedparser.main" in p.read_text() or "import fastfeedparser" in p.read_text()
    )
    assert users == ["_poll/ffp_shim.py"]
