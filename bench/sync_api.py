"""The sync APIs on a big database: what an app's sync of 1,000 entries costs.

    python bench/sync_api.py [--entries 1000000] [--feeds 2000] [--reps 30] [--db PATH]

On a copy of bench/reading.py's database (2,000 feeds, 1,000,000 entries, 30%
unread; built once and cached), it starts `rssmania serve --no-poll` and
times, over one kept-alive connection, one request after another:

    GET /v1/entries?limit=1000                  Miniflux: the newest 1,000, with their total
    GET /v1/entries?status=unread&limit=1000    Miniflux: the unread view of an app's sync
    GET /v1/entries?order=id&direction=asc&after_entry_id=N&limit=1000
                                                Miniflux: paging by id, as apps catch up
    GET /v1/feeds, /v1/feeds/counters           Miniflux: 2,000 feeds, their counts
    POST /fever/?api&items&since_id=N           Fever: a page (50 items)
    POST /fever/?api&unread_item_ids            Fever: every unread id (300,000)

Each is warmed up once, then timed ``--reps`` times: median, p95 and max in
milliseconds, whole requests (the body read, JSON included). Target (issue 21):
1,000 entries under 200 ms. No peer runs here: neither Miniflux nor FreshRSS
is installable from this machine's registries.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reading  # noqa: E402 - bench modules beside this one

TARGET_MS = 200.0
PASSWORD = "bench"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--seed", type=int, default=1, help="as bench/reading.py's: its database")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(reading.environment(), flush=True)

    from rssmania import Library, RetentionPolicy  # noqa: PLC0415 - after the environment line

    with tempfile.TemporaryDirectory(prefix="rssmania-sync-") as tmp_name:
        db = Path(tmp_name) / "reader.sqlite"
        reading.copy_built(args.db, args.entries, args.feeds, args.seed, into=db)
        with Library(db) as lib:
            user = lib.default_user()
            lib.set_password(user.name, PASSWORD)
            lib.set_retention(RetentionPolicy(read_days=None, max_per_feed=None))
            token = lib.new_token(user.name)
            middle = lib.newest_entry_id() // 2
        fever_key = hashlib.md5(f"{user.name}:{PASSWORD}".encode()).hexdigest()
        serve = subprocess.Popen(
            [sys.executable, "-m", "rssmania", "--db", str(db), "serve", "--port", "0",
             "--no-poll"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert serve.stderr is not None
            line = serve.stderr.readline()
            found = re.search(r"http://([\d.]+):(\d+)", line)
            assert found, f"serve said: {line!r}"
            conn = http.client.HTTPConnection(found.group(1), int(found.group(2)), timeout=60)
            auth = {"X-Auth-Token": token}
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            cases: list[tuple[str, str, str, dict[str, str], bytes | None, bool]] = [
                ("miniflux newest 1,000", "GET", "/v1/entries?limit=1000", auth, None, True),
                ("miniflux unread 1,000", "GET", "/v1/entries?status=unread&limit=1000",
                 auth, None, True),
                ("miniflux by id 1,000", "GET",
                 f"/v1/entries?order=id&direction=asc&after_entry_id={middle}&limit=1000",
                 auth, None, True),
                ("miniflux feeds (2,000)", "GET", "/v1/feeds", auth, None, False),
                ("miniflux counters", "GET", "/v1/feeds/counters", auth, None, False),
                ("fever items since_id", "POST", f"/fever/?api&items&since_id={middle}",
                 form, f"api_key={fever_key}".encode(), False),
                ("fever unread_item_ids", "POST", "/fever/?api&unread_item_ids",
                 form, f"api_key={fever_key}".encode(), False),
            ]  # fmt: skip
            print(f"\n{'request':<26}{'median':>9}{'p95':>9}{'max':>9}  ms   (target)")
            failed = False
            for label, method, path, headers, body, targeted in cases:
                times = []
                for rep in range(args.reps + 1):
                    began = time.perf_counter()
                    conn.request(method, path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    took = (time.perf_counter() - began) * 1000
                    assert answer.status == 200, (label, answer.status, data[:200])
                    if rep:
                        times.append(took)
                p95 = percentile(times, 0.95)
                verdict = ""
                if targeted:
                    verdict = f"p95 < {TARGET_MS:.0f}: " + ("holds" if p95 < TARGET_MS else "FAILS")
                    failed |= p95 >= TARGET_MS
                print(
                    f"{label:<26}{statistics.median(times):>9.1f}{p95:>9.1f}{max(times):>9.1f}"
                    f"       {verdict}  ({len(data) / 2**20:.1f} MB)",
                    flush=True,
                )
            print("\nthe target " + ("FAILS" if failed else "holds"))
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(30)


if __name__ == "__main__":
    main()
