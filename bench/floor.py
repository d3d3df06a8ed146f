"""The floor of a cold poll (issue 4): fetching alone, plus parsing alone spread over the cores.

    python bench/floor.py URLS_FILE        # prints one JSON object

fetch-only   every URL in turn with urllib, gzip accepted and decoded, nothing
             parsed: the seed's loop without feedparser (wall seconds)
parse-only   rssmania's parse of every body (``parse_feed``: the fast path,
             feedparser where it falls back, sanitising, links, ids) in this
             one process, set up as a worker is (CPU seconds)

``speed.py`` runs it once per run, beside the tools, and reports
fetch-only + parse-only / cores against rssmania's cold poll.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Floor:
    feeds: int
    bytes: int
    entries: int
    fetch_s: float
    parse_cpu_s: float

    @classmethod
    def from_json(cls, text: str) -> Floor:
        return cls(**json.loads(text))

    def seconds(self, cores: int) -> float:
        """fetch-only + parse-only / cores: what a cold poll cannot beat by overlapping alone."""
        return self.fetch_s + self.parse_cpu_s / cores

    def describe(self, cores: int) -> str:
        return (
            f"fetch-only {self.fetch_s:.2f} s + parse-only {self.parse_cpu_s:.2f} s CPU / "
            f"{cores} cores = {self.seconds(cores):.2f} s ({self.bytes / 1e6:.1f} MB, "
            f"{self.entries} entries parsed)"
        )


def fetch_all(urls: list[str]) -> tuple[float, list[tuple[str, bytes, str | None]]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    bodies = []
    started = time.perf_counter()
    for url in urls:
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with opener.open(request, timeout=60) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            bodies.append((url, body, response.headers.get("Content-Type")))
    return time.perf_counter() - started, bodies


def parse_all(bodies: list[tuple[str, bytes, str | None]]) -> tuple[float, int]:
    # Imported here: speed.py imports this module for Floor only.
    from rssmania._poll.parse import parse_feed  # noqa: PLC0415
    from rssmania._process import collect_garbage_less_often  # noqa: PLC0415

    collect_garbage_less_often()
    entries = 0
    started = time.process_time()
    for url, body, content_type in bodies:
        parsed = parse_feed(body, url=url, content_type=content_type)
        entries += len(getattr(parsed, "entries", ()))
    return time.process_time() - started, entries


def main() -> None:
    urls = Path(sys.argv[1]).read_text().split()
    fetch_s, bodies = fetch_all(urls)
    parse_cpu_s, entries = parse_all(bodies)
    found = Floor(
        feeds=len(urls),
        bytes=sum(len(body) for _, body, _ in bodies),
        entries=entries,
        fetch_s=round(fetch_s, 3),
        parse_cpu_s=round(parse_cpu_s, 3),
    )
    print(json.dumps(asdict(found)))


if __name__ == "__main__":
    main()
