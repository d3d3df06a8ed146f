"""A round, end to end through the public API: real server, real SQLite, real workers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rssmania import EntryStatus, FeedExistsError, FeedResult, InvalidFeedURLError
from rssmania._poll.parse import HASH_SCHEME
from tests.feedserver import FeedServer, Item, items, rss, wait_for
from tests.fixtures import poll_batch_dying_on_crash
from tests.fixtures import unspaced as Aggregator


def reported(results: list[FeedResult]) -> list[tuple[str, str, str]]:
    return sorted(
        (c.entry.feed_url, c.entry.id, c.status.value) for r in results for c in r.changes
    )


def test_each_entry_is_reported_once_then_only_what_is_new(
    server: FeedServer, db: Path, workers: int
) -> None:
    urls = [server.set(f"/f{i}.xml", rss(f"Feed {i}", items(f"f{i}", 5))) for i in range(6)]
    with Aggregator(db, workers=workers) as agg:
        for url in urls:
            agg.add_feed(url)

        first = list(agg.update(all_feeds=True))
        assert len(first) == 6
        assert all(r.error is None for r in first)
        assert reported(first) == sorted(
            (url, f"f{i}-{n}", "new") for i, url in enumerate(urls) for n in range(5)
        )

        second = list(agg.update(all_feeds=True))
        assert reported(second) == []
        assert all(r.not_modified for r in second), "validators must be sent back"

        # f0 gains a dated entry, f1 one without a date, f2 one dated years before the rest.
        server.set("/f0.xml", rss("Feed 0", items("f0", 6)))
        undated = Item(guid="f1-undated", title="no date")
        server.set("/f1.xml", rss("Feed 1", [undated, *items("f1", 5)]))
        old = Item(guid="f2-old", title="old news", date=1_000_000_000.0)
        server.set("/f2.xml", rss("Feed 2", [*items("f2", 5), old]))

        third = list(agg.update(all_feeds=True))
        assert reported(third) == [
            (urls[0], "f0-5", "new"),
            (urls[1], "f1-undated", "new"),
            (urls[2], "f2-old", "new"),
        ]
        assert reported(list(agg.update(all_feeds=True))) == []


def test_an_edited_entry_is_updated_not_new(server: FeedServer, db: Path, workers: int) -> None:
    entries = items("e", 3)
    url = server.set("/e.xml", rss("Edits", entries))
    with Aggregator(db, workers=workers) as agg:
        agg.add_feed(url)
        list(agg.update(all_feeds=True))
        edited = Item(
            guid="e-1", title="e article 1 (corrected)", link=entries[1].link, date=entries[1].date
        )
        server.set("/e.xml", rss("Edits", [entries[0], edited, entries[2]]))
        (result,) = agg.update(all_feeds=True)
        assert [(e.id, e.status) for e in result.updated] == [("e-1", EntryStatus.UPDATED)]
        assert result.new == ()
        stored = {e.id: e for e in agg.get_entries()}
        assert stored["e-1"].title == "e article 1 (corrected)"
        assert stored["e-1"].status is EntryStatus.UPDATED
        assert len(stored) == 3


def test_an_entry_that_flips_between_two_versions_is_reported_once(
    server: FeedServer, db: Path
) -> None:
    # Two servers behind one name, one of them serving a stale copy: each
    # poll saw the other version, and the entry was "updated" every time.
    first = items("v", 2)
    edited = Item(guid="v-1", title="v article 1 (fixed)", link=first[1].link, date=first[1].date)
    versions = [rss("Flip", first), rss("Flip", [first[0], edited])]
    url = server.set("/v.xml", versions[0])
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        assert len(next(iter(agg.update(all_feeds=True))).new) == 2
        server.set("/v.xml", versions[1])
        (changed,) = agg.update(all_feeds=True)
        assert [(e.id, e.title) for e in changed.updated] == [("v-1", "v article 1 (fixed)")]
        for n in range(4):
            server.set("/v.xml", versions[n % 2])
            (again,) = agg.update(all_feeds=True)
            assert (again.new, again.updated, again.error) == ((), (), None)
            stored = {e.id: e.title for e in agg.get_entries()}
            assert stored["v-1"] == ("v article 1", "v article 1 (fixed)")[n % 2]
        # A third version is news again.
        server.set(
            "/v.xml", rss("Flip", [first[0], Item(guid="v-1", title="third", link=first[1].link)])
        )
        assert [e.title for e in next(iter(agg.update(all_feeds=True))).updated] == ["third"]


@pytest.mark.slow
def test_an_interval_set_while_its_feed_is_polled_holds(server: FeedServer, db: Path) -> None:
    # The poll planned its next check with the interval it started with: set
    # --interval 60 during it was undone, the next check a day away.
    url = server.set("/slow.xml", rss("S", items("s", 1)), delay=1.0)
    failed: list[BaseException] = []

    def set_meanwhile() -> None:
        try:
            wait_for(lambda: server.count("/slow.xml") == 2, what="the second poll")
            with Aggregator(db, workers=1) as other:
                other.set_feed(url, interval=60)
        except BaseException as exc:  # seen by the test's thread below
            failed.append(exc)

    with Aggregator(db, workers=1, default_interval=86400) as agg:
        agg.add_feed(url)
        assert len(list(agg.update())) == 1
        setter = threading.Thread(target=set_meanwhile)
        setter.start()
        [result] = list(agg.update(all_feeds=True))
        setter.join()
        assert not failed, failed
        feed = agg.get_feed(url)
        assert feed.interval == 60
        assert feed.last_checked is not None
        assert feed.next_check == feed.last_checked + timedelta(seconds=60)
        assert result.feed.next_check == feed.next_check


def test_an_interval_set_on_a_feed_removed_since_ends_no_round(db: Path) -> None:
    # Removed between storing its result and re-planning its next check.
    with Aggregator(db, workers=1) as agg:
        feed = agg.add_feed("http://gone.example/feed")
        agg.remove_feed(feed.url)
        assert agg._rounds._interval_set_meanwhile(feed, datetime.now(UTC)) == feed


def test_a_shorter_interval_applies_at_once(server: FeedServer, db: Path) -> None:
    # set --interval 60 on a feed checked daily left its next check a day away.
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    url = server.set("/i.xml", rss("I", items("i", 1)))
    with Aggregator(db, workers=1, now=lambda: clock[0], default_interval=86400) as agg:
        agg.add_feed(url)
        assert len(list(agg.update())) == 1
        checked = agg.get_feed(url).last_checked
        assert checked is not None
        assert agg.get_feed(url).next_check >= checked + timedelta(days=1)
        assert agg.set_feed(url, interval=60).next_check == checked + timedelta(seconds=60)
        assert agg.set_feed(url, interval=7200).next_check == checked + timedelta(seconds=60)
        clock[0] += timedelta(seconds=61)
        assert [r.feed.url for r in agg.update()] == [url]
        # Back to the default: from the last check on, not before.
        assert agg.set_feed(url, interval=None).next_check >= clock[0] + timedelta(seconds=60)


@pytest.mark.slow  # SQLite waits 10 s before it says locked
def test_watch_waits_out_a_database_another_program_keeps_locked(
    server: FeedServer, db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A write held past SQLite's 10 s wait (a backup, a sqlite3 shell) ended `run`.
    url = server.set("/w.xml", rss("W", items("w", 2)))
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        released = threading.Timer(12, lambda: other.execute("COMMIT"))
        released.start()
        try:
            watching = agg.watch(idle=0.1)
            first = next(watching)
            assert not released.is_alive(), "stored while the other program held its write"
            assert len(first.new) == 2
            assert "locked by another process; trying again" in caplog.text
            agg.stop()
            list(watching)
        finally:
            released.cancel()
            released.join()
            other.close()
    with Aggregator(db, workers=1) as agg:
        assert len(agg.get_entries()) == 2


def test_an_entry_read_by_the_other_parser_next_time_is_not_new_again(
    server: FeedServer, db: Path
) -> None:
    # No guid, a relative link: the fast path's key was "/posts/1", feedparser's
    # the resolved link. A new post whose text mentions <item> makes the fast
    # path decline the document (fewer entries than elements), and the old
    # post was announced a second time.
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Rel</title>'
    old = "<item><title>First post</title><link>/posts/1</link><description>1</description></item>"
    new = (
        "<item><title>How RSS works</title><link>/posts/2</link>"
        "<description><![CDATA[Each post is an <item> element.]]></description></item>"
    )
    url = server.set("/rel.xml", f"{head}{old}</channel></rss>")
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        (first,) = agg.update(all_feeds=True)
        assert [e.title for e in first.new] == ["First post"]
        server.set("/rel.xml", f"{head}{new}{old}</channel></rss>")
        (second,) = agg.update(all_feeds=True)
        assert [e.title for e in second.new] == ["How RSS works"]
        assert second.updated == ()
        assert sorted(e.title for e in agg.get_entries()) == ["First post", "How RSS works"]


def test_one_feed_written_many_ways_is_one_subscription(server: FeedServer, db: Path) -> None:
    # Each was a subscription of its own, and every article was announced once per copy.
    url = server.set("/same.xml", rss("Same", items("same", 2)))
    host = url.split("//", 1)[1].split("/", 1)[0]
    ip, port = host.split(":")
    forms = [
        url.replace("http://", "HTTP://"),
        url + "#top",
        url + "?",
        f"http://{ip}:0{port}/same.xml",
        f"http://{host}/./feeds/../same.xml",
        # IPv4 as browsers read it (the HTTP client refused it on every poll).
        f"http://2130706433:{port}/same.xml",
        f"http://127.1:{port}/same.xml",
    ]
    with Aggregator(db, workers=1) as agg:
        assert [f.url for f in agg.add_feeds([url, *forms])] == [url]
        for form in forms:
            with pytest.raises(FeedExistsError):
                agg.add_feed(form)
        (result,) = agg.update()
        assert len(result.new) == 2
        # Any of its forms names it.
        assert agg.set_feed(forms[0], title="Mine").display_title == "Mine"
        assert len(agg.get_entries(feed_url=forms[1])) == 2
        agg.remove_feed(forms[2])
        assert agg.get_feeds() == []


def test_an_international_host_is_one_subscription_in_both_spellings(db: Path) -> None:
    with Aggregator(db, workers=1) as agg:
        feed = agg.add_feed("http://B\u00fccher.example/f")
        assert feed.url == "http://xn--bcher-kva.example/f"  # as it is sent
        with pytest.raises(FeedExistsError):
            agg.add_feed("http://xn--bcher-kva.example/f")
        assert agg.get_feed("http://b\u00fccher.example/f") == feed
        with pytest.raises(InvalidFeedURLError, match="not a valid domain name"):
            agg.add_feed("http://" + "\u00e4" * 70 + ".example/f")


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        # IDNA 2003 (Python's codec) made these two other domains (fass.de, and a final
        # sigma turned into a plain one).
        ("http://fa\u00df.de/feed", "http://xn--fa-hia.de/feed"),
        ("http://\u03c3\u03b1\u03c2.gr/", "http://xn--mxa8ab.gr/"),
        ("http://h.example/f%31.xml", "http://h.example/f1.xml"),
        ("http://h.example/%7euser/", "http://h.example/~user/"),
        ("http://h.example/caf\u00e9?q=%e2%82%ac", "http://h.example/caf%C3%A9?q=%E2%82%AC"),
    ],
)
def test_a_url_is_stored_as_it_is_sent_and_subscribed_once(db: Path, typed: str, sent: str) -> None:
    # Each spelling was its own subscription, every article stored and shown twice.
    with Aggregator(db, workers=1) as agg:
        assert agg.add_feed(typed).url == sent
        with pytest.raises(FeedExistsError):
            agg.add_feed(sent)
        assert agg.get_feed(typed).url == sent


@pytest.mark.parametrize(
    "url", ["http://a\u200db.example/", "http://[::1]evil.example/feed", "http://[::1]x:80/"]
)
def test_a_host_that_cannot_be_sent_as_written_is_refused(db: Path, url: str) -> None:
    # A zero-width joiner was dropped (another host), the text after "]" too.
    with Aggregator(db, workers=1) as agg, pytest.raises(InvalidFeedURLError):
        agg.add_feed(url)


def test_titles_and_categories_are_stored_as_export_writes_them(db: Path) -> None:
    # add --category '' stored an empty category (set's '' means none), and
    # "/ A //B/ " was kept as typed but exported as A/B.
    with Aggregator(db, workers=1) as agg:
        feed = agg.add_feed("http://127.0.0.1:9/a.xml", title="  ", category="/ A //B/ ")
        assert (feed.user_title, feed.category) == (None, "A/B")
        (other,) = agg.add_feeds(["http://127.0.0.1:9/b.xml"], category="")
        assert other.category is None
        feed = agg.set_feed("http://127.0.0.1:9/a.xml", title=" Mine ", category=" C/ ")
        assert (feed.user_title, feed.category) == ("Mine", "C")


def test_identity_falls_back_from_guid_to_link_to_content(server: FeedServer, db: Path) -> None:
    doc = rss(
        "Ids",
        [
            Item(guid="g1", title="has guid", link="https://example.org/a"),
            Item(guid=None, title="has link", link="https://example.org/b"),
            Item(guid=None, title="has nothing", description="just words"),
        ],
    )
    url = server.set("/ids.xml", doc)
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        (result,) = agg.update(all_feeds=True)
        ids = sorted(e.id for e in result.new)
        assert ids[:2] == ["g1", "https://example.org/b"]
        assert ids[2].startswith("sha256:")
        # A server that drops its validators: the same document must not look new.
        server.set("/ids.xml", doc, validators=False)
        (again,) = agg.update(all_feeds=True)
        assert again.changes == ()


def test_dates_are_utc_aware_and_fall_back(server: FeedServer, db: Path) -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Dates</title><id>urn:d</id>
<updated>2024-05-01T12:00:00+02:00</updated>
<entry><id>urn:1</id><title>only updated</title><updated>2024-05-01T12:00:00+02:00</updated></entry>
<entry><id>urn:2</id><title>both</title><published>2024-01-01T00:00:00Z</published>
<updated>2024-03-01T00:00:00Z</updated></entry>
</feed>"""
    url = server.set("/d.xml", atom, content_type="application/atom+xml")
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        list(agg.update(all_feeds=True))
        by_id = {e.id: e for e in agg.get_entries()}
    only_updated = by_id["urn:1"]
    assert only_updated.updated == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert only_updated.published == only_updated.updated
    both = by_id["urn:2"]
    assert both.published == datetime(2024, 1, 1, tzinfo=UTC)
    assert both.updated == datetime(2024, 3, 1, tzinfo=UTC)
    assert both.published.tzinfo is not None


BAD = {
    "/404.xml": {"body": "gone", "status": 404, "content_type": "text/plain"},
    "/500.xml": {"body": "oops", "status": 500, "content_type": "text/plain"},
    "/malformed.xml": {"body": "<rss><channel><title>x</tit", "content_type": "text/xml"},
    "/empty.xml": {"body": ""},
    "/html.xml": {
        "body": "<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>",
        "content_type": "text/html",
    },
}
EXPECTED_ERRORS = {
    "/404.xml": "HTTP 404",
    "/500.xml": "HTTP 500",
    "/malformed.xml": "malformed",
    "/empty.xml": "empty body",
    "/html.xml": "HTML page",
}


def test_bad_feeds_get_an_error_and_the_rest_succeed(
    server: FeedServer, db: Path, workers: int
) -> None:
    good = [server.set(f"/good{i}.xml", rss(f"Good {i}", items(f"g{i}", 3))) for i in range(3)]
    bad = {path: server.set(path, **spec) for path, spec in BAD.items()}  # type: ignore[arg-type]
    with Aggregator(db, workers=workers) as agg:
        for url in [*good, *bad.values()]:
            agg.add_feed(url)
        results = {r.feed.url: r for r in agg.update(all_feeds=True)}
        assert len(results) == 8
        for url in good:
            assert results[url].error is None
            assert len(results[url].new) == 3
        for path, url in bad.items():
            error = results[url].error
            assert error is not None, path
            assert EXPECTED_ERRORS[path] in error.message, (path, error)
        feeds = {f.url: f for f in agg.get_feeds()}
        for url in bad.values():
            assert feeds[url].error_count == 1
            assert feeds[url].last_error
            assert feeds[url].next_check is not None
        # A second failure grows the streak; the retry comes later each time.
        list(agg.update(all_feeds=True))
        again = {f.url: f for f in agg.get_feeds()}
        url404 = bad["/404.xml"]
        assert again[url404].error_count == 2
        assert again[url404].next_check > feeds[url404].next_check  # type: ignore[operator]
        # A feed that heals is healthy again.
        server.set("/404.xml", rss("Back", items("back", 2)))
        healed = {r.feed.url: r for r in agg.update(all_feeds=True)}
        assert healed[url404].error is None
        assert agg.get_feed(url404).error_count == 0


@pytest.mark.parametrize(
    ("n_feeds", "crashers"),
    [(21, [10]), pytest.param(40, [7, 8, 31], marks=pytest.mark.slow)],  # several: 8 s
)
def test_a_worker_that_dies_does_not_stop_the_round(
    server: FeedServer, db: Path, n_feeds: int, crashers: list[int]
) -> None:
    paths = [f"/crash{i}.xml" if i in crashers else f"/ok{i}.xml" for i in range(n_feeds)]
    urls = [server.set(path, rss(path, items(path[1:-4], 2))) for path in paths]
    crash = {urls[i] for i in crashers}
    with Aggregator(db, workers=2, _poll_batch=poll_batch_dying_on_crash) as agg:
        for url in urls:
            agg.add_feed(url)
        results = {r.feed.url: r for r in agg.update(all_feeds=True)}
        assert set(results) == set(urls)
        for url in urls:
            error = results[url].error
            if url in crash:
                assert error is not None
                assert error.kind == "worker_died"
                assert agg.get_feed(url).error_count == 1
            else:  # only the feeds that kill a worker are blamed
                assert error is None, (url, error)
                assert len(results[url].new) == 2
        # The pool was rebuilt: the next round runs normally.
        assert {r.feed.url for r in agg.update(all_feeds=True)} == set(urls)


def test_a_feed_removed_while_polled_is_dropped(db: Path) -> None:
    with FeedServer(hosts=2) as server:
        urls = [server.set(f"/r{i}.xml", rss(f"R {i}", items(f"r{i}", 1))) for i in range(6)]
        slow = server.set("/slow.xml", rss("Slow", items("slow", 1)), host=1, delay=1.0)
        _remove_while_polled(db, urls, slow)


def _remove_while_polled(db: Path, urls: list[str], slow: str) -> None:
    with Aggregator(db, workers=2) as agg, Aggregator(db, workers=1) as other:
        for url in [slow, *urls]:
            agg.add_feed(url)
        results = agg.update(all_feeds=True)
        first = next(results)
        other.remove_feed(slow)  # from another connection, as `rssmania remove` would
        rest = [first, *results]
        assert {r.feed.url for r in rest} == set(urls)
        assert {f.url for f in agg.get_feeds()} == set(urls)


def test_a_stop_before_the_round_ends_it_and_is_not_carried_over(
    server: FeedServer, db: Path
) -> None:
    url = server.set("/s.xml", rss("S", items("s", 1)))
    with Aggregator(db, workers=2) as agg:
        agg.add_feed(url)
        agg.stop()
        assert list(agg.update()) == []
        assert agg.get_feed(url).last_checked is None  # still due
        assert [r.feed.url for r in agg.update()] == [url]


def test_database_is_wal_and_consistent(server: FeedServer, db: Path) -> None:
    url = server.set("/a.xml", rss("A", items("a", 4)))
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        list(agg.update(all_feeds=True))
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM entries").fetchone()[0] == 4


def test_due_feeds_only_unless_all(server: FeedServer, db: Path) -> None:
    url = server.set("/due.xml", rss("Due", items("due", 1)))
    with Aggregator(db, workers=1, default_interval=3600) as agg:
        agg.add_feed(url)
        assert len(list(agg.update())) == 1  # never checked: due
        assert list(agg.update()) == []  # checked a moment ago: not due for an hour
        assert len(list(agg.update(all_feeds=True))) == 1
    assert server.count("/due.xml") == 2


def test_the_parser_never_gets_a_path(server: FeedServer, db: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text(rss("Secret", items("secret", 1)))
    # A body that is a path: feedparser would open that file if given bytes.
    url = server.set("/path.xml", str(secret), content_type="text/plain")
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        (result,) = agg.update(all_feeds=True)
    assert result.changes == ()
    assert result.error is not None


@pytest.mark.parametrize(
    "bad", ["ftp://example.org/f", "file:///etc/passwd", "/etc/passwd", "http://"]
)
def test_add_refuses_non_http_urls(db: Path, bad: str) -> None:
    with Aggregator(db, workers=1) as agg:
        with pytest.raises(InvalidFeedURLError):
            agg.add_feed(bad)
        assert agg.get_feeds() == []


def test_a_round_left_half_way_leaves_the_rest_due(server: FeedServer, db: Path) -> None:
    urls = [server.set(f"/h{i}.xml", rss(f"H {i}", items(f"h{i}", 2))) for i in range(12)]
    with Aggregator(db, workers=2) as agg:
        for url in urls:
            agg.add_feed(url)
        first = next(iter(agg.update()))
        rest = list(agg.update())  # the first round is abandoned, its work in flight dropped
        assert {first.feed.url} | {r.feed.url for r in rest} == set(urls)
        assert first.feed.url not in {r.feed.url for r in rest}
        assert len(agg.get_entries()) == 24


def test_a_script_without_a_main_guard_polls_with_worker_processes(
    server: FeedServer, tmp_path: Path
) -> None:
    # Workers ran the caller's main module again: the script subscribed
    # again in each (FeedExistsError) and the workers died as they started.
    url = server.set("/g.xml", rss("G", items("g", 1)))
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import os, rssmania\n"
        "print('RAN IN', os.getpid())\n"
        f"agg = rssmania.Aggregator({str(tmp_path / 'g.sqlite')!r}, workers=2)\n"
        f"agg.add_feed({url!r})\n"
        "for result in agg.update(all_feeds=True):\n"
        "    print('NEW', [entry.title for entry in result.new])\n"
        "agg.close()\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("RAN IN") == 1
    assert "NEW ['g article 0']" in result.stdout


def test_entries_read_by_an_older_parser_are_refreshed_without_being_reported(
    server: FeedServer, db: Path
) -> None:
    url = server.set("/f.xml", rss("F", items("f", 3)))
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        (first,) = agg.update()
    assert len(first.new) == 3
    con = sqlite3.connect(db)
    with con:  # what a database of the first releases holds: unprefixed hashes
        con.execute("UPDATE entries SET content_hash = 'feedfacefeedfacefeedfacefeedface'")
    server.set("/f.xml", rss("F", items("f", 3)) + "<!-- regenerated -->")
    with Aggregator(db, workers=1) as agg:
        (second,) = agg.update(all_feeds=True)
    assert (len(second.new), len(second.updated)) == (0, 0)
    hashes = {row[0][:2] for row in con.execute("SELECT content_hash FROM entries")}
    assert hashes == {HASH_SCHEME + ":"}
