"""Hostile servers, feeds and inputs, each done for real against 127.0.0.1.

Every hostile feed is polled in the same round as a good one and must end as
that one feed's error (or be stored safely), and nothing more: no exception
escapes ``update()``, the good feed is stored and the database stays sound.
Bad input to the command line gets one clear line on stderr, exit code 2 (bad
input) or 1 (runtime error), and changes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rssmania import Entry, Feed, FeedResult, InvalidFeedURLError
from tests.conftest import cli_env, rssmania
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.fixtures import unspaced as Aggregator

MIB = 1024 * 1024
RSS_TYPE = "application/rss+xml; charset=utf-8"
HEAD = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>h</title>\n'
TAIL = b"</channel></rss>\n"
FILLER = b"<item><title>more</title></item>\n" * 2000  # ~66 KB


# --- a server for what FeedServer cannot send ---------------------------------------------------

Answer = Callable[[BaseHTTPRequestHandler], None]


class HostileServer:
    """Answers written by hand: bodies with no end, chunked trickles, lazily made huge bodies."""

    def __init__(self) -> None:
        self.routes: dict[str, Answer] = {}
        self.stopping = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # a write the poller never reads fails: no thread spins on forever

            def do_GET(self) -> None:
                self.close_connection = True
                answer = owner.routes.get(self.path)
                if answer is None:
                    self.send_error(404)
                    return
                # The poller hangs up (a cap, a timeout): what it should do.
                with contextlib.suppress(OSError):
                    answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(self, path: str, answer: Callable[..., None], **kwargs: object) -> str:
        self.routes[path] = functools.partial(answer, server=self, **kwargs)
        address, port = self._httpd.server_address[:2]
        return f"http://{address!s}:{port}{path}"


def _start(handler: BaseHTTPRequestHandler, framing: str) -> None:
    """Headers without a Content-Length: the body ends with a last chunk, or never."""
    handler.send_response(200)
    handler.send_header("Content-Type", RSS_TYPE)
    if framing == "chunked":
        handler.send_header("Transfer-Encoding", "chunked")
    else:
        handler.send_header("Connection", "close")  # the body ends when the connection does
    handler.end_headers()


def _send(handler: BaseHTTPRequestHandler, framing: str, data: bytes) -> None:
    if framing == "chunked":
        data = b"%x\r\n%s\r\n" % (len(data), data)
    handler.wfile.write(data)


def endless_body(handler: BaseHTTPRequestHandler, *, server: HostileServer, framing: str) -> None:
    """A feed that never ends, sent as fast as the socket takes it."""
    _start(handler, framing)
    _send(handler, framing, HEAD)
    while not server.stopping.is_set():
        _send(handler, framing, FILLER)


def huge_body(
    handler: BaseHTTPRequestHandler, *, server: HostileServer, framing: str, size: int
) -> None:
    """A well-formed feed of ``size`` bytes, made as it is sent: never held in memory."""
    _start(handler, framing)
    _send(handler, framing, HEAD)
    sent = len(HEAD)
    while sent + len(FILLER) + len(TAIL) <= size and not server.stopping.is_set():
        _send(handler, framing, FILLER)
        sent += len(FILLER)
    _send(handler, framing, TAIL)
    if framing == "chunked":
        handler.wfile.write(b"0\r\n\r\n")


def chunked_trickle(
    handler: BaseHTTPRequestHandler, *, server: HostileServer, every: float
) -> None:
    """One byte every ``every`` seconds, with no length announced: quick enough for a read
    timeout, never done."""
    _start(handler, "chunked")
    _send(handler, "chunked", HEAD)
    while not server.stopping.wait(every):
        _send(handler, "chunked", b" ")


def raw_answer(
    handler: BaseHTTPRequestHandler, *, server: HostileServer, head: bytes, body: bytes
) -> None:
    """A status line and headers sent byte for byte, as no HTTP library would write them."""
    handler.wfile.write(
        head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    )


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as s:
        yield s


# --- one round: a hostile feed next to a good one --------------------------------------------


@dataclass
class Polled:
    result: FeedResult
    feed: Feed
    entries: list[Entry]
    seconds: float
    grown_mb: float

    def assert_error(self, *kinds: str) -> None:
        error = self.result.error
        assert error is not None, f"expected an error, stored {len(self.entries)} entries"
        assert error.kind in kinds, error
        assert self.feed.error_count == 1
        assert self.feed.last_error == error.message
        assert self.entries == []


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def poll_next_to_good(db: Path, server: FeedServer, url: str, **options: object) -> Polled:
    """Poll ``url`` and a good feed in one round, in this process (workers=1)."""
    good = server.set("/good.xml", rss("Good", items("good", 2)))
    before = _peak_mb()
    with Aggregator(db, workers=1, **options) as agg:  # type: ignore[arg-type]
        agg.add_feeds([url, good])
        started = time.monotonic()
        results = {r.feed.url: r for r in agg.update()}
        seconds = time.monotonic() - started
        feeds = {f.url: f for f in agg.get_feeds()}
        entries = agg.get_entries()
    grown_mb = _peak_mb() - before
    assert set(results) == {url, good}
    assert results[good].error is None, results[good].error
    assert len(results[good].new) == 2
    assert feeds[good].error_count == 0
    assert sorted(e.id for e in entries if e.feed_url == good) == ["good-0", "good-1"]
    assert_sound(db)
    return Polled(
        result=results[url],
        feed=feeds[url],
        entries=[e for e in entries if e.feed_url == url],
        seconds=seconds,
        grown_mb=grown_mb,
    )


def assert_sound(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


def stored_text(entries: list[Entry]) -> list[str]:
    return [
        text
        for e in entries
        for text in (e.title, e.link, e.author, e.summary, e.content)
        if text is not None
    ]


# --- what servers can do --------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_a_body_that_never_ends_is_cut(
    server: FeedServer, hostile: HostileServer, db: Path, framing: str
) -> None:
    url = hostile.route("/endless.xml", endless_body, framing=framing)
    polled = poll_next_to_good(db, server, url, max_bytes=MIB, timeout=5)
    polled.assert_error("too_large", "timeout")
    assert polled.seconds < 7


@pytest.mark.slow
def test_a_trickling_server_is_cut_at_the_total_timeout(
    server: FeedServer, hostile: HostileServer, db: Path
) -> None:
    announced = server.set("/trickle.xml", trickle=0.2)  # announces 10 MB, sends a byte at a time
    chunked = hostile.route("/trickle-chunked.xml", chunked_trickle, every=0.1)
    for url in (announced, chunked):
        polled = poll_next_to_good(db.with_name(Path(url).stem), server, url, timeout=1.5)
        polled.assert_error("timeout")
        assert 1.4 < polled.seconds < 4, url


@pytest.mark.parametrize("loop", ["A->B->A", "A->A"])
def test_a_redirect_loop_is_an_error_about_redirects(
    server: FeedServer, db: Path, loop: str
) -> None:
    other = "/b.xml" if loop == "A->B->A" else "/a.xml"
    url = server.set("/a.xml", status=302, headers={"Location": server.url(other)})
    if other == "/b.xml":
        server.set("/b.xml", status=301, headers={"Location": url})
    polled = poll_next_to_good(db, server, url)
    polled.assert_error("http")
    assert polled.result.error is not None
    assert "redirects" in polled.result.error.message
    assert server.count("/a.xml") + server.count("/b.xml") <= 6  # at most 5 redirects


def test_a_two_gigabyte_content_length_is_refused_without_reading(
    server: FeedServer, db: Path
) -> None:
    # The body is short: a client that trusted the length would wait for the rest.
    url = server.set("/liar.xml", HEAD + TAIL, headers={"Content-Length": "2000000000"})
    polled = poll_next_to_good(db, server, url, timeout=10)
    polled.assert_error("too_large")
    assert polled.seconds < 2


def test_a_200_mb_feed_is_too_large(server: FeedServer, hostile: HostileServer, db: Path) -> None:
    url = hostile.route("/200mb.xml", huge_body, framing="chunked", size=200_000_000)
    polled = poll_next_to_good(db, server, url)  # the default cap: 16 MB
    polled.assert_error("too_large")
    assert polled.seconds < 10
    assert polled.grown_mb < 200, f"memory grew by {polled.grown_mb:.0f} MB"


# --- what feeds can hold --------------------------------------------------------------------


def billion_laughs() -> bytes:
    """Ten levels of ten references: 10^10 "lol"s once expanded (30 GB)."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<!DOCTYPE rss [\n{chr(10).join(entities)}\n]>\n"
        '<rss version="2.0"><channel><title>&lol9;</title><link>https://example.org/</link>'
        "<item><guid>laughs</guid><title>&lol9;</title><description>&lol9;</description></item>"
        "</channel></rss>"
    ).encode()


def quadratic_blowup(references: int = 5000) -> bytes:
    """One 100 KB entity referenced 5,000 times: a 115 KB body that expands to 500 MB.

    At 20,000 references (2 GB expanded) feedparser alone needs 7.6 GB and minutes.
    """
    refs = "&big;" * references
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<!DOCTYPE rss [<!ENTITY big "{"B" * 100_000}">]>\n'
        '<rss version="2.0"><channel><title>q</title><link>https://example.org/</link>'
        f"<item><guid>quadratic</guid><title>{refs}</title><description>{refs}</description>"
        "</item></channel></rss>"
    ).encode()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "body",
    [billion_laughs(), quadratic_blowup(), quadratic_blowup(20_000)],
    ids=["laughs", "quad", "quad-20k"],
)
def test_entity_expansion_is_refused_or_bounded(server: FeedServer, db: Path, body: bytes) -> None:
    url = server.set("/entities.xml", body)
    polled = poll_next_to_good(db, server, url)
    if polled.result.error is not None:
        polled.assert_error("malformed", "not_a_feed", "too_large", "too_slow")
    else:
        stored = sum(len(text) for text in stored_text(polled.entries))
        assert stored <= 16 * MIB, f"{stored:,} characters stored from a {len(body):,} byte body"
    assert polled.seconds < 5
    assert polled.grown_mb < 300, f"memory grew by {polled.grown_mb:.0f} MB"


def test_external_entities_are_never_fetched(server: FeedServer, db: Path) -> None:
    secret = server.set("/secret.txt", "the server's secret", content_type="text/plain")
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<!DOCTYPE rss [<!ENTITY local SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "{secret}">]>\n'
        '<rss version="2.0"><channel><title>x</title><link>https://example.org/</link>'
        "<item><guid>xxe</guid><title>&local;</title><description>&remote;</description>"
        "</item></channel></rss>"
    )
    url = server.set("/xxe.xml", body)
    polled = poll_next_to_good(db, server, url)
    text = " ".join(stored_text(polled.entries))
    assert "root:" not in text
    assert "secret" not in text
    assert server.count("/secret.txt") == 0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_million_nested_elements_do_not_crash(server: FeedServer, db: Path) -> None:
    depth = 1_000_000
    body = rss("deep", items("deep", 1)).replace(
        "<description>", "<description>" + "<x>" * depth + "deep" + "</x>" * depth, 1
    )
    url = server.set("/deep.xml", body)
    polled = poll_next_to_good(db, server, url)  # a RecursionError would escape here
    if polled.result.error is not None:
        polled.assert_error("malformed", "too_large", "too_slow")
    else:
        assert [e.id for e in polled.entries] == ["deep-0"]
        assert sum(len(text) for text in stored_text(polled.entries)) <= len(body)
    assert polled.seconds < 60


def test_invalid_utf8_in_a_utf8_feed_is_stored_or_a_clear_error(
    server: FeedServer, db: Path
) -> None:
    body = rss("utf", items("utf", 3)).encode()
    body = body.replace(b"utf article 1", b"utf \xff\xfe\xc3\x28 article 1", 1)
    body = body.replace(b"Body of utf 2", b"Body \xe2\x82 of utf 2", 1)  # a truncated sequence
    url = server.set("/utf.xml", body)
    polled = poll_next_to_good(db, server, url)
    if polled.result.error is not None:
        polled.assert_error("malformed")
        assert (
            "encod" in polled.result.error.message or "well-formed" in polled.result.error.message
        )
        return
    assert sorted(e.id for e in polled.entries) == ["utf-0", "utf-1", "utf-2"]
    for text in stored_text(polled.entries):
        text.encode("utf-8")  # no lone surrogates smuggled in from undecodable bytes
    assert "utf article 0" in {e.title for e in polled.entries}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_feed_of_100_000_entries_is_stored(server: FeedServer, db: Path) -> None:
    n = 100_000
    body = HEAD + b"".join(
        b"<item><guid>m%d</guid><title>t %d</title></item>\n" % (i, i) for i in range(n)
    )
    url = server.set("/many.xml", body + TAIL)
    polled = poll_next_to_good(db, server, url)
    assert polled.result.error is None, polled.result.error
    assert len(polled.result.new) == n
    assert len(polled.entries) == n
    assert polled.seconds < 60


def test_scripts_and_javascript_links_are_stored_sanitized(server: FeedServer, db: Path) -> None:
    content = "http://purl.org/rss/1.0/modules/content/"
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="{content}"><channel><title>js</title>
<link>javascript:alert(0)</link><description>d</description>
<item><guid>js-1</guid><title>one</title><link>javascript:alert(1)</link>
<description>&lt;p&gt;hi&lt;script&gt;alert(2)&lt;/script&gt;
&lt;a href="javascript:alert(3)"&gt;x&lt;/a&gt;
&lt;img src="x.png" onerror="alert(4)"&gt;&lt;/p&gt;</description>
<content:encoded><![CDATA[<SCRIPT>alert(5)</SCRIPT><a href="JaVaScRiPt:alert(6)">y</a>
<iframe src="javascript:alert(7)"></iframe>]]></content:encoded></item>
<item><title>two</title><link>  JavaScript:alert(8)</link></item>
</channel></rss>"""
    url = server.set("/js.xml", body)
    polled = poll_next_to_good(db, server, url)
    assert polled.result.error is None, polled.result.error
    assert len(polled.entries) == 2
    for entry in polled.entries:
        for html in (entry.summary, entry.content):
            lowered = (html or "").lower()
            assert "<script" not in lowered, html
            assert "javascript:" not in lowered, html
            assert "onerror" not in lowered, html
    links = [polled.feed.link, *(e.link for e in polled.entries)]
    unsafe = [link for link in links if (link or "").strip().lower().startswith("javascript:")]
    assert unsafe == [], f"javascript: links stored: {unsafe}"


@pytest.mark.parametrize(
    "header",
    [b'ETag: "caf\xe9\xff"', b"Last-Modified: Mon, 06 Sep 2021 16:45:00 GMT\xa0"],
    ids=["etag", "last-modified"],
)
def test_a_validator_that_is_not_utf8_costs_only_the_validator(
    server: FeedServer, hostile: HostileServer, db: Path, header: bytes
) -> None:
    # aiohttp hands such bytes over as lone surrogates, which SQLite refused:
    # the whole round ended, the same way on every run, and stored nothing.
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + header + b"\r\n"
    body = rss("Latin", items("latin", 2)).encode()
    url = hostile.route("/latin.xml", raw_answer, head=head, body=body)
    polled = poll_next_to_good(db, server, url)
    assert polled.result.error is None, polled.result.error
    assert len(polled.entries) == 2
    with sqlite3.connect(db) as con:
        validators = con.execute("SELECT etag, last_modified FROM feeds WHERE url = ?", (url,))
        assert validators.fetchone() == (None, None)  # none it could send back as it came
    con.close()


def test_a_latin1_reason_phrase_is_read_as_latin1(
    server: FeedServer, hostile: HostileServer, db: Path
) -> None:
    head = b"HTTP/1.1 404 Nicht gefunden \xfc\r\nContent-Type: text/plain\r\n"
    url = hostile.route("/gone.xml", raw_answer, head=head, body=b"no")
    polled = poll_next_to_good(db, server, url)
    polled.assert_error("http")
    assert polled.feed.last_error == "HTTP 404 Nicht gefunden \u00fc"


def test_a_304_to_a_first_request_is_an_error(server: FeedServer, db: Path) -> None:
    # Nothing was asked conditionally; taken as "not modified", the feed
    # showed as healthy for ever, with no title and no entry.
    url = server.set("/always304.xml", b"", status=304, validators=False)
    polled = poll_next_to_good(db, server, url)
    polled.assert_error("http")
    assert polled.feed.last_error is not None
    assert "304" in polled.feed.last_error


def test_an_error_message_is_one_line(server: FeedServer, hostile: HostileServer, db: Path) -> None:
    # aiohttp draws a caret under a bad status line, on lines of its own.
    url = hostile.route("/garbage.xml", raw_answer, head=b"HTTP/1.1 2x0 \x01OK\r\n", body=b"x")
    polled = poll_next_to_good(db, server, url)
    polled.assert_error("network")
    assert polled.feed.last_error is not None
    assert polled.feed.last_error.isprintable(), polled.feed.last_error


def test_an_error_message_is_short(server: FeedServer, hostile: HostileServer, db: Path) -> None:
    # aiohttp quotes a status line whole: a feed sent in place of one was a 4 KB message.
    head = b"<?xml version='1.0'?><rss>" + b"<item>x</item>" * 300 + b"\r\n"
    url = hostile.route("/feed-as-status.xml", raw_answer, head=head, body=b"x")
    polled = poll_next_to_good(db, server, url)
    polled.assert_error("network")
    assert polled.feed.last_error is not None
    assert polled.feed.last_error.startswith("invalid HTTP response")
    assert len(polled.feed.last_error) <= 300


ESCAPES = ("\x1b", "\x9b", "\x07")


def test_terminal_escape_sequences_in_a_feed_never_reach_the_terminal(
    server: FeedServer, db: Path
) -> None:
    # ESC and CSI written every way a feed can: references, raw C1 characters
    # (valid XML), escaped markup in CDATA; in the feed's title, an entry's
    # title, author and link. Printed, they would recolour, clear or retitle
    # the terminal of whoever runs rssmania.
    body = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>evil &#27;]0;pwned&#7; feed</title>
<link>https://example.org/</link>
<item><guid>esc-1</guid><title>a &#27;[31mRED&#27;[0m \u009b2J b</title>
<author>x@example.org (Ann&#x1b;[5m)</author><link>https://example.org/1\u009b2J</link></item>
<item><guid>esc-2</guid><title><![CDATA[c &#27;[2J d]]></title><link>https://example.org/2</link></item>
</channel></rss>"""
    url = server.set("/esc.xml", body)
    assert rssmania(db, "add", url).returncode == 0
    for command in (["update", "--all"], ["entries"], ["list"]):
        shown = rssmania(db, *command)
        assert shown.returncode == 0, shown.stderr
        leaked = [c for c in ESCAPES if c in shown.stdout + shown.stderr]
        assert leaked == [], (command, shown.stdout)
    with Aggregator(db, workers=1) as agg:
        (feed,) = agg.get_feeds()
        entries = {e.id: e for e in agg.get_entries()}
    assert feed.title == "evil ]0;pwned feed"
    assert entries["esc-1"].title == "a [31mRED[0m 2J b"
    assert entries["esc-1"].author == "Ann[5m"
    assert entries["esc-1"].link == "https://example.org/1%C2%9B2J"
    assert entries["esc-2"].title == "c [2J d"


def test_a_feed_url_with_a_control_character_is_refused(db: Path) -> None:
    assert_refused(rssmania(db, "add", "http://example.org/\x1b[2J"), 2, "control character")
    assert rssmania(db, "list", "--json").stdout == ""


LOCAL_URLS = [
    "/etc/passwd",
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "file://localhost/etc/passwd",
    " file:///etc/passwd",
    "../feeds/local.xml",
    "~/feed.xml",
    "feed.xml",
]


@pytest.mark.parametrize("local", LOCAL_URLS)
def test_a_local_path_or_file_url_is_refused_at_add_time(
    server: FeedServer, db: Path, local: str
) -> None:
    good = server.set("/good.xml", rss("Good", items("good", 2)))
    with Aggregator(db, workers=1) as agg:
        with pytest.raises(InvalidFeedURLError):
            agg.add_feed(local)
        with pytest.raises(InvalidFeedURLError):
            agg.add_feeds([good, local])  # all or none
        assert agg.get_feeds() == []
        agg.add_feed(good)
        results = list(agg.update())
        assert [r.feed.url for r in results] == [good]
        assert [f.url for f in agg.get_feeds()] == [good]
        assert {e.feed_url for e in agg.get_entries()} == {good}


def test_the_command_line_refuses_local_feeds(db: Path) -> None:
    for local in ("/etc/passwd", "file:///etc/passwd"):
        assert_refused(rssmania(db, "add", local), 2, local)
    assert rssmania(db, "list", "--json").stdout == ""


# --- bad input to the command line ---------------------------------------------------------


def assert_refused(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


BROKEN_OPML = {
    "truncated": b'<?xml version="1.0"?><opml version="2.0"><body><outline',
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "html": b"<!doctype html><html><body>subscriptions</body></html>",
    "no-body": b'<opml version="2.0"><head><title>x</title></head></opml>',
    "entities": (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><opml version="2.0"><body>'
        b'<outline text="&b;" xmlUrl="http://example.org/&b;"/></body></opml>'
    ),
    "utf-16": '<opml version="2.0"><body><outline'.encode("utf-16"),
}


def test_import_of_a_broken_opml_changes_nothing(
    server: FeedServer, db: Path, tmp_path: Path
) -> None:
    assert rssmania(db, "add", server.url("/kept.xml")).returncode == 0
    before = rssmania(db, "list", "--json").stdout
    for name, data in [*BROKEN_OPML.items(), ("missing", None)]:
        opml = tmp_path / f"{name}.opml"
        if data is not None:
            opml.write_bytes(data)
        assert_refused(rssmania(db, "import", str(opml)), 2, str(opml))
    assert rssmania(db, "list", "--json").stdout == before


def test_add_with_an_unknown_scheme_changes_nothing(server: FeedServer, db: Path) -> None:
    assert rssmania(db, "add", server.url("/kept.xml")).returncode == 0
    before = rssmania(db, "list", "--json").stdout
    for url in ("gopher://x", "javascript:alert(1)", "data:text/xml,<rss/>", "ftp://x/f.xml"):
        # Next to a good URL: all or nothing.
        assert_refused(rssmania(db, "add", server.url("/also.xml"), url), 2, url)
    assert rssmania(db, "list", "--json").stdout == before


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "console"])
def test_output_that_cannot_be_written_is_an_error_and_kept(
    server: FeedServer, db: Path, as_json: bool
) -> None:
    # A full disk behind `> file` and a closed stdout were tracebacks.
    url = server.set("/kept.xml", rss("Kept", items("kept", 3)))
    assert rssmania(db, "add", url).returncode == 0
    command = [sys.executable, "-m", "rssmania", "update", *(["--json"] if as_json else [])]
    with open("/dev/full", "wb") as full:
        failed = subprocess.run(
            command,
            env=cli_env(db),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert "No space left" in failed.stderr
    closed = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *command],
        env=cli_env(db),
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    assert closed.returncode == 1
    assert "standard output is closed" in closed.stderr
    # Neither run showed them: the outbox still has them, for this one.
    shown = rssmania(db, "update", "--json").stdout.splitlines()
    assert sorted(json.loads(line)["id"] for line in shown) == ["kept-0", "kept-1", "kept-2"]


@pytest.mark.parametrize(
    "interval", ["300000000000", "99999999999999999999999", "\u00b2", "\u0661\u0662\u0660", "0"]
)
def test_set_refuses_an_interval_no_schedule_holds(db: Path, interval: str) -> None:
    # 300000000000 s was stored, and every later round died on a date past
    # the year 9999; "²" passed str.isdigit() and crashed int().
    url = "http://127.0.0.1:9/x.xml"
    assert rssmania(db, "add", url).returncode == 0
    before = rssmania(db, "list", "--json").stdout
    assert_refused(rssmania(db, "set", url, "--interval", interval), 2, "--interval")
    assert rssmania(db, "list", "--json").stdout == before


def test_an_interval_stored_too_long_does_not_stop_the_round(server: FeedServer, db: Path) -> None:
    # Set by an older version, or by hand: the feed is polled and rescheduled.
    url = server.set("/long.xml", rss("Long", items("long", 1)))
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE feeds SET interval = 300000000000")
    con.close()
    with Aggregator(db, workers=1) as agg:
        (result,) = agg.update()
        assert result.error is None
        assert len(result.new) == 1
        assert result.feed.next_check is not None


@pytest.mark.parametrize("command", [["list"], ["add", "http://127.0.0.1:9/x.xml"], ["update"]])
def test_a_file_that_is_not_a_database_is_left_alone(tmp_path: Path, command: list[str]) -> None:
    db = tmp_path / "junk.sqlite"
    junk = b"this is not sqlite\n" * 500
    db.write_bytes(junk)
    assert_refused(rssmania(db, *command), 1, "not an rssmania database")
    assert db.read_bytes() == junk


@pytest.mark.parametrize("tables", [["bookmarks"], ["feeds", "items"]])
@pytest.mark.parametrize("command", [["list"], ["add", "http://127.0.0.1:9/x.xml"]])
def test_another_programs_database_is_left_alone(
    tmp_path: Path, command: list[str], tables: list[str]
) -> None:
    # `list` switched it to WAL and added rssmania's tables (or failed on its
    # own "feeds" after the switch).
    db = tmp_path / "other.sqlite"
    with sqlite3.connect(db) as con:
        for table in tables:
            con.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, x TEXT)")
    con.close()
    before = db.read_bytes()
    assert_refused(rssmania(db, *command), 1, "not an rssmania database")
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists()


@pytest.mark.slow  # seven commands per case
@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE feeds SET next_check = datetime('now')",  # no zone: how SQLite writes dates
        "UPDATE feeds SET last_checked = 'garbage', added = 'garbage'",
        "UPDATE entries SET enclosures = 'not json'",
        "UPDATE entries SET enclosures = '[{\"url\": 1}]'",
        "UPDATE entries SET status = 'weird', first_seen = 'garbage', published = 'x'",
    ],
)
def test_values_another_tool_wrote_fail_no_command(server: FeedServer, db: Path, edit: str) -> None:
    # One such row made list, entries or update fail with a traceback.
    url = server.set("/edited.xml", rss("Edited", items("ed", 2)))
    assert rssmania(db, "add", url).returncode == 0
    assert rssmania(db, "update").returncode == 0
    with sqlite3.connect(db) as con:
        con.execute(edit)
    con.close()
    server.set("/edited.xml", rss("Edited, again", items("ed", 3)))  # an update reads first_seen
    for command in (["list"], ["entries"], ["entries", "--json"], ["update", "--all"], ["export"]):
        result = rssmania(db, *command)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr
    titles = [
        json.loads(line)["title"] for line in rssmania(db, "entries", "--json").stdout.splitlines()
    ]
    assert len(titles) == 3


def test_a_database_locked_by_a_running_rssmania(server: FeedServer, db: Path) -> None:
    url = server.set("/locked.xml", rss("Locked", items("locked", 2)))
    assert rssmania(db, "add", url).returncode == 0
    daemon = subprocess.Popen(
        [sys.executable, "-m", "rssmania", "run", "--interval", "3600", "--workers", "1"],
        env=cli_env(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: server.count("/locked.xml") >= 1, timeout=20, what="the daemon to poll")
        wait_for(
            lambda: len(rssmania(db, "entries", "--json").stdout.splitlines()) == 2,
            timeout=20,
            what="the daemon to store its first round",
        )
        before = rssmania(db, "entries", "--json").stdout
        line = assert_refused(rssmania(db, "update", "--all"), 1, str(db))
        assert "lock" in line.lower() or "another rssmania" in line, line
        # Nor does run: the refusal alone, not "Watching..." before it.
        line = assert_refused(rssmania(db, "run"), 1, str(db))
        assert "another rssmania" in line, line
        assert server.count("/locked.xml") == 1  # the refused update fetched nothing
        assert rssmania(db, "entries", "--json").stdout == before
    finally:
        daemon.send_signal(signal.SIGINT)
        code = daemon.wait(timeout=15)
    assert code == 0


@pytest.mark.parametrize("where", ["under a file", "under /proc", "in /proc"])
def test_a_database_path_that_cannot_be_written(tmp_path: Path, where: str) -> None:
    regular = tmp_path / "file.txt"
    regular.write_text("a regular file\n")
    db = {
        "under a file": regular / "db.sqlite",
        "under /proc": Path("/proc/rssmania-no-such-dir/db.sqlite"),
        "in /proc": Path("/proc/rssmania.sqlite"),
    }[where]
    for command in (["add", "http://127.0.0.1:9/x.xml"], ["update"]):
        assert_refused(
            rssmania(tmp_path / "unused.sqlite", "--db", str(db), *command), 1, str(db.parent)
        )
    assert regular.read_text() == "a regular file\n"
    assert not db.exists()
    assert not (tmp_path / "unused.sqlite").exists()
