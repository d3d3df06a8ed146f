"""The floor of a poll (issues 4, 23): fetching alone, plus parsing alone spread over the cores.

    python bench/floor.py URLS_FILE --keep VALIDATORS      # cold; prints one JSON object
    python bench/floor.py URLS_FILE --since VALIDATORS     # warm: conditional GETs

fetch-only   every URL in turn with urllib, gzip accepted and decoded, nothing
             parsed: the seed's loop without feedparser (wall seconds)
parse-only   rssmania's parse of every body (``parse_feed``: the fast path,
             feedparser where it falls back, sanitising, links, ids) in this
             one process, set up as a worker is (CPU seconds)

Cold (``--keep``: and write each feed's ETag and Last-Modified to a file), or
warm (``--since`` that file: every URL asked conditionally, the bodies that
changed parsed). ``speed.py`` runs both once per run, beside the tools, and
reports fetch-only + parse-only / cores against rssmania's cold and warm polls.
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


Validators = dict[str, list[str | None]]


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
    mode, validators = sys.argv[2:4] if len(sys.argv) >= 4 else ("", "")
    since = json.loads(Path(validators).read_text()) if mode == "--since" else None
    fetch_s, bodies, kept = fetch_all(urls, since)
    if mode == "--keep":
        Path(validators).write_text(json.dumps(kept))
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
