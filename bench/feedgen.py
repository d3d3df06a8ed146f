"""Deterministic, realistic feeds for the benchmarks: what a poller meets in the wild.

A feed's shape depends only on ``(seed, index)``: its format (RSS 2.0, Atom or
RSS 1.0/RDF), its number of entries (10-50), its size (2-300 KB, most of them
small, a few large), its encoding (a few percent ISO-8859-1 or windows-1252,
declared in the XML prolog, with accented text), whether it is malformed in a
way every tolerant parser recovers from (an unescaped ``&`` or an undeclared
HTML entity such as ``&nbsp;``), and whether its links are relative.

``Corpus`` writes the files, knows how many entries each holds, and turns 10%
of them into their next version (one more entry) for a *warm* poll, and back.
Every write moves the file's mtime forward: nginx derives ETag and
Last-Modified from mtime and size, and a poller that only sends
If-Modified-Since must see the change even when it lands within one second.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

_TEXT = (
    "the of and to in is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no will "
    "more can what up other out into them some time could these two may first then do any like "
    "my now over such our man me even most made after also did many before must through back "
    "years where much your way well down should because each just those people how too little "
    "state good very make world still own see men work long get here between both life being "
    "under never day same another know while last might us great old year off come since against "
    "go came right used take three feed server cache release kernel patch browser network python "
    "database schedule backoff parser worker process queue signal memory storage protocol"
)
WORDS = _TEXT.split()
ACCENTED = "café naïve résumé Zürich señor façade crème brûlée déjà vu Ærøskøbing São Paulo"
# windows-1252 has glyphs where ISO-8859-1 has C1 controls: publishers use them unknowingly.
CP1252_EXTRAS = "\u201csmart quotes\u201d \u2014 5 \u20ac \u2026 \u2018single\u2019"
KINDS = ("rss", "rss", "rss", "rss", "rss", "atom", "atom", "atom", "rdf", "rdf")
EXTENSIONS = {"rss": "rss", "atom": "atom", "rdf": "rdf"}


@dataclass(frozen=True)
class FeedSpec:
    """What one generated feed looks like; a pure function of (seed, index)."""

    index: int
    kind: str  # rss | atom | rdf
    entries: int
    target_bytes: int
    encoding: str  # utf-8 | iso-8859-1 | windows-1252
    malformed: str  # "" | "amp" (unescaped &) | "entity" (undeclared &nbsp;)
    relative_links: bool
    guids: bool  # RSS 2.0 without <guid> is common: the link identifies the entry

    @property
    def name(self) -> str:
        return f"f{self.index}.{EXTENSIONS[self.kind]}"


def spec(seed: int, index: int) -> FeedSpec:
    rng = random.Random(seed * 1_000_003 + index)
    kind = rng.choice(KINDS)
    entries = rng.randint(10, 50)
    roll = rng.random()
    # Mostly small feeds (2-100 KB, log-uniform), a long tail of big ones
    # (full-content feeds, podcasts).
    small = int(2_000 * (50 ** rng.random()))
    target = small if roll < 0.93 else rng.randint(100_000, 300_000)
    roll = rng.random()
    encoding = "utf-8"
    if roll < 0.02:
        encoding = "iso-8859-1"
    elif roll < 0.04:
        encoding = "windows-1252"
    roll = rng.random()
    malformed = ""
    if roll < 0.02:
        malformed = "amp"
    elif roll < 0.04 and kind == "rss":
        malformed = "entity"
    return FeedSpec(
        index=index,
        kind=kind,
        entries=entries,
        target_bytes=target,
        encoding=encoding,
        malformed=malformed,
        relative_links=rng.random() < 0.1,
        guids=kind != "rss" or rng.random() < 0.85,
    )


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _body(rng: random.Random, spec_: FeedSpec, words: int, link: str) -> str:
    """An HTML body of about ``words`` words in paragraphs, with a link and sometimes an image."""
    if words <= 0:
        return ""
    parts = []
    left = words
    while left > 0:
        n = min(left, rng.randint(40, 120))
        left -= n
        parts.append(f"<p>{_words(rng, n)}</p>")
    parts.append(f'<p><a href="{link}">Read <em>more</em></a></p>')
    if rng.random() < 0.3:
        parts.insert(1, f'<p><img src="{link}/cover.jpg" alt="cover"></p>')
    if spec_.encoding != "utf-8":
        parts.insert(0, f"<p>{ACCENTED}</p>")
    return "".join(parts)


def _title(rng: random.Random, spec_: FeedSpec, i: int) -> str:
    title = escape(f"{_words(rng, rng.randint(3, 9)).capitalize()} #{i}")
    if spec_.encoding == "windows-1252" and i % 3 == 0:
        title += " " + CP1252_EXTRAS
    elif spec_.encoding != "utf-8" and i % 3 == 0:
        title += " " + ACCENTED.split()[i % 6]
    # The breakage real feeds ship: every tolerant parser recovers from it.
    if spec_.malformed == "amp" and i % 4 == 0:
        title += " Q&A"
    if spec_.malformed == "entity" and i % 4 == 1:
        title += "&nbsp;&mdash; news"
    return title


def render(seed: int, spec_: FeedSpec, extra: int = 0) -> bytes:
    """The feed document, encoded as its prolog declares; ``extra`` newer entries on top."""
    rng = random.Random(seed * 7_919 + spec_.index)
    site = f"https://site{spec_.index}.example.org"
    # Overhead of one entry's markup, so that the body words land near the target size.
    per_entry = spec_.target_bytes / spec_.entries - 450
    words = max(0, int(per_entry / 6.5))
    items = []
    for i in range(spec_.entries + extra):
        path = f"/{2024 - i // 200}/post-{i}.html"
        link = path if spec_.relative_links else site + path
        title = _title(rng, spec_, i)
        body = _body(rng, spec_, rng.randint(words * 2 // 3, words * 4 // 3 + 1), link)
        stamp = 1_700_000_000 + i * 3_600
        # Tiny feeds (a title and a link per entry) exist too: no author for them.
        author = "" if per_entry < 0 else rng.choice(("Ann Lee", "Bo Diaz", "Cy Ng", "Dee Roe"))
        items.append(_entry(spec_, i, site, link, title, body, stamp, author, rng))
    items.reverse()  # newest first, as publishers do
    head = f"<?xml version='1.0' encoding='{spec_.encoding}'?>\n"
    doc = head + _wrap(spec_, site, "".join(items))
    return doc.encode(spec_.encoding, errors="xmlcharrefreplace")


def _entry(
    spec_: FeedSpec,
    i: int,
    site: str,
    link: str,
    title: str,
    body: str,
    stamp: int,
    author: str,
    rng: random.Random,
) -> str:
    tags = "".join(f"<category>{rng.choice(WORDS)}</category>" for _ in range(rng.randint(0, 3)))
    if not author:
        tags = ""
    if spec_.kind == "atom":
        date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
        cats = tags.replace("<category>", "<category term='").replace("</category>", "'/>")
        return (
            f"<entry><id>tag:site{spec_.index}.example.org,2024:{i}</id><title>{title}</title>"
            f"<link rel='alternate' type='text/html' href={quoteattr(link)}/>"
            f"<updated>{date}</updated><published>{date}</published>"
            f"<author><name>{author or 'anonymous'}</name></author>{cats}"
            f"<content type='html'>{escape(body)}</content></entry>"
        )
    if spec_.kind == "rdf":
        date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
        return (
            f"<item rdf:about='{site}/{2024 - i // 200}/post-{i}.html'><title>{title}</title>"
            f"<link>{escape(link)}</link><dc:date>{date}</dc:date>"
            f"{_opt('dc:creator', author)}{_opt('description', escape(body))}</item>"
        )
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(stamp))
    guid = f"<guid isPermaLink='false'>{site}/id/{i}</guid>" if spec_.guids else ""
    content = ""
    if i % 2 == 0 and body:
        # Full content next to a short summary, as WordPress does.
        content = f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        body = body[:300].rsplit(" ", 1)[0] + "...</p>"
    enclosure = ""
    if spec_.index % 7 == 0:
        enclosure = f"<enclosure url='{site}/ep{i}.mp3' length='{1000 + i}' type='audio/mpeg'/>"
    return (
        f"<item><title>{title}</title><link>{escape(link)}</link>{guid}"
        f"<pubDate>{date}</pubDate>{_opt('dc:creator', author)}{tags}"
        f"{_opt('description', escape(body))}{content}{enclosure}</item>"
    )


def _opt(tag: str, text: str) -> str:
    return f"<{tag}>{text}</{tag}>" if text else ""


def _wrap(spec_: FeedSpec, site: str, items: str) -> str:
    title = f"Feed {spec_.index}" + (f" — {ACCENTED[:16]}" if spec_.encoding != "utf-8" else "")
    if spec_.kind == "atom":
        base = f" xml:base='{site}/'" if spec_.relative_links else ""
        return (
            f"<feed xmlns='http://www.w3.org/2005/Atom'{base}><title>{title}</title>"
            f"<id>tag:site{spec_.index}.example.org,2024:feed</id>"
            f"<link rel='alternate' href='{site}/'/><link rel='self' href='{site}/feed.atom'/>"
            f"<updated>2024-01-01T00:00:00Z</updated><generator>bench</generator>{items}</feed>"
        )
    if spec_.kind == "rdf":
        return (
            "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
            "xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
            f"<channel rdf:about='{site}/feed.rdf'><title>{title}</title><link>{site}/</link>"
            f"<description>bench feed</description></channel>{items}</rdf:RDF>"
        )
    return (
        "<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/' "
        "xmlns:dc='http://purl.org/dc/elements/1.1/'><channel>"
        f"<title>{title}</title><link>{site}/</link><description>bench feed</description>"
        "<language>en</language><generator>bench</generator><ttl>60</ttl>"
        f"{items}</channel></rss>"
    )


class Corpus:
    """N feed files in ``root``, their expected entry counts, and the warm-poll change."""

    def __init__(self, root: Path, feeds: int, *, seed: int = 1, changed: float = 0.1) -> None:
        self.root = root
        self.seed = seed
        self.specs = [spec(seed, i) for i in range(feeds)]
        picker = random.Random(seed)
        self.changing = sorted(picker.sample(range(feeds), round(feeds * changed)))
        self.extra = [0] * feeds
        # Start in the past and move forward on every write (see the module docstring).
        self._clock = time.time() - 86_400.0

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def write_all(self) -> None:
        self._clock += 10
        for s in self.specs:
            self._write(s, 0)
        self.extra = [0] * len(self.specs)

    def change(self) -> None:
        """10% of the feeds gain one entry: the state a warm poll finds."""
        self._set_extra(1)

    def reset(self) -> None:
        """Back to the cold corpus (new mtimes, so no poller's old validators match)."""
        self._set_extra(0)

    def expected(self) -> list[int]:
        return [s.entries + e for s, e in zip(self.specs, self.extra, strict=True)]

    def summary(self) -> dict[str, object]:
        sizes = [(self.root / s.name).stat().st_size for s in self.specs]
        return {
            "feeds": len(sizes),
            "mb": round(sum(sizes) / 1e6, 1),
            "kb_min": round(min(sizes) / 1e3, 1),
            "kb_median": round(statistics.median(sizes) / 1e3, 1),
            "kb_max": round(max(sizes) / 1e3, 1),
            "entries": sum(self.expected()),
            "rss": sum(s.kind == "rss" for s in self.specs),
            "atom": sum(s.kind == "atom" for s in self.specs),
            "rdf": sum(s.kind == "rdf" for s in self.specs),
            "malformed": sum(bool(s.malformed) for s in self.specs),
            "non_utf8": sum(s.encoding != "utf-8" for s in self.specs),
            "relative_links": sum(s.relative_links for s in self.specs),
        }

    def _set_extra(self, extra: int) -> None:
        self._clock += 10
        for i in self.changing:
            self._write(self.specs[i], extra)
            self.extra[i] = extra

    def _write(self, s: FeedSpec, extra: int) -> None:
        path = self.root / s.name
        path.write_bytes(render(self.seed, s, extra))
        os.utime(path, (self._clock, self._clock))
