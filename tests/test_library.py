"""The reading layer through the public API: users, shared feeds, state, search, retention.

Real SQLite files, a real HTTP server on 127.0.0.1, and (where it says so)
real worker processes.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rssmania import (
    Aggregator,
    CategoryExistsError,
    CategoryNotFoundError,
    EntryNotFoundError,
    FeedNotFoundError,
    InvalidSearchError,
    Library,
    RetentionPolicy,
    UserExistsError,
    UserRequiredError,
)
from rssmania.exceptions import StorageError
from tests.conftest import rssmania
from tests.feedserver import FeedServer, items, rss

DATA = Path(__file__).parent / "data"


def poll(db: Path, *, workers: int = 1, **kwargs: object) -> int:
    with Aggregator(db, workers=workers, **kwargs) as agg:  # type: ignore[arg-type]
        return sum(len(r.changes) for r in agg.update(all_feeds=True))


# -- migration -----------------------------------------------------------------


def test_a_schema_4_database_migrates_into_a_first_user_with_nothing_lost(tmp_path: Path) -> None:
    # Written by rssmania at b2d259c (tests/data/make_schema4.py): three feeds,
    # a title, nested and plain categories, a paused feed, 13 entries of
    # which 3 not yet printed, 2 read and 1 starred.
    db = tmp_path / "old.sqlite"
    shutil.copy(DATA / "schema4.sqlite", db)
    with Library(db) as lib:
        (me,) = lib.users()
        assert not me.has_password
        feeds = {f.url.rsplit("/", 1)[1]: f for f in lib.feeds(me.id)}
        assert (feeds["a.xml"].user_title, feeds["a.xml"].category) == ("My A", "Tech/Python")
        assert feeds["b.xml"].category == "News"
        assert feeds["c.xml"].disabled_reason == "paused by you"
        every = lib.entries(me.id, limit=100).entries
        assert len(every) == 13
        state = {e.id: (e.read, e.starred) for e in every}
        assert {k for k, (read, _) in state.items() if read} == {"a-0", "b-0"}
        assert {k for k, (_, starred) in state.items() if starred} == {"a-1"}
        assert lib.counts(me.id).total == 11
        assert lib.counts(me.id).categories == {"Tech": 6, "Tech/Python": 6, "News": 2}
        # Stable ids: as the old rows had them.
        assert sorted(e.entry_id for e in every) == list(range(1, 14))
    with Aggregator(db, workers=1, outbox=True) as agg:
        assert [(c.seq, c.entry.id) for c in agg.pending_changes()] == [
            (11, "c-2"),
            (12, "a-5"),
            (13, "a-6"),
        ]
        assert agg.get_feed(feeds["a.xml"].url).user_title == "My A"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("PRAGMA application_id").fetchone() == (0x52534D41,)
    con.close()


def test_another_programs_database_is_told_by_its_header(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA application_id = 1234")
    con.execute("PRAGMA user_version = 5")
    con.close()
    with pytest.raises(StorageError, match="another application"):
        Library(db)


# -- users ---------------------------------------------------------------------


def test_a_new_database_needs_no_account_step(tmp_path: Path, server: FeedServer) -> None:
    url = server.set("/f.xml", rss("F", items("f", 2)))
    db = tmp_path / "new.sqlite"
    assert rssmania(db, "add", url).returncode == 0
    assert rssmania(db, "update").returncode == 0
    listed = rssmania(db, "entries", "--json")
    assert listed.returncode == 0
    assert '"read":false' in listed.stdout
    assert '"entry_id":' in listed.stdout
    with Library(db) as lib:
        (me,) = lib.users()
        ids = [e.entry_id for e in lib.entries(me.id).entries]
    assert rssmania(db, "read", str(ids[0])).returncode == 0
    unread = rssmania(db, "entries", "--unread", "--json").stdout.splitlines()
    assert len(unread) == 1
    done = rssmania(db, "read", "999999")
    assert done.returncode == 2
    assert "no entry 999999" in done.stderr


def test_passwords_and_tokens_are_stored_hashed(tmp_path: Path) -> None:
    db = tmp_path / "u.sqlite"
    with Library(db) as lib:
        alice = lib.add_user("alice", "correct horse")
        with pytest.raises(UserExistsError):
            lib.add_user("ALICE", "x")
        token = lib.new_token("alice")
        assert lib.authenticate("alice", "correct horse") == alice
        assert lib.authenticate("alice", "wrong") is None
        assert lib.authenticate("nobody", "correct horse") is None
        assert lib.user_by_token(token) == alice
        assert lib.user_by_token(token + "x") is None
        lib.add_user("bob", "pw")
        with pytest.raises(UserRequiredError):
            lib.default_user()
    raw = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes()
                             if db.with_name(db.name + "-wal").exists() else b"")  # fmt: skip
    assert b"correct horse" not in raw
    assert token.encode() not in raw


def test_user_commands(tmp_path: Path) -> None:
    db = tmp_path / "u.sqlite"
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    assert rssmania(db, "user", "add", "alice", "--password-file", str(password)).returncode == 0
    assert "alice\tpassword set" in rssmania(db, "user", "list").stdout
    token = rssmania(db, "user", "token", "alice").stdout.strip()
    assert len(token) >= 40
    assert rssmania(db, "user", "add", "bob", "--password-file", str(password)).returncode == 0
    ambiguous = rssmania(db, "list")
    assert ambiguous.returncode == 2
    assert "several users" in ambiguous.stderr
    assert rssmania(db, "--user", "bob", "list").returncode == 0
    assert rssmania(db, "user", "remove", "bob", "--yes").returncode == 0
    assert rssmania(db, "list").returncode == 0  # alice alone again
    unknown = rssmania(db, "user", "passwd", "carol", "--password-file", str(password))
    assert unknown.returncode == 2
    assert "no such user: carol" in unknown.stderr


# -- shared feeds and per-user state --------------------------------------------


def test_two_users_share_one_feed_and_keep_their_own_state(
    tmp_path: Path, server: FeedServer
) -> None:
    shared = server.set("/shared.xml", rss("Shared", items("s", 3)))
    private = server.set("/private.xml", rss("Private", items("p", 2)))
    db = tmp_path / "two.sqlite"
    with Library(db) as lib:
        alice = lib.add_user("alice", "a")
        bob = lib.add_user("bob", "b")
        lib.add_feed(alice.id, shared, title="Alice's name for it")
        lib.add_feed(bob.id, shared, category="Friends")
        secret = lib.add_feed(bob.id, private)
    assert poll(db, workers=2) == 5
    assert server.count("/shared.xml") == 1  # one poll, however many follow it
    with Library(db) as lib:
        a_entries = lib.entries(alice.id).entries
        b_entries = lib.entries(bob.id).entries
        assert len(a_entries) == 3
        assert len(b_entries) == 5
        assert {e.feed_title for e in a_entries} == {"Alice's name for it"}
        first = a_entries[0].entry_id
        assert lib.mark_read(alice.id, [first]) == 1
        lib.star(alice.id, [first])
        assert lib.entry(alice.id, first).read
        assert lib.entry(alice.id, first).starred
        assert not lib.entry(bob.id, first).read
        assert not lib.entry(bob.id, first).starred
        assert lib.counts(alice.id).total == 2
        assert lib.counts(bob.id).total == 5
        # Bob's private feed and its entries do not exist for Alice, by any call.
        hidden = [e.entry_id for e in lib.entries(bob.id, feed=secret.id).entries]
        for call in (lib.mark_read, lib.mark_unread, lib.star, lib.unstar):
            with pytest.raises(EntryNotFoundError):
                call(alice.id, [first, hidden[0]])
        assert lib.entry(alice.id, first).starred  # all or nothing: still as it was
        with pytest.raises(EntryNotFoundError):
            lib.entry(alice.id, hidden[0])
        with pytest.raises(FeedNotFoundError):
            lib.feed(alice.id, secret.id)
        with pytest.raises(FeedNotFoundError):
            lib.mark_all_read(alice.id, feed=secret.id)
        with pytest.raises(FeedNotFoundError):
            lib.remove_feed(alice.id, secret.id)
        assert lib.entries(alice.id, feed=secret.id).entries == ()
        assert lib.entries(alice.id, ids=hidden).entries == ()
        assert lib.counts(bob.id).feeds[secret.id] == 2
        # Unsubscribing: the feed stays while someone follows it.
        shared_id = a_entries[0].feed_id
        lib.remove_feed(alice.id, shared_id)
        assert lib.entries(alice.id).entries == ()
        assert len(lib.entries(bob.id, feed=shared_id).entries) == 3
        lib.remove_feed(bob.id, shared_id)
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM feeds").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM entries").fetchone() == (2,)
    con.close()


def test_a_new_follower_of_a_stored_feed_gets_its_entries_unread(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.set("/f.xml", rss("F", items("f", 4)))
    db = tmp_path / "late.sqlite"
    with Library(db) as lib:
        lib.add_feed(lib.add_user("alice", "a").id, url)
    poll(db)
    with Library(db) as lib:
        bob = lib.add_user("bob", "b")
        feed = lib.add_feed(bob.id, url)
        assert feed.unread == 4
        assert len(lib.entries(bob.id, read=False).entries) == 4


def test_mark_all_read_before_a_date_or_an_id_leaves_what_came_later(
    tmp_path: Path, server: FeedServer
) -> None:
    a = server.set("/a.xml", rss("A", items("a", 5)))
    b = server.set("/b.xml", rss("B", items("b", 3)))
    db = tmp_path / "all.sqlite"
    with Library(db) as lib:
        me = lib.default_user()
        lib.add_feed(me.id, a, category="Tech/Python")
        lib.add_feed(me.id, b, category="News")
    poll(db)
    with Library(db) as lib:
        newest_first = lib.entries(me.id).entries
        cut = next(e for e in newest_first if e.id == "a-2")
        assert cut.published is not None
        # "Mark all read" as the clients send it: what is dated before this moment.
        assert lib.mark_all_read(me.id, category="Tech", before=cut.published) == 2
        assert {e.id for e in lib.entries(me.id, read=False, category="Tech").entries} == {
            "a-2", "a-3", "a-4",
        }  # fmt: skip
        b_ids = sorted(e.entry_id for e in newest_first if e.id.startswith("b-"))
        assert lib.mark_all_read(me.id, max_id=b_ids[1]) >= 2
        assert lib.counts(me.id).categories["News"] == 1
        left = lib.counts(me.id).total
        assert lib.mark_all_read(me.id) == left
        assert lib.counts(me.id).total == 0


def test_pages_follow_each_other_without_gaps_or_repeats(
    tmp_path: Path, server: FeedServer
) -> None:
    for n in range(3):
        server.set(f"/{n}.xml", rss(f"F{n}", items(f"f{n}", 7)))
    db = tmp_path / "pages.sqlite"
    with Library(db) as lib:
        me = lib.default_user()
        for n in range(3):
            lib.add_feed(me.id, server.url(f"/{n}.xml"))
    poll(db)
    with Library(db) as lib:
        everything = [e.entry_id for e in lib.entries(me.id, limit=1000).entries]
        for order in ("newest", "oldest", "id", "-id"):
            seen: list[int] = []
            page = lib.entries(me.id, limit=4, order=order)  # type: ignore[arg-type]
            seen += [e.entry_id for e in page.entries]
            while page.next is not None:
                page = lib.entries(me.id, limit=4, order=order, page=page.next)  # type: ignore[arg-type]
                seen += [e.entry_id for e in page.entries]
            assert sorted(seen) == sorted(everything), order
            assert len(seen) == len(set(seen)) == 21
        ids = sorted(everything)
        since = lib.entries(me.id, order="id", min_id=ids[9], limit=100).entries
        assert [e.entry_id for e in since] == ids[10:]
        with pytest.raises(ValueError, match="page key"):
            lib.entries(me.id, page="nonsense")


# -- search ----------------------------------------------------------------------


def test_search_finds_words_phrases_and_filters(tmp_path: Path, server: FeedServer) -> None:
    from tests.feedserver import Item  # noqa: PLC0415

    server.set("/py.xml", rss("Python news", [
        Item("p1", "Release of CPython", "https://x/1", "<p>The <b>interpreter</b> is faster</p>",
             1_700_000_000),
        Item("p2", "Café culture", "https://x/2", "A piece about coffee", 1_700_003_600),
    ]))  # fmt: skip
    server.set("/rs.xml", rss("Rust news", [
        Item("r1", "Rust release", "https://x/3", "The compiler is faster", 1_700_007_200),
    ]))  # fmt: skip
    db = tmp_path / "search.sqlite"
    with Library(db) as lib:
        me = lib.default_user()
        lib.add_feed(me.id, server.url("/py.xml"), category="Lang/Python")
        lib.add_feed(me.id, server.url("/rs.xml"), category="Lang/Rust")
    poll(db)  # an update leaves the index to the first search

    with Library(db) as lib:

        def keys(query: str) -> list[str]:
            return [e.id for e in lib.entries(me.id, search=query).entries]

        assert sorted(keys("faster")) == ["p1", "r1"]
        assert keys("interpreter") == ["p1"]  # HTML is stripped, the words kept
        assert keys('"is faster" -compiler') == ["p1"]
        assert keys("cafe") == ["p2"]  # diacritics folded
        assert sorted(keys("coffee OR compiler")) == ["p2", "r1"]
        assert keys("faster category:Lang/Rust") == ["r1"]
        assert keys('faster feed:"Python news"') == ["p1"]
        assert keys("rel*") == ["r1", "p1"]  # ranked: a title hit each; newest first on ties
        p1 = lib.entries(me.id, search="interpreter").entries[0].entry_id
        lib.mark_read(me.id, [p1])
        assert keys("faster is:unread") == ["r1"]
        assert keys("faster is:read") == ["p1"]
        assert keys("after:2023-11-14 before:2023-11-15") == ["p2", "p1"]  # by date
        with pytest.raises(InvalidSearchError, match="not a date"):
            lib.entries(me.id, search="before:yesterdayish")


def test_a_feeds_entry_count_follows_new_updated_and_repeated_entries(
    tmp_path: Path, server: FeedServer
) -> None:
    # Counted once per stored poll (schema 9), not per inserted row: an entry
    # that changes, one stored again, one listed twice count once each.
    first = items("c", 3)
    url = server.set("/c.xml", rss("C", first))
    db = tmp_path / "count.sqlite"
    with Library(db) as lib:
        me = lib.default_user()
        lib.add_feed(me.id, url)
    assert poll(db) == 3
    edited = replace(first[1], description="<p>Edited</p>")
    server.set("/c.xml", rss("C", [first[0], edited, edited, *items("c", 2, start=3)]))
    assert poll(db) == 3  # one updated, two new
    assert poll(db) == 0
    with Library(db) as lib:
        feed = lib.feeds(me.id)[0].id
        assert lib.entry_totals(me.id) == {feed: 5}
        assert lib.count_entries(me.id) == 5 == len(lib.entries(me.id).entries)


# -- retention -------------------------------------------------------------------


def test_retention_keeps_starred_unread_and_served_entries(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A transaction a entry: the chunks add up to what one transaction would delete.
    monkeypatch.setattr("rssmania._storage.retention.CHUNK", 1)
    url = server.set("/f.xml", rss("F", items("f", 6)))
    db = tmp_path / "keep.sqlite"
    with Library(db) as lib:
        me = lib.default_user()
        lib.add_feed(me.id, url)
    poll(db)
    server.set("/f.xml", rss("F", items("f", 2, start=4)))  # f-0..f-3 no longer served
    poll(db)
    later = datetime.now(UTC) + timedelta(days=61)
    with Library(db, now=lambda: later) as lib:
        assert lib.update_search_index() == 6
        by_key = {e.id: e.entry_id for e in lib.entries(me.id).entries}
        lib.mark_read(me.id, [by_key[k] for k in ("f-0", "f-1", "f-2", "f-4")])
        lib.star(me.id, [by_key["f-1"]])
        assert lib.prune(dry_run=True) == {url: 2}  # f-0, f-2: read, not starred, not served
        feed = lib.feeds(me.id)[0].id
        kept = lib.set_feed_retention(me.id, feed, read_days=None)  # this feed's own: forever
        assert kept == RetentionPolicy(read_days=None, unread_days=None, max_per_feed=2000)
        assert lib.prune(dry_run=True) == {}
        assert lib.set_feed_retention(me.id, feed, read_days="global").read_days == 60
        lib.set_retention(RetentionPolicy(read_days=90))
        assert lib.prune(dry_run=True) == {}
        lib.set_retention(RetentionPolicy())
        assert len(lib.entries(me.id).entries) == 6
        assert lib.prune() == {url: 2}
        assert sorted(by_key_ for by_key_ in (e.id for e in lib.entries(me.id).entries)) == [
            "f-1", "f-3", "f-4", "f-5",
        ]  # fmt: skip
        assert lib.counts(me.id).total == 2  # f-3, f-5
        # The totals the APIs give are kept per feed through inserts and prunes.
        assert lib.entry_totals(me.id) == {feed: 4}
        assert lib.count_entries(me.id) == 4
        assert lib.count_entries(me.id, read=True) == 2
        assert lib.count_entries(me.id, read=False, feed=feed) == 2
        assert lib.count_entries(me.id, starred=True) == 1
        assert lib.count_entries(me.id, min_id=by_key["f-3"]) == 2  # counted, not summed
    db_con = sqlite3.connect(db)
    indexed = db_con.execute("SELECT count(*) FROM search").fetchone()[0]
    db_con.close()
    assert indexed == 4  # the deleted entries left the index


# -- the read side beside the poll side ------------------------------------------


@pytest.mark.slow
def test_eight_threads_read_and_mark_while_a_cold_round_of_2000_feeds_writes(
    tmp_path: Path,
) -> None:
    feeds = 2000
    with FeedServer(hosts=4) as server:
        for n in range(feeds):
            server.set(f"/{n}.xml", rss(f"F{n}", items(f"f{n}", 5)), host=n % 4)
        db = tmp_path / "busy.sqlite"
        with Library(db) as lib:
            me = lib.default_user()
            # A first feed polled before the round, so that the threads have entries to mark.
            lib.add_feed(me.id, server.url("/0.xml", 0))
        poll(db)
        with Library(db) as lib:
            for n in range(1, feeds):
                lib.add_feed(me.id, server.url(f"/{n}.xml", n % 4))
        errors: list[BaseException] = []
        marked: dict[int, bool] = {}
        lock = threading.Lock()
        done = threading.Event()

        with Library(db) as lib:
            seed = [e.entry_id for e in lib.entries(me.id).entries]

            def reader(k: int) -> None:
                try:
                    n = 0
                    while not done.is_set() or n < 20:
                        lib.counts(me.id)
                        page = lib.entries(me.id, read=False, limit=20)
                        entry_id = seed[(k + n) % len(seed)]
                        want = (k + n) % 2 == 0
                        with lock:
                            (lib.mark_read if want else lib.mark_unread)(me.id, [entry_id])
                            marked[entry_id] = want
                        lib.entries(me.id, feed=page.entries[0].feed_id if page.entries else None)
                        n += 1
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=reader, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            try:
                stored = poll(db, workers=2, outbox=True)
            finally:
                done.set()
                for t in threads:
                    t.join(timeout=60)
            assert not errors, errors[:3]
            assert stored == (feeds - 1) * 5
            for entry_id, read in marked.items():
                assert lib.entry(me.id, entry_id).read is read
            counts = lib.counts(me.id)
            assert counts.total == len(lib.entries(me.id, read=False, limit=10_000).entries)


def test_reading_from_the_command_line(tmp_path: Path, server: FeedServer) -> None:
    url = server.set("/f.xml", rss("Blog", items("f", 4)))
    db = tmp_path / "cli.sqlite"
    assert rssmania(db, "add", url, "--category", "Tech/Python").returncode == 0
    assert rssmania(db, "update").returncode == 0
    found = rssmania(db, "entries", "--search", "article 3", "--json")
    assert found.returncode == 0
    assert '"id":"f-3"' in found.stdout.splitlines()[0]
    assert rssmania(db, "read", "--feed", "Blog", "--before", "2023-11-15").returncode == 0
    assert len(rssmania(db, "entries", "--unread", "--json").stdout.splitlines()) == 2
    listed = rssmania(db, "list", "--json").stdout
    assert '"unread":2' in listed
    assert rssmania(db, "read", "--all").returncode == 0
    assert rssmania(db, "entries", "--unread").stdout == ""
    both = rssmania(db, "read", "1", "--all")
    assert both.returncode == 2
    assert "not both" in both.stderr
    assert "Would delete 0 entries" in rssmania(db, "prune", "--dry-run").stderr
    shown = rssmania(db, "retention", "--read-days", "30").stdout
    assert "read entries:   30 days" in shown
    bad = rssmania(db, "entries", "--search", "is:maybe")
    assert bad.returncode == 2
    assert "is:maybe" in bad.stderr


def test_an_updated_entry_is_printed_with_the_users_state(
    tmp_path: Path, server: FeedServer
) -> None:
    from tests.feedserver import Item  # noqa: PLC0415

    def feed(body: str) -> str:
        return rss("F", [Item("e1", "Title", "https://x/1", body, 1_700_000_000)])

    url = server.set("/f.xml", feed("first version"))
    db = tmp_path / "upd.sqlite"
    assert rssmania(db, "add", url, "--title", "Mine").returncode == 0
    assert rssmania(db, "update").returncode == 0
    with Library(db) as lib:
        me = lib.default_user()
        (entry,) = lib.entries(me.id).entries
        lib.mark_read(me.id, [entry.entry_id])
        lib.star(me.id, [entry.entry_id])
    server.set("/f.xml", feed("second version, longer and different"))
    printed = rssmania(db, "update", "--all", "--json").stdout
    assert '"status":"updated"' in printed
    assert '"read":true' in printed
    assert '"starred":true' in printed
    assert '"feed_title":"Mine"' in printed


def test_watch_indexes_between_rounds(tmp_path: Path, server: FeedServer) -> None:
    from tests.feedserver import wait_for  # noqa: PLC0415

    url = server.set("/w.xml", rss("W", items("w", 3)))
    db = tmp_path / "watch.sqlite"

    def indexed() -> int:
        con = sqlite3.connect(db)
        try:
            return int(con.execute("SELECT count(*) FROM search").fetchone()[0])
        finally:
            con.close()

    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)

        def stop_once_indexed() -> None:
            try:
                wait_for(lambda: indexed() == 3, timeout=20, what="the index to catch up")
            finally:
                agg.stop()  # also on a timeout: the assertion below says what went wrong

        watcher = threading.Thread(target=stop_once_indexed)
        watcher.start()
        polled = [r.feed.url for r in agg.watch(idle=0.05)]
        watcher.join()
    assert polled == [url]
    assert indexed() == 3


def test_a_password_set_on_a_new_database_makes_its_first_user(tmp_path: Path) -> None:
    db = tmp_path / "first.sqlite"
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    made = rssmania(db, "user", "passwd", "carol", "--password-file", str(password))
    assert made.returncode == 0, made.stderr
    with Library(db) as lib:
        (carol,) = lib.users()
        assert carol.name == "carol"
        assert lib.authenticate("carol", "s3cret") == carol


def test_categories_keep_their_ids_through_renames_and_lose_no_feed(tmp_path: Path) -> None:
    with Library(tmp_path / "c.sqlite") as lib:
        me = lib.add_user("me")
        other = lib.add_user("other")
        py = lib.add_feed(me.id, "http://127.0.0.1:9/py.xml", category="Tech/Python")
        news = lib.add_feed(me.id, "http://127.0.0.1:9/news.xml", category="News")
        lib.add_feed(other.id, "http://127.0.0.1:9/py.xml", category="Tech")
        names = {c.name: c for c in lib.category_list(me.id)}
        assert set(names) == {"News", "Tech/Python"}
        empty = lib.add_category(me.id, " Tech ")
        assert (empty.name, empty.feeds, empty.unread) == ("Tech", 0, 0)
        with pytest.raises(CategoryExistsError):
            lib.add_category(me.id, "Tech")
        assert lib.add_category(me.id, "Tech", exist_ok=True) == empty
        # A rename takes the categories below along, and keeps the ids.
        assert lib.rename_category(me.id, "Tech", "Code") == 1
        assert lib.category(me.id, empty.id).name == "Code"
        assert lib.category(me.id, names["Tech/Python"].id).name == "Code/Python"
        assert lib.feed(me.id, py.id).category == "Code/Python"
        # Into a name that exists, the two merge.
        assert lib.rename_category(me.id, "News", "Code/Python") == 1
        assert lib.feed(me.id, news.id).category == "Code/Python"
        assert {c.name for c in lib.category_list(me.id)} == {"Code", "Code/Python"}
        # Removing keeps the feeds, with no category.
        assert lib.remove_category(me.id, "Code") == 2
        assert lib.category_list(me.id) == []
        assert {f.category for f in lib.feeds(me.id)} == {None}
        # Another user's categories are theirs alone.
        assert [c.name for c in lib.category_list(other.id)] == ["Tech"]
        for call in (
            lambda: lib.category(me.id, lib.category_list(other.id)[0].id),
            lambda: lib.rename_category(me.id, "Tech", "Mine"),
            lambda: lib.remove_category(me.id, "Tech"),
        ):
            with pytest.raises(CategoryNotFoundError):
                call()
        with pytest.raises(ValueError, match="category name"):
            lib.add_category(me.id, " / ")


def test_fever_keys_from_passwords_and_tokens(tmp_path: Path) -> None:
    import hashlib  # noqa: PLC0415

    def key(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    db = tmp_path / "f.sqlite"
    with Library(db) as lib:
        alice = lib.add_user("Alice", "pw1")
        token = lib.new_token("alice")
        assert lib.user_by_fever_key(key("Alice:pw1")) == alice
        assert lib.user_by_fever_key(key("Alice:pw1").upper()) == alice
        assert lib.user_by_fever_key(key(f"Alice:{token}")) == alice
        assert lib.user_by_fever_key(key("Alice:pw2")) is None
        lib.set_password("alice", "pw2")
        assert lib.user_by_fever_key(key("Alice:pw1")) is None
        assert lib.user_by_fever_key(key("Alice:pw2")) == alice
        lib.set_password("alice", None)  # no password: no Fever key from one
        assert lib.user_by_fever_key(key("Alice:pw2")) is None
        found = lib.user_by_fever_key(key(f"Alice:{token}"))
        assert found is not None
        assert found.id == alice.id
    raw = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes()
                             if db.with_name(db.name + "-wal").exists() else b"")  # fmt: skip
    assert key("Alice:pw2").encode() not in raw
