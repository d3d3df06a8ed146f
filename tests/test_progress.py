"""The progress bar of `update`, rendered into a string at a fixed width (as rich's tests do)."""

from __future__ import annotations

import io
import re
from pathlib import Path

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


def test_the_bar_and_the_slow_list_with_one_slow_server_among_fast_ones(db: Path) -> None:
    with FeedServer(hosts=2) as server:
        fast = [server.set(f"/f{i}.xml", rss(f"F{i}", items(f"f{i}", 1))) for i in range(8)]
        path = "/feeds/of-a-rather-slow-server/slow-feed.xml"
        slow = server.set(path, rss("Slow", items("slow", 1)), host=1, delay=4.0)
        with Aggregator(db, workers=2) as agg:
            agg.add_feeds([slow, *fast])
            results = agg.update()
            # The bar moves feed by feed: the fast ones do not wait for the slow one.
            done = 0
            for _ in fast:
                assert next(results).feed.url in fast
                done += 1
            wait_for(lambda: [s for _, s in agg.in_flight() if s >= 1.0], what="one slow feed")
            for width in (100, 140):
                text = screen(agg, done, 9, width)
                assert "8/9" in text
                host = slow.split("//")[1].split("/")[0]
                # Named whole, shortened at a slash: never the ones that answered.
                shown = re.search(r"1 in flight; slow: (\S+) \d+ s", text)
                assert shown is not None, text
                assert shown.group(1) == f"{host}/\u2026/slow-feed.xml"
                assert "/f0.xml" not in text
            # Too narrow to name it whole: not named at all.
            assert "1 in flight\n" in screen(agg, done, 9, 70)
            assert [r.feed.url for r in results] == [slow]


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
