"""The Google Reader API's reads over 1,000,000 entries, through a real `rssmania serve`.

    python bench/greader.py [--entries 1000000] [--feeds 2000] [--db PATH] [--rounds 30]

On a copy of bench/reading.py's database (2,000 subscribed feeds, 1,000,000
entries; built once and cached), it starts `serve` with its poller idle, logs
in with ClientLogin and times, one request after another over a kept-alive
connection, what an app's sync asks for:

    GET  stream/contents/reading-list?n=1000          1,000 items, newest first
    GET  stream/contents/reading-list?n=1000&xt=read  1,000 unread items
    GET  stream/contents/feed/ID?n=1000               one feed's (a big one)
    GET  stream/contents/user/-/label/NAME?n=1000     a category's
    GET  stream/items/ids?n=10000&xt=read             the unread ids an app diffs against
    POST stream/items/contents  i=... x 1000          1,000 items by id (decimal)
    GET  unread-count, subscription/list              a sync's start, 2,000 feeds

Target (issue 21): stream/contents of 1,000 items under 200 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reading  # noqa: E402 - bench modules beside this one

TARGET_MS = 200.0
READ = "user/-/state/com.google/read"
READING_LIST = "user/-/state/com.google/reading-list"


class Client:
    """An app's connection: kept alive, the login token on every request."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                               timeout=60)  # fmt: skip
        self.auth = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Host": "127.0.0.1"}
        if self.auth:
            headers["Authorization"] = f"GoogleLogin auth={self.auth}"
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body.encode() if body else None, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def login(self, name: str, password: str) -> None:
        status, text = self.request(
            "POST", "/accounts/ClientLogin", urlencode({"Email": name, "Passwd": password})
        )
        assert status == 200, text
        found = re.search(rb"Auth=(\S+)", text)
        assert found, text
        self.auth = found.group(1).decode()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def measure(
    client: Client,
    requests: list[tuple[str, str, str, str | None, int]],
    rounds: int,
    results: dict[str, list[float]],
    sizes: dict[str, int],
) -> None:
    for label, method, path, body, expected in requests:
        status, data = client.request(method, path, body)  # warm-up, and a check
        assert status == 200, (label, status, data[:300])
        if expected:
            got = json.loads(data)
            n = len(got.get("items", got.get("itemRefs", [])))
            assert n == expected, (label, n, expected)
        sizes[label] = len(data)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            status, data = client.request(method, path, body)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200
        results[label] = times


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30, help="requests of each kind")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--seed", type=int, default=1, help="as bench/reading.py's: its database")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(reading.environment(), flush=True)

    from rssmania import Library, RetentionPolicy  # noqa: PLC0415 - after the environment line

    with tempfile.TemporaryDirectory(prefix="rssmania-greader-") as tmp_name:
        db = Path(tmp_name) / "reader.sqlite"
        reading.copy_built(args.db, args.entries, args.feeds, args.seed, into=db)
        with Library(db) as lib:
            user = lib.default_user()
            lib.set_password(user.name, "bench")
            lib.set_retention(RetentionPolicy(read_days=None, max_per_feed=None))
            feeds = lib.feed_summaries(user.id)
            big = max(feeds, key=lambda f: f.unread)
            category = next(f.category for f in feeds if f.category)
            page = lib.entries(user.id, limit=1000, order="oldest")
            by_id = [e.entry_id for e in page.entries]
            counts = lib.counts(user.id)
        print(f"user {user.name}: {len(feeds):,} feeds, {counts.total:,} unread; the biggest "
              f"feed #{big.id} ({big.unread:,} unread); category {category!r}",
              flush=True)  # fmt: skip
        # Nothing is due: the poller stays idle.
        with sqlite3.connect(db) as con:
            con.execute("UPDATE feeds SET next_check = '9999-01-01T00:00:00.000000+00:00'")
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}  # fmt: skip
        serve = subprocess.Popen(
            [sys.executable, "-m", "rssmania", "--db", str(db), "serve", "--port", "0",
             "--interval", "86400"],
            stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            assert serve.stderr is not None
            line = serve.stderr.readline()
            base = re.search(r"(http://\S+)", line)
            assert base, f"serve said: {line!r}"
            client = Client(base.group(1))
            client.login(user.name, "bench")
            api = "/reader/api/0"
            ids_body = urlencode([("i", str(i)) for i in by_id])
            requests: list[tuple[str, str, str, str | None, int]] = [
                ("contents reading-list n=1000", "GET",
                 f"{api}/stream/contents/{READING_LIST}?n=1000", None, 1000),
                ("contents unread n=1000", "GET",
                 f"{api}/stream/contents/{READING_LIST}?n=1000&xt={READ}", None, 1000),
                (f"contents feed/{big.id} n=1000", "GET",
                 f"{api}/stream/contents/feed/{big.id}?n=1000", None, min(1000, big.unread)),
                ("contents label n=1000", "GET",
                 f"{api}/stream/contents/user/-/label/{quote(category or '')}?n=1000", None, 1000),
                ("items/ids unread n=10000", "GET",
                 f"{api}/stream/items/ids?s={READING_LIST}&xt={READ}&n=10000", None, 10000),
                ("items/contents 1000 ids", "POST", f"{api}/stream/items/contents", ids_body,
                 1000),
                ("unread-count", "GET", f"{api}/unread-count", None, 0),
                ("subscription/list", "GET", f"{api}/subscription/list", None, 0),
            ]  # fmt: skip
            results: dict[str, list[float]] = {}
            sizes: dict[str, int] = {}
            with reading.others_cpu("the timed requests"):
                measure(client, requests, args.rounds, results, sizes)
        finally:
            serve.send_signal(signal.SIGINT)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                serve.kill()
    print(f"\n{args.rounds} requests of each, one after another:")
    print(f"  {'request':30} {'bytes':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, times in results.items():
        print(f"  {label:30} {sizes[label]:10,d} {statistics.median(times):8.1f} "
              f"{percentile(times, 0.99):8.1f} {max(times):8.1f}")  # fmt: skip
    print("\ntarget:")
    for label, times in results.items():
        if label.startswith("contents"):
            p99 = percentile(times, 0.99)
            print(f"  {label:30} p99 {p99:.1f} ms (< {TARGET_MS:.0f}): "
                  f"{'holds' if p99 < TARGET_MS else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()
