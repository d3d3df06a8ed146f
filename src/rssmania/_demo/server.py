"""The feed server behind ``rssmania demo``: five made-up feeds on 127.0.0.1 that keep publishing.

The demo has to work offline and show the poller doing its real job, so instead of canned files
this serves live documents over real HTTP. Each feed starts with a few items and "publishes" one
more every ``publish_every`` seconds; the feeds take turns, so new articles trickle in rather than
arriving in bursts. The server speaks the HTTP the poller relies on (strong ETags, Last-Modified,
304s, gzip), so a demo run exercises conditional GETs exactly as a real subscription would.

Everything is deterministic: item ``n`` of a feed is built from small in-code tables, dated a fixed
epoch plus ``n`` hours, and the number of items is a pure function of elapsed server time
(:func:`published_count`), read from an injectable clock so tests never sleep. The formats are
mixed on purpose (RSS 2.0 with and without dates, Atom 1.0, RSS 1.0/RDF), and links only ever point
at ``example.org``.

    clock() - start --published_count--> n items --_render (cached per n)--> bytes, ETag
                                                  --_Site.respond(conditions)--> 200 / 304 / 404
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from rssmania._demo.samples import (
    CONTENT_TYPES,
    EPOCH,
    SAMPLE_FEEDS,
    SampleFeed,
    published_count,
    render,
)

log = logging.getLogger("rssmania.demo")


# --- HTTP, kept apart from sockets so the rules read in one place ---


@dataclass(frozen=True)
class _Version:
    """One version of one document, with everything a response needs, built once."""

    count: int
    body: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str
    last_modified: datetime


@dataclass(frozen=True)
class _Request:
    path: str
    if_none_match: str | None = None
    if_modified_since: str | None = None
    accept_encoding: str | None = None


@dataclass(frozen=True)
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _accepts_gzip(accept_encoding: str | None) -> bool:
    if not accept_encoding:
        return False
    wildcard = False
    for part in accept_encoding.split(","):
        coding, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            return quality > 0
        if coding == "*":
            wildcard = quality > 0
    return wildcard


def _etag_matches(if_none_match: str, etags: Iterable[str]) -> bool:
    if if_none_match.strip() == "*":
        return True
    # If-None-Match uses the weak comparison (RFC 9110, 13.1.2), so a W/ prefix is ignored.
    offered = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return not offered.isdisjoint(etags)


def _not_modified_since(if_modified_since: str, last_modified: datetime) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return last_modified <= since


class _Site:
    def __init__(self, *, base_url: str, clock: Callable[[], float], publish_every: float) -> None:
        self.base_url = base_url
        self._clock = clock
        self._start = clock()
        self._publish_every = publish_every
        self._feeds = {feed.slug: feed for feed in SAMPLE_FEEDS}
        self._versions: dict[str, _Version] = {}
        self._lock = threading.Lock()

    def feed_url(self, feed: SampleFeed) -> str:
        return f"{self.base_url}/feeds/{feed.slug}.xml"

    def count(self, feed: SampleFeed) -> int:
        return published_count(
            self._clock() - self._start,
            initial=feed.initial,
            publish_every=self._publish_every,
            phase=feed.phase,
        )

    def version(self, feed: SampleFeed) -> _Version:
        count = self.count(feed)
        with self._lock:
            cached = self._versions.get(feed.slug)
            if cached is not None and cached.count == count:
                return cached
            body = render(feed, count, self.feed_url(feed))
            tag = f"{feed.slug}-{count}-{hashlib.sha256(body).hexdigest()[:12]}"
            version = _Version(
                count=count,
                body=body,
                gzipped=gzip.compress(body, mtime=0),
                etag=f'"{tag}"',
                # A strong ETag names one exact byte sequence, so the gzipped one gets its own.
                gzip_etag=f'"{tag}-gz"',
                last_modified=EPOCH + timedelta(hours=count),
            )
            self._versions[feed.slug] = version
            return version

    def respond(self, request: _Request) -> _Response:
        path = urlsplit(request.path).path
        if path == "/":
            return _Response(200, {"Content-Type": "text/html; charset=utf-8"}, self._index())
        if path.startswith("/feeds/") and path.endswith(".xml"):
            feed = self._feeds.get(path.removeprefix("/feeds/").removesuffix(".xml"))
            if feed is not None:
                return self._document(feed, request)
        return _Response(404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found\n")

    def _document(self, feed: SampleFeed, request: _Request) -> _Response:
        version = self.version(feed)
        compressed = _accepts_gzip(request.accept_encoding)
        headers = {
            "Content-Type": CONTENT_TYPES[feed.kind],
            "ETag": version.gzip_etag if compressed else version.etag,
            "Last-Modified": email.utils.format_datetime(version.last_modified, usegmt=True),
            "Vary": "Accept-Encoding",
        }
        if request.if_none_match is not None:
            # Either encoding of the current version is current: a client may change
            # Accept-Encoding between polls without being sent the same document again.
            fresh = _etag_matches(request.if_none_match, (version.etag, version.gzip_etag))
        elif request.if_modified_since is not None:
            fresh = _not_modified_since(request.if_modified_since, version.last_modified)
        else:
            fresh = False
        if fresh:
            del headers["Content-Type"]
            return _Response(304, headers, b"")
        if compressed:
            headers["Content-Encoding"] = "gzip"
            return _Response(200, headers, version.gzipped)
        return _Response(200, headers, version.body)

    def _index(self) -> bytes:
        rows = "\n".join(
            f"<li><a href={quoteattr(self.feed_url(feed))}>{escape(feed.title)}</a>"
            f" ({feed.kind}, {self.count(feed)} items)</li>"
            for feed in SAMPLE_FEEDS
        )
        page = (
            '<!doctype html>\n<html lang="en"><meta charset="utf-8">'
            "<title>rssmania demo feeds</title>\n"
            f"<h1>rssmania demo feeds</h1>\n<ul>\n{rows}\n</ul>\n</html>\n"
        )
        return page.encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rssmania-demo"
    sys_version = ""
    # An idle keep-alive connection gives its thread back after this many seconds.
    timeout = 30

    def __init__(self, *args: Any, site: _Site, **kwargs: Any) -> None:
        self.site = site
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def _answer(self) -> None:
        response = self.site.respond(
            _Request(
                path=self.path,
                if_none_match=self.headers.get("If-None-Match"),
                if_modified_since=self.headers.get("If-Modified-Since"),
                accept_encoding=self.headers.get("Accept-Encoding"),
            )
        )
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The demo prints articles to the terminal; an access log would drown them.
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections in a burst (a 1 s SYN retransmit each).
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        # A poller that hangs up mid-response (Ctrl+C, a timeout) is normal, not a traceback.
        if isinstance(error, ConnectionError | TimeoutError):
            return
        log.error("demo server failed to answer %s", client_address, exc_info=error)


class DemoServer:
    """Serves the bundled sample feeds on 127.0.0.1; they 'publish' a new item every few seconds."""

    def __init__(
        self,
        *,
        publish_every: float = 4.0,
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not publish_every > 0:
            raise ValueError(f"publish_every must be positive, not {publish_every!r}")
        self._publish_every = publish_every
        self._port = port
        self._clock = clock
        self._state: Literal["new", "running", "closed"] = "new"
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._site: _Site | None = None

    def __enter__(self) -> DemoServer:
        if self._state != "new":
            raise RuntimeError(f"a DemoServer starts once; this one is {self._state}")
        server = _Server(("127.0.0.1", self._port), self._handler)
        port = server.server_address[1]
        self._site = _Site(
            base_url=f"http://127.0.0.1:{port}",
            clock=self._clock,
            publish_every=self._publish_every,
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="rssmania-demo-server",
            daemon=True,
        )
        self._thread.start()
        self._state = "running"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._state != "running":
            return
        self._state = "closed"
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self, *args: Any) -> _Handler:
        assert self._site is not None
        return _Handler(*args, site=self._site)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return self._running_site().base_url

    @property
    def feed_urls(self) -> list[str]:
        site = self._running_site()
        return [site.feed_url(feed) for feed in SAMPLE_FEEDS]

    def item_counts(self) -> dict[str, int]:
        """How many items each feed has published so far, by slug."""
        site = self._running_site()
        return {feed.slug: site.count(feed) for feed in SAMPLE_FEEDS}

    def _running_site(self) -> _Site:
        if self._state != "running" or self._site is None:
            raise RuntimeError(f"the demo server is not running (it is {self._state})")
        return self._site
