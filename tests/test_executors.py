"""One conformance suite for where batches run: the local process pool and a Dask cluster.

The pools first (``pool`` is parametrized): results, cancellation, stopping,
killing, closing. Dask's own executor differs from the standard library on
each of these (see ``rssmania._dask``); the adapter is what makes them agree.
Then the same round through the public API on both (``executor``): a killed
worker, a feed that kills workers, a stop. Last, what only a cluster has: a
lost scheduler, versions, addresses, TLS. The cluster is real: `dask
scheduler` and two `dask worker` processes on 127.0.0.1 (tests/dask_cluster.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError, wait
from pathlib import Path
from typing import Any

import pytest

from rssmania._dask import ClusterError, DaskPool, scheduler_address
from rssmania._dask.connect import POLL_PACKAGES, version_mismatches
from rssmania._dask.worker import entry_digest, without_known
from rssmania._executors import WorkerPool
from rssmania._poll import ParsedEntry, ParsedFeed, PollJob, PollOutcome, PollSettings, poll_batch
from rssmania._process import WORKER_NICENESS, YOUNG_GENERATION
from tests.conftest import cli_env, rssmania
from tests.dask_cluster import (
    LOOPBACK,
    DaskCluster,
    cluster_fixture,
    dask_cluster,
    shared_cluster_fixture,
)
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.fixtures import (
    poll_batch_dying_on_crash,
    poll_batch_raising_on_bug,
    poll_batch_recording_pid,
)
from tests.fixtures import unspaced as Aggregator
from tests.pool_tasks import (
    echo,
    echo_counting,
    hang_counting,
    process_settings,
    send_half_a_result,
)

SETTINGS = PollSettings(user_agent="rssmania-tests", host_spacing=0.0)

Pool = Any  # WorkerPool | DaskPool: the surface the round uses
__all__ = ["cluster_fixture", "shared_cluster_fixture"]  # fixtures, for pytest to find


# The conformance suite on Dask too, in the full run (.ci/run): a cluster
# round trip costs seconds a case, and the local pool is the everyday one.
@pytest.fixture(params=["local", pytest.param("dask", marks=pytest.mark.slow)])
def pool(request: pytest.FixtureRequest) -> Iterator[Pool]:
    made: Pool
    if request.param == "local":
        made = WorkerPool(2)
    else:
        made = DaskPool(request.getfixturevalue("cluster").address)
    made.warm_up()  # as a round starts
    made.stop_event.clear()
    try:
        yield made
    finally:
        made.kill()
        made.close()


def jobs_for(*urls: str) -> list[PollJob]:
    return [PollJob(url) for url in urls]


def test_results_come_back_whole_and_in_order(pool: Pool, server: FeedServer) -> None:
    urls = [server.set(f"/r{i}.xml", rss(f"R {i}", items(f"r{i}", i + 1))) for i in range(5)]
    outcomes = pool.submit(poll_batch, SETTINGS, jobs_for(*urls)).result(timeout=60)
    assert [o.url for o in outcomes] == urls
    assert [o.error for o in outcomes] == [None] * 5
    assert [len(o.feed.entries) for o in outcomes] == [1, 2, 3, 4, 5]


def test_batches_run_in_other_processes_side_by_side(pool: Pool) -> None:
    futures = [pool.submit(echo, SETTINGS, jobs_for(f"http://e/{i}")) for i in range(8)]
    done, _ = wait(futures, timeout=60)
    assert len(done) == 8
    pids = {f.result()[0].final_url for f in futures}
    assert f"pid:{os.getpid()}" not in pids


def test_the_same_batch_twice_runs_twice(pool: Pool, tmp_path: Path) -> None:
    # Dask's default (pure=True) would run it once and hand both the same result.
    runs = tmp_path / "runs"
    batch = jobs_for(f"http://e/1#runs={runs}")
    first = pool.submit(echo_counting, SETTINGS, batch)
    second = pool.submit(echo_counting, SETTINGS, batch)
    assert first.result(timeout=60) == [PollOutcome(batch[0].url, final_url=ANY_PID)]
    assert second.result(timeout=60) == [PollOutcome(batch[0].url, final_url=ANY_PID)]
    assert len(runs.read_text().split()) == 2


class _AnyPid(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("pid:")

    __hash__ = str.__hash__


ANY_PID = _AnyPid("pid:*")


def test_keyword_arguments_are_refused_not_swallowed(pool: Pool) -> None:
    # Dask's submit would take ``retries=`` or ``key=`` for itself.
    with pytest.raises(TypeError):
        pool.submit(echo, SETTINGS, jobs=jobs_for("http://e/1"))


def test_an_exception_in_a_batch_arrives_with_its_type(pool: Pool) -> None:
    future = pool.submit(poll_batch_raising_on_bug, SETTINGS, jobs_for("http://e/bug"))
    with pytest.raises(ValueError, match="only this feed triggers"):
        future.result(timeout=60)


def _slow_batches(server: FeedServer, n: int, delay: float) -> list[list[PollJob]]:
    return [
        jobs_for(server.set(f"/slow{i}.xml", rss("S", items("s", 1)), delay=delay))
        for i in range(n)
    ]


def _started(server: FeedServer, n: int) -> None:
    wait_for(
        lambda: sum(server.count(f"/slow{i}.xml") for i in range(n)) >= n,
        timeout=60,
        what="the batches to start",
    )


def test_cancel_works_before_a_batch_starts_never_after(pool: Pool, server: FeedServer) -> None:
    # Dask's cancel() of a running task returns True and drops its result.
    running = [pool.submit(poll_batch, SETTINGS, b) for b in _slow_batches(server, 2, 2.0)]
    _started(server, 2)
    extra = [pool.submit(echo, SETTINGS, jobs_for(f"http://e/{i}")) for i in range(5)]
    assert [f.cancel() for f in running] == [False, False]
    # The local pool hands up to three batches to its workers' queue ahead of time.
    assert extra[-1].cancel()
    assert extra[-1].cancelled()
    for future in running:
        assert future.result(timeout=60)[0].error is None
    with pytest.raises(CancelledError):
        extra[-1].result()
    wait(extra, timeout=60)  # the cancelled one wakes wait() as well
    assert all(f.done() for f in extra)


def test_a_stop_makes_batches_return_what_they_finished(pool: Pool, server: FeedServer) -> None:
    fast = [server.set(f"/fast{i}.xml", rss("F", items(f"f{i}", 2))) for i in range(2)]
    slow = [server.set(f"/stuck{i}.xml", rss("S", items("s", 1)), delay=30) for i in range(2)]
    future = pool.submit(poll_batch, SETTINGS, jobs_for(*fast, *slow))
    wait_for(
        lambda: all(server.count(f"/stuck{i}.xml") for i in range(2)),
        timeout=60,
        what="the slow feeds to be requested",
    )
    time.sleep(0.3)  # the fast ones are parsed by now
    pool.stop_event.set()
    started = time.monotonic()
    outcomes = future.result(timeout=15)
    assert time.monotonic() - started < 5
    assert [o.cancelled for o in outcomes] == [False, False, True, True]
    assert [o.error for o in outcomes[:2]] == [None, None]


def test_kill_ends_every_batch_at_once_and_the_pool_goes_on(pool: Pool, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    hung = [
        pool.submit(hang_counting, SETTINGS, jobs_for(f"http://e/{i}#runs={runs}"))
        for i in range(2)
    ]
    wait_for(
        lambda: runs.exists() and len(runs.read_text().split()) == 2,
        timeout=60,
        what="both batches to start",
    )
    queued = pool.submit(echo, SETTINGS, jobs_for("http://e/queued"))
    started = time.monotonic()
    pool.kill()
    # At once: the hung batches would take an hour (margins for a loaded machine).
    # done(), not wait(): a batch the local pool cancels on its way down is
    # never "notified", and the standard library's wait() misses it.
    futures = [*hung, queued]
    wait_for(lambda: all(f.done() for f in futures), timeout=15, what="every batch to end")
    assert time.monotonic() - started < 15
    for future in futures:
        assert future.cancelled() or future.exception() is not None
    # Hung workers are replaced (a Dask worker is restarted by its nanny).
    after = pool.submit(echo, SETTINGS, jobs_for("http://e/after"))
    assert after.result(timeout=90)[0].url == "http://e/after"


def test_close_lets_running_batches_finish_and_cancels_the_rest(
    pool: Pool, server: FeedServer
) -> None:
    running = [pool.submit(poll_batch, SETTINGS, b) for b in _slow_batches(server, 2, 1.5)]
    _started(server, 2)
    # The local pool may have handed three of them to its workers' queue already.
    later = [pool.submit(echo, SETTINGS, jobs_for(f"http://e/{i}")) for i in range(5)]
    pool.close()
    assert [f.result(timeout=1)[0].error for f in running] == [None, None]
    assert later[-1].cancelled()
    assert all(f.done() for f in later)


def test_killing_a_worker_in_the_middle_of_its_result_leaves_no_thread_waiting(
    tmp_path: Path,
) -> None:
    # The pool's manager thread reads half a message and waits for the rest:
    # kill() must end that wait, or the process hangs at exit (seen with
    # `rssmania update --json | head -1`: the reader went away mid-round).
    pool = WorkerPool(1)
    flag = tmp_path / "sent"
    future = pool.submit(send_half_a_result, str(flag))
    wait_for(flag.exists, timeout=60)
    executor = pool._pool
    assert executor is not None
    manager = executor._executor_manager_thread  # type: ignore[attr-defined]
    pool.kill()
    manager.join(timeout=30)
    assert not manager.is_alive()
    assert future.done()


def test_local_workers_run_below_the_coordinator_and_collect_less_often() -> None:
    pool = WorkerPool(1)
    try:
        outcome = pool.submit(process_settings, SETTINGS, jobs_for("http://e/1")).result(60)[0]
    finally:
        pool.close()
    niceness, young = map(int, (outcome.final_url or "").split())
    assert niceness == min(os.nice(0) + WORKER_NICENESS, 19)
    assert young == YOUNG_GENERATION


def test_the_core_does_not_import_dask() -> None:
    code = (
        "import sys, rssmania, rssmania.core, rssmania.cli, rssmania._round, rssmania._dask\n"
        "assert not {'dask', 'distributed'} & set(sys.modules), 'Dask was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the same round through the public API ------------------------------------------


# The conformance suite on Dask too, in the full run (.ci/run): a cluster
# round trip costs seconds a case, and the local pool is the everyday one.
@pytest.fixture(params=["local", pytest.param("dask", marks=pytest.mark.slow)])
def executor(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Aggregator options: two local worker processes, or the test cluster's two workers."""
    if request.param == "local":
        return {"workers": 2}
    cluster = request.getfixturevalue("cluster")
    return {"executor": "dask://" + cluster.address.removeprefix("tcp://")}


def test_a_round_stores_every_feed_once(executor: dict[str, Any], db: Path) -> None:
    with FeedServer(hosts=3) as server:
        urls = [
            server.set(f"/a{i}.xml", rss(f"A {i}", items(f"a{i}", 3)), i % 3) for i in range(30)
        ]
        with Aggregator(db, **executor) as agg:
            agg.add_feeds(urls)
            results = list(agg.update())
            assert sorted(r.feed.url for r in results) == sorted(urls)
            assert all(r.error is None and len(r.new) == 3 for r in results)
            # Again, with one more entry in one feed: only that one comes back.
            server.set("/a0.xml", rss("A 0", items("a0", 4)), 0)
            again = {r.feed.url: r for r in agg.update(all_feeds=True)}
            assert [e.id for e in again[urls[0]].new] == ["a0-3"]
            assert sum(len(r.changes) for r in again.values()) == 1
            assert len(agg.get_entries()) == 91


def test_killing_a_worker_mid_round_loses_nothing_and_repeats_nothing(
    executor: dict[str, Any], db: Path, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    with FeedServer(hosts=4) as server:
        urls = [
            server.set(f"/k{i}.xml", rss(f"K {i}", items(f"k{i}", 5)), i % 4, delay=0.2)
            + f"?pids={pids}"
            for i in range(40)
        ]
        killed: list[int] = []

        def kill_the_first_worker() -> None:
            wait_for(lambda: pids.exists() and pids.read_text().strip(), timeout=60, what="a batch")
            killed.append(int(pids.read_text().split()[0]))
            os.kill(killed[0], signal.SIGKILL)

        with Aggregator(db, outbox=True, _poll_batch=poll_batch_recording_pid, **executor) as agg:
            agg.add_feeds(urls)
            killer = threading.Thread(target=kill_the_first_worker)
            killer.start()
            results = list(agg.update())
            killer.join()
            changes = agg.pending_changes()
    assert killed
    assert sorted(r.feed.url for r in results) == sorted(urls), "a feed lost or repeated"
    assert [r.error for r in results] == [None] * 40
    reported = [(c.entry.feed_url, c.entry.id) for c in changes]
    assert len(reported) == len(set(reported)) == 200


@pytest.mark.parametrize(
    "executor",
    # Dask retries a batch on three more workers before giving up, at each
    # step of the bisection: a minute here.
    ["local", pytest.param("dask", marks=pytest.mark.slow)],
    indirect=True,
)
def test_a_feed_that_kills_workers_is_quarantined_and_the_rest_polled(
    executor: dict[str, Any], server: FeedServer, db: Path
) -> None:
    urls = [server.set(f"/ok{i}.xml", rss(f"OK {i}", items(f"ok{i}", 2))) for i in range(6)]
    crash = server.set("/crash.xml", rss("Crash", items("crash", 2)))
    with Aggregator(db, _poll_batch=poll_batch_dying_on_crash, **executor) as agg:
        agg.add_feeds([*urls[:3], crash, *urls[3:]])
        results = {r.feed.url: r for r in agg.update()}
        assert set(results) == {*urls, crash}
        assert all(results[u].error is None for u in urls)
        error = results[crash].error
        assert error is not None
        assert error.kind == "worker_died"
        assert agg.get_feed(crash).next_check_reason == "backoff"


def test_a_stop_stores_what_finished_and_leaves_the_rest_due(
    executor: dict[str, Any], db: Path
) -> None:
    with FeedServer(hosts=2) as server:
        fast = [server.set(f"/f{i}.xml", rss("F", items(f"f{i}", 2)), 0) for i in range(4)]
        slow = [
            server.set(f"/s{i}.xml", rss("S", items(f"s{i}", 2)), 1, delay=30) for i in range(4)
        ]
        with Aggregator(db, stop_grace=0.5, **executor) as agg:
            agg.add_feeds([*fast, *slow])
            seen = []
            started = time.monotonic()
            for result in agg.update():
                seen.append(result.feed.url)
                if len(seen) == len(fast):
                    agg.stop()
            assert time.monotonic() - started < 20
            assert sorted(seen) == sorted(fast)
            assert all(agg.get_feed(url).last_checked is None for url in slow)  # still due


@pytest.mark.slow
def test_losing_the_scheduler_mid_round_ends_it_and_loses_nothing(db: Path, tmp_path: Path) -> None:
    with dask_cluster(tmp_path) as own, FeedServer(hosts=2) as server:
        fast = [server.set(f"/f{i}.xml", rss("F", items(f"f{i}", 2)), 0) for i in range(4)]
        slow = [server.set(f"/s{i}.xml", rss("S", items(f"s{i}", 2)), 1, delay=5) for i in range(4)]
        address = "dask://" + own.address.removeprefix("tcp://")
        with Aggregator(db, executor=address) as agg:
            agg.add_feeds([*fast, *slow])
            seen: list[str] = []

            def poll() -> None:
                for result in agg.update():
                    seen.append(result.feed.url)
                    if len(seen) == len(fast):
                        own.kill_scheduler()

            with pytest.raises(ClusterError, match="lost the connection"):
                poll()
            assert sorted(seen) == sorted(fast)
            assert len(agg.get_entries()) == 2 * len(fast)
            # What did not finish was never stored: still due.
            assert all(agg.get_feed(url).last_checked is None for url in slow)


@pytest.mark.slow  # 14 s: a cluster of its own, lost mid-round (the Aggregator's test stays)
def test_the_command_line_says_in_one_line_that_the_scheduler_was_lost(
    db: Path, tmp_path: Path
) -> None:
    # Dask logged 30 lines of traceback before rssmania's own error line.
    with dask_cluster(tmp_path) as own, FeedServer(hosts=2) as server:
        fast = [server.set(f"/f{i}.xml", rss("F", items(f"f{i}", 2)), 0) for i in range(2)]
        slow = [server.set(f"/s{i}.xml", rss("S", items(f"s{i}", 2)), 1, delay=5) for i in range(2)]
        assert rssmania(db, "add", *fast, *slow).returncode == 0
        executor = "dask://" + own.address.removeprefix("tcp://")
        command = [sys.executable, "-m", "rssmania", "update", "--json", "--executor", executor]
        with subprocess.Popen(
            command, env=cli_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as update:
            assert update.stdout is not None
            for _ in range(4):  # both fast feeds' entries: the slow ones are in flight
                assert update.stdout.readline()
            own.kill_scheduler()
            _, err = update.communicate(timeout=120)
        assert update.returncode == 1
        assert err.strip().splitlines() == [
            f"Error: Dask cluster {own.address}: lost the connection to the scheduler mid-round"
        ]


def test_the_command_line_polls_on_a_cluster(
    cluster: DaskCluster, server: FeedServer, db: Path
) -> None:
    url = server.set("/c.xml", rss("C", items("c", 3)))
    assert rssmania(db, "add", url).returncode == 0
    address = "dask://" + cluster.address.removeprefix("tcp://")
    done = rssmania(db, "update", "--json", "--executor", address)
    assert done.returncode == 0, done.stderr
    ids = sorted(json.loads(line)["id"] for line in done.stdout.splitlines())
    assert ids == ["c-0", "c-1", "c-2"]


@pytest.mark.slow
def test_the_command_line_says_when_the_cluster_is_unreachable(db: Path) -> None:
    assert rssmania(db, "add", "http://127.0.0.1:9/feed.xml").returncode == 0
    env = {**cli_env(db), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}
    command = [sys.executable, "-m", "rssmania", "update", "--executor", "dask://127.0.0.1:1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "Dask cluster tcp://127.0.0.1:1: cannot reach the scheduler" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "ftp://h:1"], "expected local or dask://HOST:PORT"),
        (["--executor", "dask://h:1/x"], "not a Dask scheduler address"),
        (["--workers", "2", "--executor", "dask://h:1"], "a Dask cluster has its own"),
    ],
)
def test_the_command_line_refuses_a_bad_executor(db: Path, args: list[str], message: str) -> None:
    done = rssmania(db, "update", *args)
    assert done.returncode == 2
    assert message in done.stderr


# -- Dask only: what the local pool has no counterpart for -------------------------------


@pytest.mark.parametrize(
    ("given", "address"),
    [
        ("dask://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
        ("dask://scheduler.internal", "tcp://scheduler.internal:8786"),
        ("dask://127.0.0.1:9000/", "tcp://127.0.0.1:9000"),
        ("dask+tls://scheduler.internal:8786", "tls://scheduler.internal:8786"),
        ("dask://[::1]:8786", "tcp://[::1]:8786"),
        ("dask://[::1]", "tcp://[::1]:8786"),
    ],
)
def test_scheduler_addresses(given: str, address: str) -> None:
    assert scheduler_address(given) == address


@pytest.mark.parametrize(
    "given", ["local", "tcp://10.0.0.5:8786", "dask://", "dask://host:8786/path", "http://h:1"]
)
def test_what_is_not_a_scheduler_address(given: str) -> None:
    with pytest.raises(ValueError, match="not a Dask scheduler address"):
        scheduler_address(given)


def _versions(**workers: dict[str, str]) -> dict[str, Any]:
    ours = {"python": "3.11.7", "dask": "1", "distributed": "1", "rssmania": "0.1", "nh3": "0.3"}
    return {
        "client": {"packages": ours},
        "scheduler": {"packages": {**ours, "nh3": None}},  # parses nothing
        "workers": {addr: {"packages": {**ours, **changed}} for addr, changed in workers.items()},
    }


def test_versions_that_must_match() -> None:
    assert version_mismatches(_versions(w1={}, w2={"numpy": "2"})) == []
    assert version_mismatches(_versions(w1={"nh3": "0.2"}, w2={"rssmania": None})) == [
        "nh3: 0.3 here, 0.2 on worker w1",
        "rssmania: 0.1 here, missing on worker w2",
    ]
    odd_scheduler = _versions(w1={})
    odd_scheduler["scheduler"]["packages"]["distributed"] = "2"
    assert version_mismatches(odd_scheduler) == ["distributed: 1 here, 2 on scheduler"]


def _entry(key: str, body: str) -> ParsedEntry:
    return ParsedEntry(key, f"h:{body}", body, None, None, None, None, (), None, None)


def test_a_worker_sends_back_only_entries_the_coordinator_may_not_have() -> None:
    old, edited, new = _entry("a", "1"), _entry("b", "2 edited"), _entry("c", "3")
    outcome = PollOutcome("http://e/", feed=ParsedFeed("T", None, (old, edited, new)))
    known = frozenset({entry_digest("a", "h:1"), entry_digest("b", "h:2")})
    kept = without_known(outcome, known)
    assert kept.feed is not None
    assert [e.key for e in kept.feed.entries] == ["b", "c"]
    assert without_known(outcome, None) is outcome
    assert without_known(PollOutcome("http://e/"), known) == PollOutcome("http://e/")


def test_known_entries_are_dropped_on_the_worker(cluster: DaskCluster, server: FeedServer) -> None:
    url = server.set("/k.xml", rss("K", items("k", 5)))
    stored: dict[str, str] = {}
    pool = DaskPool(cluster.address, known_entries=lambda u: stored if u == url else {})
    try:
        (first,) = pool.submit(poll_batch, SETTINGS, jobs_for(url)).result(timeout=60)
        assert first.feed is not None
        assert len(first.feed.entries) == 5
        stored.update({e.key: e.content_hash for e in first.feed.entries[1:]})
        (second,) = pool.submit(poll_batch, SETTINGS, jobs_for(url)).result(timeout=60)
        assert second.feed is not None
        assert [e.key for e in second.feed.entries] == [first.feed.entries[0].key]
    finally:
        pool.close()


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    pool = DaskPool("tcp://127.0.0.1:1", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(ClusterError, match="cannot reach the scheduler"):
        pool.warm_up()
    assert time.monotonic() - started < 10
    pool.close()


@pytest.mark.parametrize(
    "answers", [pytest.param(False, marks=pytest.mark.slow), True], ids=["silent", "http"]
)
@pytest.mark.slow
def test_another_service_on_the_port_is_a_clear_error(answers: bool, server: FeedServer) -> None:
    # A port that accepts and never answers hung Client() for good (two
    # Ctrl+C did not end it); an HTTP server did the same.
    pytest.importorskip("distributed")
    silent = socket.create_server((LOOPBACK, 0))
    address = (
        server.url("/").rstrip("/") if answers else f"http://{LOOPBACK}:{silent.getsockname()[1]}"
    )
    pool = DaskPool(address.replace("http://", "tcp://"), connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(ClusterError, match="Dask scheduler"):
        pool.warm_up()
    assert time.monotonic() - started < 15
    pool.close()
    silent.close()


def test_a_cluster_with_other_versions_is_refused(
    cluster: DaskCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A package that this process has and the workers have not (Dask caches
    # the versions it read, so a package of its own, read here for the first time).
    fake = tmp_path / "rssmania_probe-1.0.dist-info"
    fake.mkdir()
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: rssmania-probe\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("rssmania._dask.connect.POLL_PACKAGES", (*POLL_PACKAGES, "rssmania-probe"))
    pool = DaskPool(cluster.address)
    with pytest.raises(ClusterError, match="versions differ") as caught:
        pool.warm_up()
    assert "rssmania-probe: 1.0 here, missing on worker tcp://127.0.0.1:" in str(caught.value)
    pool.close()


def test_the_test_cluster_listens_on_loopback_only(cluster: DaskCluster) -> None:
    listening = cluster.listening()
    assert listening, "no listening socket found"
    assert all(address.startswith("127.") for address in listening), listening


def test_tls_without_a_client_certificate_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    pool = DaskPool("tls://127.0.0.1:1", connect_timeout=1)
    with pytest.raises(ClusterError, match="TLS needs this client's certificate"):
        pool.warm_up()
    pool.close()
