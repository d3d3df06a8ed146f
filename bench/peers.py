"""The pollers ``speed.py`` compares: how to set each up, run it, and count what it stored.

Each tool has three steps, and only ``command`` is timed:

    prepare(state, urls)   untimed: subscribe to the feeds (an empty database: cold)
    command(state)         timed:   poll every feed once (cold, then again warm)
    counts(state)          untimed: {feed url: entries stored}

``state`` is a fresh folder per tool and run; the warm poll reuses it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


class ToolType(Protocol):
    name: str

    def prepare(self, state: Path, urls: list[str]) -> None: ...

    def command(self, state: Path) -> tuple[list[str], dict[str, str]]: ...

    def counts(self, state: Path) -> dict[str, int]: ...


def write_urls(state: Path, urls: list[str]) -> Path:
    path = state / "urls.txt"
    path.write_text("\n".join(urls) + "\n")
    return path


@dataclass
class Rssmania:
    workers: int | None = None
    name: str = "rssmania"
    as_json: bool = True
    """``update --all --json`` (every entry, whole, on stdout); else ``update --all`` as a
    person runs it, its console output in the log."""

    def _cli(self, state: Path) -> list[str]:
        # python -m, not the console script: a pyenv shim would add a bash start-up.
        return [PYTHON, "-m", "rssmania", "--db", str(state / "rssmania.sqlite")]

    def prepare(self, state: Path, urls: list[str]) -> None:
        for start in range(0, len(urls), 2_000):  # keep argv well under the kernel's limit
            subprocess.run(
                [*self._cli(state), "add", *urls[start : start + 2_000]],
                check=True,
                capture_output=True,
            )

    def command(self, state: Path) -> tuple[list[str], dict[str, str]]:
        workers = ["--workers", str(self.workers)] if self.workers else []
        output = ["--json"] if self.as_json else []
        return [*self._cli(state), "update", "--all", *output, *workers], dict(os.environ)

    def counts(self, state: Path) -> dict[str, int]:
        with sqlite3.connect(state / "rssmania.sqlite") as db:
            rows = db.execute(
                "SELECT f.url, count(e.id) FROM feeds f LEFT JOIN entries e ON e.feed_id = f.id"
                " GROUP BY f.id"
            )
            return dict(rows.fetchall())

    def errors(self, state: Path) -> list[str]:
        """The feeds rssmania itself calls failed: first thing to read on a mismatch."""
        with sqlite3.connect(state / "rssmania.sqlite") as db:
            rows = db.execute(
                "SELECT url, last_status, last_error FROM feeds WHERE last_error IS NOT NULL"
            )
            return [f"{url} [{status}] {error}" for url, status, error in rows]


@dataclass
class FeedparserLoop:
    """The seed's way: ``feedparser.parse(url)`` in a loop, or over a multiprocessing pool."""

    processes: int = 0
    name: str = "feedparser loop"

    def prepare(self, state: Path, urls: list[str]) -> None:
        write_urls(state, urls)

    def command(self, state: Path) -> tuple[list[str], dict[str, str]]:
        script = str(HERE / "peer_feedparser.py")
        cmd = [PYTHON, script, str(state / "seed.sqlite"), str(state / "urls.txt")]
        if self.processes:
            cmd += ["--processes", str(self.processes)]
        return cmd, dict(os.environ)

    def counts(self, state: Path) -> dict[str, int]:
        script = str(HERE / "peer_feedparser.py")
        out = subprocess.run(
            [PYTHON, script, str(state / "seed.sqlite"), "--count"],
            check=True,
            capture_output=True,
            text=True,
        )
        return dict(json.loads(out.stdout))


@dataclass
class Reader:
    """lemon24/reader: ``update_feeds(workers=8)``, run by ``peer_reader.py``."""

    workers: int = 8
    name: str = "reader"

    def _cmd(self, action: str, state: Path) -> list[str]:
        return [PYTHON, str(HERE / "peer_reader.py"), action, str(state / "reader.sqlite")]

    def prepare(self, state: Path, urls: list[str]) -> None:
        subprocess.run(
            [*self._cmd("add", state), str(write_urls(state, urls))],
            check=True,
            capture_output=True,
        )

    def command(self, state: Path) -> tuple[list[str], dict[str, str]]:
        return [*self._cmd("update", state), "--workers", str(self.workers)], dict(os.environ)

    def counts(self, state: Path) -> dict[str, int]:
        out = subprocess.run(self._cmd("count", state), check=True, capture_output=True, text=True)
        return dict(json.loads(out.stdout))


NEWSBOAT_CONFIG = """\
reload-threads {threads}
auto-reload no
download-timeout 60
max-items 0
keep-articles-days 0
show-read-feeds yes
history-limit 0
cleanup-on-quit yes
user-agent "bench (newsboat)"
"""


@dataclass
class Newsboat:
    """``newsboat -x reload``; HOME and the XDG folders point into ``state``."""

    threads: int = 8
    name: str = "newsboat"

    def prepare(self, state: Path, urls: list[str]) -> None:
        write_urls(state, urls)
        (state / "newsboat.conf").write_text(NEWSBOAT_CONFIG.format(threads=self.threads))
        for sub in ("home", "config", "data", "cache"):
            (state / sub).mkdir(exist_ok=True)

    def command(self, state: Path) -> tuple[list[str], dict[str, str]]:
        env = {
            **os.environ,
            "HOME": str(state / "home"),
            "XDG_CONFIG_HOME": str(state / "config"),
            "XDG_DATA_HOME": str(state / "data"),
            "XDG_CACHE_HOME": str(state / "cache"),
            "LANG": "C.UTF-8",
        }
        cmd = ["newsboat", "-q", "-u", str(state / "urls.txt"), "-c", str(state / "cache.db")]
        return [*cmd, "-C", str(state / "newsboat.conf"), "-x", "reload"], env

    def counts(self, state: Path) -> dict[str, int]:
        with sqlite3.connect(state / "cache.db") as db:
            rows = db.execute("SELECT feedurl, count(*) FROM rss_item GROUP BY feedurl")
            return dict(rows.fetchall())


def all_tools(*, rssmania_workers: int | None, cores: int) -> list[ToolType]:
    return [
        Rssmania(workers=rssmania_workers),
        Rssmania(workers=rssmania_workers, name="rssmania console", as_json=False),
        FeedparserLoop(),
        FeedparserLoop(processes=cores, name="feedparser pool"),
        Reader(),
        Newsboat(),
    ]
