"""Soak: `rssmania run` polls thousands of feeds for minutes while they publish, fail and heal,
and while its workers are killed; every article is reported exactly once and memory stays flat.

    RSSMANIA_SOAK_SECONDS   how long the disturbances last (default 600)
    RSSMANIA_SOAK_FEEDS     how many feeds (default 2000), spread over 8 loopback hosts
    RSSMANIA_SOAK_SEED      the seed of what is published, broken and killed
    RSSMANIA_SOAK_REPORT    a file to write the report to, besides stdout (`pytest -s`)
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import rssmania
from tests.feedserver import FeedServer, items, rss, wait_for
from tests.procs import alive, descendants
from tests.test_cli import Daemon

SOAK_SECONDS = float(os.environ.get("RSSMANIA_SOAK_SECONDS", "600"))
SOAK_FEEDS = int(os.environ.get("RSSMANIA_SOAK_FEEDS", "2000"))
SEED = int(os.environ.get("RSSMANIA_SOAK_SEED", "20240601"))
HOSTS = 8
INTERVAL = 5
SAMPLE_EVERY = 1.0
PUBLISH_EVERY = 3.0
FAULT_EVERY = 3.0
FAULT_SHARE = 0.02
FAULT_SECONDS = (5.0, 20.0)
RETRY_AFTER = (2, 10)
"""Seconds a 503 asks to wait."""
KILL_EVERY = (20.0, 40.0)
# Once everything is healed a feed may still sit out an error backoff (its interval doubled per
# error in a row), and a round takes about 50 s at 2,000 feeds: 250 feeds per host at 0.1 s per
# request, two hosts per batch, one batch per worker at a time. A drain took 145 s.
DRAIN_TIMEOUT = 420.0
STOP_TIMEOUT = 15.0
MB = 1024 * 1024
GROWTH_FACTOR = 1.5
GROWTH_BYTES = 50 * MB

Key = tuple[str, str]


class SoakFeeds:
    """The feeds as served: how many items each has, which are broken, what was ever published."""

    def __init__(self, server: FeedServer, n: int) -> None:
        self.server = server
        self.paths = [f"/soak{i}.xml" for i in range(n)]
        self.urls = [server.url(path, host=i % HOSTS) for i, path in enumerate(self.paths)]
        setup = random.Random(f"{SEED}-setup")
        self.counts = [setup.randint(2, 4) for _ in range(n)]
        self.broken: dict[int, tuple[int, float, int]] = {}
        """Feed index -> (HTTP status it answers, monotonic time it heals, its Retry-After)."""
        self.breaks = 0
        self.published: set[Key] = set()
        for i, count in enumerate(self.counts):
            self.published |= {(self.urls[i], f"s{i}-{k}") for k in range(count)}
            self._serve(i)
        self.initial = len(self.published)

    def _serve(self, i: int) -> None:
        if i in self.broken:
            status, _, retry_after = self.broken[i]
            # A 503 without Retry-After leaves its whole host alone for 5 minutes once two feeds
            # of the host answer it (DEFAULT_HOST_WAIT): with 2% of feeds failing, every host
            # would be idle for the whole soak.
            headers = {"Retry-After": str(retry_after)} if status == 503 else {}
            self.server.set(
                self.paths[i],
                "unavailable",
                host=i % HOSTS,
                status=status,
                headers=headers,
                content_type="text/plain",
            )
        else:
            body = rss(f"Soak {i}", items(f"s{i}", self.counts[i]))
            self.server.set(self.paths[i], body, host=i % HOSTS)

    def publish(self, rng: random.Random) -> None:
        """A few feeds get one or two new entries (broken ones too: seen once healed)."""
        for i in rng.sample(range(len(self.paths)), max(1, len(self.paths) // 100)):
            for _ in range(rng.randint(1, 2)):
                self.published.add((self.urls[i], f"s{i}-{self.counts[i]}"))
                self.counts[i] += 1
            self._serve(i)

    def disturb(self, rng: random.Random, now: float) -> None:
        """Heal what is due, then break healthy feeds until about FAULT_SHARE of them fail."""
        for i in [i for i, (_, until, _) in self.broken.items() if until <= now]:
            del self.broken[i]
            self._serve(i)
        target = max(1, round(len(self.paths) * FAULT_SHARE))
        healthy = [i for i in range(len(self.paths)) if i not in self.broken]
        for i in rng.sample(healthy, max(0, target - len(self.broken))):
            self.broken[i] = (
                rng.choice((500, 503)),
                now + rng.uniform(*FAULT_SECONDS),
                rng.randint(*RETRY_AFTER),
            )
            self.breaks += 1
            self._serve(i)

    def heal_all(self) -> None:
        broken, self.broken = self.broken, {}
        for i in broken:
            self._serve(i)


class Printed:
    """What the daemon printed so far, parsed incrementally from its stdout lines."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.read = 0
        self.counts: Counter[Key] = Counter()

    def update(self) -> Counter[Key]:
        lines = self.daemon.lines
        end = len(lines)
        for line in lines[self.read : end]:
            obj = json.loads(line)
            self.counts[(obj["feed_url"], obj["id"])] += 1
        self.read = end
        return self.counts

    def missing(self, published: set[Key]) -> set[Key]:
        return published - set(self.update())


@dataclass(frozen=True)
class Sample:
    at: float
    """Seconds since the soak started."""
    rss: dict[str, int]
    """Bytes per role: daemon, workers (their sum), forkserver, other."""
    workers: int


def _proc(pid: int) -> tuple[int, bytes, int] | None:
    """(parent PID, command line, resident bytes), or None once the process is gone."""
    base = Path("/proc") / str(pid)
    try:
        stat = (base / "stat").read_text()
        cmdline = (base / "cmdline").read_bytes()
        status = (base / "status").read_text()
    except OSError:
        return None
    parent = int(stat[stat.rindex(")") + 2 :].split()[1])
    resident = 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            resident = int(line.split()[1]) * 1024
    return parent, cmdline, resident


def process_tree(daemon_pid: int) -> dict[int, tuple[str, int]]:
    """PID -> (role, resident bytes) for the daemon and each of its descendants."""
    tree: dict[int, tuple[str, int]] = {}
    own = _proc(daemon_pid)
    if own is not None:
        tree[daemon_pid] = ("daemon", own[2])
    for pid in descendants(daemon_pid):
        info = _proc(pid)
        if info is None:
            continue
        parent, cmdline, resident = info
        if b"forkserver" in cmdline:
            # Workers are forked by the forkserver, which is the daemon's own child.
            role = "forkserver" if parent == daemon_pid else "worker"
        else:
            role = "other"  # the resource tracker
        tree[pid] = (role, resident)
    return tree


def sample(daemon_pid: int, at: float) -> tuple[Sample, list[int]]:
    tree = process_tree(daemon_pid)
    totals = dict.fromkeys(("daemon", "workers", "forkserver", "other"), 0)
    workers = []
    for pid, (role, resident) in tree.items():
        totals["workers" if role == "worker" else role] += resident
        if role == "worker":
            workers.append(pid)
    return Sample(at, totals, len(workers)), sorted(workers)


@dataclass
class Soak:
    samples: list[Sample] = field(default_factory=list)
    kills: int = 0
    publish_rounds: int = 0
    fault_rounds: int = 0
    requests: tuple[int, int] = (0, 0)
    """HTTP requests served when the soak started and when it ended."""
    failures: list[str] = field(default_factory=list)


def soak(daemon: Daemon, feeds: SoakFeeds, printed: Printed, seconds: float) -> Soak:
    """Publish, break and heal feeds and kill workers for ``seconds``, sampling memory."""
    publishing = random.Random(f"{SEED}-publish")
    faults = random.Random(f"{SEED}-faults")
    killing = random.Random(f"{SEED}-kills")
    result = Soak()
    start = time.monotonic()
    first = len(feeds.server.seen)
    next_publish = start + PUBLISH_EVERY
    next_fault = start + FAULT_EVERY
    next_kill = start + killing.uniform(*KILL_EVERY)
    while (now := time.monotonic()) < start + seconds:
        code = daemon.proc.poll()
        assert code is None, f"the daemon exited with {code}: {''.join(daemon.errors[-20:])}"
        taken, workers = sample(daemon.proc.pid, now - start)
        result.samples.append(taken)
        if now >= next_publish:
            feeds.publish(publishing)
            result.publish_rounds += 1
            next_publish += PUBLISH_EVERY
        if now >= next_fault:
            feeds.disturb(faults, now)
            result.fault_rounds += 1
            next_fault += FAULT_EVERY
        if now >= next_kill and workers:  # none while a pool is being rebuilt: try next tick
            with contextlib.suppress(ProcessLookupError):
                os.kill(killing.choice(workers), signal.SIGKILL)
                result.kills += 1
            next_kill = now + killing.uniform(*KILL_EVERY)
        printed.update()
        time.sleep(SAMPLE_EVERY)  # pacing between rounds of disturbance, not a wait
    result.requests = (first, len(feeds.server.seen))
    return result


def phases(samples: list[Sample], seconds: float, role: str) -> list[tuple[int, int]]:
    """(min, max) resident bytes of ``role`` in each third of the soak."""
    thirds: list[list[int]] = [[], [], []]
    for s in samples:
        thirds[min(2, int(3 * s.at / seconds))].append(s.rss[role])
    return [(min(t), max(t)) if t else (0, 0) for t in thirds]


def memory_failures(samples: list[Sample], seconds: float) -> list[str]:
    failures = []
    for role in ("daemon", "workers"):
        _, (_, steady), (_, last) = phases(samples, seconds, role)
        limit = min(steady * GROWTH_FACTOR, steady + GROWTH_BYTES)
        if last > limit:
            failures.append(
                f"{role} RSS grew: max {last / MB:.1f} MB in the last third, "
                f"{steady / MB:.1f} MB in the second (limit {limit / MB:.1f} MB)"
            )
    return failures


def feed_states(db: Path, urls: set[str]) -> list[str]:
    """How the feeds of missing entries stand in the database: for a failure's message."""
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        rows = conn.execute(
            "SELECT url, last_status, error_count, last_error, next_check, next_check_reason, "
            "polls FROM feeds"
        ).fetchall()
    return [str(row) for row in rows if row[0] in urls][:5]


def stored_entries(db: Path) -> tuple[str, Counter[Key], int]:
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        integrity = "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        stored = Counter(
            conn.execute(
                "SELECT feeds.url, entries.key FROM entries"
                " JOIN feeds ON feeds.id = entries.feed_id"
            ).fetchall()
        )
        # Announced changes the command line has not printed (past its print cursor).
        outbox = conn.execute(
            "SELECT count(*) FROM changes WHERE announce AND seq > "
            "coalesce((SELECT seq FROM cursors WHERE name = 'print'), 0)"
        ).fetchone()[0]
    return integrity, stored, outbox


def stop(daemon: Daemon) -> tuple[int | None, float, set[int]]:
    """SIGINT; (exit code or None if still running after STOP_TIMEOUT, seconds, leftovers)."""
    children = descendants(daemon.proc.pid)
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGINT)
    try:
        code: int | None = daemon.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - started
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not alive(children), timeout=5, what="the daemon's processes to exit")
    return code, took, alive(children)


def kill_all(daemon: Daemon, leftovers: Callable[[], set[int]]) -> None:
    if daemon.proc.poll() is None:
        daemon.proc.kill()
        daemon.wait(timeout=10)
    for pid in leftovers():
        info = _proc(pid)
        if info is not None and b"multiprocessing" in info[1]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def report_lines(
    feeds: SoakFeeds,
    run: Soak,
    printed: Counter[Key],
    requests: int,
    drained: float | None,
    stopped: tuple[int | None, float, set[int]],
    stderr: list[str],
) -> list[str]:
    published = feeds.published
    duplicates = sum(1 for n in printed.values() if n > 1)
    lines = [
        f"soak: {len(feeds.urls)} feeds on {HOSTS} hosts, {SOAK_SECONDS:g} s, seed {SEED}",
        f"published {len(published)} entries ({feeds.initial} at start, "
        f"{len(published) - feeds.initial} during the soak) in {run.publish_rounds} rounds; "
        f"{run.fault_rounds} fault rounds broke {feeds.breaks} routes (500/503)",
        f"worker kills survived: {run.kills}; HTTP requests served: {requests} "
        f"({(run.requests[1] - run.requests[0]) / SOAK_SECONDS:.0f}/s during the soak); "
        f"RSS samples: {len(run.samples)}",
        f"printed {sum(printed.values())} lines, {len(printed)} distinct; "
        f"{duplicates} printed more than once, {len(published - set(printed))} missing, "
        f"{len(set(printed) - published)} never published",
        "drained in "
        + ("(timed out)" if drained is None else f"{drained:.1f} s")
        + f"; stop: exit {stopped[0]} in {stopped[1]:.1f} s, {len(stopped[2])} processes left",
        f"daemon stderr: {len(stderr)} lines, "
        f"{sum('Traceback' in line for line in stderr)} tracebacks, "
        f"{sum('starting a new pool' in line for line in stderr)} pool rebuilds, "
        f"{sum('is throttling us' in line for line in stderr)} host throttles",
        "RSS MB min-max        warm-up      second third   last third",
    ]
    for role in ("daemon", "workers", "forkserver", "other"):
        cells = [
            f"{low / MB:6.1f}-{high / MB:6.1f}"
            for low, high in phases(run.samples, SOAK_SECONDS, role)
        ]
        name = "workers (sum)" if role == "workers" else role
        lines.append(f"  {name:<16} " + "  ".join(cells))
    return lines


@pytest.mark.slow
@pytest.mark.timeout(int(SOAK_SECONDS + DRAIN_TIMEOUT) + 600)
def test_soak_every_article_once_through_faults_and_kills_with_flat_memory(
    tmp_path: Path,
) -> None:
    db = tmp_path / "soak.sqlite"
    with FeedServer(hosts=HOSTS) as server:
        feeds = SoakFeeds(server, SOAK_FEEDS)
        added = rssmania(db, "add", *feeds.urls, timeout=300)
        assert added.returncode == 0, added.stderr
        daemon = Daemon(db, "run", "--interval", str(INTERVAL), "--json", "--workers", "2")
        last_tree: set[int] = set()
        try:
            printed = Printed(daemon)
            run = soak(daemon, feeds, printed, SOAK_SECONDS)
            last_tree = descendants(daemon.proc.pid)
            feeds.heal_all()
            started = time.monotonic()
            drained: float | None = None
            try:
                wait_for(
                    lambda: not printed.missing(feeds.published),
                    timeout=DRAIN_TIMEOUT,
                    what="the daemon to print every published entry",
                )
                drained = time.monotonic() - started
            except AssertionError as exc:
                missing = printed.missing(feeds.published)
                run.failures.append(
                    f"{exc}: {len(missing)} missing, e.g. {sorted(missing)[:3]}; feeds: "
                    + "; ".join(feed_states(db, {url for url, _ in missing}))
                )
            stopped = stop(daemon)
        finally:
            kill_all(daemon, lambda: alive(last_tree))
        counts = printed.update()
        lines = report_lines(feeds, run, counts, len(server.seen), drained, stopped, daemon.errors)
    report = "\n".join(lines)
    print("\n" + report)
    if path := os.environ.get("RSSMANIA_SOAK_REPORT"):
        Path(path).write_text(report + "\n")

    integrity, stored, outbox = stored_entries(db)
    failures = run.failures + memory_failures(run.samples, SOAK_SECONDS)
    code, took, left = stopped
    if code != 0:
        failures.append(f"SIGINT: exit code {code} after {took:.1f} s (wanted 0 within 15 s)")
    if left:
        failures.append(f"processes left alive after the daemon exited: {sorted(left)}")
    twice = sorted(key for key, n in counts.items() if n > 1)
    if twice:
        failures.append(f"{len(twice)} entries printed more than once, e.g. {twice[:3]}")
    missing = sorted(feeds.published - set(counts))
    if missing:
        failures.append(f"{len(missing)} published entries never printed, e.g. {missing[:3]}")
    invented = sorted(set(counts) - feeds.published)
    if invented:
        failures.append(f"{len(invented)} printed entries never published: {invented[:3]}")
    if integrity != "ok":
        failures.append(f"PRAGMA integrity_check: {integrity}")
    if set(stored) != feeds.published:
        failures.append(
            f"entries table: {len(set(stored) - feeds.published)} unexpected, "
            f"{len(feeds.published - set(stored))} missing"
        )
    if outbox:
        failures.append(f"{outbox} changes left unprinted after a clean stop")
    assert not failures, "\n".join(failures)
