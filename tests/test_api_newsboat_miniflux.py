"""newsboat 2.21 (Debian's) reading rssmania through its `miniflux` URL source.

`newsboat -x reload` syncs into newsboat's own cache (an SQLite file, read
here), and newsboat runs in tmux, driven with keystrokes as a person would.
newsboat 2.21 sends no star to Miniflux (its `miniflux` source has no flag
option; its `feedhq` one has, tested with the Google Reader API).
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rssmania import Library
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.test_web import PASSWORD, Serve, serving
from tests.tmux import Terminal, terminal

pytestmark = pytest.mark.skipif(
    shutil.which("newsboat") is None or shutil.which("tmux") is None,
    reason="newsboat and tmux come from tests/install-system-packages.sh",
)


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    db = tmp_path_factory.mktemp("serve") / "feeds.sqlite"
    with serving(db, "--interval", "3600") as running:
        yield running


@dataclass
class Newsboat:
    """newsboat's files for one account: its config, urls file and cache."""

    folder: Path
    url: str
    name: str

    def __post_init__(self) -> None:
        (self.folder / "config").write_text(
            'urls-source "miniflux"\n'
            f'miniflux-url "{self.url}"\n'
            f'miniflux-login "{self.name}"\n'
            f'miniflux-password "{PASSWORD}"\n'
        )
        (self.folder / "urls").write_text("")

    @property
    def command(self) -> list[str]:
        f = self.folder
        return ["newsboat", "-C", f"{f}/config", "-u", f"{f}/urls", "-c", f"{f}/cache.db"]

    def reload(self) -> None:
        done = subprocess.run(  # noqa: PLW1510 - the code is checked below
            [*self.command, "-x", "reload"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def cache(self) -> dict[int, tuple[str, int, bool]]:
        """What newsboat stored, by item guid (the entry id): (title, feed id, unread)."""
        with sqlite3.connect(self.folder / "cache.db") as db:
            rows = db.execute("SELECT guid, title, feedurl, unread FROM rss_item").fetchall()
        return {int(guid): (title, int(feed), bool(unread)) for guid, title, feed, unread in rows}


def down_to(term: Terminal, text: str) -> list[str]:
    """The keys that move newsboat's cursor from the first row of its list to ``text``'s."""
    rows = term.screen().splitlines()[1:]
    return ["Home"] + ["Down"] * next(n for n, row in enumerate(rows) if text in row)


_names = itertools.count(1)


def test_newsboat_reads_and_marks_through_the_miniflux_api(
    serve: Serve, feeds: FeedServer, tmp_path: Path
) -> None:
    name = f"nb{next(_names)}"
    with Library(serve.db) as lib:
        user = lib.add_user(name, PASSWORD)
        a = lib.add_feed(
            user.id, feeds.set(f"/{name}/a.xml", rss("Feed A", items("a", 3))), category="Tech"
        )
        b = lib.add_feed(user.id, feeds.set(f"/{name}/b.xml", rss("Feed B", items("b", 2))))
        wait_for(lambda: lib.counts(user.id).total == 5, timeout=30, what="the feeds polled")
        ids = {e.title: e.entry_id for e in lib.entries(user.id).entries}

    newsboat = Newsboat(tmp_path, serve.url, name)
    newsboat.reload()
    cache = newsboat.cache()
    assert {i: (t, f) for i, (t, f, _) in cache.items()} == {
        ids[f"{x} article {n}"]: (f"{x} article {n}", feed.id)
        for x, feed, count in (("a", a, 3), ("b", b, 2))
        for n in range(count)
    }
    assert all(unread for *_, unread in cache.values())

    with terminal(newsboat.command, cwd=tmp_path, env={}) as tmux:
        # The feed list: the unread counts the web UI shows (Library.counts).
        tmux.wait_for("(3/3) Feed A")
        tmux.wait_for("(2/2) Feed B")
        tmux.keys("t")  # choose a tag: the categories
        tmux.wait_for("Tech")
        tmux.keys("q")  # back, no tag chosen
        tmux.wait_for("Your feeds")
        # Open Feed A, mark its newest article read with N.
        tmux.keys(*down_to(tmux, "Feed A"), "Enter")
        tmux.wait_for("Articles in feed 'Feed A' (3 unread, 3 total)")
        tmux.keys("N")
        tmux.wait_for("Articles in feed 'Feed A' (2 unread, 3 total)")
        with Library(serve.db) as lib:
            wait_for(
                lambda: lib.entry(user.id, ids["a article 2"]).read, what="N reaching the server"
            )
            assert lib.counts(user.id).feeds == {a.id: 2, b.id: 2}
        # Back to the list, and "mark feed read" (A) on Feed B.
        tmux.keys("q")
        tmux.wait_for("Your feeds")
        tmux.keys(*down_to(tmux, "Feed B"), "A")
        with Library(serve.db) as lib:
            wait_for(lambda: lib.counts(user.id).feeds.get(b.id, 0) == 0, what="A reaching us")
        tmux.keys("q")
        wait_for(lambda: not tmux.running(), what="newsboat to quit")

    # The other way: what the web UI changes, newsboat's next reload shows.
    with Library(serve.db) as lib:
        lib.mark_read(user.id, [ids["a article 0"]])
        lib.mark_unread(user.id, [ids["b article 1"]])
    newsboat.reload()
    unread = {title: flag for title, _, flag in newsboat.cache().values()}
    assert unread == {
        "a article 0": False,
        "a article 1": True,
        "a article 2": False,
        "b article 0": False,
        "b article 1": True,
    }
