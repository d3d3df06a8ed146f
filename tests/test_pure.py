"""Table-driven tests of the pure parts: schedule, decide, console rendering."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from rssmania import Entry, EntryStatus, Feed, FeedError, RoundSummary
from rssmania._decide import decide, is_offline, sort_date, throttled_hosts
from rssmania._intents import FeedState
from rssmania._poll import ParsedEntry, ParsedFeed, PollJob, PollOutcome, PollSettings, hints
from rssmania._round import (
    BATCHES_PER_WORKER,
    MAX_BATCH,
    MAX_COST,
    MAX_WAITING_COST,
    _budget,
    _HostsOf,
    job_cost,
    make_batches,
)
from rssmania._schedule import MAX_BACKOFF, jitter, retry_delay
from rssmania._urls import host_of
from rssmania.sinks import console as human

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("interval", "errors", "expected"),
    [
        (1800, 0, 1800),
        (1800, 1, 1800),
        (1800, 2, 3600),
        (1800, 3, 7200),
        (1800, 30, MAX_BACKOFF),  # capped, never abandoned
        (2 * MAX_BACKOFF, 5, 2 * MAX_BACKOFF),  # a long interval is not shortened
    ],
)
def test_retry_delay(interval: int, errors: int, expected: int) -> None:
    assert retry_delay(interval, errors) == expected


def entry(key: str, content_hash: str = "h", date: datetime | None = None) -> ParsedEntry:
    return ParsedEntry(
        key=key,
        content_hash=content_hash,
        title=key,
        link=None,
        author=None,
        summary=None,
        content=None,
        enclosures=(),
        published=date,
        updated=date,
    )


STATE = FeedState(
    id=1, url="http://x/", etag=None, last_modified=None, error_count=2, interval=None
)


@pytest.mark.parametrize(
    ("stored", "parsed", "expected"),
    [
        ({}, [entry("a"), entry("b")], [("a", "new"), ("b", "new")]),
        ({"a": "h"}, [entry("a"), entry("b")], [("b", "new")]),
        ({"a": "old"}, [entry("a")], [("a", "updated")]),
        ({"a": "h", "b": "h"}, [entry("a")], []),  # gone from the feed: kept, not reported
    ],
)
def test_decide_entries(
    stored: dict[str, str], parsed: list[ParsedEntry], expected: list[tuple[str, str]]
) -> None:
    outcome = PollOutcome(
        url="http://x/", http_status=200, feed=ParsedFeed("T", None, tuple(parsed))
    )
    write = decide(STATE, outcome, stored, now=NOW, default_interval=600)
    assert [(w.entry.key, w.status.value) for w in write.entries] == expected
    assert write.error_count == 0  # success heals the streak
    assert write.next_check == NOW + timedelta(seconds=600)


@pytest.mark.parametrize(
    ("previous", "reported"),
    [
        ({}, True),  # never changed before
        ({"a": "2:older"}, True),  # a third version
        ({"a": "2:h"}, False),  # back to the version before last: a flip, stored quietly
    ],
)
def test_an_entry_back_to_its_version_before_last_is_not_reported(
    previous: dict[str, str], reported: bool
) -> None:
    outcome = PollOutcome(
        url="http://x/", http_status=200, feed=ParsedFeed("T", None, (entry("a", "2:h"),))
    )
    write = decide(STATE, outcome, {"a": "2:now"}, previous=previous, now=NOW, default_interval=600)
    assert [(w.status.value, w.quiet) for w in write.entries] == [("updated", not reported)]


def test_decide_error_keeps_validators_and_backs_off() -> None:
    outcome = PollOutcome.failed("http://x/", "http", "HTTP 500", http_status=500)
    write = decide(STATE, outcome, {}, now=NOW, default_interval=600)
    assert write.validators is None
    assert write.error_count == 3
    assert write.next_check == NOW + timedelta(seconds=2400)
    assert write.entries == ()


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (None, NOW),
        (NOW - timedelta(days=3), NOW - timedelta(days=3)),
        (NOW + timedelta(days=3), NOW),  # a future date is listed when first seen
    ],
)
def test_sort_date(date: datetime | None, expected: datetime) -> None:
    assert sort_date(entry("a", date=date), NOW) == expected


def render(width: int = 80) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, color_system=None, soft_wrap=True), buffer


def stored_entry(title: str, status: EntryStatus = EntryStatus.NEW) -> Entry:
    return Entry(
        feed_url="http://x/feed",
        feed_title="Feed X",
        id=title,
        title=title,
        link=f"https://example.org/{title}",
        author=None,
        summary=None,
        content=None,
        enclosures=(),
        published=NOW,
        updated=NOW,
        first_seen=NOW,
        last_changed=NOW,
        status=status,
    )


def test_print_changes_groups_by_feed_like_the_seed() -> None:
    console, buffer = render()
    human.print_changes(
        console,
        [stored_entry("one"), stored_entry("two"), stored_entry("three", EntryStatus.UPDATED)],
    )
    assert buffer.getvalue() == (
        "New articles from Feed X:\n"
        "- one https://example.org/one\n"
        "- two https://example.org/two\n"
        "Updated articles from Feed X:\n"
        "- three https://example.org/three\n"
    )


def test_a_feed_with_many_new_articles_shows_the_first_few_and_a_count() -> None:
    console, buffer = render()
    human.print_changes(console, [stored_entry(f"e{i}") for i in range(human.SHOWN_PER_FEED + 5)])
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1 + human.SHOWN_PER_FEED + 1
    assert lines[1] == "- e0 https://example.org/e0"
    assert lines[-1] == "  and 5 more: rssmania entries --feed http://x/feed"


def test_plain_changes_are_what_the_console_prints() -> None:
    # Output that is not a terminal skips rich's rendering: the same text.
    entries = [
        stored_entry("one"),
        stored_entry("[bold]x[/bold] & <b> :smile: " + "long " * 40),
        stored_entry("tab\there 漢字 \u200b\r\x0b\x0c\x07 end", EntryStatus.UPDATED),
        replace(stored_entry("no link"), link=None, feed_title=None),
        *(stored_entry(f"e{i}") for i in range(human.SHOWN_PER_FEED + 3)),
    ]
    console, buffer = render(width=20)
    human.print_changes(console, entries)
    assert human.changes_text(entries) == buffer.getvalue()


def test_markup_in_titles_is_printed_verbatim() -> None:
    console, buffer = render()
    human.print_changes(console, [stored_entry("[bold]x[/bold] & <b>")])
    assert "- [bold]x[/bold] & <b> " in buffer.getvalue()


def test_control_characters_from_the_database_are_not_printed() -> None:
    # Stored before the parsers dropped them, or by another program: the
    # console is the last line of defence for the terminal.
    entry = replace(
        stored_entry("a \x1b[2J b"), feed_title="F\x1b]0;x\x07", link="https://x/\x9b2J"
    )
    console, buffer = render(width=200)
    human.print_changes(console, [entry])
    human.print_entries(console, [entry])
    feed = Feed(
        url="http://x/\x1b[5m",
        title="T\x1b[1m",
        link=None,
        user_title=None,
        category=None,
        added=NOW,
        last_checked=NOW,
        next_check=NOW,
        last_status=500,
        error_count=1,
        last_error="HTTP 500 \x1b[31mboom",
        interval=None,
    )
    console.print(human.feeds_table([feed], NOW))
    text = buffer.getvalue()
    assert [c for c in ("\x1b", "\x9b", "\x07") if c in text] == []
    assert "- a [2J b https://x/2J" in text
    assert "500 [31mboom" in text


def test_summary_line() -> None:
    summary = RoundSummary(
        feeds=3, new=5, updated=1, errors=1, not_modified=2, seconds=1.234, interrupted=True
    )
    assert human.summary_line(summary) == (
        "3 feeds polled, 5 new, 1 updated, 1 error, 2 not modified in 1.2 s (interrupted)"
    )


@pytest.mark.parametrize(
    ("delta", "expected"),
    [(None, "-"), (0, "now"), (-10, "just now"), (-300, "5 min ago"), (7200, "in 2 h")],
)
def test_relative(delta: int | None, expected: str) -> None:
    moment = None if delta is None else NOW + timedelta(seconds=delta)
    assert human.relative(moment, NOW) == expected


def test_feeds_table_shows_health() -> None:
    feed = Feed(
        url="http://x/feed",
        title="Feed X",
        link=None,
        user_title=None,
        category=None,
        added=NOW,
        last_checked=NOW - timedelta(minutes=5),
        next_check=NOW + timedelta(minutes=25),
        last_status=404,
        error_count=2,
        last_error="HTTP 404 Not Found",
        interval=None,
    )
    console, buffer = render(width=160)
    console.print(human.feeds_table([feed, replace(feed, url="http://y/", error_count=0)], NOW))
    text = buffer.getvalue()
    assert "5 min ago" in text
    assert "in 25 min" in text
    assert "2 errors: HTTP 404 Not Found" in text
    assert " ok" in text


def test_feed_error_is_plain_data() -> None:
    assert str(FeedError("http", "HTTP 500")) == "HTTP 500"


@pytest.mark.parametrize(
    ("hosts", "per_host", "workers"),
    [(1, 5, 2), (50, 40, 2), (300, 1, 2), (3, 600, 2), (7, 13, 1), (2000, 1, 8)],
)
def test_batches_keep_hosts_whole_and_cover_every_job(
    hosts: int, per_host: int, workers: int
) -> None:
    jobs = [PollJob(f"http://h{h}.example/{i}") for h in range(hosts) for i in range(per_host)]
    batches = make_batches(jobs, workers)
    assert sorted(j.url for b in batches for j in b) == sorted(j.url for j in jobs)
    homes: dict[str, set[int]] = {}
    for number, batch in enumerate(batches):
        assert len(batch) <= MAX_BATCH
        for job in batch:
            homes.setdefault(host_of(job.url), set()).add(number)
    for host_batches in homes.values():
        # One batch per host, unless the host alone overflows a batch.
        assert len(host_batches) <= max(1, -(-per_host // MAX_BATCH))
    assert len(batches) <= max(workers * BATCHES_PER_WORKER, -(-per_host // MAX_BATCH) * hosts)


def test_a_round_of_likely_304s_gets_few_big_batches() -> None:
    # 2,000 feeds with validators on 500 hosts: a handful of batches, not 16
    # that would each wait out their hosts' spacing with nothing to do.
    known = [PollJob(f"http://h{i % 500}.example/{i}", etag='"e"') for i in range(2000)]
    batches = make_batches(known, 2)
    assert 2 <= len(batches) <= 4
    assert all(sum(job_cost(j) for j in b) <= MAX_COST for b in batches)
    # The same feeds to parse (a first poll) still make about eight batches per worker.
    fresh = [PollJob(f"http://h{i % 500}.example/{i}") for i in range(2000)]
    assert len(make_batches(fresh, 2)) >= 2 * BATCHES_PER_WORKER - 1


def test_hosts_with_many_feeds_get_company_to_fill_their_spacing() -> None:
    # 40 feeds a host, 0.1 s apart: each host takes 4 s; a batch of 6 such
    # hosts (256 feeds) would leave its worker idle most of that time.
    jobs = [PollJob(f"http://h{i % 500}.example/{i}") for i in range(20_000)]
    spaced = make_batches(jobs, 2, spacing=0.1)
    assert min(len({host_of(j.url) for j in b}) for b in spaced[:-1]) >= 12
    assert all(sum(job_cost(j) for j in b) <= MAX_WAITING_COST for b in spaced)
    assert len(make_batches(jobs, 2)) > len(spaced)
    # A small round keeps a batch per worker, however long its hosts' waits.
    few = [PollJob(f"http://h{i % 2}.example/{i}") for i in range(8)]
    assert len(make_batches(few, 2, spacing=0.1)) == 2


def test_a_warm_round_of_spaced_hosts_gets_one_batch_per_worker() -> None:
    # 2,000 feeds answering 304, 4 a host 0.1 s apart: a batch of 500 has
    # less CPU work than its hosts' 0.3 s of spacing, and a worker's second
    # batch would wait that out again.
    known = [PollJob(f"http://h{i % 500}.example/{i}", etag='"e"') for i in range(2000)]
    batches = make_batches(known, 2, spacing=0.1)
    assert sorted(len(b) for b in batches) == [1000, 1000]


@pytest.mark.parametrize(
    ("feeds", "per_host", "fresh"),
    [(250, 4, True), (250, 4, False), (500, 4, True), (2000, 4, True), (2000, 8, True)],
)
def test_spaced_batches_come_in_a_multiple_of_the_workers_evenly_filled(
    feeds: int, per_host: int, fresh: bool
) -> None:
    # A batch left over runs alone at the end, the other worker idle (250
    # feeds came as 124 + 122 + 4: one host waiting out its spacing last).
    hosts = feeds // per_host
    etag = None if fresh else '"e"'
    jobs = [PollJob(f"http://h{i % hosts}.example/{i}", etag=etag) for i in range(feeds)]
    sizes = [len(b) for b in make_batches(jobs, 2, spacing=0.1)]
    assert len(sizes) % 2 == 0
    assert max(sizes) <= 1.2 * min(sizes)


def test_a_small_round_of_spaced_hosts_is_not_polled_in_two_waits() -> None:
    # 250 feeds answering 304, 4 a host: each host takes 0.3 s of spacing. A
    # worker runs its batches one after another, so two batches per worker
    # would wait that out twice; the round gets about one per worker.
    known = [PollJob(f"http://h{i % 63}.example/{i}", etag='"e"') for i in range(250)]
    batches = sorted(make_batches(known, 2, spacing=0.1), key=len, reverse=True)
    assert len(batches) <= 3
    assert len(batches[0]) + len(batches[1]) >= 240


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("Thu, 01 Jan 2026 12:10:00 GMT", 600.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # a date in the past: now
        ("soon", None),
        (None, None),
        ("\u00b2", None),  # str.isdigit() says yes, float() no
        ("9" * 400, float(hints.MAX_HINT)),  # was inf, in the message too
        ("9" * 5000, float(hints.MAX_HINT)),  # int() reads 4,300 digits at most
    ],
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert hints.retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": "public, max-age=3600"}, 3600),
        ({"cache-control": "no-cache, max-age=3600"}, None),
        (
            {"expires": "Thu, 01 Jan 2026 14:00:00 GMT", "date": "Thu, 01 Jan 2026 13:00:00 GMT"},
            3600,
        ),
        ({"expires": "0"}, None),
        ({"cache-control": "max-age=" + "9" * 30}, hints.MAX_HINT),
        ({"cache-control": "max-age=" + "9" * 5000}, hints.MAX_HINT),  # past int()'s 4,300
        ({"expires": "Fri, 01 Jan 9999 00:00:00 GMT"}, hints.MAX_HINT),
        ({}, None),
    ],
)
def test_cache_lifetime(headers: dict[str, str], expected: int | None) -> None:
    assert hints.cache_lifetime(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("feed", "expected"),
    [
        ({"ttl": "60"}, 3600),
        ({"sy_updateperiod": "daily", "sy_updatefrequency": "4"}, 21600),
        ({"sy_updateperiod": "hourly"}, 3600),
        ({"ttl": "60", "sy_updateperiod": "daily"}, 86400),
        ({"ttl": "soon"}, None),
        # Stored as an integer: 30 digits of minutes would not fit.
        ({"ttl": "9" * 30}, hints.MAX_HINT),
        ({"ttl": "9" * 5000}, hints.MAX_HINT),
        ({"ttl": "\u00b2"}, None),  # str.isdigit() says yes, int() no
        ({"sy_updateperiod": "daily", "sy_updatefrequency": "\u00b2"}, 86400),
        ({}, None),
    ],
)
def test_publisher_interval(feed: dict[str, str], expected: int | None) -> None:
    assert hints.publisher_interval(feed) == expected


def test_jitter_is_a_stable_fraction() -> None:
    values = {jitter(f"http://x/{i}", NOW) for i in range(200)}
    assert all(0 <= v < 1 for v in values)
    assert len(values) == 200
    assert jitter("http://x/1", NOW) == jitter("http://x/1", NOW)
    assert max(values) - min(values) > 0.8  # spread over the range


def test_host_throttling_needs_several_feeds() -> None:
    def throttled(url: str, wait: float | None) -> PollOutcome:
        return replace(
            PollOutcome.failed(url, "throttled", "HTTP 429", http_status=429), retry_after=wait
        )

    outcomes = [
        throttled("http://a.example/1", 60),
        throttled("http://b.example/1", 60),
        throttled("http://b.example/2", 600),
        PollOutcome("http://b.example/3", http_status=200),
    ]
    assert throttled_hosts(outcomes, threshold=2) == {"b.example": (600, "HTTP 429")}


def test_offline_needs_two_hosts_and_no_answer() -> None:
    refused = [PollOutcome.failed(f"http://{h}/f", "connect", "refused") for h in "ab"]
    assert is_offline([], refused)
    assert not is_offline([], refused[:1])
    assert not is_offline([PollOutcome("http://c/f", http_status=200)], refused)


def test_in_flight_line_names_the_slow_ones() -> None:
    line = human.in_flight_line(
        [("https://slow.example/feed", 12.0), ("https://fast.example/feed", 0.5)], slow_after=5
    )
    assert line == "2 in flight; slow: slow.example/feed 12 s"
    assert human.in_flight_line([], slow_after=5) == ""


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://example.org/feed.xml", "example.org/feed.xml"),
        (
            "https://example.org/some/deep/folders/of-feeds/slow-feed.xml",
            "example.org/\u2026/slow-feed.xml",
        ),
        (
            "https://example.org/a-single-path-segment-much-too-long-to-show",
            "example.org/a-single-path-segment-much\u2026",
        ),
    ],
)
def test_a_slow_feed_is_named_shortened_at_a_boundary_never_mid_word(url: str, shown: str) -> None:
    line = human.in_flight_line([(url, 9.0)], slow_after=5)
    assert line == f"1 in flight; slow: {shown} 9 s"


@pytest.mark.parametrize(
    ("stored", "new_hash", "reported"),
    [
        ("0f3c9a", "2:0f3c9a", False),  # a hash of the first releases: the parser changed
        ("2:aaaa", "2:bbbb", True),  # same scheme, other hash: the publisher edited it
        ("3:aaaa", "2:aaaa", False),
    ],
)
def test_a_new_hash_scheme_updates_quietly(stored: str, new_hash: str, reported: bool) -> None:
    outcome = PollOutcome(
        url="http://x/", http_status=200, feed=ParsedFeed("T", None, (entry("a", new_hash),))
    )
    (write,) = decide(STATE, outcome, {"a": stored}, now=NOW, default_interval=600).entries
    assert (write.status.value, write.quiet) == ("updated", not reported)


def test_a_batch_is_given_the_time_its_largest_host_honestly_takes() -> None:
    # 14 feeds of one server, each taking the whole timeout, 2 at a time: 7
    # timeouts in a row. The batch was killed as hung at 300 s and polled again.
    settings = PollSettings(user_agent="t", total_timeout=60, host_concurrency=2)
    one_host = [PollJob(f"http://one.example/{n}") for n in range(14)]
    assert _budget(one_host, settings, largest_host=14, queued=False) > 7 * 60
    many_hosts = [PollJob(f"http://h{n}.example/") for n in range(14)]
    assert _budget(many_hosts, settings, largest_host=1, queued=False) < 7 * 60
    hosts_of = _HostsOf()
    assert (hosts_of.largest(one_host), hosts_of.largest(many_hosts)) == (14, 1)


def test_the_feed_list_at_140_columns_is_one_line_per_feed() -> None:
    # It took two lines a feed, showed the URL again as the title of a feed
    # without one, had no category, and said "Unchanged: 50% of 2".
    feed = Feed(
        url="https://blog.example.org/a/rather/long/path/to/the/feed.xml",
        title="A blog with a title long enough to be cut somewhere",
        link=None,
        user_title=None,
        category="Tech/Python",
        added=NOW,
        last_checked=NOW - timedelta(minutes=5),
        next_check=NOW + timedelta(minutes=25),
        last_status=200,
        error_count=0,
        last_error=None,
        interval=None,
        polls=2,
        not_modified_count=1,
    )
    untitled = replace(feed, url="https://untitled.example.org/feed", title=None, category=None)
    feeds = [feed, untitled, replace(feed, url="https://c.example/x.xml", polls=1)]
    console, buffer = render(width=140)
    console.print(human.feeds_table(feeds, NOW))
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1 + len(feeds)
    assert lines[0].split()[:3] == ["Title", "Category", "URL"]
    assert "Tech/Python" in lines[1]
    assert "2 polls, 1 unchanged" in lines[1]
    assert "1 poll, 1 unchanged" in lines[3]
    assert lines[2].startswith("- ")
    assert lines[2].count("untitled.example.org") == 1
    assert max(len(line) for line in lines) <= 140
