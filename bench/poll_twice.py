"""Poll N feeds on many local hosts twice, as a polite poller must: what goes over the wire.

    python bench/poll_twice.py --feeds 2000 --hosts 500

Generates N feeds spread over HOSTS loopback addresses (127.0.0.1, .2, ...),
served by `static_server.py` (ETag, Last-Modified, 304). Then, for rssmania
(`update --all`, default politeness: 2 requests per host, 0.1 s apart) and
for the seed's way (`feedparser.parse(url)` in a loop, passing the ETag and
Last-Modified back on the second poll, as its readers would):

1. a cold poll (empty state),
2. a warm poll after 10% of the feeds gained an entry (~90% unchanged).

Prints requests, 200s, 304s, body bytes sent by the server and seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from poll_local import SEED_LOOP, Corpus, feed_urls, serve

HERE = Path(__file__).resolve().parent


def stats(stats_url: str) -> dict[str, int]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(stats_url) as response:
        return dict(json.loads(response.read()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=500)
    args = parser.parse_args()
    rows: list[tuple[str, float, dict[str, int]]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        site.mkdir()
        corpus = Corpus(site, [])
        corpus.write(args.feeds)
        with serve(site, tmp, args.hosts) as addresses:
            urls = feed_urls(addresses, args.feeds)
            stats_url = "http://{}:{}/__stats".format(*addresses[0])
            db = tmp / "rssmania.sqlite"
            env = {**os.environ, "RSSMANIA_DB": str(db)}
            cli = [sys.executable, "-m", "rssmania"]
            subprocess.run([*cli, "add", *urls], env=env, check=True, capture_output=True)
            state = tmp / "seed.json"
            seed = [sys.executable, "-c", SEED_LOOP, json.dumps(urls), str(state)]
            update = [*cli, "update", "--all", "--json"]
            for phase in ("cold", "warm"):
                if phase == "warm":
                    corpus.write(args.feeds, changed=0.1)
                for label, command, command_env in (
                    ("rssmania", update, env),
                    ("seed loop", seed, None),
                ):
                    stats(stats_url)  # reset
                    started = time.perf_counter()
                    subprocess.run(
                        command, env=command_env, check=True, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    rows.append(
                        (f"{label} {phase}", time.perf_counter() - started, stats(stats_url))
                    )
    size = sum(corpus.counts)
    print(f"{args.feeds} feeds on {args.hosts} hosts, {size} entries; 10% changed before warm")
    print(f"{'run':20} {'seconds':>8} {'requests':>9} {'200':>6} {'304':>6} {'MB sent':>8}")
    for label, seconds, got in rows:
        print(
            f"{label:20} {seconds:8.2f} {got['requests']:9} {got.get('200', 0):6} "
            f"{got.get('304', 0):6} {got['bytes'] / 1e6:8.1f}"
        )


if __name__ == "__main__":
    main()
