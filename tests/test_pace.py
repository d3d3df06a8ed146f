"""A host's pace follows the host: proved on what local servers that enforce limits saw."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rssmania import Aggregator
from rssmania._pace import STEP, Pace, answered, complained, resumed
from rssmania._poll.batch import is_complaint
from rssmania._poll.fetch import Fetched
from rssmania.types import FeedError
from tests.feedserver import FeedServer, items, rss, wait_for


def feed(name: str, n: int = 1) -> str:
    return rss(name, items(name, n))


# -- the model, pure -------------------------------------------------------------

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("pace", "latency", "expected_delay"),
    [
        (Pace(), 0.02, 0.01),  # first answer: latency / cap
        (Pace(delay=0.4, latency=0.02), 0.02, (0.4 + 0.01) / 2),  # recovery: halfway
        (Pace(delay=0.4, latency=0.02, floor=0.3, since=NOW), 0.02, 0.3),  # never under the floor
        # The floor fades: halved after an hour.
        (Pace(delay=0.4, latency=0.02, floor=0.3, since=NOW - 3600), 0.02, 0.205),
        (Pace(delay=0.0, latency=0.1, fastest=0.1), 0.12, 0.106 / 2),  # slower: no complaint
    ],
)
def test_a_good_answer_moves_the_delay_toward_latency_over_the_cap(
    pace: Pace, latency: float, expected_delay: float
) -> None:
    after = answered(pace, latency, cap=2, sent=NOW, now=NOW)
    assert after.delay == pytest.approx(expected_delay)


def test_complaints_double_the_delay_at_once_and_set_a_floor() -> None:
    first = complained(Pace(), sent=NOW, now=NOW)
    assert (first.delay, first.floor) == (STEP, STEP)
    second = complained(first, sent=NOW + 1, now=NOW + 1)
    assert second.delay == 2 * STEP
    # An answer to a request sent before that slow-down was weighed already.
    assert complained(second, sent=NOW, now=NOW + 2) == second
    # Latency that doubled (by more than a quarter second) is a complaint too.
    # Then the delay waits out that answer (one request at a time); no floor
    # is learned from it (a busy worker makes answers look late too).
    strained = answered(Pace(0.1, 0.05, fastest=0.05), 0.6, cap=2, sent=NOW, now=NOW)
    assert strained.delay == 0.6
    assert strained.floor == 0.0


def test_a_stored_pace_resumes_with_its_faded_floor() -> None:
    stored = Pace(delay=1.0, latency=0.02, floor=1.0, since=NOW - 7200)
    assert resumed(stored, cap=2, now=NOW).delay == pytest.approx(0.25)


# -- against servers ---------------------------------------------------------------


@pytest.mark.slow
def test_a_host_that_limits_requests_a_second_is_polled_below_its_limit(db: Path) -> None:
    with FeedServer() as server:
        server.limit(per_second=20)
        urls = [server.set(f"/l{i}.xml", feed(f"l{i}")) for i in range(30)]
        with Aggregator(db, workers=2) as agg:
            agg.add_feeds(urls)
            results = list(agg.update())
            # Every feed got through, refused a handful of times at most while
            # the pace was found (a refused feed is asked again, slower).
            assert [r.error for r in results if r.error is not None] == []
            first = server.refused
            assert 1 <= first <= 5
            # The next round starts at the learned pace: not one refusal.
            assert all(r.error is None for r in agg.update(all_feeds=True))
            assert server.refused == first, "the second round"
        # And so does the next run: the pace was stored.
        with Aggregator(db, workers=2) as agg:
            assert all(r.error is None for r in agg.update(all_feeds=True))
        assert server.refused == first, "the next run"
        assert server.max_concurrent() <= 2
        # Settled: the last requests came below the limit.
        last = sorted(s.at for s in server.seen)[-20:]
        assert 19 / (last[-1] - last[0]) < 20


@pytest.mark.slow
def test_a_host_whose_latency_grows_with_concurrency_is_asked_one_at_a_time(db: Path) -> None:
    with FeedServer() as server:
        server.strained(late=0.6)
        urls = [server.set(f"/s{i}.xml", feed(f"s{i}"), delay=0.05) for i in range(16)]
        with Aggregator(db, workers=2) as agg:
            agg.add_feeds(urls)
            assert all(r.error is None for r in agg.update())
        assert server.max_concurrent() <= 2
        # The first pair overlaps (nothing is known yet), then a few while the
        # pace doubles: then it keeps requests apart.
        assert server.crowded <= 5, server.crowded


@pytest.mark.slow
def test_a_fast_host_with_500_feeds_is_polled_in_seconds_within_the_cap(db: Path) -> None:
    with FeedServer() as server:
        urls = [server.set(f"/f{i}.xml", feed(f"f{i}")) for i in range(500)]
        with Aggregator(db, workers=2) as agg:
            agg.add_feeds(urls)
            assert all(r.error is None for r in agg.update())
        starts = sorted(s.at for s in server.seen)
        assert len(starts) == 500
        assert server.max_concurrent() <= 2
        # At the old fixed 0.1 s a request, 50 s; the host answers in a few ms.
        assert starts[-1] - starts[0] < 15


def test_update_all_never_asks_inside_retry_after_or_after_410(
    server: FeedServer, db: Path
) -> None:
    wait = server.set("/wait.xml", "later", status=429, headers={"Retry-After": "3600"})
    gone = server.set("/gone.xml", "gone", status=410)
    fine = server.set("/fine.xml", feed("fine"))
    with Aggregator(db, workers=1) as agg:
        agg.add_feeds([wait, gone, fine])
        kinds = {r.feed.url: r.error.kind if r.error else None for r in agg.update()}
        assert kinds == {wait: "throttled", gone: "gone", fine: None}
        # --all overrides our schedule, not the server's explicit request.
        assert [r.feed.url for r in agg.update(all_feeds=True)] == [fine]
    assert (server.count("/wait.xml"), server.count("/gone.xml")) == (1, 1)


def test_results_come_feed_by_feed_while_a_slow_feed_holds_its_batch(db: Path) -> None:
    # One host, so one batch: the fast feeds' results must not wait for the
    # slow one (a feed stuck until its timeout held back its batch-mates).
    with FeedServer() as server:
        fast = [server.set(f"/f{i}.xml", feed(f"f{i}")) for i in range(10)]
        slow = server.set("/slow.xml", feed("slow"), delay=3.0)
        with Aggregator(db, workers=2) as agg:
            agg.add_feeds([slow, *fast])
            results = agg.update()
            arrived = [next(results).feed.url for _ in fast]
            assert set(arrived) == set(fast)
            # The slow one is still being polled, and it is all that is.
            assert server.count("/slow.xml") == 1
            wait_for(lambda: [url for url, _ in agg.in_flight()] == [slow], what="in flight")
            late = time.monotonic()
            assert [r.feed.url for r in results] == [slow]
        slow_answered = server.requests_to("/slow.xml")[0].at + 3.0
        assert late < slow_answered


@pytest.mark.slow
def test_never_more_than_the_cap_at_once_over_several_batches(db: Path) -> None:
    # 300 feeds of one host go in two batches (256 at most in one): never side by side.
    with FeedServer(hosts=2) as server:
        urls = [server.set(f"/b{i}.xml", feed(f"b{i}"), delay=0.01) for i in range(300)]
        others = [server.set(f"/o{i}.xml", feed(f"o{i}"), host=1) for i in range(20)]
        with Aggregator(db, workers=2, per_host_limit=2) as agg:
            agg.add_feeds([*urls, *others])
            assert all(r.error is None for r in agg.update())
        assert server.max_concurrent(host=0) <= 2
        assert sum(1 for s in server.seen if s.server is server._servers[0]) == 300


def test_a_refusal_that_says_when_to_come_back_is_that_feeds_wait_not_the_hosts_pace() -> None:
    def answer(status: int, retry_after: float | None) -> Fetched:
        return Fetched("http://h/f.xml", status, "", b"", None, None, None, None, retry_after, None)

    assert is_complaint(answer(429, None))
    assert is_complaint(answer(503, None))
    assert not is_complaint(answer(503, 30.0))  # the feed waits 30 s; the host's pace holds
    assert not is_complaint(answer(429, 5.0))
    assert not is_complaint(answer(500, None))
    assert is_complaint(FeedError("timeout", "timed out"))
    assert not is_complaint(FeedError("http", "404"))
