"""The progress bar of `update`, rendered into a string at a fixed width (as rich's tests do)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from pathlib import Path
from threading import Event, Thread

from rich.console import Console

from rssmania import Aggregator
from rssmania.cli._progress import make_progress, progress_bar
from rssmania.cli.polling import Reporter
from tests.feedserver import FeedServer, items, rss, wait_for


def screen(agg: Aggregator, done: int, total: int, width: int) -> str:
    """The bar as a terminal ``width`` characters wide shows it after ``done`` feeds."""
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    progress = make_progress(console, agg, slow_after=1.0)
    progress.add_task("poll", total=total, completed=done)
    console.print(progress.get_renderable())
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


class Watcher(Thread):
    """Waits for ``until`` while the round runs, then calls ``look``: a round moves only
    while it is iterated, and the command line's progress bar looks from a thread too."""

    def __init__(self, until: Callable[[], object], look: Callable[[], None]) -> None:
        super().__init__()
        self._until, self._look = until, look
        self.failure: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            wait_for(self._until, timeout=30, what="the round to get there")
            self._look()
        except BaseException as exc:  # raised again by end()
            self.failure = exc

    def end(self) -> None:
        self.join(timeout=60)
        if self.failure is not None:
            raise self.failure


def test_the_bar_and_the_slow_list_with_one_slow_server_among_fast_ones(db: Path) -> None:
    with FeedServer(hosts=2) as server:
        fast = [server.set(f"/f{i}.xml", rss(f"F{i}", items(f"f{i}", 1))) for i in range(8)]
        path = "/feeds/of-a-rather-slow-server/slow-feed.xml"
        slow = server.set(path, rss("Slow", items("slow", 1)), host=1, delay=4.0)
        with Aggregator(db, workers=2) as agg:
            agg.add_feeds([slow, *fast])
            seen: list[str] = []
            screens: dict[int, str] = {}

            def look() -> None:
                for width in (70, 100, 140):
                    screens[width] = screen(agg, len(seen), 9, width)

            watcher = Watcher(
                lambda: len(seen) == 8 and [s for _, s in agg.in_flight() if s >= 1.0], look
            )
            for result in agg.update():
                seen.append(result.feed.url)
            watcher.end()
        # The bar moves feed by feed: the fast ones do not wait for the slow one.
        assert sorted(seen[:8]) == sorted(fast)
        assert seen[8:] == [slow]
        host = slow.split("//")[1].split("/")[0]
        for width in (100, 140):
            text = screens[width]
            assert "8/9" in text
            # Named whole, shortened at a slash: never the ones that answered.
            shown = re.search(r"1 in flight; slow: (\S+) \d+ s", text)
            assert shown is not None, text
            assert shown.group(1) == f"{host}/\u2026/slow-feed.xml"
            assert "/f0.xml" not in text
        # Too narrow to name it whole: not named at all.
        assert "1 in flight\n" in screens[70]


def test_a_feed_waiting_its_hosts_turn_is_neither_in_flight_nor_slow(
    server: FeedServer, db: Path
) -> None:
    # A batch holds all of a host's feeds, asked two at a time: the slow list
    # named the feeds queued behind the first two, which nobody had asked yet.
    urls = [server.set(f"/q{i}.xml", rss(f"Q{i}", items(f"q{i}", 1)), delay=1.5) for i in range(6)]
    samples: list[tuple[float, list[tuple[str, float]]]] = []
    over = Event()

    def sample() -> None:
        while not over.wait(0.05):
            samples.append((time.monotonic(), agg.in_flight()))

    with Aggregator(db, workers=2) as agg:
        agg.add_feeds(urls)
        watcher = Thread(target=sample)
        watcher.start()
        try:
            assert len(list(agg.update())) == 6  # about 4.5 s: three turns of two
        finally:
            over.set()
            watcher.join()
    asked = {seen.path: seen.at for seen in reversed(server.seen)}  # each one's first request
    polled = [(at, feeds) for at, feeds in samples if feeds]
    assert len(polled) > 20, samples
    assert max(len(feeds) for _, feeds in polled) == 2  # the host's cap, not its six feeds
    for at, feeds in polled:
        for url, seconds in feeds:
            path = "/" + url.rsplit("/", 1)[1]
            assert asked[path] <= at + 0.2, (url, "in flight before it was asked")
            assert seconds < 2.5, (url, seconds)  # each answers 1.5 s after it is asked


def test_the_frame_is_cleared_before_articles_are_printed(server: FeedServer, db: Path) -> None:
    # stdout and stderr on one terminal: the articles came right after the
    # frame, on its line ("…6 in flight\x1b[1mNew articles…").
    url = server.set("/a.xml", rss("Articles", items("a", 2)))
    terminal = io.StringIO()
    err = Console(file=terminal, force_terminal=True, width=80)
    out = Console(file=terminal, force_terminal=True, width=80, soft_wrap=True)
    with Aggregator(db, workers=1, outbox=True) as agg:
        agg.add_feed(url)
        reporter = Reporter(agg, as_json=False, out=io.BytesIO(), console=out)
        with progress_bar(err, agg, 1) as bar:
            reporter.around = bar.paused
            for result in agg.update():
                reporter.report(result.changes)
                bar.advance()
    raw = terminal.getvalue()
    before = raw[: raw.index("a article 0")]
    assert "Polling" in before, "a frame was drawn before the articles"
    erase_line = "\x1b[2K"
    assert before.rindex(erase_line) > before.rindex("Polling"), repr(before[-200:])
