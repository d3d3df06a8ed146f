"""What a new user tripped on (issue 24), each with the test that failed before the fix.

In-process through click's CliRunner where no real signal, pipe or worker is
needed; console output rendered into a string at a fixed width.
"""

from __future__ import annotations

import asyncio
import io
import re
import signal
import subprocess
import sys
import xml.sax
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from rssmania import Aggregator
from rssmania._demo.samples import SAMPLE_FEEDS
from rssmania._poll.fetch import fetch, make_session
from rssmania._poll.jobs import PollJob, PollSettings
from rssmania._poll.tolerant import first_line
from rssmania.cli import cli
from rssmania.cli.polling import _error_line as error_line
from rssmania.sinks import console as human
from rssmania.types import Entry, Feed, FeedError, FeedResult
from tests.conftest import cli_env
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.test_cli import Daemon

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--db", str(db), *args], env={"COLUMNS": "120"}, catch_exceptions=False
    )


def test_4_a_new_default_interval_applies_at_once(server: FeedServer, db: Path) -> None:
    url = server.set("/i.xml", rss("I", items("i", 1)))
    with Aggregator(db, workers=1) as agg:  # the default: 30 minutes
        agg.add_feed(url)
        list(agg.update())
        polled = agg.get_feed(url)
    assert polled.last_checked is not None
    assert polled.next_check is not None
    assert polled.next_check > polled.last_checked + timedelta(minutes=29)
    with Aggregator(db, workers=1, default_interval=60) as agg:  # run --interval 60
        list(agg.update())
        now = agg.get_feed(url)
    assert now.next_check is not None
    assert now.next_check <= polled.last_checked + timedelta(seconds=60)


def test_5_a_closed_pipe_is_a_normal_end(server: FeedServer, db: Path) -> None:
    url = server.set("/p.xml", rss("P", items("p", 1000)))
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        list(agg.update())
    # `rssmania entries --limit 1000 | head -1`: far more than a pipe holds.
    proc = subprocess.Popen(
        [sys.executable, "-m", "rssmania", "entries", "--limit", "1000"],
        env=cli_env(db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == b""


def test_6_a_connection_refused_in_a_persons_words() -> None:
    settings = PollSettings(user_agent="test")

    async def poll() -> object:
        async with make_session(settings, max_connections=1) as session:
            return await fetch(session, PollJob("http://127.0.0.1:9/feed.xml"), settings)

    error = asyncio.run(poll())
    assert isinstance(error, FeedError)
    assert error.message == (
        "cannot connect to 127.0.0.1:9: connection refused (nothing listens there)"
    )


def test_6_a_parser_error_says_where_not_which_stream() -> None:
    with pytest.raises(xml.sax.SAXParseException) as caught:
        xml.sax.parseString(b"<rss>\n  <&", xml.sax.ContentHandler())
    assert first_line(caught.value) == "line 2, column 3: not well-formed (invalid token)"


def test_6_warnings_carry_no_module_name_unless_verbose(db: Path) -> None:
    # Nothing can be reached: the machine is offline, a warning (one feed would be its error).
    assert invoke(db, "add", "http://127.0.0.1:9/f.xml", "http://127.0.0.2:9/g.xml").exit_code == 0
    for verbose, prefix in (([], "rssmania: network"), (["-v"], "rssmania: rssmania.")):
        result = subprocess.run(
            [sys.executable, "-m", "rssmania", *verbose, "update", "--all", "--workers", "1"],
            env=cli_env(db),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        warnings = [line for line in result.stderr.splitlines() if "network unreachable" in line]
        assert warnings, result.stderr
        assert all(line.startswith(prefix) for line in warnings), warnings


def test_7_numbers_in_what_update_prints_are_not_coloured() -> None:
    # rich's highlighter coloured "10" and "2024" inside titles (entries: in
    # test_cli_reader), and the numbers of error lines.
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system="truecolor")
    human.print_changes(console, [human_entry("Top 10 tips for 2024")])
    feed = Feed(
        url="http://x/feed",
        title="Top 10 tips for 2024",
        link=None,
        user_title=None,
        category=None,
        added=NOW,
        last_checked=NOW,
        next_check=NOW,
        last_status=404,
        error_count=1,
        last_error="HTTP 404",
        interval=None,
    )
    error_line(console, FeedResult(feed, (), FeedError("http", "HTTP 404 Not Found"), False, 0.1))
    printed = out.getvalue()
    assert "- Top 10 tips for 2024 " in printed
    assert "! Top 10 tips for 2024: HTTP 404 Not Found" in printed.replace("\x1b[31m!\x1b[0m", "!")


def test_9_update_with_nothing_due_says_when_and_how(server: FeedServer, db: Path) -> None:
    url = server.set("/d.xml", rss("D", items("d", 1)))
    assert invoke(db, "add", url).exit_code == 0
    assert "1 feed polled, 1 new" in invoke(db, "update", "--workers", "1").stdout
    again = invoke(db, "update", "--workers", "1")
    assert again.exit_code == 0
    assert re.fullmatch(
        r"Nothing was due: the next feed comes due in (29|30|31|32|33) min; "
        r"`rssmania update --all` polls every feed now\.\n",
        again.stdout,
    ), again.stdout


def test_9_the_next_poll_lines() -> None:
    assert human.next_poll_line(NOW + timedelta(minutes=29), NOW, UTC) == (
        "Next poll in 29 min (at 12:29)."
    )
    assert human.next_poll_line(None, NOW) == "No feed to poll: waiting for one to be added."
    assert human.nothing_due_line(None, NOW).startswith("No feed to poll")


def test_9_and_12_run_says_when_it_polls_next_and_when_articles_came(
    server: FeedServer, db: Path
) -> None:
    url = server.set("/r.xml", rss("R", items("r", 1)))
    assert invoke(db, "add", url).exit_code == 0
    daemon = Daemon(db, "run", "--interval", "600", "--workers", "1")
    try:
        wait_for(
            lambda: any(
                re.match(r"Next poll in 1[01] min \(at \d\d:\d\d\)\.", line)
                for line in daemon.errors
            ),
            timeout=30,
            what="the next poll to be announced",
        )
    finally:
        daemon.proc.send_signal(signal.SIGINT)
        assert daemon.wait(timeout=10) == 0
    assert re.match(r"\d\d:\d\d:\d\d New articles from R:", daemon.lines[0]), daemon.lines


def test_12_the_demo_titles_do_not_repeat_soon() -> None:
    for feed in SAMPLE_FEEDS:
        titles = [re.sub(r"\d+", "#", feed.item(n).title) for n in range(1, 25)]
        assert len(set(titles)) == len(titles), (feed.slug, titles)


def test_12_lines_that_arrive_over_hours_carry_their_time() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    entry = human_entry("An article")
    human.print_changes(console, [entry], at="14:02:07")
    assert out.getvalue().startswith("14:02:07 New articles from Feed X:\n")
    assert human.changes_text([entry], at="14:02:07") == out.getvalue()


def human_entry(title: str) -> Entry:
    from tests.test_pure import stored_entry  # noqa: PLC0415

    return stored_entry(title)
