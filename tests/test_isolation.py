"""One feed that crashes, hangs, hogs or breaks a worker costs only itself."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from rssmania._poll import batch
from rssmania._poll.fetch import Fetched
from rssmania._poll.jobs import PollSettings
from rssmania._poll.limits import ParseTooSlow, cpu_limit
from rssmania._round import PollBatch
from rssmania.types import FeedError
from tests.conftest import rssmania
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.fixtures import (
    poll_batch_hanging_on_hang,
    poll_batch_raising_on_bug,
    poll_batch_recording_pid,
    poll_batch_unbindable_on_bad,
    poll_batch_unstorable_on_bad,
)
from tests.fixtures import unspaced as Aggregator
from tests.procs import alive, descendants
from tests.test_cli import Daemon


@pytest.mark.slow
def test_a_feed_that_hangs_its_worker_is_found_and_the_rest_polled(
    server: FeedServer, db: Path
) -> None:
    # Each step of the bisection waits out a batch deadline: few feeds, a short one.
    urls = [server.set(f"/ok{i}.xml", rss(f"OK {i}", items(f"ok{i}", 2))) for i in range(5)]
    hang = server.set("/hang.xml", rss("Hang", items("hang", 2)))
    with Aggregator(
        db, workers=2, _poll_batch=poll_batch_hanging_on_hang, _batch_deadline=1.5
    ) as agg:
        agg.add_feeds([*urls[:2], hang, *urls[2:]])
        started = time.monotonic()
        results = {r.feed.url: r for r in agg.update()}
        elapsed = time.monotonic() - started
        assert set(results) == {*urls, hang}
        assert all(results[u].error is None for u in urls)
        error = results[hang].error
        assert error is not None
        assert error.kind == "worker_hung"
        assert agg.get_feed(hang).error_count == 1  # quarantined: it backs off
        assert agg.get_feed(hang).next_check_reason == "backoff"
    assert elapsed < 30


def test_a_bug_on_one_feed_is_that_feed_s_error(server: FeedServer, db: Path, workers: int) -> None:
    urls = [server.set(f"/ok{i}.xml", rss(f"OK {i}", items(f"ok{i}", 2))) for i in range(6)]
    bug = server.set("/bug.xml", rss("Bug", items("bug", 2)))
    with Aggregator(db, workers=workers, _poll_batch=poll_batch_raising_on_bug) as agg:
        agg.add_feeds([*urls, bug])
        results = {r.feed.url: r for r in agg.update()}
    assert all(results[u].error is None for u in urls)
    error = results[bug].error
    assert error is not None
    assert error.kind == "internal"
    assert "only this feed triggers" in error.message


@pytest.mark.parametrize(
    "poll",
    # A lone surrogate fails in Python's encoder (a ValueError); a type SQLite
    # does not bind fails in sqlite3 (a ProgrammingError on 3.11), which the
    # storage layer wraps: that one ended the round.
    [poll_batch_unstorable_on_bad, poll_batch_unbindable_on_bad],
    ids=["surrogate", "unbindable"],
)
def test_a_result_that_cannot_be_stored_is_that_feed_s_error(
    server: FeedServer, db: Path, poll: PollBatch
) -> None:
    # Its group's transaction fails: the other feeds of the group are stored
    # one by one, and this one gets an error and backs off.
    urls = [server.set(f"/ok{i}.xml", rss(f"OK {i}", items(f"ok{i}", 2))) for i in range(6)]
    bad = server.set("/bad.xml", rss("Bad", items("bad", 2)))
    with Aggregator(db, workers=1, outbox=True, _poll_batch=poll) as agg:
        agg.add_feeds([*urls, bad])
        results = {r.feed.url: r for r in agg.update()}
        assert [u for u in urls if results[u].error is not None or len(results[u].new) != 2] == []
        error = results[bad].error
        assert error is not None
        assert error.kind == "internal"
        assert "cannot be stored" in error.message
        assert agg.get_feed(bad).error_count == 1
        assert {e.feed_url for e in agg.get_entries()} == set(urls)
        assert len(agg.pending_changes()) == 12  # each stored entry reported once


def _burn() -> None:
    while True:
        sum(range(1000))


def test_cpu_limit_stops_a_runaway_computation() -> None:
    started = time.process_time()
    with pytest.raises(ParseTooSlow), cpu_limit(0.2):
        _burn()
    assert time.process_time() - started < 2


def test_a_parse_over_its_cpu_limit_is_that_feed_s_error(server: FeedServer, db: Path) -> None:
    big = server.set("/big.xml", rss("Big", items("big", 3000)))
    with Aggregator(db, workers=2, parse_cpu_limit=0.01) as agg:
        agg.add_feed(big)
        (result,) = agg.update()
    assert result.error is not None
    assert result.error.kind == "too_slow"


# What pyo3 raises when a compiled parser panics: a BaseException from a
# module no one can import, so that it cannot be pickled.
PanicException = type("PanicException", (BaseException,), {"__module__": "pyo3_runtime"})


def test_a_compiled_parser_that_panics_is_that_feed_s_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Seen under the memory cap: fastfeedparser's extractor panicked when an
    # allocation failed; the panic passed the batch's guard and the whole
    # batch came back as an unpicklable internal error.
    def panics(body: bytes, **_: object) -> object:
        raise PanicException("Python API call failed")

    # Where a worker imports it from, at its first parse.
    monkeypatch.setattr("rssmania._poll.parse.parse_feed", panics)
    fetched = Fetched("http://f.example/", 200, "OK", b"<rss/>", None, None, None, None, None, None)
    error = batch._parse_within_limits(fetched, PollSettings(user_agent="t"))
    assert isinstance(error, FeedError)
    assert error.kind == "internal"  # no memory cap in this process
    assert "panicked" in error.message


@pytest.mark.slow
def test_workers_run_under_a_memory_limit(server: FeedServer, db: Path) -> None:
    # 4 million paragraphs in one entry (80 MB): the sanitizer's tree of them
    # alone needs more than 1 GB, far more than the 400 MB a worker may have.
    # (A compiled parser that cannot allocate aborts its worker: worker_died.)
    huge = rss("Huge", items("huge", 2)).replace(
        "&lt;p&gt;Body of huge 0&lt;/p&gt;", "&lt;p&gt;x&lt;/p&gt;" * 4_000_000, 1
    )
    url = server.set("/huge.xml", huge)
    good = server.set("/good.xml", rss("Good", items("good", 2)))
    # Under the cap, fastfeedparser's compiled core has also been seen to block for
    # good, using no CPU (no CPU limit reaches it): a batch deadline short enough
    # for this test's timeout finds it (the default budget is 150 s), as worker_died.
    with Aggregator(
        db,
        workers=2,
        max_bytes=100_000_000,
        worker_memory_limit=400 * 1024**2,
        _batch_deadline=20.0,
    ) as agg:
        agg.add_feeds([url, good])
        results = {r.feed.url: r for r in agg.update()}
    error = results[url].error
    assert error is not None
    assert error.kind in ("too_large", "worker_died")
    assert results[good].error is None


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_repeats_nothing(db: Path) -> None:
    rng = random.Random(5)
    with FeedServer(hosts=4) as server:
        n_feeds = 40
        published = dict.fromkeys(range(n_feeds), 5)

        def publish() -> None:
            for i, count in published.items():
                server.set(f"/k{i}.xml", rss(f"K {i}", items(f"k{i}", count)), i % 4)

        publish()
        urls = [server.url(f"/k{i}.xml", i % 4) for i in range(n_feeds)]
        assert rssmania(db, "add", *urls).returncode == 0
        seen: list[tuple[str, str]] = []
        for _ in range(8):
            for i in rng.sample(range(n_feeds), 10):
                published[i] += rng.randint(1, 20)
            publish()
            daemon = Daemon(db, "run", "--interval", "1", "--json", "--workers", "2")
            wait_for(lambda d=daemon: d.lines, timeout=30, what="the daemon to report")  # type: ignore[misc]
            time.sleep(rng.uniform(0.0, 1.5))  # the kill lands anywhere: fetching, writing...
            children = descendants(daemon.proc.pid)
            daemon.proc.send_signal(signal.SIGKILL)
            daemon.wait(timeout=10)
            seen += [(o["feed_url"], o["id"]) for o in map(json.loads, daemon.lines)]
            con = sqlite3.connect(db)
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            con.close()
            wait_for(lambda c=children: not alive(c), timeout=5, what="workers to exit")  # type: ignore[misc]
        expected = {(urls[i], f"k{i}-{n}") for i, count in published.items() for n in range(count)}
        daemon = Daemon(db, "run", "--interval", "1", "--json")
        wait_for(lambda: any("Watching" in e for e in daemon.errors), what="the daemon to start")
        wait_for(
            lambda: len(seen) + len(daemon.lines) >= len(expected), timeout=60, what="all articles"
        )
        daemon.proc.send_signal(signal.SIGINT)
        assert daemon.wait(timeout=15) == 0
        seen += [(o["feed_url"], o["id"]) for o in map(json.loads, daemon.lines)]
    assert len(seen) == len(set(seen)), "an article was reported twice"
    assert set(seen) == expected, "an article was lost"


def test_workers_are_recycled_after_some_batches(
    server: FeedServer, db: Path, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    url = server.set("/r.xml", rss("R", items("r", 1))) + f"?pids={pids}"
    with Aggregator(
        db, workers=2, max_tasks_per_child=1, _poll_batch=poll_batch_recording_pid
    ) as agg:
        agg.add_feed(url)
        for _ in range(4):
            assert [r.error for r in agg.update(all_feeds=True)] == [None]
    seen = pids.read_text().split()
    assert len(seen) == 4
    assert len(set(seen)) == 4, "each batch ran in a fresh worker"
