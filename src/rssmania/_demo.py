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
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

__all__ = ["SAMPLE_FEEDS", "DemoServer", "SampleFeed", "SampleItem", "published_count"]

log = logging.getLogger("rssmania.demo")

EPOCH = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
"""Item ``n`` of every feed is dated ``EPOCH + n hours``."""

MAX_ITEMS = 20
"""A document lists at most this many items, newest first."""

Kind = Literal["rss", "atom", "rdf"]

CONTENT_TYPES: dict[Kind, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
}


def published_count(elapsed: float, *, initial: int, publish_every: float, phase: float) -> int:
    """How many items a feed holds after ``elapsed`` seconds of server time.

    The feed starts with ``initial`` items; its k-th new item (k = 1, 2, ...) appears at
    ``(k - 1 + phase) * publish_every`` seconds, with ``0 < phase <= 1``. Feeds with different
    phases therefore publish in turn, each exactly once per ``publish_every``.
    """
    if elapsed <= 0:
        return initial
    return initial + max(0, math.floor(elapsed / publish_every + 1 - phase))


@dataclass(frozen=True)
class SampleItem:
    id: str
    title: str
    link: str
    summary_html: str
    author: str
    published: datetime | None
    enclosure: tuple[str, int, str] | None = None
    """``(url, length in bytes, media type)``."""


@dataclass(frozen=True)
class _Copy:
    title: str
    summary_html: str
    author: str = ""


def _pick(table: tuple[str, ...], n: int, stride: int = 1) -> str:
    return table[(n * stride) % len(table)]


@dataclass(frozen=True)
class SampleFeed:
    slug: str
    title: str
    description: str
    kind: Kind
    language: str
    site: str
    initial: int
    phase: float
    write: Callable[[int], _Copy]
    dated: bool = True
    enclosures: bool = False

    def item(self, n: int) -> SampleItem:
        """Item number ``n`` (1 is the oldest); the same on every run and every port."""
        copy = self.write(n)
        enclosure = None
        if self.enclosures:
            url = f"{self.site}audio/episode-{n:03d}.mp3"
            enclosure = (url, 4_000_000 + 73_331 * n, "audio/mpeg")
        return SampleItem(
            id=f"tag:example.org,2024:{self.slug}/{n}",
            title=copy.title,
            link=f"{self.site}{n}/",
            summary_html=copy.summary_html,
            author=copy.author,
            published=EPOCH + timedelta(hours=n) if self.dated else None,
            enclosure=enclosure,
        )


# --- the copy: small tables, combined with co-prime strides so neighbouring items differ ---

_BREADS = ("sourdough", "rye loaf", "cinnamon knots", "focaccia", "brioche", "seeded batch")
_MOODS = ("Stubborn", "Triumphant", "Slightly Lopsided", "Extremely Fluffy", "Midnight")
_OUTCOMES = (
    "rose so well it lifted the tea towel",
    "came out looking like a sleeping cat",
    "sold out before the kettle boiled",
    "was declared <em>structurally sound</em> by the mayor",
    "smelled so good the postman took the long way round",
    "needed a second opinion from Gran",
    "cracked along the top in a <strong>very</strong> pleasing way",
)


def _bakery(n: int) -> _Copy:
    bread = _pick(_BREADS, n)
    return _Copy(
        title=f"Bake #{n}: The {_pick(_MOODS, n, 2)} {bread.title()}",
        summary_html=f"<p>This morning's {bread} {_pick(_OUTCOMES, n, 3)}.</p>",
    )


_SKY = ("Saturn", "The Moon", "Andromeda", "Jupiter", "The Pleiades", "A mystery satellite")
_SKY_EVENTS = (
    "behaves beautifully",
    "hides behind the water tower",
    "outshines the petrol station sign",
    "is mistaken for a drone (again)",
    "draws a crowd of six",
    "shows up twenty minutes late",
    "refuses to come into focus",
)
_SEEING = ("excellent", "wobbly", "patchy", "surprisingly good", "mostly fog")
_MEMBERS = ("Dot Halloran", "Ezra Pim", "Marguerite Oyelaran", "Sol Bakewell")


def _stargazers(n: int) -> _Copy:
    return _Copy(
        title=f"Night {n}: {_pick(_SKY, n)} {_pick(_SKY_EVENTS, n, 3)}",
        summary_html=(
            f"<p>Seeing was <em>{_pick(_SEEING, n, 2)}</em>.</p>"
            f"<ul><li>Telescopes out: {2 + n % 5}</li>"
            f"<li>Flasks of cocoa: {3 + n % 4}</li></ul>"
        ),
        author=_pick(_MEMBERS, n),
    )


_ROUTES = ("the canal towpath", "Windmill Hill", "the old railway line", "the reservoir loop")
_TOPICS = (
    "mudguards, a love story",
    "the great chain-lube debate",
    "why the café stop is the real destination",
    "how to wave at other cyclists",
    "a puncture, narrated in real time",
)
_TIPS = ("a little softer for gravel", "check it on Sundays", "trust the thumb test")


def _freewheel(n: int) -> _Copy:
    return _Copy(
        title=f"Dispatch {n}: {_pick(_TOPICS, n).capitalize()}",
        summary_html=(
            f"<p>This week we rode {_pick(_ROUTES, n, 3)} and talked about "
            f"{_pick(_TOPICS, n)}. Tyre tip: <strong>{_pick(_TIPS, n, 2)}</strong>.</p>"
        ),
    )


_CODENAMES = ("Earl Grey", "Oolong", "Builder's", "Chamomile", "Lapsang", "Rooibos", "Sencha")
_CHANGES = (
    "<code>teapotctl brew --strength</code> now accepts <em>builder's</em>",
    "the kettle is no longer reported as a teapot (HTTP 418 fixed)",
    "<code>teapotctl pour</code> asks before pouring onto the cat",
    "biscuit dunk times are shown in seconds instead of vibes",
    "the cosy plugin stops warming empty pots",
)
_KINDS = ("Added", "Fixed", "Changed")


def _teapotctl(n: int) -> _Copy:
    return _Copy(
        title=f"teapotctl 1.{n}.0 \u201c{_pick(_CODENAMES, n)}\u201d",
        summary_html=f"<p><strong>{_pick(_KINDS, n)}:</strong> {_pick(_CHANGES, n, 2)}.</p>",
    )


_LEGUMES = ("les radis", "les courgettes", "les fèves", "le potiron", "les tomates cerises")
_ETATS = (
    "sont déjà là",
    "font grève",
    "ont été goûtés par un hérisson",
    "poussent à vue d'œil",
    "réclament de l'ombre",
    "ont gagné un prix imaginaire",
)
_METEO = ("averses et éclaircies", "chaleur écrasante", "fraîcheur matinale", "vent d'ouest")


def _potager(n: int) -> _Copy:
    return _Copy(
        title=f"Carnet n°{n} : {_pick(_LEGUMES, n)} {_pick(_ETATS, n, 5)}",
        summary_html=(
            f"<p>Météo : <em>{_pick(_METEO, n, 3)}</em>. "
            f"Récolte du jour : {n % 7 + 1} panier(s), et beaucoup d'enthousiasme.</p>"
        ),
    )


SAMPLE_FEEDS: tuple[SampleFeed, ...] = (
    SampleFeed(
        slug="bakery",
        title="Flour & Fable",
        description="A tiny bakery writes down what came out of the oven today.",
        kind="rss",
        language="en",
        site="https://example.org/flour-and-fable/",
        initial=4,
        phase=0.2,
        write=_bakery,
    ),
    SampleFeed(
        slug="stargazers",
        title="Millbrook Stargazers",
        description="Observing logs of a small-town astronomy club.",
        kind="atom",
        language="en",
        site="https://example.org/millbrook-stargazers/",
        initial=3,
        phase=0.4,
        write=_stargazers,
    ),
    SampleFeed(
        slug="freewheel",
        title="The Freewheel Dispatch",
        description="A weekly cycling newsletter, with an audio edition.",
        kind="rss",
        language="en",
        site="https://example.org/freewheel/",
        initial=5,
        phase=0.6,
        write=_freewheel,
        enclosures=True,
    ),
    SampleFeed(
        slug="teapotctl",
        title="teapotctl release notes",
        description="Release notes of teapotctl, the command line for teapots.",
        kind="rdf",
        language="en",
        site="https://example.org/teapotctl/releases/",
        initial=6,
        phase=0.8,
        write=_teapotctl,
    ),
    SampleFeed(
        slug="potager",
        title="Le Carnet du Potager",
        description="Le journal d'un potager de banlieue, sans dates mais plein d'entrain.",
        kind="rss",
        language="fr",
        site="https://example.org/potager/",
        initial=3,
        phase=1.0,
        write=_potager,
        dated=False,
    ),
)


# --- rendering ---


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"


def _render_rss(feed: SampleFeed, items: list[SampleItem], self_url: str) -> list[str]:
    out = [
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        _text("title", feed.title),
        _text("link", feed.site),
        _text("description", feed.description),
        _text("language", feed.language),
        f'<atom:link rel="self" type="application/rss+xml" href={quoteattr(self_url)}/>',
        "<generator>rssmania demo</generator>",
    ]
    if items[0].published is not None:
        out.append(_text("lastBuildDate", email.utils.format_datetime(items[0].published, True)))
    for item in items:
        out += [
            "<item>",
            _text("title", item.title),
            _text("link", item.link),
            f'<guid isPermaLink="false">{escape(item.id)}</guid>',
            _text("description", item.summary_html),
        ]
        if item.published is not None:
            out.append(_text("pubDate", email.utils.format_datetime(item.published, True)))
        if item.enclosure is not None:
            url, length, media = item.enclosure
            out.append(f'<enclosure url={quoteattr(url)} length="{length}" type="{media}"/>')
        out.append("</item>")
    return [*out, "</channel>", "</rss>"]


def _render_atom(feed: SampleFeed, items: list[SampleItem], self_url: str) -> list[str]:
    updated = _rfc3339(items[0].published or EPOCH)
    out = [
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{feed.language}">',
        _text("title", feed.title),
        _text("subtitle", feed.description),
        _text("id", f"tag:example.org,2024:{feed.slug}"),
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(feed.site)}/>',
        _text("updated", updated),
        "<generator>rssmania demo</generator>",
    ]
    for item in items:
        when = _rfc3339(item.published or EPOCH)
        out += [
            "<entry>",
            _text("title", item.title),
            _text("id", item.id),
            f'<link rel="alternate" type="text/html" href={quoteattr(item.link)}/>',
            _text("published", when),
            _text("updated", when),
            f"<author>{_text('name', item.author or feed.title)}</author>",
            f'<content type="html">{escape(item.summary_html)}</content>',
            "</entry>",
        ]
    return [*out, "</feed>"]


def _render_rdf(feed: SampleFeed, items: list[SampleItem], self_url: str) -> list[str]:
    # In RSS 1.0 an item's identity is its rdf:about, and the channel must list every item.
    out = [
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f"<channel rdf:about={quoteattr(self_url)}>",
        _text("title", feed.title),
        _text("link", feed.site),
        _text("description", feed.description),
        _text("dc:language", feed.language),
    ]
    if items[0].published is not None:
        out.append(_text("dc:date", _rfc3339(items[0].published)))
    out.append("<items><rdf:Seq>")
    out += [f"<rdf:li rdf:resource={quoteattr(item.id)}/>" for item in items]
    out += ["</rdf:Seq></items>", "</channel>"]
    for item in items:
        out += [
            f"<item rdf:about={quoteattr(item.id)}>",
            _text("title", item.title),
            _text("link", item.link),
            _text("description", item.summary_html),
        ]
        if item.published is not None:
            out.append(_text("dc:date", _rfc3339(item.published)))
        out.append("</item>")
    return [*out, "</rdf:RDF>"]


_RENDERERS = {"rss": _render_rss, "atom": _render_atom, "rdf": _render_rdf}


def _render(feed: SampleFeed, count: int, self_url: str) -> bytes:
    newest = [feed.item(n) for n in range(count, max(0, count - MAX_ITEMS), -1)]
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    lines += _RENDERERS[feed.kind](feed, newest, self_url)
    return ("\n".join(lines) + "\n").encode("utf-8")


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
    method: str
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
            body = _render(feed, count, self.feed_url(feed))
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
                method=self.command,
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
