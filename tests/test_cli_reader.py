"""Reading in the terminal (show, open, entries), in-process through click's CliRunner.

Output is rendered at a fixed width (COLUMNS) and read as a person would.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from rssmania import Aggregator, Enclosure, Library
from rssmania.cli import cli
from rssmania.cli.reader import should_page
from rssmania.sinks.article import article, render_html, spaced
from rssmania.sinks.console import print_entries
from tests.conftest import cli_env
from tests.feedserver import FeedServer, Item, items, rss

ARTICLE = """
<p>First paragraph with <b>bold</b> and <a href="https://example.org/one">a link</a>.</p>
<ul><li>an item</li><li>another, <a href="https://example.org/two">linked</a></li></ul>
<ol start="3"><li>third</li><li>fourth</li></ol>
<blockquote><p>Quoted words.</p></blockquote>
<pre><code>def hello():
    return 42</code></pre>
<p>A picture: <img src="https://example.org/cat.png" alt="a sleeping cat"></p>
"""


def invoke(db: Path, *args: str, columns: int = 72, tz: str = "UTC") -> Result:
    env = {"COLUMNS": str(columns), "TZ": tz, "RSSMANIA_DB": str(db), "NO_COLOR": "1"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def polled(db: Path, server: FeedServer, path: str, feed: str) -> str:
    url = server.set(path, feed)
    with Aggregator(db, workers=1) as agg:
        agg.add_feed(url)
        list(agg.update())
    return url


@pytest.fixture
def stored(db: Path, server: FeedServer) -> int:
    """A database holding one article with rich HTML; its entry_id."""
    item = Item("rich-1", "Cycling 101, part 2", "https://example.org/rich", ARTICLE, 1.7e9)
    polled(db, server, "/rich.xml", rss("The Rich Feed", [replace(item, description=ARTICLE)]))
    with Library(db) as lib:
        (entry,) = lib.entries(lib.default_user().id).entries
    return entry.entry_id


def test_show_prints_the_article_for_a_terminal(db: Path, stored: int) -> None:
    result = invoke(db, "show", str(stored), "--keep-unread", tz="Europe/Paris")
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.output.splitlines()]
    assert lines[:3] == [
        "Cycling 101, part 2",
        f"The Rich Feed · 2023-11-14 23:13 · #{stored}",  # 22:13 UTC, in Paris
        "https://example.org/rich",
    ]
    text = "\n".join(lines)
    assert "First paragraph with bold and a link [1]." in text
    assert "• an item\n• another, linked [2]" in text
    assert "3. third\n4. fourth" in text
    assert "│ Quoted words." in text
    assert "    def hello():\n        return 42" in text
    assert "A picture: [image: a sleeping cat] [3]" in text
    assert lines[-3:] == [
        "[1] https://example.org/one",
        "[2] https://example.org/two",
        "[3] https://example.org/cat.png",
    ]
    assert "<" not in text  # no markup left


def test_show_marks_read_unless_asked_not_to(db: Path, stored: int) -> None:
    with Library(db) as lib:
        me = lib.default_user().id
        assert invoke(db, "show", str(stored), "--keep-unread").exit_code == 0
        assert not lib.entry(me, stored).read
        assert invoke(db, "show", str(stored)).exit_code == 0
        assert lib.entry(me, stored).read


def test_show_json_is_the_whole_entry(db: Path, stored: int) -> None:
    result = invoke(db, "show", "--json", str(stored))
    assert result.exit_code == 0
    obj = json.loads(result.output)
    assert obj["entry_id"] == stored
    assert "sleeping cat" in (obj["content"] or obj["summary"])


def test_show_of_an_unknown_id_is_bad_input(db: Path, stored: int) -> None:
    result = invoke(db, "show", str(stored + 100))
    assert result.exit_code == 2
    assert "not found" in result.output or "no entry" in result.output.lower()


def test_long_articles_go_through_a_pager_on_a_terminal_only() -> None:
    assert should_page(80, 24, is_terminal=True)
    assert not should_page(20, 24, is_terminal=True)
    assert not should_page(80, 24, is_terminal=False)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("Plain text.\n\nTwo paragraphs.", "Plain text.\n\nTwo paragraphs."),
        ("<p>a<br>b</p>", "a\nb"),
        ("<p>  spaced \n  out  </p>", "spaced out"),
        ("<h2>Title</h2><p>x</p>", "Title\n\nx"),
        ('<a href="https://e.org/">e</a> <a href="https://e.org/">again</a>', "e [1] again [1]"),
        ("<img src='https://e.org/i.png'>", "[image] [1]"),
        (
            "<table><tr><th>k</th><td>v</td></tr><tr><td>1</td><td>2</td></tr></table>",
            "k | v\n1 | 2",
        ),
        ("<p>esc\x1b[2Jape</p>", "esc[2Jape"),
        ("<div>" * 100 + "deep" + "</div>" * 100, "deep"),  # a hostile nesting: the words
    ],
)
def test_html_as_terminal_text(html: str, expected: str) -> None:
    console = Console(file=io.StringIO(), width=60, color_system=None)
    body = render_html(html)
    with console.capture() as captured:
        console.print(spaced(body.blocks))
    assert "\n".join(line.rstrip() for line in captured.get().splitlines()) == expected


def test_open_opens_the_link_in_the_browser_and_marks_read(
    db: Path, stored: int, tmp_path: Path
) -> None:
    # A real process started as the browser ($BROWSER), writing down what it was given.
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {**cli_env(db), "BROWSER": str(browser)}
    result = subprocess.run(
        [sys.executable, "-m", "rssmania", "open", str(stored)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert opened.read_text().strip() == "https://example.org/rich"
    with Library(db) as lib:
        assert lib.entry(lib.default_user().id, stored).read


def test_entries_show_ids_local_times_and_feeds(db: Path, server: FeedServer) -> None:
    polled(db, server, "/e.xml", rss("Feed E", items("e", 2)))
    utc = invoke(db, "entries", tz="UTC").output.splitlines()
    tokyo = invoke(db, "entries", tz="Asia/Tokyo").output.splitlines()
    # 1700003600 is 2023-11-14 23:13 UTC, 2023-11-15 08:13 in Tokyo.
    assert utc[0].split() == ["2", "2023-11-14", "23:13", "e", "article", "1", "(Feed", "E)"]
    assert tokyo[0].split()[:3] == ["2", "2023-11-15", "08:13"]
    assert utc[1].strip() == "https://example.org/e/1"


def test_numbers_in_titles_are_not_coloured(server: FeedServer, db: Path) -> None:
    polled(db, server, "/n.xml", rss("Feed 9", items("n", 13)))
    with Library(db) as lib:
        found = lib.entries(lib.default_user().id, limit=1).entries
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system="truecolor")
    print_entries(console, found)
    # rich's highlighter put a colour between "article " and "12".
    assert "n article 12" in out.getvalue()


def test_entries_feed_by_title_says_when_it_is_ambiguous(db: Path, server: FeedServer) -> None:
    a = polled(db, server, "/a.xml", rss("Same Name", items("a", 1)))
    b = polled(db, server, "/b.xml", rss("same name", items("b", 1)))
    result = invoke(db, "entries", "--feed", "Same Name")
    assert result.exit_code == 2
    assert "several feeds are titled 'Same Name'" in result.output
    assert a in result.output
    assert b in result.output
    by_url = invoke(db, "entries", "--feed", a)
    assert by_url.exit_code == 0
    assert "a article 0" in by_url.output
    assert "b article 0" not in by_url.output


def test_the_limit_help_says_its_range_in_words(tmp_path: Path) -> None:
    result = invoke(tmp_path / "unused.sqlite", "entries", "--help")
    assert "<=" not in result.output
    assert "up to 10,000" in result.output
    bad = invoke(tmp_path / "unused.sqlite", "entries", "--limit", "0")
    assert bad.exit_code == 2
    assert "not a whole number (from 1 to 10,000)" in bad.output


@pytest.mark.parametrize("command", [["list"], ["entries"], ["export"], ["list", "--json"]])
def test_commands_that_read_need_the_database_to_exist(tmp_path: Path, command: list[str]) -> None:
    # A mistyped path said "No feeds yet" and left folders and a database behind.
    missing = tmp_path / "typo" / "feeds.sqlite"
    result = invoke(missing, *command)
    assert result.exit_code == 1
    assert f"no database at {missing}" in result.output
    assert not (tmp_path / "typo").exists()


def test_commands_that_read_do_not_write(db: Path, server: FeedServer, tmp_path: Path) -> None:
    polled(db, server, "/r.xml", rss("R", items("r", 2)))
    with Library(db) as lib:
        lib.update_search_index()
    files = sorted(p.name for p in db.parent.iterdir())
    before = db.read_bytes()
    db.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        for command in (
            ["list"],
            ["entries"],
            ["export"],
            ["entries", "--search", "article"],
            ["add", "http://127.0.0.1:9/x.xml"],  # a command that writes: refused
        ):
            result = subprocess.run(
                [sys.executable, "-m", "rssmania", *command],
                env=cli_env(db),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                preexec_fn=drop_file_permission_override,
            )
            if command[0] == "add":
                assert result.returncode == 1, result
                assert "readonly" in result.stderr or "read-only" in result.stderr
                continue
            assert result.returncode == 0, (command, result.stderr)
            assert "r article" in result.stdout or "R" in result.stdout
    finally:
        db.parent.chmod(0o755)
        db.chmod(0o644)
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == files


def drop_file_permission_override() -> None:
    """In a child: lose the capabilities that let root write any file (as a user would be).

    Dropped from the bounding set: root's program, once exec'd, gets no more than that.
    """
    import ctypes  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_an_article_lists_its_attachments_with_its_links(db: Path, stored: int) -> None:
    with Library(db) as lib:
        entry = lib.entry(lib.default_user().id, stored)
    podcast = replace(entry, enclosures=(Enclosure("https://example.org/ep1.mp3", "audio/mpeg"),))
    console = Console(file=io.StringIO(), width=80, color_system=None)
    with console.capture() as captured:
        console.print(article(podcast))
    lines = captured.get().splitlines()
    assert lines[-1] == "[4] https://example.org/ep1.mp3 (attachment)"
    assert lines[-2] == "[3] https://example.org/cat.png"


def run_on_a_terminal(db: Path, *args: str, env: dict[str, str]) -> str:
    """`rssmania ARGS` with a pseudo-terminal of 24 rows for its output; what it showed."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rssmania", *args],
        env={**cli_env(db), **env},
        stdin=child,
        stdout=child,
        stderr=subprocess.PIPE,
    )
    os.close(child)
    shown = b""
    with contextlib.suppress(OSError):  # EIO: the terminal's other end closed
        while chunk := os.read(main, 65536):
            shown += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    return shown.decode("utf-8", "replace")


def test_a_long_article_on_a_terminal_goes_through_the_pager(
    db: Path, server: FeedServer, tmp_path: Path
) -> None:
    long_text = "".join(f"<p>Paragraph {n} of a long read.</p>" for n in range(40))
    item = Item("long-1", "A long read", "https://example.org/long", long_text, 1.7e9)
    polled(db, server, "/long.xml", rss("Long", [item]))
    with Library(db) as lib:
        (entry,) = lib.entries(lib.default_user().id).entries
    paged = tmp_path / "paged.txt"
    pager = {"PAGER": f"cat > {paged}", "TERM": "xterm-256color", "COLUMNS": "", "LINES": ""}
    shown = run_on_a_terminal(db, "show", str(entry.entry_id), env=pager)
    text = paged.read_text()
    assert "Paragraph 39 of a long read." in text
    assert "\x1b[1m" in text  # the title in bold: the pager is told to show styles
    assert "Paragraph" not in shown
    # A short one is printed on the terminal itself.
    short = tmp_path / "short.txt"
    item = Item("short-1", "A short read", "https://example.org/short", "<p>Brief.</p>", 1.7e9)
    polled(db, server, "/short.xml", rss("Short", [item]))
    with Library(db) as lib:
        found = lib.entries(lib.default_user().id, search="title:short").entries
    shown = run_on_a_terminal(
        db, "show", str(found[0].entry_id), env={**pager, "PAGER": f"cat > {short}"}
    )
    assert "Brief." in shown
    assert not short.exists()
