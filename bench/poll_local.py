"""Poll N generated feeds served on 127.0.0.1: rssmania serial vs pool, and the seed's loop.

    python bench/poll_local.py --feeds 500 --runs 3 --hosts 100

Each run, interleaved: rssmania `update --all` with --workers 1 and with the
default pool, cold (empty database) then warm (10% of the feeds changed);
and the seed's way, `feedparser.parse(url)` in a loop (warm: with the ETag).
Prints medians of wall time, CPU time of the process tree and feeds/s, and
checks that every tool saw the expected number of entries.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
WORDS = [
    "feed",
    "poll",
    "parse",
    "worker",
    "process",
    "entry",
    "article",
    "update",
    "cache",
    "server",
    "header",
    "network",
    "sqlite",
    "schedule",
    "backoff",
    "async",
    "batch",
    "core",
    "queue",
    "signal",
    "health",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_feed(rng: random.Random, index: int, extra: int = 0) -> tuple[str, int]:
    """A feed document and its entry count; ``extra`` adds that many newer entries."""
    n = rng.randint(10, 50)
    words = rng.choice([30, 120, 400])
    atom = index % 3 == 0
    entries = []
    for i in range(n + extra):
        title = escape(f"{_text(rng, 5)} #{i}")
        body = escape(f"<p>{_text(rng, words)}</p><p><a href='/p/{i}'>more</a></p>")
        stamp = 1_700_000_000 + i * 3600
        if atom:
            date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
            entries.append(
                f"<entry><id>urn:feed{index}:{i}</id><title>{title}</title>"
                f"<link href='https://example.org/{index}/{i}'/><updated>{date}</updated>"
                f"<content type='html'>{body}</content></entry>"
            )
        else:
            date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(stamp))
            entries.append(
                f"<item><guid>https://example.org/{index}/{i}</guid><title>{title}</title>"
                f"<link>https://example.org/{index}/{i}</link><pubDate>{date}</pubDate>"
                f"<description>{body}</description></item>"
            )
    entries.reverse()
    if atom:
        doc = (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>Feed {index}</title><id>urn:feed{index}</id>"
            f"<updated>2024-01-01T00:00:00Z</updated>{''.join(entries)}</feed>"
        )
    else:
        doc = (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Feed {index}</title><link>https://example.org/{index}</link>"
            f"<description>bench</description>{''.join(entries)}</channel></rss>"
        )
    return doc, n + extra


@dataclass
class Corpus:
    root: Path
    counts: list[int]

    def write(self, n: int, *, changed: float = 0.0, seed: int = 1) -> None:
        self.counts = []
        for i in range(n):
            rng = random.Random(seed * 1_000_003 + i)
            extra = 1 if random.Random(i).random() < changed else 0
            doc, count = make_feed(rng, i, extra)
            path = self.root / f"f{i}.xml"
            if not path.exists() or path.read_text() != doc:
                path.write_text(doc)
            self.counts.append(count)


@contextmanager
def serve(site: Path, tmp: Path, hosts: int) -> Iterator[list[list[str]]]:
    """Run static_server.py on ``hosts`` loopback addresses; yield [address, port] pairs."""
    port_file = tmp / "ports"
    server = subprocess.Popen(
        [sys.executable, str(HERE / "static_server.py"), str(site), str(port_file), str(hosts)]
    )
    try:
        while not port_file.exists() or port_file.read_text().count("\n") < hosts:
            time.sleep(0.05)
        yield [line.split() for line in port_file.read_text().splitlines()]
    finally:
        server.terminate()
        server.wait()


def feed_urls(addresses: list[list[str]], feeds: int) -> list[str]:
    """Feed i on host i modulo the number of hosts."""
    return ["http://{}:{}/f{}.xml".format(*addresses[i % len(addresses)], i) for i in range(feeds)]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of ``cmd`` and every process it starts (workers included)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--reap", *cmd],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    return wall, float(done.stderr.strip().splitlines()[-1])


def reap(cmd: list[str]) -> None:
    """Run ``cmd`` as a child subreaper, so that grandchildren's CPU time is counted too.

    RUSAGE_CHILDREN only counts waited-for descendants; a pool's workers are
    reaped by the forkserver, which nobody waits for. Adopting orphans and
    waiting for all of them makes the count complete.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_child_subreaper = 36
    libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(usage.ru_utime + usage.ru_stime, file=sys.stderr)


SEED_LOOP = """
import json, sys, feedparser
urls, state_path = json.loads(sys.argv[1]), sys.argv[2]
try:
    state = json.load(open(state_path))
except FileNotFoundError:
    state = {}
entries = 0
for url in urls:
    etag, modified = state.get(url, (None, None))
    d = feedparser.parse(url, etag=etag, modified=modified)
    entries += len(d.entries)
    if d.get("status") != 304:
        state[url] = (d.get("etag"), d.get("modified"))
json.dump(state, open(state_path, "w"))
print(entries, file=sys.stderr)
"""


def main() -> None:
    if sys.argv[1:2] == ["--reap"]:
        reap(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--hosts", type=int, default=100, help="loopback addresses the feeds are spread over"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        site.mkdir()
        corpus = Corpus(site, [])
        with serve(site, tmp, args.hosts) as addresses:
            urls = feed_urls(addresses, args.feeds)
            results: dict[str, list[tuple[float, float]]] = {}
            for run in range(args.runs):
                corpus.write(args.feeds)
                size = sum(p.stat().st_size for p in site.iterdir())
                cold_total = sum(corpus.counts)
                for label, workers in (("rssmania --workers 1", 1), ("rssmania (pool)", 0)):
                    db = tmp / f"run{run}-{workers}.sqlite"
                    env = {**os.environ, "RSSMANIA_DB": str(db)}
                    cli = [sys.executable, "-m", "rssmania"]
                    subprocess.run([*cli, "add", *urls], env=env, check=True, capture_output=True)
                    flag = ["--workers", "1"] if workers == 1 else []
                    update = [*cli, "update", "--all", "--json", *flag]
                    results.setdefault(f"{label} cold", []).append(timed(update, env))
                    stored = _count(db)
                    assert stored == cold_total, (label, stored, cold_total)
                    corpus.write(args.feeds, changed=0.1)
                    results.setdefault(f"{label} warm", []).append(timed(update, env))
                    assert _count(db) == sum(corpus.counts)
                    corpus.write(args.feeds)
                state = tmp / f"seed-state-{run}.json"
                seed = [sys.executable, "-c", SEED_LOOP, json.dumps(urls), str(state)]
                results.setdefault("seed loop cold", []).append(timed(seed))
                corpus.write(args.feeds, changed=0.1)
                results.setdefault("seed loop warm", []).append(timed(seed))
                corpus.write(args.feeds)

    print(f"{args.feeds} feeds, {size / 1e6:.1f} MB, {cold_total} entries; "
          f"medians of {args.runs} interleaved runs, {os.cpu_count()} cores")  # fmt: skip
    print(f"{'tool':32} {'wall s':>8} {'cpu s':>8} {'feeds/s':>9}")
    for label, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"{label:32} {wall:8.2f} {cpu:8.2f} {args.feeds / wall:9.0f}")


def _count(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT count(*) FROM entries").fetchone()[0])


if __name__ == "__main__":
    main()
