"""Parse fidelity on feeds nobody tuned for (issue 22): each kind of fault found on
300 real feeds that are not in the corpus, read the same way on both paths."""

from __future__ import annotations

import gzip
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import rssmania
from rssmania import Aggregator
from rssmania._decide import decide
from rssmania._intents import FeedState
from rssmania._poll import fastpath
from rssmania._poll.jobs import ParsedEntry, ParsedFeed, PollOutcome
from rssmania._poll.parse import finish, parse_feed
from rssmania._poll.tolerant import parse_tolerant
from rssmania.types import FeedError
from tests.feedserver import FeedServer

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


# -- 1. charsets as browsers read them ----------------------------------------------

CP1252_TITLE = "Children\u2019s \u201cbest\u201d \u2013 \u20ac5\u2026"


@pytest.mark.parametrize("label", ["iso-8859-1", "ISO-8859-1", "latin1", "us-ascii"])
def test_latin1_and_ascii_labels_mean_windows_1252(label: str) -> None:
    body = rss(f"<item><guid>urn:1</guid><title>{CP1252_TITLE}</title></item>", encoding=label)
    feed = parsed(body.encode("cp1252"))
    assert feed.entries[0].title == CP1252_TITLE


def test_a_charset_said_only_by_the_server_means_windows_1252_too() -> None:
    body = rss(f"<item><guid>urn:1</guid><title>{CP1252_TITLE}</title></item>")
    body = body.replace(' encoding="utf-8"', "")
    feed = parsed(body.encode("cp1252"), content_type="application/rss+xml; charset=ISO-8859-1")
    assert feed.entries[0].title == CP1252_TITLE


@pytest.mark.parametrize(
    "title", ["Snyder\u2019s", "Caf\u00e9 \u00ab cr\u00e8me \u00bb", "\u041c\u0438\u0440"]
)
@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252", "iso-8859-2", "us-ascii"])
def test_utf8_under_a_single_byte_label_is_utf8(title: str, label: str) -> None:
    # Any multi-byte sequence counts, the three-byte U+2019 (E2 80 99) as well as
    # é (C3 A9): today "Snyderâs", with the C1 controls dropped.
    body = rss(f"<item><guid>urn:1</guid><title>{title}</title></item>", encoding=label)
    assert parsed(body.encode("utf-8")).entries[0].title == title


def test_latin1_that_is_no_utf8_stays_latin1() -> None:
    title = "Br\u00e9sil \u00e0 Paris"
    body = rss(f"<item><guid>urn:1</guid><title>{title}</title></item>", encoding="iso-8859-1")
    assert parsed(body.encode("latin-1")).entries[0].title == title


MOJIBAKE = {
    "e-acute": ("Caf\u00c3\u00a9", "Caf\u00e9"),
    "guillemets": ("\u00c2\u00ab Le Monde \u00c2\u00bb", "\u00ab Le Monde \u00bb"),
    "apostrophe": ("Snyder\u00e2\u20ac\u2122s", "Snyder\u2019s"),
    "portuguese-capitals-are-no-mojibake": ("S\u00c3O PAULO", "S\u00c3O PAULO"),
    "plain": ("na\u00efve caf\u00e9", "na\u00efve caf\u00e9"),
}


@pytest.mark.parametrize(("written", "shown"), MOJIBAKE.values(), ids=MOJIBAKE.keys())
def test_text_encoded_twice_is_repaired_whichever_path_reads_it(written: str, shown: str) -> None:
    # The tolerant path repaired it (feedparser does), the fast path kept
    # it: a title changed when its feed changed path.
    body = rss(
        f"<item><guid>urn:1</guid><title>{written}</title>"
        f"<description>&lt;p&gt;{written}&lt;/p&gt;</description></item>"
    ).encode()
    feed = parsed(body)
    assert (feed.entries[0].title, feed.entries[0].content) == (shown, f"<p>{shown}</p>")
    fast, tolerant = both_paths(body)
    assert fast[0].title == tolerant[0].title == shown


def test_a_gzip_file_unpacks_within_the_callers_cap() -> None:
    feed = rss("<item><guid>urn:1</guid><title>x</title></item>").encode()
    body = gzip.compress(feed + b" " * 5000)
    assert isinstance(parse_feed(body, url=URL, content_type=None), ParsedFeed)
    small = parse_feed(body, url=URL, content_type=None, max_bytes=4000)
    assert isinstance(small, FeedError)
    assert small.kind == "too_large"
    assert "4,000 bytes" in small.message


# -- 4. HTML written unescaped inside <description> ---------------------------------

UNESCAPED = {
    "text-then-elements": (
        "Hello <b>world</b>, and <a href='https://example.org/x'>more</a>",
        ["Hello", "<b>world</b>", ">more</a>"],
    ),
    "whitespace-then-elements": ("\n   <p>The whole <em>body</em></p>\n", ["<em>body</em>"]),
    "space-then-elements": (" <p>One</p><p>Two</p>", ["<p>One</p>", "<p>Two</p>"]),
}


@pytest.mark.parametrize(("inside", "kept"), UNESCAPED.values(), ids=UNESCAPED.keys())
def test_html_written_unescaped_inside_a_description_is_read_whole(
    inside: str, kept: list[str]
) -> None:
    # The fast path kept only the text before the first element ("Hello"),
    # and whitespace there passed for text kept.
    body = rss(
        f"<item><guid>urn:1</guid><title>a</title><description>{inside}</description></item>"
        "<item><guid>urn:2</guid><title>b</title><description>Plain text</description></item>"
    ).encode()
    first, second = parsed(body).entries
    for part in kept:
        assert part in (first.content or ""), (part, first.content)
    assert second.content == "Plain text"


def test_a_plain_text_description_costs_no_second_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_second_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed twice")

    monkeypatch.setattr(fastpath._Tree, "read", no_second_parse)
    body = rss("<item><guid>urn:1</guid><title>a</title><description>Text</description></item>")
    assert fastpath.parse_fast(body.encode(), url=URL).entries[0].summary == "Text"


# -- 5. one link per entry on both paths ---------------------------------------------

GUID = '<guid isPermaLink="true">https://example.org/p/1</guid>'
ATOM_LINK = '<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="alternate" href="{}"/>'
LINKS = {
    "guid-and-link": (f"{GUID}<link>https://example.org/l/1</link>", "https://example.org/l/1"),
    "link-then-guid": (f"<link>https://example.org/l/1</link>{GUID}", "https://example.org/l/1"),
    "guid-and-atom-link": (
        GUID + ATOM_LINK.format("https://example.org/a/1"),
        "https://example.org/a/1",
    ),
    "link-before-atom-link": (
        "<link>https://example.org/l/1</link>" + GUID + ATOM_LINK.format("https://example.org/a/1"),
        "https://example.org/l/1",
    ),
    "guid-alone": (GUID, "https://example.org/p/1"),
}


@pytest.mark.parametrize(("inside", "link"), LINKS.values(), ids=LINKS.keys())
def test_an_item_has_one_link_whichever_path_reads_it(inside: str, link: str) -> None:
    # The fast path took the guid (or the atom:link over the <link>).
    body = rss(f"<item><title>a</title>{inside}</item>").encode()
    fast, tolerant = both_paths(body)
    assert (fast[0].link, fast[0].key) == (tolerant[0].link, tolerant[0].key)
    assert fast[0].link == link
    assert fast[0].key == "https://example.org/p/1"


# -- 3. identity that keeps distinct articles apart ----------------------------------

NEWS = "https://example.org/news"


def news_item(n: int, *, link: str = NEWS) -> str:
    text = f"<description>Text {n}</description>"
    return f"<item><title>Post {n}</title><link>{link}</link>{text}</item>"


def test_posts_without_guid_that_share_one_link_are_distinct_on_both_paths() -> None:
    # A news page that lists every post at one URL: 98 of 99 were dropped as repeats.
    body = rss("".join(news_item(n) for n in range(99))).encode()
    fast, tolerant = both_paths(body)
    assert [e.title for e in fast] == [f"Post {n}" for n in range(99)]
    assert [e.key for e in fast] == [e.key for e in tolerant]
    assert len({e.key for e in fast}) == 99
    assert all(e.link == NEWS for e in fast)
    assert len(parsed(body).entries) == 99


def test_an_entry_whose_link_is_its_own_keeps_the_link_as_its_key() -> None:
    body = rss(news_item(1, link="https://example.org/1") + news_item(2) + news_item(3)).encode()
    first, *others = parsed(body).entries
    assert first.key == "https://example.org/1"
    assert all(e.key.startswith("sha256:") for e in others)
    # The same post read twice is still one post.
    assert len(parsed(rss(news_item(2) + news_item(2)).encode()).entries) == 1


def keys_stored(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [k for (k,) in con.execute("SELECT key FROM entries ORDER BY id")]


def test_a_second_post_at_one_link_leaves_the_stored_post_as_it_was(
    server: FeedServer, db: Path
) -> None:
    url = server.set("/news.xml", rss(news_item(1)), content_type="application/rss+xml")
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        polls = []
        for body in (
            rss(news_item(1)),  # stored under its link
            rss(news_item(2) + news_item(1)),  # a second post at the same link
            rss(news_item(3) + news_item(2) + news_item(1)),
            rss(news_item(3) + news_item(2) + news_item(1)),  # nothing new
            rss(news_item(3)),  # alone at its link again
        ):
            server.set("/news.xml", body, content_type="application/rss+xml")
            (result,) = agg.update(all_feeds=True)
            assert result.error is None, result.error
            polls.append(([e.title for e in result.new], [e.title for e in result.updated]))
    assert polls == [
        (["Post 1"], []),
        (["Post 2"], []),
        (["Post 3"], []),
        ([], []),
        ([], []),
    ]
    assert keys_stored(db)[0] == NEWS  # not re-keyed
    assert len(keys_stored(db)) == 3


def test_an_entry_stored_under_its_shared_link_keeps_that_key() -> None:
    # What earlier versions stored for a feed of posts at one link: the first
    # post, keyed by the link, hashed by an older scheme. The same text (the
    # hash past its scheme) keeps the stored key; the other posts are new.
    body = rss(news_item(1) + news_item(2) + news_item(3)).encode()
    entries = parsed(body).entries
    digest = entries[0].content_hash.partition(":")[2]
    outcome = PollOutcome(url=URL, http_status=200, feed=ParsedFeed("T", None, entries))
    state = FeedState(id=1, url=URL, etag=None, last_modified=None, error_count=0, interval=None)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    write = decide(state, outcome, {NEWS: f"6:{digest}"}, now=now, default_interval=600)
    assert [(w.entry.key, w.entry.title, w.status.value, w.quiet) for w in write.entries] == [
        (NEWS, "Post 1", "updated", True),
        (entries[1].key, "Post 2", "new", False),
        (entries[2].key, "Post 3", "new", False),
    ]
    assert write.served == (NEWS, entries[1].key, entries[2].key)
    # Another text under the link: another article, or edited; nothing is taken.
    write = decide(state, outcome, {NEWS: "6:0000"}, now=now, default_interval=600)
    assert [w.entry.key for w in write.entries] == [e.key for e in entries]


def test_an_id_after_an_element_with_its_own_xml_base_is_kept_as_written() -> None:
    # feedparser resolved it against the xml:base of the <content> before it
    # ("/t3_1"), the fast path kept "t3_1": a key that changed with the path.
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>r</title><entry><title>a</title>"
        b'<content type="html" xml:base="/.rss?limit=50">&lt;p&gt;x&lt;/p&gt;</content>'
        b'<id>t3_1</id><link href="https://example.org/r/1"/></entry></feed>'
    )
    fast, tolerant = both_paths(body)
    assert fast[0].key == tolerant[0].key == "t3_1"
