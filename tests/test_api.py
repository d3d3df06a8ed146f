"""The public surface: what `import rssmania` offers, and that every error pickles."""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
from pathlib import Path

import pytest

import rssmania
from rssmania import exceptions
from tests.feedserver import FeedServer, items, rss


def test_all_is_sorted_and_complete() -> None:
    assert rssmania.__all__ == sorted(rssmania.__all__)
    public = {name for name in vars(rssmania) if not name.startswith("_")}
    public -= {"annotations", "TYPE_CHECKING", "core", "exceptions", "types", "sinks", "cli"}
    public -= {"library", "accounts", "discovery", "web"}  # public modules other tests import
    assert public <= set(rssmania.__all__)
    for name in rssmania.__all__:
        assert hasattr(rssmania, name)


ERRORS = [
    exceptions.InvalidFeedURLError("ftp://x", "bad scheme"),
    exceptions.FeedExistsError("http://x/"),
    exceptions.FeedNotFoundError("http://x/"),
    exceptions.InvalidOPMLError("f.opml", "not XML"),
    exceptions.StorageError("db", "locked"),
    exceptions.DatabaseLockedError("db", "locked"),
    exceptions.UnstorableDataError("db", "a value cannot be stored"),
    exceptions.AggregatorStateError("closed"),
    exceptions.WorkerStartupError(),
    exceptions.ClusterError("tcp://127.0.0.1:8786", "cannot reach the scheduler"),
    exceptions.InvalidSearchError("before:x", "bad date"),
    exceptions.UserNotFoundError("bob"),
    exceptions.UserExistsError("bob"),
    exceptions.UserRequiredError("alice, bob"),
    exceptions.EntryNotFoundError(42),
    exceptions.CategoryNotFoundError("Tech"),
    exceptions.CategoryExistsError("Tech"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_pickles(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert isinstance(copy, rssmania.RssmaniaError)


def test_every_error_class_is_covered() -> None:
    classes = {
        c
        for c in vars(exceptions).values()
        if isinstance(c, type) and issubclass(c, rssmania.RssmaniaError)
    }
    assert classes - {rssmania.RssmaniaError} == {type(e) for e in ERRORS}


def test_feed_error_kinds_are_an_enum_that_takes_their_words() -> None:
    error = rssmania.FeedError("throttled", "slow down", 429)
    assert error.kind is rssmania.FeedErrorKind.THROTTLED
    assert error.kind == "throttled"
    assert error == rssmania.FeedError(rssmania.FeedErrorKind.THROTTLED, "slow down", 429)
    assert pickle.loads(pickle.dumps(error)) == error
    with pytest.raises(ValueError, match="nonsense"):
        rssmania.FeedError("nonsense", "?")  # type: ignore[arg-type]


def test_closed_aggregator_refuses_work(tmp_path: Path) -> None:
    agg = rssmania.Aggregator(tmp_path / "a.sqlite", workers=1)
    agg.close()
    agg.close()  # twice is fine
    with pytest.raises(rssmania.AggregatorStateError):
        agg.get_feeds()
    with pytest.raises(rssmania.AggregatorStateError), agg:
        pass


def test_only_one_poller_per_database(server: FeedServer, tmp_path: Path) -> None:
    url = server.set("/a.xml", rss("A", items("a", 1)))
    db = tmp_path / "a.sqlite"
    with rssmania.Aggregator(db, workers=1) as first, rssmania.Aggregator(db, workers=1) as second:
        first.add_feed(url)
        list(first.update())
        with pytest.raises(rssmania.DatabaseLockedError):
            second.update()
        assert [f.url for f in second.get_feeds()] == [url]  # reading is fine


def test_one_poller_per_database_whatever_name_leads_to_it(
    server: FeedServer, tmp_path: Path
) -> None:
    # Through a symlink the lock file had another name: two pollers on one
    # database, every feed fetched twice and articles reported twice.
    url = server.set("/a.xml", rss("A", items("a", 1)))
    db = tmp_path / "a.sqlite"
    (tmp_path / "link.sqlite").symlink_to(db)
    with rssmania.Aggregator(db, workers=1) as first:
        first.add_feed(url)
        list(first.update())
        for other in (tmp_path / "link.sqlite", tmp_path / "." / "a.sqlite"):
            with rssmania.Aggregator(other, workers=1) as second:
                with pytest.raises(rssmania.DatabaseLockedError):
                    second.update()
                assert [f.url for f in second.get_feeds()] == [url]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"interval": -5.0}, TypeError),  # stored as -5: `run` polled the feed nonstop
        ({"interval": 60.0}, TypeError),
        ({"interval": "60"}, TypeError),
        ({"interval": True}, TypeError),
        ({"interval": 0}, ValueError),
        ({"title": b"bytes"}, TypeError),  # stored as a BLOB: every command failed after
        ({"category": 5}, TypeError),
        ({"enabled": "no"}, TypeError),  # was ignored without a word
        ({"title": "caf\udce9"}, ValueError),  # a non-UTF-8 argument: SQLite refuses it
    ],
)
def test_settings_of_the_wrong_type_are_refused_and_nothing_changes(
    tmp_path: Path, settings: dict[str, object], error: type[Exception]
) -> None:
    with rssmania.Aggregator(tmp_path / "a.sqlite", workers=1) as agg:
        before = agg.add_feed("http://127.0.0.1:9/a.xml", title="A")
        with pytest.raises(error):
            agg.set_feed(before.url, **settings)  # type: ignore[arg-type]
        assert agg.get_feed(before.url) == before
        with pytest.raises(TypeError):
            agg.add_feed("http://127.0.0.1:9/b.xml", title=b"B")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            agg.get_entries(limit="x")  # type: ignore[arg-type]
        assert [f.url for f in agg.get_feeds()] == [before.url]


@pytest.mark.parametrize("agent", ["", "a\nb", "rssmania\r\nX-Evil: 1", "x\x00", "x\udcff", 5])
def test_a_user_agent_that_cannot_be_sent_is_refused(tmp_path: Path, agent: object) -> None:
    with pytest.raises(ValueError, match="user agent"):
        rssmania.Aggregator(tmp_path / "a.sqlite", user_agent=agent)  # type: ignore[arg-type]


def test_another_thread_may_stop_a_round_but_not_close_it(
    server: FeedServer, tmp_path: Path
) -> None:
    # close() from a GUI thread during a round failed half-way ("generator
    # already executing") and left the workers, the database and the lock.
    urls = [server.set(f"/t{n}.xml", rss("T", items(f"t{n}", 1))) for n in range(3)]
    db = tmp_path / "a.sqlite"
    with rssmania.Aggregator(db, workers=2) as agg:
        agg.add_feeds(urls)
        errors: list[BaseException] = []

        def other_thread() -> None:
            for call in (agg.close, agg.get_feeds, lambda: list(agg.update())):
                try:
                    call()
                except rssmania.AggregatorStateError as exc:
                    errors.append(exc)
            agg.stop()  # the one thing another thread may do, with in_flight()
            agg.in_flight()

        rounds = agg.update()
        next(rounds)
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(timeout=30)
        assert len(errors) == 3
        assert all("thread that created it" in str(e) for e in errors)
        list(rounds)  # stopped, in this thread
        assert len(agg.get_feeds()) == 3  # still open here
    with rssmania.Aggregator(db, workers=1) as again:  # the lock was let go
        assert len(list(again.update(all_feeds=True))) == 3


def test_outbox_keeps_changes_until_acknowledged(server: FeedServer, tmp_path: Path) -> None:
    """A crash between commit and print loses nothing: the next run shows the change."""
    url = server.set("/o.xml", rss("O", items("o", 3)))
    db = tmp_path / "o.sqlite"
    with rssmania.Aggregator(db, workers=1, outbox=True) as agg:
        agg.add_feed(url)
        (result,) = agg.update()
        seqs = [c.seq for c in result.changes]
        assert len(seqs) == 3
        assert seqs == sorted(seqs)
        agg.ack_changes(seqs[0])
    with rssmania.Aggregator(db, workers=1, outbox=True) as agg:
        pending = agg.pending_changes()
        assert [c.entry.id for c in pending] == [c.entry.id for c in result.changes[1:]]
        agg.ack_changes(pending[-1].seq)
        assert agg.pending_changes() == []


def test_entering_an_aggregator_twice_is_an_error(tmp_path: Path) -> None:
    agg = rssmania.Aggregator(tmp_path / "twice.sqlite", workers=1)
    with agg:
        with pytest.raises(rssmania.AggregatorStateError, match="with block already"), agg:
            pass
        agg.get_feeds()  # the first with still holds


def test_an_aggregator_refused_its_options_leaves_no_database_open(tmp_path: Path) -> None:
    db = tmp_path / "options.sqlite"

    def open_files() -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                found.append(os.readlink(f"/proc/self/fd/{fd}"))
        return [name for name in found if name.startswith(str(db))]

    with pytest.raises(ValueError, match="not a Dask scheduler address"):
        rssmania.Aggregator(db, executor="dask://a/b")
    assert open_files() == []
