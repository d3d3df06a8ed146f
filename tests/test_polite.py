"""Politeness and self-healing, proved on what a real local server received."""

from __future__ import annotations

import gzip
import itertools
import json
import resource
import struct
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import brotli
import pytest

from rssmania import Aggregator
from rssmania.core import USER_AGENT
from tests.conftest import rssmania
from tests.feedserver import FeedServer, items, rss


def feed(name: str, n: int = 2) -> str:
    return rss(name, items(name, n))


def test_validators_are_sent_back_verbatim_and_a_304_costs_no_parse(
    server: FeedServer, db: Path
) -> None:
    etag = 'W/"odd etag, with a comma"'
    modified = "Tue, 03 Mar 2026 10:00:00 GMT"
    url = server.set(
        "/v.xml", feed("v"), validators=False, headers={"ETag": etag, "Last-Modified": modified}
    )
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        list(agg.update())
        server.set("/v.xml", b"", status=304, validators=False)
        (result,) = agg.update(all_feeds=True)
    second = server.requests_to("/v.xml")[1].headers
    assert second["If-None-Match"] == etag
    assert second["If-Modified-Since"] == modified
    assert result.not_modified
    assert result.error is None


def test_a_server_that_ignores_validators_sends_the_same_bytes_and_costs_no_parse(
    server: FeedServer, db: Path
) -> None:
    url = server.set("/same.xml", feed("same"), validators=False)
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        list(agg.update())
        (again,) = agg.update(all_feeds=True)
        assert again.not_modified
        assert agg.get_feed(url).not_modified_count == 1
    assert server.count("/same.xml") == 2


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress)],
)
def test_compressed_bodies_are_asked_for_and_read(
    server: FeedServer, db: Path, encoding: str, compress: object
) -> None:
    body = compress(feed("z", 5).encode())  # type: ignore[operator]
    url = server.set("/z.xml", body, headers={"Content-Encoding": encoding})
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        (result,) = agg.update()
    accepted = server.requests_to("/z.xml")[0].headers["Accept-Encoding"]
    assert {"gzip", "deflate", "br"} <= {part.strip() for part in accepted.split(",")}
    assert result.error is None
    assert len(result.new) == 5


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GB of zeros in about 1 MB of gzip, valid to its checksum.

    Compressed once, a megabyte: after a full flush deflate starts afresh, so
    that block repeated is the gigabyte (compressing it all took 3 s).
    """
    zeros = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the gzip frame is ours
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + block * 1024 + packer.flush() + struct.pack("<II", crc, (1 << 30) & 0xFFFFFFFF)


def test_a_gzip_bomb_is_that_feed_s_error_not_a_memory_blow_up(
    server: FeedServer, db: Path, gzip_bomb: bytes
) -> None:
    url = server.set("/bomb.xml", gzip_bomb, headers={"Content-Encoding": "gzip"})
    good = server.set("/good.xml", feed("good"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Aggregator(db, workers=1) as agg:
        agg.add_feeds([url, good])
        results = {r.feed.url: r for r in agg.update()}
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    error = results[url].error
    assert error is not None
    assert error.kind == "too_large"
    assert results[good].error is None
    assert grown_mb < 200, f"memory grew by {grown_mb:.0f} MB"


def test_a_body_over_the_cap_is_an_error(server: FeedServer, db: Path) -> None:
    url = server.set("/big.xml", feed("big", 400))
    with Aggregator(db, workers=1, max_bytes=10_000) as agg:
        agg.add_feed(url)
        (result,) = agg.update()
    assert result.error is not None
    assert result.error.kind == "too_large"


def test_a_trickling_server_is_cut_at_the_total_timeout(server: FeedServer, db: Path) -> None:
    url = server.set("/trickle.xml", b"", trickle=0.2)
    with Aggregator(db, workers=1, timeout=1.5) as agg:
        agg.add_feed(url)
        started = time.monotonic()
        (result,) = agg.update()
        elapsed = time.monotonic() - started
    assert result.error is not None
    assert result.error.kind == "timeout"
    assert 1.4 < elapsed < 4


def test_at_most_five_redirects(server: FeedServer, db: Path) -> None:
    for i in range(6):
        server.set(f"/hop{i}", status=302, headers={"Location": server.url(f"/hop{i + 1}")})
    server.set("/hop6", feed("end"))
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(server.url("/hop0"))
        (result,) = agg.update()
    assert result.error is not None
    assert "redirects" in result.error.message
    assert [server.count(f"/hop{i}") for i in range(7)] == [1, 1, 1, 1, 1, 1, 0]


def test_a_redirect_to_another_scheme_is_refused(server: FeedServer, db: Path) -> None:
    url = server.set("/ftp", status=301, headers={"Location": "ftp://example.org/feed.xml"})
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        (result,) = agg.update()
    assert result.error is not None
    assert "scheme" in result.error.message


def test_a_permanent_redirect_that_holds_moves_the_feed(server: FeedServer, db: Path) -> None:
    old = server.set("/old.xml", status=301, headers={"Location": server.url("/new.xml")})
    new = server.set("/new.xml", feed("moved"))
    temporary = server.set("/tmp.xml", status=302, headers={"Location": server.url("/t2.xml")})
    server.set("/t2.xml", feed("temp"))
    with Aggregator(db, workers=1) as agg:
        agg.add_feeds([old, temporary])
        for poll in range(3):
            assert agg.get_feeds()[0].url in (old, temporary)
            list(agg.update(all_feeds=True))
            moved = {f.url for f in agg.get_feeds()}
            assert (new in moved) == (poll == 2), poll  # moved after the third poll only
        assert agg.get_feed(new).moved_from == old
        assert temporary in {f.url for f in agg.get_feeds()}  # 302s never move a feed
        list(agg.update(all_feeds=True))
    assert server.count("/old.xml") == 3  # not asked again once moved
    assert server.count("/tmp.xml") == 4
    listed = rssmania(db, "list").stdout
    assert "moved from" in listed


def test_410_gone_stops_polling_and_says_why(server: FeedServer, db: Path) -> None:
    url = server.set("/gone.xml", "bye", status=410, content_type="text/plain")
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        (result,) = agg.update()
        assert result.error is not None
        assert result.error.kind == "gone"
        assert list(agg.update(all_feeds=True)) == []
        feed_now = agg.get_feed(url)
        assert feed_now.disabled_reason is not None
        assert "410" in feed_now.disabled_reason
    assert server.count("/gone.xml") == 1
    assert "stopped: HTTP 410" in rssmania(db, "list").stdout
    # The publisher brings it back: the user resumes it.
    server.set("/gone.xml", feed("back"))
    assert rssmania(db, "set", url, "--resume").returncode == 0
    printed = rssmania(db, "update", "--json").stdout.splitlines()
    assert [json.loads(line)["status"] for line in printed] == ["new", "new"]


def test_per_host_concurrency(db: Path) -> None:
    with FeedServer(hosts=2) as server:
        busy = [server.set(f"/h{i}.xml", feed(f"h{i}"), delay=0.3) for i in range(12)]
        other = [server.set(f"/o{i}.xml", feed(f"o{i}"), host=1) for i in range(4)]
        with Aggregator(db, workers=2, per_host_limit=2, per_host_spacing=0) as agg:
            agg.add_feeds([*busy, *other])
            results = list(agg.update())
        assert len(results) == 16
        assert all(r.error is None for r in results)
        assert server.max_concurrent(host=0) == 2


def test_per_host_spacing(db: Path) -> None:
    with FeedServer() as server:
        urls = [server.set(f"/s{i}.xml", feed(f"s{i}")) for i in range(12)]
        with Aggregator(db, workers=2, per_host_limit=2, per_host_spacing=0.2) as agg:
            agg.add_feeds(urls)
            assert all(r.error is None for r in agg.update())
        starts = sorted(s.at for s in server.seen)
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        # Spaced where they start; the network may shift an arrival a little.
        assert min(gaps) >= 0.1, "requests to one host never arrive as a burst"
        assert starts[-1] - starts[0] >= 11 * 0.2 * 0.9


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_per_host_spacing_holds_from_one_round_to_the_next(db: Path, workers: int) -> None:
    # `run` polls round after round: each round started its host's spacing
    # afresh, and requests to one host came 3 ms apart.
    with FeedServer() as server:
        urls = [server.set(f"/r{i}.xml", feed(f"r{i}")) for i in range(3)]
        with Aggregator(db, workers=workers, per_host_limit=2, per_host_spacing=0.5) as agg:
            agg.add_feeds(urls)
            for _ in range(3):
                assert len(list(agg.update(all_feeds=True))) == 3
        starts = sorted(s.at for s in server.seen)
        assert len(starts) == 9
        assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.4


@pytest.mark.slow
def test_the_limits_are_those_of_the_host_a_redirect_leads_to(db: Path) -> None:
    # Feeds of two hosts sent on to a third (a CDN, feedburner): under the
    # first hosts' gates only, that one server had 16 requests at once.
    with FeedServer(hosts=3) as server:
        targets = [server.set(f"/t{i}.xml", feed(f"t{i}"), host=1, delay=0.3) for i in range(8)]
        sources = [
            server.set(f"/s{i}.xml", status=302, headers={"Location": target}, host=2 * (i % 2))
            for i, target in enumerate(targets)
        ]
        again = server.set("/again.xml", status=302, headers={"Location": "/t0.xml"}, host=1)
        with Aggregator(db, workers=1, per_host_limit=2, per_host_spacing=0.2) as agg:
            agg.add_feeds([*sources, again])
            assert all(r.error is None for r in agg.update())
        assert server.max_concurrent(host=1) == 2
        to_target = sorted(s.at for s in server.seen if s.server is server._servers[1])
        assert len(to_target) == 8 + 2
        # A redirect to the same host is a request like any: spaced too.
        assert min(b - a for a, b in itertools.pairwise(to_target)) >= 0.15


@pytest.mark.slow
def test_retry_after_delays_one_feed_and_several_delay_the_host(db: Path) -> None:
    with FeedServer(hosts=2) as server:
        lone = server.set("/lone.xml", "slow down", status=429, headers={"Retry-After": "7200"})
        fine = server.set("/fine.xml", feed("fine"))
        date = (datetime.now(UTC) + timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        busy = [
            server.set(f"/b{i}.xml", "busy", status=503, host=1, headers={"Retry-After": date})
            for i in range(5)
        ]
        with Aggregator(db, workers=1, per_host_limit=1) as agg:
            agg.add_feeds([lone, fine, *busy])
            results = {r.feed.url: r for r in agg.update()}
            now = datetime.now(UTC)
            lone_feed = agg.get_feed(lone)
            assert lone_feed.next_check_reason == "Retry-After"
            assert lone_feed.next_check is not None
            assert lone_feed.next_check >= now + timedelta(seconds=7100)
            assert lone_feed.error_count == 0  # the server's schedule, not the feed's fault
            assert results[fine].error is None
            # Two of host 1's feeds said 503: the rest of that host was not asked at all.
            assert sum(server.count(f"/b{i}.xml") for i in range(5)) == 2
            assert all(results[u].error is not None for u in busy)
            # Next round, even for all feeds: nothing goes to the throttled host.
            seen = len(server.seen)
            list(agg.update(all_feeds=True))
            hosts_asked = {s.server for s in server.seen[seen:]}
            assert hosts_asked == {server._servers[0]}


def test_feeds_of_one_host_throttled_in_different_rounds_delay_the_host(db: Path) -> None:
    # In `run` a round holds what is due then: two feeds of a host saying 429
    # in two rounds never left the host alone.
    with FeedServer() as server:
        busy = {"headers": {"Retry-After": "600"}, "status": 429}
        a, b, c = (server.set(f"/{name}.xml", "slow down", **busy) for name in "abc")  # type: ignore[arg-type]
        with Aggregator(db, workers=1) as agg:
            agg.add_feed(a)
            assert [r.error.kind for r in agg.update() if r.error] == ["throttled"]
            agg.add_feed(b)
            assert [r.feed.url for r in agg.update()] == [b]  # a waits its 600 s
            agg.add_feed(c)
            list(agg.update())
        assert server.count("/c.xml") == 0, "the host asked to be left alone"


def test_the_host_that_says_429_is_throttled_not_the_one_that_redirected_there(
    db: Path,
) -> None:
    with FeedServer(hosts=2) as server:
        busy = {"headers": {"Retry-After": "600"}, "status": 429}
        targets = [server.set(f"/t{i}.xml", "slow down", host=1, **busy) for i in range(2)]  # type: ignore[arg-type]
        moved = [
            server.set(f"/m{i}.xml", status=302, headers={"Location": target})
            for i, target in enumerate(targets)
        ]
        with Aggregator(db, workers=1) as agg:
            agg.add_feeds(moved)
            assert all(r.error and r.error.kind == "throttled" for r in agg.update())
            agg.add_feeds(
                [server.set("/own.xml", feed("own")), server.set("/d.xml", feed("d"), host=1)]
            )
            list(agg.update())
        assert server.count("/own.xml") == 1  # its host only sent readers on
        assert server.count("/d.xml") == 0  # the host that asked to be left alone is


def test_publisher_hints_raise_the_interval_up_to_a_cap(server: FeedServer, db: Path) -> None:
    ttl = rss("ttl", items("ttl", 1)).replace("<description>", "<ttl>180</ttl><description>")
    cached = server.set("/cached.xml", feed("c"), headers={"Cache-Control": "max-age=7200"})
    with_ttl = server.set("/ttl.xml", ttl)
    huge = server.set("/huge.xml", feed("h"), headers={"Cache-Control": "max-age=99999999"})
    plain = server.set("/plain.xml", feed("p"))
    with Aggregator(db, workers=1, default_interval=600, max_interval=86400) as agg:
        agg.add_feeds([cached, with_ttl, huge, plain])
        start = datetime.now(UTC)
        list(agg.update())
        feeds = {f.url: f for f in agg.get_feeds()}

    def delay(url: str) -> float:
        moment = feeds[url].next_check
        assert moment is not None
        return (moment - start).total_seconds()

    assert 7200 <= delay(cached) <= 7200 * 1.1 + 5
    assert 10800 <= delay(with_ttl) <= 10800 * 1.1 + 5
    assert 86400 <= delay(huge) <= 86400 * 1.1 + 5
    assert 600 <= delay(plain) <= 600 * 1.1 + 5
    assert feeds[cached].next_check_reason == "publisher's hint"
    assert feeds[plain].next_check_reason == "interval"


def test_per_feed_interval_is_set_from_the_command_line(server: FeedServer, db: Path) -> None:
    url = server.set("/i.xml", feed("i"))
    rssmania(db, "add", url)
    assert rssmania(db, "set", url, "--interval", "60").returncode == 0
    assert rssmania(db, "update").returncode == 0
    (listed,) = rssmania(db, "list", "--json").stdout.splitlines()
    assert json.loads(listed)["interval"] == 60
    bad = rssmania(db, "set", url, "--interval", "soon")
    assert bad.returncode == 2
    assert rssmania(db, "set", "http://127.0.0.1:1/nope", "--interval", "60").returncode == 2


def test_offline_is_reported_once_and_blames_no_feed(db: Path) -> None:
    # Ports that nobody listens on, on two hosts: every connection is refused.
    urls = ["http://127.0.0.1:9/a.xml", "http://127.0.0.2:9/b.xml", "http://127.0.0.1:9/c.xml"]
    rssmania(db, "add", *urls)
    result = rssmania(db, "update")
    assert result.returncode == 0
    assert "3 not reached (network unreachable" in result.stdout
    assert result.stderr.count("!") == 0, result.stderr
    with Aggregator(db, workers=1) as agg:
        for feed_now in agg.get_feeds():
            assert feed_now.error_count == 0
            assert feed_now.next_check_reason == "offline"


def test_one_dead_server_is_that_server_s_error(server: FeedServer, db: Path) -> None:
    good = server.set("/alive.xml", feed("alive"))
    with Aggregator(db, workers=1) as agg:
        agg.add_feeds([good, "http://127.0.0.1:9/dead.xml"])
        results = {r.feed.url: r for r in agg.update()}
        dead = results["http://127.0.0.1:9/dead.xml"].error
        assert dead is not None
        assert dead.kind == "connect"
        assert agg.get_feed("http://127.0.0.1:9/dead.xml").error_count == 1


def test_user_agent_names_rssmania_and_is_configurable(server: FeedServer, db: Path) -> None:
    url = server.set("/ua.xml", feed("ua"))
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        list(agg.update())
    assert server.requests_to("/ua.xml")[0].headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("rssmania/")
    assert "+https://" in USER_AGENT
    rssmania(db, "--user-agent", "MyReader/2.0", "update", "--all")
    assert server.requests_to("/ua.xml")[1].headers["User-Agent"] == "MyReader/2.0"


def test_private_addresses_can_be_refused_on_every_hop(db: Path) -> None:
    with FeedServer(hosts=2) as server:
        direct = server.set("/private.xml", feed("p"))
        hop = server.set(
            "/hop.xml", status=301, host=1, headers={"Location": server.url("/private.xml")}
        )
        # A name that resolves to a private address: refused when resolved.
        by_name = direct.replace("127.0.0.1", "localhost")
        hop_to_name = server.set("/hop2.xml", status=302, host=1, headers={"Location": by_name})
        # 127.0.0.2 stands for a public host here; 127.0.0.1 for the private network.
        with Aggregator(
            db, workers=1, refuse_private_addresses=True, allowed_networks=["127.0.0.2/32"]
        ) as agg:
            agg.add_feeds([direct, hop, by_name, hop_to_name])
            results = {r.feed.url: r for r in agg.update()}
        for url in (direct, hop, by_name, hop_to_name):
            error = results[url].error
            assert error is not None
            assert error.kind == "blocked"
            assert "non-public" in error.message
        assert server.count("/hop.xml") == 1
        assert server.count("/hop2.xml") == 1
        assert server.count("/private.xml") == 0


def test_a_response_with_a_long_header_is_read(server: FeedServer, db: Path) -> None:
    # Some servers send a header past 8 KB (a Content-Security-Policy, cookies).
    url = server.set("/csp.xml", feed("c"), headers={"Content-Security-Policy": "x" * 20_000})
    with Aggregator(db, workers=1) as agg:
        agg.add_feeds([url])
        [result] = agg.update()
    assert result.error is None, result.error
    assert len(result.new) == 2


def test_a_bare_503_is_an_ordinary_failure_not_throttling(server: FeedServer, db: Path) -> None:
    urls = [server.set(f"/down{i}.xml", "down", status=503) for i in range(3)]
    with Aggregator(db, workers=1) as agg:
        agg.add_feeds(urls)
        results = list(agg.update())
        assert [r.error.kind for r in results if r.error] == ["http"] * 3
        assert all(f.next_check_reason == "backoff" for f in agg.get_feeds())
        assert all(f.error_count == 1 for f in agg.get_feeds())
    assert sum(server.count(f"/down{i}.xml") for i in range(3)) == 3  # the host was not shut
