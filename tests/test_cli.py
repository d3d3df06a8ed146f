"""The command line, run as a real child process."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import pytest

from rssmania._demo import SAMPLE_FEEDS
from rssmania._start import polls_with_local_workers
from rssmania._worker_context import fork_forkserver
from rssmania.cli.feeds import MAX_OPML_BYTES
from tests.conftest import cli_env, rssmania, rssmania_process
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.procs import alive, descendants

JSON_KEYS = {"feed_url", "feed_title", "id", "title", "link", "published", "updated", "status"}


def test_add_checks_every_url_before_changing_anything(server: FeedServer, db: Path) -> None:
    good = server.set("/a.xml", rss("A", items("a", 1)))
    for bad, message in [
        ("ftp://example.org/feed", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("/etc/passwd", "not a URL"),
        ("https://", "no host"),
    ]:
        result = rssmania(db, "add", good, bad)
        assert result.returncode == 2, result
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert not db.exists()
    assert rssmania(db, "add", good).returncode == 0
    assert len(rssmania(db, "list", "--json").stdout.splitlines()) == 1


def test_processes_creating_one_database_at_once(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "rssmania", "add", f"http://127.0.0.1:9/{n}.xml"],
            env=cli_env(db),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err


def test_update_json_is_only_json_lines(server: FeedServer, db: Path) -> None:
    urls = [server.set(f"/j{i}.xml", rss(f"J {i}", items(f"j{i}", 3))) for i in range(3)]
    assert rssmania(db, "add", *urls).returncode == 0
    first = rssmania(db, "update", "--json")
    assert first.returncode == 0, first.stderr
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert len(lines) == 9
    assert all(set(obj) >= JSON_KEYS and obj["status"] == "new" for obj in lines)
    assert {obj["feed_title"] for obj in lines} == {"J 0", "J 1", "J 2"}
    # Dates are RFC 3339 in UTC, as datetime.isoformat() writes them.
    for obj in lines:
        for name in ("published", "updated", "first_seen"):
            assert obj[name].endswith("+00:00"), obj
            assert datetime.fromisoformat(obj[name]).utcoffset() == timedelta(0)
    assert "3 feeds polled, 9 new" in first.stderr
    second = rssmania(db, "update", "--all", "--json")
    assert second.returncode == 0
    assert second.stdout == ""
    stored = [json.loads(line) for line in rssmania(db, "entries", "--json").stdout.splitlines()]
    assert len(stored) == 9
    assert all(set(obj) >= JSON_KEYS for obj in stored)
    # Newest first.
    dates = [obj["published"] for obj in stored]
    assert dates == sorted(dates, reverse=True)


def test_update_prints_new_articles_like_the_seed(server: FeedServer, db: Path) -> None:
    url = server.set("/h.xml", rss("Hello Feed", items("h", 2)))
    bad = server.set("/missing.xml", "nope", status=404, content_type="text/plain")
    rssmania(db, "add", url, bad)
    result = rssmania(db, "update", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "New articles from Hello Feed:" in result.stdout
    assert "- h article 0 https://example.org/h/0" in result.stdout
    assert "2 feeds polled, 2 new, 0 updated, 1 error" in result.stdout
    assert "HTTP 404" in result.stderr
    listed = rssmania(db, "list").stdout
    assert "Hello Feed" in listed
    assert "1 error: HTTP 404" in listed


def test_import_export_round_trip(server: FeedServer, db: Path, tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    a, b = server.url("/a.xml"), server.url("/b.xml")
    opml.write_text(
        f"""<?xml version="1.0"?><opml version="2.0"><head><title>s</title></head><body>
        <outline text="Tech"><outline text="A" xmlUrl="{a}"/></outline>
        <outline text="B" xmlUrl="{b}"/><outline text="Bad" xmlUrl="gopher://x/"/>
        </body></opml>"""
    )
    result = rssmania(db, "import", str(opml))
    assert result.returncode == 0, result.stderr
    assert "Imported 2 feeds" in result.stdout
    assert "gopher" in result.stderr
    exported = rssmania(db, "export").stdout
    assert f'xmlUrl="{a}"' in exported
    assert '<outline text="Tech"' in exported
    broken = tmp_path / "broken.opml"
    broken.write_text("<opml><body><outline")
    result = rssmania(db, "import", str(broken))
    assert result.returncode == 2
    assert "cannot read OPML" in result.stderr
    assert len(rssmania(db, "list", "--json").stdout.splitlines()) == 2


def test_an_export_that_cannot_be_written_leaves_the_last_one_whole(
    db: Path, tmp_path: Path
) -> None:
    urls = [f"http://127.0.0.1:9/{'long/' * 20}feed-{n}.xml" for n in range(600)]
    assert rssmania(db, "add", *urls).returncode == 0
    out = tmp_path / "subs.opml"
    assert rssmania(db, "export", str(out)).returncode == 0
    good = out.read_bytes()
    assert rssmania(db, "add", "http://127.0.0.1:9/one-more.xml").returncode == 0

    def small_files() -> None:  # the disk fills up: a write past 64 KB fails with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    full = subprocess.run(
        [sys.executable, "-m", "rssmania", "export", str(out)],
        env=cli_env(db),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=small_files,
    )
    assert full.returncode == 1, full
    assert "cannot write" in full.stderr
    assert "Traceback" not in full.stderr
    assert len(good) > 65536
    assert out.read_bytes() == good  # was cut at 64 KB
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_export_to_what_is_not_a_regular_file_writes_to_it(db: Path, tmp_path: Path) -> None:
    assert rssmania(db, "add", "http://127.0.0.1:9/secret-token/feed.xml").returncode == 0
    # A FIFO (like /dev/null or /dev/stdout) used to be replaced by a regular file.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = rssmania(db, "export", str(fifo))
    reader.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert b"secret-token" in received[0]
    assert fifo.is_fifo()
    # /dev/stdout on a pipe: realpath names no file that can be created.
    piped = rssmania_process(db, "export", "/dev/stdout")
    assert piped.returncode == 0, piped.stderr
    assert "secret-token" in piped.stdout
    # A private export stays private once replaced.
    private = tmp_path / "subs.opml"
    private.write_bytes(b"")
    private.chmod(0o600)
    assert rssmania(db, "export", str(private)).returncode == 0
    assert b"secret-token" in private.read_bytes()
    assert private.stat().st_mode & 0o777 == 0o600


def test_arguments_that_are_not_utf8_get_one_line_and_change_nothing(db: Path) -> None:
    assert rssmania(db, "add", "http://127.0.0.1:9/a.xml").returncode == 0
    before = rssmania(db, "list", "--json").stdout
    for args in [
        [b"add", b"http://127.0.0.1:9/b\xff.xml"],
        [b"add", b"--title", b"bad\xff", b"http://127.0.0.1:9/c.xml"],
        [b"add", b"--category", b"c\xff", b"http://127.0.0.1:9/d.xml"],
        [b"set", b"http://127.0.0.1:9/a.xml", b"--title", b"\xe9t\xe9"],
        [b"remove", b"http://127.0.0.1:9/a\xff.xml"],
        [b"entries", b"--feed", b"http://127.0.0.1:9/a\xff.xml"],
    ]:
        # As the interpreter hands such bytes of argv over: lone surrogates.
        result = rssmania(db, *(os.fsdecode(arg) for arg in args))
        assert result.returncode == 2, (args, result)
        assert "Traceback" not in result.stderr, args
        assert "not UTF-8" in result.stderr or "not subscribed" in result.stderr, args
    assert rssmania(db, "list", "--json").stdout == before
    # Once through a real interpreter's argv.
    real = subprocess.run(
        [sys.executable.encode(), b"-m", b"rssmania", b"add", b"http://127.0.0.1:9/b\xff.xml"],
        env=cli_env(db),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert real.returncode == 2, real
    assert b"not UTF-8" in real.stderr


def test_a_user_agent_that_cannot_be_sent_is_refused_before_polling(
    server: FeedServer, db: Path
) -> None:
    url = server.set("/ua.xml", rss("UA", items("ua", 1)))
    assert rssmania(db, "add", url).returncode == 0
    result = rssmania(db, "--user-agent", "rssmania\r\nX-Evil: 1", "update", "--workers", "1")
    assert result.returncode == 2, result
    assert "user agent" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.count("/ua.xml") == 0
    (feed,) = [json.loads(line) for line in rssmania(db, "list", "--json").stdout.splitlines()]
    assert feed["error_count"] == 0  # it used to be the feed's error, and backed off


@pytest.mark.parametrize("command", [["export"], ["list"], ["list", "--json"], ["entries"]])
def test_a_command_whose_output_has_nowhere_to_go_says_so(db: Path, command: list[str]) -> None:
    assert rssmania(db, "add", "http://127.0.0.1:9/a.xml").returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "rssmania", *command],
        env=cli_env(db),
        stdout=None,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert result.returncode == 1, result
    assert "standard output is closed" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_while_the_command_line_loads_is_a_clean_stop(tmp_path: Path) -> None:
    # The signal lands inside the import of the command line, before its own
    # handling is in place: an import hook raises it there, every time.
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'rssmania.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['rssmania', 'list']\n"
        "from rssmania._start import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=cli_env(tmp_path / "db.sqlite"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 130, result
    assert result.stderr == "Stopped at once.\n"


def test_an_empty_rssmania_db_is_unset(tmp_path: Path) -> None:
    env = {**cli_env(tmp_path / "unused"), "RSSMANIA_DB": "", "XDG_DATA_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "rssmania", "add", "http://127.0.0.1:9/a.xml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "rssmania" / "rssmania.sqlite").exists()


def test_an_untitled_feed_comes_back_untitled(server: FeedServer, db: Path, tmp_path: Path) -> None:
    # Exported before its first poll, it had its URL written as its title,
    # and the import made that its own title for good.
    url = server.set("/untitled.xml", rss("Its Real Title", items("u", 1)))
    assert rssmania(db, "add", url).returncode == 0
    opml = tmp_path / "subs.opml"
    assert rssmania(db, "export", str(opml)).returncode == 0
    other = tmp_path / "other.sqlite"
    assert rssmania(other, "import", str(opml)).returncode == 0
    assert rssmania(other, "update", "--all").returncode == 0
    (listed,) = [json.loads(line) for line in rssmania(other, "list", "--json").stdout.splitlines()]
    assert listed["title"] == "Its Real Title"


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "junk.sqlite"
    db.write_bytes(b"this is not sqlite" * 100)
    result = rssmania(db, "list")
    assert result.returncode == 1
    assert "not an rssmania database" in result.stderr
    assert "Traceback" not in result.stderr
    assert db.read_bytes() == b"this is not sqlite" * 100


class Daemon:
    """`rssmania run` in a child process, its stdout read line by line."""

    def __init__(self, db: Path, *args: str, own_group: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rssmania", *args],
            env=cli_env(db),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Its own process group, as a service manager starts it.
            start_new_session=own_group,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.errors), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code


@pytest.mark.slow
def test_killed_and_restarted_daemon_reports_each_article_once(
    server: FeedServer, db: Path
) -> None:
    n_feeds = 4
    paths = [f"/k{i}.xml" for i in range(n_feeds)]
    for i, path in enumerate(paths):
        server.set(path, rss(f"K {i}", items(f"k{i}", 3)), delay=0.3)
    rssmania(db, "add", *[server.url(p) for p in paths])
    seen: list[str] = []
    expected = {f"k{i}-{n}" for i in range(n_feeds) for n in range(3)}
    for cycle in range(3):
        daemon = Daemon(db, "run", "--interval", "1", "--json", "--workers", "2")
        requests_before = len(server.seen)
        if cycle > 0:
            # New articles appear; kill the daemon while it is fetching them.
            for i, path in enumerate(paths):
                server.set(path, rss(f"K {i}", items(f"k{i}", 3 + cycle)), delay=0.3)
                expected.add(f"k{i}-{2 + cycle}")
            wait_for(
                lambda before=requests_before: len(server.seen) > before,  # type: ignore[misc]
                what="the daemon to poll",
            )
        else:
            wait_for(lambda d=daemon: len(d.lines) >= 12, what="the first articles")  # type: ignore[misc]
        children = descendants(daemon.proc.pid)
        daemon.proc.kill()
        daemon.wait(timeout=10)
        # Workers notice that their coordinator is gone and exit too.
        wait_for(lambda c=children: not alive(c), timeout=5, what="orphaned workers to exit")  # type: ignore[misc]
        seen += [json.loads(line)["id"] for line in daemon.lines]
    # A last, undisturbed run picks up whatever the kills interrupted.
    daemon = Daemon(db, "run", "--interval", "1", "--json")
    wait_for(lambda: any("Watching" in e for e in daemon.errors), what="the daemon to start")
    wait_for(lambda: len(seen) + len(daemon.lines) >= len(expected), what="every article")
    daemon.proc.send_signal(signal.SIGINT)
    assert daemon.wait(timeout=10) == 0
    seen += [json.loads(line)["id"] for line in daemon.lines]
    assert sorted(seen) == sorted(expected), "each article exactly once"


# Each signal with each command: the everyday loop keeps two of the four (7 s each).
@pytest.mark.parametrize(
    ("command", "sig"),
    [
        ("update", signal.SIGINT),
        ("run", signal.SIGTERM),
        pytest.param("update", signal.SIGTERM, marks=pytest.mark.slow),
        pytest.param("run", signal.SIGINT, marks=pytest.mark.slow),
    ],
    ids=["update-SIGINT", "run-SIGTERM", "update-SIGTERM", "run-SIGINT"],
)
def test_a_signal_stops_within_5_s_and_leaves_no_child(
    db: Path, sig: signal.Signals, command: str
) -> None:
    # Feed i answers after 0.5 + i*0.6 s: some finish within the grace period, others never do.
    with FeedServer(hosts=8) as server:
        urls = [
            server.set(
                f"/slow{i}.xml", rss(f"Slow {i}", items(f"s{i}", 1)), i % 8, delay=0.5 + i * 0.6
            )
            for i in range(16)
        ]
        _stop_and_check(server, db, sig, command, urls)


@pytest.mark.parametrize("command", ["run", pytest.param("update", marks=pytest.mark.slow)])
def test_a_sigterm_to_the_process_group_keeps_the_grace_period(db: Path, command: str) -> None:
    # systemd's stop and `kill -TERM -PGID` reach the workers too: they died at
    # once ("a worker process died"), and nothing in flight was stored.
    with FeedServer(hosts=8) as server:
        urls = [
            server.set(
                f"/slow{i}.xml", rss(f"Slow {i}", items(f"s{i}", 1)), i % 8, delay=0.5 + i * 0.6
            )
            for i in range(16)
        ]
        _stop_and_check(server, db, signal.SIGTERM, command, urls, whole_group=True)


def _stop_and_check(
    server: FeedServer,
    db: Path,
    sig: signal.Signals,
    command: str,
    urls: list[str],
    *,
    whole_group: bool = False,
) -> None:
    rssmania(db, "add", *urls)
    daemon = Daemon(db, command, "--workers", "2", "--json", own_group=whole_group)
    wait_for(lambda: len(server.seen) >= 2, what="polling to start")
    children = descendants(daemon.proc.pid)
    assert len(children) >= 2, children
    started = time.monotonic()
    if whole_group:
        os.killpg(daemon.proc.pid, sig)
    else:
        daemon.proc.send_signal(sig)
    assert daemon.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    wait_for(lambda: not alive(children), timeout=5, what="worker processes to exit")
    # What finished before the stop is stored and was reported; nothing else is.
    stored = rssmania(db, "entries", "--json").stdout.splitlines()
    assert 0 < len(stored) < 16
    assert len(daemon.lines) == len(stored)
    assert not any("died" in line for line in daemon.errors), daemon.errors


def _writing_to_a_full_pipe(pid: int) -> bool:
    with open(f"/proc/{pid}/wchan") as wchan:  # where the main thread sleeps in the kernel
        return "pipe_write" in wchan.read()


def test_a_signal_while_output_waits_on_a_slow_reader_loses_nothing(
    server: FeedServer, db: Path
) -> None:
    # Python's buffered stdout dropped the rest of a write that a signal
    # interrupted: a JSON line cut in two, a feed's later articles never
    # shown, and all of them acknowledged as shown.
    body = "x" * 300
    urls = [
        server.set(
            f"/big{f}.xml",
            rss(f"Big {f}", [replace(i, description=body) for i in items(f"b{f}", 100)]),
        )
        for f in range(10)
    ]
    rssmania(db, "add", *urls)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rssmania", "update", "--json"],
        env=cli_env(db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Nothing is read yet: ~500 KB of articles fill the pipe's 64 KB.
    wait_for(lambda: _writing_to_a_full_pipe(proc.pid), timeout=60, what="a write that waits")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    first = [json.loads(line)["id"] for line in out.splitlines()]  # every line whole
    # The next run shows what the outbox still holds, and polls what the stop skipped.
    second = [
        json.loads(line)["id"] for line in rssmania(db, "update", "--json").stdout.splitlines()
    ]
    stored = rssmania(db, "entries", "--json", "--limit", "5000").stdout.splitlines()
    assert len(stored) == 1000
    assert sorted(first + second) == sorted(json.loads(line)["id"] for line in stored)


def polling_held_feeds(server: FeedServer, db: Path, feeds: int) -> Daemon:
    """`update` in a child process, polling feeds that answer after 30 s: until stopped."""
    paths = [f"/held{i}.xml" for i in range(feeds)]
    for path in paths:
        server.set(path, rss("Held", items("h", 1)), delay=30)
    rssmania(db, "add", *[server.url(p) for p in paths])
    daemon = Daemon(db, "update", "--workers", "2")
    wait_for(lambda: len(server.seen) >= 2, what="polling to start")
    return daemon


def test_a_second_signal_stops_at_once(server: FeedServer, db: Path) -> None:
    daemon = polling_held_feeds(server, db, 4)
    children = descendants(daemon.proc.pid)
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGINT)
    # Two distinct signals, as a person pressing Ctrl+C twice.
    wait_for(lambda: any("Stopping" in line for line in daemon.errors), what="the first stop")
    daemon.proc.send_signal(signal.SIGINT)
    assert daemon.wait(timeout=10) == 130
    assert time.monotonic() - started < 2
    wait_for(lambda: not alive(children), timeout=5, what="worker processes to exit")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""  # exited meanwhile


def test_the_command_forks_its_workers_forkserver_from_itself(server: FeedServer, db: Path) -> None:
    # A forkserver started as a new interpreter spent 0.1 s before importing
    # anything for the workers: a tenth of a warm poll of 2,000 feeds.
    daemon = polling_held_feeds(server, db, 2)
    command = _cmdline(daemon.proc.pid)
    tree = descendants(daemon.proc.pid)
    # The forkserver and the workers it forked are copies of the command, not
    # `python -c "from multiprocessing.forkserver import main; ..."`.
    forked = {pid for pid in tree if _cmdline(pid) == command}
    forkservers = [pid for pid in forked if descendants(pid) & forked]
    assert len(forkservers) == 1, {pid: _cmdline(pid) for pid in tree}
    assert descendants(forkservers[0]) & forked  # a worker, forked by it
    daemon.proc.send_signal(signal.SIGINT)
    assert daemon.wait(timeout=30) == 0
    wait_for(lambda: not alive(tree), timeout=10, what="the forkserver and workers to exit")


def test_a_process_with_threads_starts_no_forkserver_by_fork() -> None:
    # A fork copies one thread: a library caller's other threads (a GUI, a web
    # server) could hold a lock the copy would wait on for ever.
    stop = threading.Event()
    beside = threading.Thread(target=stop.wait)
    beside.start()
    try:
        assert fork_forkserver(["rssmania._poll.forkserver"]) is False
    finally:
        stop.set()
        beside.join()


@pytest.mark.slow
def test_demo_runs_offline_and_shows_articles_arriving(tmp_path: Path) -> None:
    result = rssmania(
        tmp_path / "unused.sqlite", "demo", "--publish-every", "1", "--duration", "4", "--json"
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len({obj["feed_url"] for obj in lines}) == 5
    # More than the feeds' first items: some were published while it ran.
    assert len(lines) > sum(feed.initial for feed in SAMPLE_FEEDS)
    assert len({(obj["feed_url"], obj["id"]) for obj in lines}) == len(lines)
    assert not (tmp_path / "unused.sqlite").exists()


@pytest.mark.parametrize(
    ("args", "environ", "cores", "expected"),
    [
        (["update", "--all"], {}, 2, True),
        (["--db", "update", "run"], {}, 2, True),  # "update" is the database file here
        (["--db", "x.db", "-v", "run"], {}, 2, True),
        (["demo"], {}, 4, True),
        (["serve", "--port", "0"], {}, 2, True),
        (["--user", "serve", "update"], {}, 2, True),  # "serve" is the user's name here
        (["--user", "bob", "entries"], {}, 2, False),
        (["update"], {}, 1, False),  # one core: polled in this process
        (["update", "--workers", "1"], {}, 8, False),
        (["update", "--workers=1"], {}, 8, False),
        (["update", "--workers", "3"], {}, 1, True),
        (["update", "--executor", "dask://127.0.0.1:8786"], {}, 2, False),
        (["update", "--executor=dask://127.0.0.1:8786"], {}, 2, False),
        (["update"], {"RSSMANIA_EXECUTOR": "dask://127.0.0.1:8786"}, 2, False),
        (["update", "--help"], {}, 2, False),
        (["entries"], {}, 2, False),
        (["add", "update"], {}, 2, False),
        ([], {}, 2, False),
    ],
)
def test_which_commands_start_the_workers_forkserver_first(
    args: list[str], environ: dict[str, str], cores: int, expected: bool
) -> None:
    assert polls_with_local_workers(args, environ, cores) is expected


def test_set_refuses_pause_and_resume_together(db: Path) -> None:
    assert rssmania(db, "add", "http://d.example/").returncode == 0
    for flags in (["--pause", "--resume"], ["--resume", "--pause"]):
        result = rssmania(db, "set", "http://d.example/", *flags)
        # The last one silently won.
        assert result.returncode == 2, result
        assert "contradict" in result.stderr


def test_import_refuses_a_file_no_subscription_list_is_as_big_as(db: Path, tmp_path: Path) -> None:
    # /dev/zero, or a disk image picked by mistake, filled the memory first.
    huge = tmp_path / "huge.opml"
    with huge.open("wb") as file:
        file.truncate(MAX_OPML_BYTES + 1)  # sparse: no disk used
    result = rssmania(db, "import", str(huge))
    assert result.returncode == 2, result
    assert "larger than 64 MB" in result.stderr
    assert "Traceback" not in result.stderr
