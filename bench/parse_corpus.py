"""Parse-only throughput on the real-world corpus, one core: each stage, and the peers.

    python bench/parse_corpus.py ../shared/corpus --runs 5

Every file of ``corpus/real`` is read into memory first; each stage then runs
over all of them ``--runs`` times in this one process, and the best run is
kept (the least disturbed by other work on the machine). CPU time of this
process, so MB/s is per core; the process collects garbage as rssmania's
workers do (``_process.py``), for every stage. Stages:

- lxml: a bare recovering parse into a tree, the floor for any lxml-based parser;
- fastfeedparser: the library alone, as rssmania calls it;
- rssmania prepare: what parse_feed does before either path (charsets as
  browsers read them, entity declarations defused, references repaired);
- rssmania fast path: fastfeedparser plus rssmania's checks (entry count,
  charset, XHTML titles, ids, text cut short) and xml:base, on the files it accepts;
- rssmania finishing: sanitizing with nh3, absolute links, text encoded
  twice repaired (ftfy), identity, hashes;
- rssmania parse_feed: the whole worker-side parse of every file, fallbacks included;
- feedparser: ``feedparser.parse`` with its defaults (sanitizing, relative URIs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import fastfeedparser
import feedparser
from lxml import etree

from rssmania._poll import fastpath, ffp_shim
from rssmania._poll.parse import finish, parse_feed, prepare
from rssmania._poll.raw import RawFeed
from rssmania._process import collect_garbage_less_often
from rssmania.types import FeedError

URL = "https://feeds.example.org/feed.xml"


def _prepared(body: bytes) -> bytes | None:
    """``body`` as both parse paths get it, or None for what is no feed."""
    prepared = prepare(body, content_type=None)
    return None if isinstance(prepared, FeedError) else prepared[0]


def best_cpu(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the shared corpus folder (holds real/)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-feedparser", action="store_true", help="it takes ~30 s a run")
    args = parser.parse_args(argv)
    files = sorted(p for p in (args.corpus / "real").rglob("*") if p.is_file())
    if not files:
        raise SystemExit(f"no corpus under {args.corpus / 'real'}")
    # Every stage runs as in a worker process, with its garbage collector settings.
    collect_garbage_less_often()
    originals = [p.read_bytes() for p in files]
    bodies = [
        b if isinstance(b, bytes) else original
        for original in originals
        for b in [_prepared(original)]
    ]
    xml = [b for b in bodies if b.lstrip()[:1] != b"{"]
    accepted: list[bytes] = []
    raws: list[RawFeed] = []
    for body in bodies:
        try:
            raws.append(fastpath.parse_fast(body, url=URL))
            accepted.append(body)
        except fastpath.Fallback:
            pass
    recover = etree.XMLParser(recover=True, resolve_entities=False, huge_tree=True)

    def prepare_all() -> None:
        for body in originals:
            prepare(body, content_type=None)

    def lxml_all() -> None:
        for body in xml:
            with contextlib.suppress(etree.LxmlError):
                etree.fromstring(body, recover)

    def fastfeedparser_all() -> None:
        for body in bodies:
            try:
                fastfeedparser.parse(body, include_tags=False, include_media=False)
            except Exception:  # what the library raises on is not measured here
                continue

    def fast_path() -> None:
        for body in accepted:
            fastpath.parse_fast(body, url=URL)

    def finishing() -> None:
        for raw in raws:
            finish(raw)

    def whole() -> None:
        for body in bodies:
            parse_feed(body, url=URL, content_type=None)

    def feedparser_all() -> None:
        for body in bodies:
            feedparser.parse(io.BytesIO(body))

    mb = sum(map(len, bodies)) / 1e6
    mb_xml = sum(map(len, xml)) / 1e6
    mb_fast = sum(map(len, accepted)) / 1e6
    print(
        f"{len(files)} files, {mb:.1f} MB; the fast path takes {len(accepted)} ({mb_fast:.1f} MB)"
    )
    print(f"fastfeedparser compiled core loaded: {ffp_shim.compiled_core_loaded()}")
    stages: list[tuple[str, float, Callable[[], object], int]] = [
        ("lxml recover parse (XML files)", mb_xml, lxml_all, args.runs),
        ("rssmania prepare (charsets, entities)", mb, prepare_all, args.runs),
        ("fastfeedparser alone", mb, fastfeedparser_all, args.runs),
        ("rssmania fast path (accepted files)", mb_fast, fast_path, args.runs),
        ("rssmania finishing (nh3, links, ids)", mb_fast, finishing, args.runs),
        ("rssmania parse_feed (all files)", mb, whole, args.runs),
    ]
    if not args.skip_feedparser:
        stages.append(("feedparser.parse (all files)", mb, feedparser_all, 1))
    print(f"{'stage':<40} {'CPU s':>7} {'MB/s':>7}")
    for name, size, work, runs in stages:
        seconds = best_cpu(runs, work)
        print(f"{name:<40} {seconds:>7.3f} {size / seconds:>7.1f}")


if __name__ == "__main__":
    main()
