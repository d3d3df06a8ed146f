"""The demo's feed server, over real HTTP on 127.0.0.1, with a fake clock instead of sleeping."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import feedparser
import pytest

from rssmania._demo import MAX_ITEMS, SAMPLE_FEEDS, DemoServer, SampleFeed, published_count

PUBLISH_EVERY = 4.0
VERSIONS = {"rss": "rss20", "atom": "atom10", "rdf": "rss10"}
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
}

# Never through a proxy from the environment: the server is on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def parse(self) -> Any:
        return feedparser.parse(self.body, response_headers=self.headers)


def fetch(url: str, *, method: str = "GET", **headers: str) -> Reply:
    request = urllib.request.Request(
        url, method=method, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )
    try:
        with _opener.open(request, timeout=10) as response:
            return Reply(response.status, _lower(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, _lower(error.headers.items()), error.read())


def _lower(items: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def date_of(entry: Any) -> Any:
    # Read the stored keys directly: feedparser's fallback from updated to published warns.
    return dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def demo(clock: FakeClock) -> Iterator[DemoServer]:
    with DemoServer(publish_every=PUBLISH_EVERY, clock=clock) as server:
        yield server


def feed_url(demo: DemoServer, slug: str) -> str:
    return f"{demo.base_url}/feeds/{slug}.xml"


def test_serves_on_loopback_only(demo: DemoServer) -> None:
    assert demo.base_url.startswith("http://127.0.0.1:")
    assert len(demo.feed_urls) == len(SAMPLE_FEEDS) == 5
    assert all(url.startswith(demo.base_url + "/feeds/") for url in demo.feed_urls)


@pytest.mark.parametrize("feed", SAMPLE_FEEDS, ids=lambda feed: feed.slug)
def test_every_feed_parses_cleanly(demo: DemoServer, feed: SampleFeed) -> None:
    reply = fetch(feed_url(demo, feed.slug))
    assert reply.status == 200
    assert reply.headers["content-type"] == CONTENT_TYPES[feed.kind]
    parsed = reply.parse()
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == VERSIONS[feed.kind]
    assert parsed.feed.title == feed.title
    entries = parsed.entries
    assert 3 <= len(entries) == feed.initial
    assert len({entry.id for entry in entries}) == len(entries)
    assert len({entry.title for entry in entries}) == len(entries)
    assert [entry.id for entry in entries] == [feed.item(n).id for n in range(feed.initial, 0, -1)]
    for entry in entries:
        assert entry.link.startswith("https://example.org/")
        assert entry.summary
        assert (date_of(entry) is not None) == feed.dated


def test_the_formats_are_mixed(demo: DemoServer) -> None:
    kinds = {fetch(url).parse().version for url in demo.feed_urls}
    assert kinds == {"rss20", "atom10", "rss10"}
    undated = fetch(feed_url(demo, "potager")).parse()
    assert "Météo" in undated.entries[0].summary
    podcast = fetch(feed_url(demo, "freewheel")).parse()
    assert podcast.entries[0].enclosures[0].type == "audio/mpeg"
    atom = fetch(feed_url(demo, "stargazers")).parse()
    assert atom.entries[0].author
    assert atom.entries[0].content[0].type == "text/html"


def test_items_are_the_same_on_every_run(clock: FakeClock) -> None:
    with DemoServer(clock=clock) as one, DemoServer(clock=clock) as two:
        assert one.base_url != two.base_url
        for slug in ("bakery", "teapotctl"):
            first = fetch(feed_url(one, slug)).parse().entries
            second = fetch(feed_url(two, slug)).parse().entries
            assert [(e.id, e.title, e.link) for e in first] == [
                (e.id, e.title, e.link) for e in second
            ]


def test_repeated_conditional_request_is_not_modified(demo: DemoServer) -> None:
    for url in demo.feed_urls:
        first = fetch(url)
        again = fetch(url, If_None_Match=first.headers["etag"])
        assert again.status == 304
        assert again.body == b""
        assert again.headers["etag"] == first.headers["etag"]
        by_date = fetch(url, If_Modified_Since=first.headers["last-modified"])
        assert by_date.status == 304


def test_etags_are_strong_and_a_stale_one_gets_the_document(demo: DemoServer) -> None:
    url = demo.feed_urls[0]
    first = fetch(url)
    assert first.headers["etag"].startswith('"')
    assert fetch(url, If_None_Match='"something-else"').status == 200
    # With an ETag sent, If-Modified-Since is not consulted (RFC 9110, 13.2.2).
    mismatch = fetch(url, If_None_Match='"stale"', If_Modified_Since=first.headers["last-modified"])
    assert mismatch.status == 200


def test_gzip_when_the_client_accepts_it(demo: DemoServer) -> None:
    for url in demo.feed_urls:
        plain = fetch(url)
        zipped = fetch(url, Accept_Encoding="gzip, deflate")
        assert "content-encoding" not in plain.headers
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["vary"] == "Accept-Encoding"
        assert zipped.headers["etag"] != plain.headers["etag"]
        assert gzip.decompress(zipped.body) == plain.body
        assert int(zipped.headers["content-length"]) == len(zipped.body)
        again = fetch(url, Accept_Encoding="gzip", If_None_Match=zipped.headers["etag"])
        assert again.status == 304


def test_no_gzip_when_refused(demo: DemoServer) -> None:
    url = demo.feed_urls[0]
    assert "content-encoding" not in fetch(url, Accept_Encoding="gzip;q=0, identity").headers
    assert fetch(url, Accept_Encoding="*").headers["content-encoding"] == "gzip"


def test_head_sends_headers_only(demo: DemoServer) -> None:
    url = demo.feed_urls[1]
    get = fetch(url)
    head = fetch(url, method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == str(len(get.body))


def test_each_feed_publishes_exactly_one_item_per_period(
    demo: DemoServer, clock: FakeClock
) -> None:
    before = {url: fetch(url) for url in demo.feed_urls}
    clock.advance(PUBLISH_EVERY)
    for url, old in before.items():
        new = fetch(url, If_None_Match=old.headers["etag"])
        assert new.status == 200, url
        old_ids = [entry.id for entry in old.parse().entries]
        new_ids = [entry.id for entry in new.parse().entries]
        assert len(new_ids) == len(old_ids) + 1
        assert new_ids[1:] == old_ids
        assert new.headers["last-modified"] != old.headers["last-modified"]


def test_feeds_take_turns(demo: DemoServer, clock: FakeClock) -> None:
    start = demo.item_counts()
    clock.advance(PUBLISH_EVERY / 2)
    halfway = demo.item_counts()
    grew = {slug for slug in start if halfway[slug] > start[slug]}
    assert grew
    assert grew != set(start)


def test_documents_list_the_newest_items_first_up_to_a_cap(
    demo: DemoServer, clock: FakeClock
) -> None:
    clock.advance(PUBLISH_EVERY * 40)
    for feed in SAMPLE_FEEDS:
        entries = fetch(feed_url(demo, feed.slug)).parse().entries
        assert len(entries) == MAX_ITEMS
        count = demo.item_counts()[feed.slug]
        assert entries[0].id == feed.item(count).id
        if feed.dated:
            dates = [date_of(entry) for entry in entries]
            assert dates == sorted(dates, reverse=True)


def test_unknown_paths_are_404(demo: DemoServer) -> None:
    for path in ("/feeds/nope.xml", "/feeds/bakery.json", "/favicon.ico", "/feeds/"):
        assert fetch(demo.base_url + path).status == 404


def test_index_lists_the_feeds(demo: DemoServer) -> None:
    reply = fetch(demo.base_url + "/")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    page = reply.body.decode()
    assert all(url in page for url in demo.feed_urls)


def test_urls_need_a_running_server() -> None:
    server = DemoServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.feed_urls
    with server:
        pass
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    with pytest.raises(RuntimeError, match="starts once"), server:
        pass


def test_publish_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        DemoServer(publish_every=0)


@pytest.mark.parametrize(
    ("elapsed", "phase", "expected"),
    [
        (-5.0, 0.5, 3),  # a clock that stepped back publishes nothing
        (0.0, 0.5, 3),
        (1.9, 0.5, 3),
        (2.0, 0.5, 4),  # the first new item lands at phase * publish_every
        (5.9, 0.5, 4),
        (6.0, 0.5, 5),
        (3.9, 1.0, 3),
        (4.0, 1.0, 4),
        (0.8, 0.2, 4),
        (4.8, 0.2, 5),
        (400.0, 0.2, 103),
    ],
)
def test_published_count(elapsed: float, phase: float, expected: int) -> None:
    assert published_count(elapsed, initial=3, publish_every=4.0, phase=phase) == expected


@pytest.mark.parametrize("start", [0.0, 1.3, 7.9, 1234.5])
@pytest.mark.parametrize("feed", SAMPLE_FEEDS, ids=lambda feed: feed.slug)
def test_published_count_grows_by_one_per_period(start: float, feed: SampleFeed) -> None:
    def count(elapsed: float) -> int:
        return published_count(
            elapsed, initial=feed.initial, publish_every=PUBLISH_EVERY, phase=feed.phase
        )

    assert count(start + PUBLISH_EVERY) == count(start) + 1
