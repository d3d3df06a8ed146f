"""Storing poll results: several feeds per transaction, each feed whole, replays converge."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rssmania import EntryStatus, Library
from rssmania._decide import decide
from rssmania._intents import FeedState, FeedWrite
from rssmania._poll.jobs import ParsedEntry, ParsedFeed, PollOutcome
from rssmania._storage import Storage

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def entry(key: str, content_hash: str = "h") -> ParsedEntry:
    return ParsedEntry(
        key=key,
        content_hash=content_hash,
        title=f"title {key}",
        link=f"https://example.org/{key}",
        author=None,
        summary=None,
        content="<p>text</p>",
        enclosures=(),
        published=NOW - timedelta(days=1),
        updated=None,
    )


def write_for(storage: Storage, state: FeedState, *entries: ParsedEntry) -> FeedWrite:
    outcome = PollOutcome(
        url=state.url, http_status=200, feed=ParsedFeed("T", None, tuple(entries))
    )
    return decide(state, outcome, storage.entry_hashes(state.id), now=NOW, default_interval=60)


def states(storage: Storage, *urls: str) -> dict[str, FeedState]:
    with Library(storage.path) as lib:
        me = lib.default_user()
        for url in urls:
            lib.add_feed(me.id, url)
    return {s.url: s for s in storage.feed_states(now=NOW, due_only=False)}


def stored_keys(path: str) -> list[str]:
    with Library(path) as lib:
        return [e.id for e in lib.entries(lib.default_user().id).entries]


def test_a_group_stores_every_feed_and_numbers_the_outbox_in_order(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "s.sqlite")
    found = states(storage, "http://a.example/f", "http://b.example/f")
    writes = [
        write_for(storage, found["http://a.example/f"], entry("a1"), entry("a2")),
        write_for(storage, found["http://b.example/f"], entry("b1")),
    ]
    applied = storage.apply_many(writes, announce=True)
    assert [a.feed.url if a else None for a in applied] == [
        "http://a.example/f",
        "http://b.example/f",
    ]
    changes = [c for a in applied if a for c in a.changes]
    assert [c.entry.id for c in changes] == ["a1", "a2", "b1"]
    assert all(c.entry.first_seen == NOW and not c.entry.read for c in changes)
    assert [c.seq for c in storage.pending_changes(None)] == [c.seq for c in changes]
    assert [c.seq for c in changes] == sorted({c.seq for c in changes})
    assert all(a is not None and a.feed.polls == 1 for a in applied)


def test_a_feed_removed_meanwhile_is_skipped_and_the_rest_of_its_group_stored(
    tmp_path: Path,
) -> None:
    storage = Storage(tmp_path / "s.sqlite")
    found = states(storage, "http://a.example/f", "http://b.example/f")
    writes = [
        write_for(storage, found["http://a.example/f"], entry("a1")),
        write_for(storage, found["http://b.example/f"], entry("b1")),
    ]
    with Library(storage.path) as lib:
        lib.remove_feed(lib.default_user().id, found["http://a.example/f"].id)
    applied = storage.apply_many(writes, announce=True)
    assert applied[0] is None
    assert applied[1] is not None
    assert stored_keys(storage.path) == ["b1"]


def test_replaying_a_result_converges_on_the_stored_rows(tmp_path: Path) -> None:
    # A write decided before a crash and applied again (its entries already
    # stored, still marked new) neither fails nor duplicates, and keeps the
    # first sighting and what the reader did.
    storage = Storage(tmp_path / "s.sqlite")
    state = states(storage, "http://a.example/f")["http://a.example/f"]
    first = write_for(storage, state, entry("a1"), entry("a2"))
    storage.apply_many([first], announce=False)
    with Library(storage.path) as lib:
        me = lib.default_user().id
        (a1,) = [e for e in lib.entries(me).entries if e.id == "a1"]
        lib.mark_read(me, [a1.entry_id])
    replay = decide(state, PollOutcome(state.url, http_status=200, feed=ParsedFeed(
        "T", None, (entry("a1", "h2"), entry("a2"))
    )), {}, now=NOW + timedelta(hours=1), default_interval=60)  # fmt: skip
    assert {w.status for w in replay.entries} == {EntryStatus.NEW}
    (applied,) = storage.apply_many([replay], announce=True)
    assert applied is not None
    by_id = {c.entry.id: c.entry for c in applied.changes}
    assert by_id["a1"].first_seen == NOW
    assert by_id["a1"].entry_id == a1.entry_id
    with Library(storage.path) as lib:
        assert lib.entry(me, a1.entry_id).read  # what the reader did is kept
        assert lib.counts(me).feeds == {state.id: 1}
    assert len(stored_keys(storage.path)) == 2
    assert len(storage.pending_changes(None)) == 2


def test_feed_urls_are_migrated_to_the_form_they_are_sent_in(tmp_path: Path) -> None:
    from rssmania._storage.schema import MIGRATIONS  # noqa: PLC0415 - what this test is about

    path = tmp_path / "v3.sqlite"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 3")
    for url in (
        "http://h.example/caf\u00e9",
        "http://h.example/f%31.xml",
        "http://h.example/f1.xml",
    ):
        db.execute(
            "INSERT INTO feeds (url, added, host) VALUES (?, '2026-01-01T00:00:00.000000+00:00',"
            " 'h.example')",
            (url,),
        )
    db.commit()
    db.close()
    storage = Storage(path)
    try:
        # Where the new form is subscribed already, both stay: the user picks.
        assert sorted(row[0] for row in storage.db.execute("SELECT url FROM feeds")) == [
            "http://h.example/caf%C3%A9",
            "http://h.example/f%31.xml",
            "http://h.example/f1.xml",
        ]
    finally:
        storage.close()


def test_a_database_of_the_first_schema_is_migrated_with_its_entries(tmp_path: Path) -> None:
    from rssmania._storage.schema import MIGRATIONS  # noqa: PLC0415 - what this test is about

    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO feeds (id, url, added, host) "
        "VALUES (1, 'https://example.org/feed', '2026-01-01T00:00:00.000000+00:00', 'example.org')"
    )
    for key, day in (("a", "01"), ("b", "02")):
        db.execute(
            "INSERT INTO entries (feed_id, key, content_hash, first_seen, last_changed, status, "
            "sort_date) VALUES (1, ?, 'h', ?, ?, 'new', ?)",
            (key, *[f"2026-01-{day}T00:00:00.000000+00:00"] * 3),
        )
    db.commit()
    db.close()

    storage = Storage(path)
    try:
        assert stored_keys(storage.path) == ["b", "a"]  # newest first, without the index
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        db.close()
        assert "entries_feed_sort_date" not in names
        assert "entries_sort_date" in names
    finally:
        storage.close()
