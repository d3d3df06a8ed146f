"""The floor of a poll (issues 4, 23): fetching alone, plus parsing alone spread over the cores.

    python bench/floor.py URLS_FILE --keep VALIDATORS      # cold; prints one JSON object
    python bench/floor.py URLS_FILE --since VALIDATORS     # warm: conditional GETs

fetch-only   every URL in turn with urllib, gzip accepted and decoded, nothing
             parsed: the seed's loop without feedparser (wall seconds)
parse-only   rssmania's parse of every body (``parse_feed``: the fast path,
             feedparser where it falls back, sanitising, links, ids) in this
             one process, set up as a worker is (CPU seconds)
store-only   what a reader does beside: those results stored by rssmania's
             round in this one process, into a database beside VALIDATORS
             (the entries, each user's unread rows, the change log, every
             feed's row; a 304 is a feed row too), with no fetch and no parse
             (CPU seconds). Not part of the issue's floor: reported beside it.

Cold (``--keep``: and write each feed's ETag and Last-Modified to a file), or
warm (``--since`` that file: every URL asked conditionally, the bodies that
changed parsed). ``speed.py`` runs both once per run, beside the tools, and
reports fetch-only + parse-only / cores against rssmania's cold and warm polls,
and fetch-only + (parse-only + store-only) / cores beside it.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Floor:
    feeds: int
    bytes: int
    entries: int
    fetch_s: float
    parse_cpu_s: float
    store_cpu_s: float = 0.0

    @classmethod
    def from_json(cls, text: str) -> Floor:
        return cls(**json.loads(text))

    def seconds(self, cores: int) -> float:
        """fetch-only + parse-only / cores: what a cold poll cannot beat by overlapping alone."""
        return self.fetch_s + self.parse_cpu_s / cores

    def with_storing(self, cores: int) -> float:
        """fetch-only + (parse-only + store-only) / cores: the floor of a poll that keeps
        what it read, as a reader must."""
        return self.fetch_s + (self.parse_cpu_s + self.store_cpu_s) / cores

    def describe(self, cores: int) -> str:
        return (
            f"fetch-only {self.fetch_s:.2f} s + parse-only {self.parse_cpu_s:.2f} s CPU / "
            f"{cores} cores = {self.seconds(cores):.2f} s ({self.bytes / 1e6:.1f} MB, "
            f"{self.entries} entries parsed); with store-only {self.store_cpu_s:.2f} s CPU: "
            f"{self.with_storing(cores):.2f} s"
        )


Validators = dict[str, list[str | None]]
Bodies = list[tuple[str, bytes, str | None]]


def fetch_all(
    urls: list[str], since: Validators | None = None
) -> tuple[float, list[tuple[str, bytes, str | None]], Validators]:
    """Every URL in turn (conditionally, with ``since``): the bodies sent and the validators."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    bodies = []
    kept: Validators = {}
    started = time.perf_counter()
    for url in urls:
        headers = {"Accept-Encoding": "gzip"}
        etag, modified = (since or {}).get(url, [None, None])
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        request = urllib.request.Request(url, headers=headers)
        try:
            with opener.open(request, timeout=60) as response:
                body = response.read()
                if response.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                bodies.append((url, body, response.headers.get("Content-Type")))
                kept[url] = [response.headers.get("ETag"), response.headers.get("Last-Modified")]
        except urllib.error.HTTPError as exc:
            if exc.code != 304:
                raise
            exc.read()
    return time.perf_counter() - started, bodies, kept


def parse_all(bodies: Bodies) -> tuple[float, int, dict[str, Any]]:
    """CPU seconds, entries, and each URL's result."""
    # Imported here: speed.py imports this module for Floor only.
    from rssmania._poll.parse import parse_feed  # noqa: PLC0415
    from rssmania._process import collect_garbage_less_often  # noqa: PLC0415

    collect_garbage_less_often()
    entries = 0
    results = {}
    started = time.process_time()
    for url, body, content_type in bodies:
        parsed = parse_feed(body, url=url, content_type=content_type)
        entries += len(getattr(parsed, "entries", ()))
        results[url] = parsed
    return time.process_time() - started, entries, results


def store_all(database: Path, urls: list[str], parsed: dict[str, Any], kept: Validators) -> float:
    """CPU seconds of storing the round's results as ``rssmania update`` does: the feeds
    parsed answered 200, the others 304. The first call subscribes (untimed)."""
    from rssmania import Aggregator  # noqa: PLC0415
    from rssmania._poll.jobs import PollJob, PollOutcome, PollSettings  # noqa: PLC0415
    from rssmania.types import FeedError  # noqa: PLC0415

    outcomes = {}
    for url in urls:
        etag, modified = kept.get(url, [None, None])
        found = parsed.get(url)
        if found is None:
            outcomes[url] = PollOutcome(
                url, http_status=304, not_modified=True, etag=etag, last_modified=modified
            )
        elif isinstance(found, FeedError):
            outcomes[url] = PollOutcome(url, http_status=200, error=found)
        else:
            outcomes[url] = PollOutcome(
                url, http_status=200, etag=etag, last_modified=modified, feed=found
            )

    def answered(_: PollSettings, jobs: list[PollJob]) -> list[PollOutcome]:
        return [outcomes[job.url] for job in jobs]

    # In this process (workers=1), announced as the command line's rounds are.
    with Aggregator(database, workers=1, outbox=True, _poll_batch=answered) as aggregator:
        if not aggregator.get_feeds():
            aggregator.add_feeds(urls)
        started = time.process_time()
        for _ in aggregator.update(all_feeds=True):
            pass
        return time.process_time() - started


def main() -> None:
    urls = Path(sys.argv[1]).read_text().split()
    mode, validators = sys.argv[2:4] if len(sys.argv) >= 4 else ("", "")
    since = json.loads(Path(validators).read_text()) if mode == "--since" else None
    fetch_s, bodies, kept = fetch_all(urls, since)
    if mode == "--keep":
        Path(validators).write_text(json.dumps(kept))
    parse_cpu_s, entries, parsed = parse_all(bodies)
    store_cpu_s = (
        store_all(
            Path(validators).with_name("floor.sqlite"), urls, parsed, {**(since or {}), **kept}
        )
        if validators
        else 0.0
    )
    found = Floor(
        feeds=len(urls),
        bytes=sum(len(body) for _, body, _ in bodies),
        entries=entries,
        fetch_s=round(fetch_s, 3),
        parse_cpu_s=round(parse_cpu_s, 3),
        store_cpu_s=round(store_cpu_s, 3),
    )
    print(json.dumps(asdict(found)))


if __name__ == "__main__":
    main()
