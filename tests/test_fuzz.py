"""Robustness: whatever bytes a server sends, parsing returns a value and the pipeline stays sound.

feedparser's own suite and the real corpus go through ``parse_feed`` in-process and through the
whole pipeline; Hypothesis then damages corpus feeds the way networks and publishers do (cut
short, bit rot, the wrong charset, a chunk sent twice) and checks the same promises.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import html
import json
import re
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from rssmania import Aggregator
from rssmania._poll.jobs import ParsedFeed
from rssmania._poll.parse import finish, parse_feed
from rssmania._poll.tolerant import parse_tolerant
from rssmania.types import FeedError
from tests.feedserver import FeedServer

URL = "http://127.0.0.1:8080/feeds/feed.xml"
CONTENT_TYPES = (
    None,
    "application/xml",
    "application/rss+xml; charset=utf-8",
    "application/atom+xml; charset=iso-8859-1",
    "text/xml",
    "text/plain; charset=utf-16",
    "text/html",
)
# Bytes that matter to an XML tokenizer: a flip or an insertion of these reaches far more
# parser states than random noise does.
TOKENS = (
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#xD800;",
    b"&bogus;",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b'"',
    b"</item>",
    b"<item>",
    b"</entry>",
    b"<entry>",
    b"<guid></guid>",
    b"<link/>",
    b"<id> </id>",
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'<!DOCTYPE rss [<!ENTITY x "xxxxxxxx">]>',
)
ENCODINGS = ("latin-1", "cp1252", "utf-16", "utf-16-le")
DECLARED = ("keep", "actual", "utf-8", "iso-8859-1", "utf-16", "koi8-r", "nonsense")
_DECLARATION = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")


def _suite_files(corpus: Path) -> list[Path]:
    files = sorted(p for p in (corpus / "feedparser-suite").rglob("*") if p.is_file())
    assert len(files) >= 2200, "the feedparser suite looks incomplete"
    return files


def _check_parsed(result: object) -> None:
    """The promises ``parse_feed`` makes about any input."""
    assert isinstance(result, ParsedFeed | FeedError), type(result)
    if isinstance(result, FeedError):
        assert result.kind
        assert result.message
        return
    keys = [entry.key for entry in result.entries]
    assert all(isinstance(key, str) and key for key in keys), keys
    assert len(set(keys)) == len(keys), collections.Counter(keys).most_common(3)


def _parse_all(files: Sequence[Path], root: Path, content_type: str | None) -> None:
    crashes = []
    for path in files:
        try:
            _check_parsed(parse_feed(path.read_bytes(), url=URL, content_type=content_type))
        except Exception as exc:  # collect them all: one report beats one failure per run
            crashes.append(f"{path.relative_to(root)}: {type(exc).__name__}: {exc}")
    assert crashes == []


def _poll_bodies(bodies: Sequence[tuple[str, bytes, str | None]]) -> list[str]:
    """Serve ``(label, body, content type)`` and poll them in one round; return the problems."""
    problems = []
    with FeedServer() as server, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "feeds.sqlite"
        labels = {
            server.set(f"/{i}.xml", body, content_type=content_type or ""): label
            for i, (label, body, content_type) in enumerate(bodies)
        }
        # One local server stands for every site: lift the per-host limits.
        with Aggregator(db, workers=2, per_host_limit=16, per_host_spacing=0) as agg:
            agg.add_feeds(labels)
            results = list(agg.update(all_feeds=True))
        seen = collections.Counter(r.feed.url for r in results)
        problems += [f"{labels.get(u, u)}: {n} results" for u, n in seen.items() if n != 1]
        problems += [f"{labels[u]}: no result" for u in labels if u not in seen]
        problems += [
            f"{labels.get(r.feed.url, r.feed.url)}: {r.error.message}"
            for r in results
            if r.error is not None and r.error.kind == "internal"
        ]
        with contextlib.closing(sqlite3.connect(db)) as con:
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
    return problems


# feedparser's own suite ---------------------------------------------------------------------


@pytest.mark.slow  # corpus-wide
@pytest.mark.parametrize("content_type", [None, "application/xml"])
def test_feedparser_suite_parses_without_raising(corpus: Path, content_type: str | None) -> None:
    _parse_all(_suite_files(corpus), corpus, content_type)


@pytest.mark.slow  # corpus-wide
def test_feedparser_suite_polls_without_internal_error(corpus: Path) -> None:
    files = _suite_files(corpus)
    root = corpus / "feedparser-suite"
    bodies = [(str(p.relative_to(root)), p.read_bytes(), "application/xml") for p in files]
    assert _poll_bodies(bodies) == []


# The real corpus (its pipeline run is in test_corpus.py) ------------------------------------


@pytest.mark.slow  # corpus-wide
def test_real_corpus_parses_without_raising(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "real").rglob("*") if p.is_file())
    assert len(files) > 300, "the corpus looks incomplete"
    _parse_all(files, corpus, "application/xml")


# Inputs the fuzzing below once found (each reduced by hand to its smallest form); all of them
# raised from inside feedparser.parse.
CRASHERS = [
    pytest.param(b"</creativeCommons:license>", id="cc-license-end-without-start"),
    pytest.param(b"</gml:pos>", id="gml-pos-end-without-start"),
    pytest.param(b"</height>", id="height-end-without-start"),
    pytest.param(b"</width>", id="width-end-without-start"),
    pytest.param(b'<?encoding="\xc9"?>', id="declared-encoding-not-utf8"),
    pytest.param(b'<?encoding="\x00"?>', id="declared-encoding-nul"),
    pytest.param(b"<>&#xD800;", id="surrogate-charref"),
    pytest.param(b"<d xmlns:a='h\xa0/'><a:x>", id="namespace-uri-with-nbsp"),
]


@pytest.mark.parametrize("body", CRASHERS)
@pytest.mark.parametrize("content_type", [None, "application/xml", "text/html"])
def test_known_crashers_parse_to_a_value(body: bytes, content_type: str | None) -> None:
    _check_parsed(parse_feed(body, url=URL, content_type=content_type))


# Mutated corpus feeds -----------------------------------------------------------------------


@functools.cache
def _samples(root: Path) -> tuple[tuple[str, bytes], ...]:
    """About 40 small feeds, evenly spread over real/ and edge-cases/, read once per session."""

    def spread(folder: str, n: int) -> list[Path]:
        files = sorted(
            p for p in (root / folder).rglob("*") if p.is_file() and p.stat().st_size <= 150_000
        )
        return files[:: max(1, len(files) // n)][:n]

    picked = spread("real", 30) + spread("edge-cases", 10)
    return tuple((str(p.relative_to(root)), p.read_bytes()) for p in picked)


@dataclass(frozen=True)
class Truncate:
    at: int

    def apply(self, body: bytes) -> bytes:
        return body[: self.at]


@dataclass(frozen=True)
class Flip:
    at: int
    mask: int

    def apply(self, body: bytes) -> bytes:
        if self.at >= len(body):
            return body
        return body[: self.at] + bytes([body[self.at] ^ self.mask]) + body[self.at + 1 :]


@dataclass(frozen=True)
class Insert:
    at: int
    data: bytes

    def apply(self, body: bytes) -> bytes:
        return body[: self.at] + self.data + body[self.at :]


@dataclass(frozen=True)
class Delete:
    at: int
    size: int

    def apply(self, body: bytes) -> bytes:
        return body[: self.at] + body[self.at + self.size :]


@dataclass(frozen=True)
class Duplicate:
    start: int
    size: int
    at: int

    def apply(self, body: bytes) -> bytes:
        return body[: self.at] + body[self.start : self.start + self.size] + body[self.at :]


@dataclass(frozen=True)
class Reencode:
    """Read as UTF-8 (lossy), write in ``encoding``; ``declared`` says what the prolog claims."""

    encoding: str
    declared: str

    def apply(self, body: bytes) -> bytes:
        text = body.decode("utf-8", errors="replace")
        if self.declared != "keep":
            name = self.encoding if self.declared == "actual" else self.declared
            if _DECLARATION.match(text):
                text = _DECLARATION.sub(lambda m: f"{m[1]}{m[2]}{name}{m[2]}", text, count=1)
            else:
                text = f'<?xml version="1.0" encoding="{name}"?>\n' + text
        return text.encode(self.encoding, errors="replace")


Op = Truncate | Flip | Insert | Delete | Duplicate | Reencode


class Mutant:
    """A corpus feed and the damage done to it; the repr names both, not the bytes."""

    def __init__(
        self, source: str, ops: Sequence[Op], content_type: str | None, body: bytes
    ) -> None:
        self.source = source
        self.ops = tuple(ops)
        self.content_type = content_type
        self.body = body

    def __repr__(self) -> str:
        return f"Mutant({self.source!r}, {self.ops!r}, {self.content_type!r})"


def _op(size: int) -> st.SearchStrategy[Op]:
    at = st.integers(0, size)
    ops: list[st.SearchStrategy[Op]] = [
        st.builds(Truncate, at),
        st.builds(Insert, at, st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=16)),
        st.builds(Duplicate, at, st.integers(1, 4096), at),
        st.builds(Reencode, st.sampled_from(ENCODINGS), st.sampled_from(DECLARED)),
    ]
    if size:
        ops.append(st.builds(Flip, st.integers(0, size - 1), st.integers(1, 255)))
        ops.append(st.builds(Delete, at, st.integers(1, 64)))
    return st.one_of(ops)


@st.composite
def _mutants(draw: st.DrawFn, samples: tuple[tuple[str, bytes], ...]) -> Mutant:
    source, body = draw(st.sampled_from(samples))
    ops = []
    for _ in range(draw(st.integers(1, 4))):
        op = draw(_op(len(body)))
        ops.append(op)
        body = op.apply(body)
    return Mutant(source, ops, draw(st.sampled_from(CONTENT_TYPES)), body)


@settings(
    max_examples=800,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@pytest.mark.slow  # corpus-wide
@given(data=st.data())
def test_mutated_feeds_parse_to_a_value(corpus: Path, data: st.DataObject) -> None:
    mutant = data.draw(_mutants(_samples(corpus)))
    if len(mutant.body) <= 300:
        note(f"body: {mutant.body!r}")
    _check_parsed(parse_feed(mutant.body, url=URL, content_type=mutant.content_type))


@settings(
    # Each example is a whole round, and the first is Hypothesis' simplest (30 empty bodies):
    # three more rounds bring 90 real mutants. No shrinking, which would rerun rounds for
    # minutes; the assertion names every failing mutant instead.
    max_examples=4,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@pytest.mark.slow  # corpus-wide
@given(data=st.data())
def test_mutated_feeds_poll_without_internal_error(corpus: Path, data: st.DataObject) -> None:
    mutants = [data.draw(_mutants(_samples(corpus))) for _ in range(30)]
    assert _poll_bodies([(repr(m), m.body, m.content_type) for m in mutants]) == []


# Hostile URLs in every place a feed holds one --------------------------------------------------

# What URL parsers trip on: brackets (IPv6), ports out of range, schemes alone, escapes.
URL_PIECES = ("http://", "https://", "//", "[", "]", "[::1]", "%zz", "%00", "#", "?", "@", ":",
              ":99999", "..", "/", "\\", " ", "javascript:", "data:", "é", "\u2028", "a",
              "b.example", "0x7f.1", "&#x5b;", "http://[fe80::1%25eth0]/", "https:x")  # fmt: skip
_urlish = st.lists(st.sampled_from(URL_PIECES), max_size=6).map("".join)


def _hostile_feed(kind: str, u: list[str]) -> bytes:
    """A feed of ``kind`` with the strings of ``u`` as its xml:base, links, enclosures, hrefs."""
    a = [html.escape(x, quote=True) for x in u]
    if kind == "json":
        item = {
            "id": u[0] or "x",
            "url": u[1],
            "external_url": u[2],
            "content_html": f"<a href='{a[3]}'>x</a>",
            "attachments": [{"url": u[4]}],
        }
        document = {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [item]}
        return json.dumps({**document, "home_page_url": u[5]}).encode()
    if kind == "rss":
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>{a[5]}</link>'
            f"<item><guid>{a[0]}</guid><title>t</title><link>{a[1]}</link>"
            f'<enclosure url="{a[4]}" length="{a[2]}" type="audio/mpeg"/>'
            f"<description>{html.escape(f'<a href={a[3]}>x</a>')}</description></item>"
            "</channel></rss>"
        ).encode()
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:base="{a[5]}"><title>T</title><entry xml:base="{a[2]}"><id>{a[0] or "x"}</id>'
        f'<title>t</title><link href="{a[1]}"/><link rel="enclosure" href="{a[4]}"/>'
        f'<summary type="html">{html.escape(f"<img src={a[3]}>")}</summary>'
        f'<content type="html" xml:base="{a[3]}">{html.escape(f"<a href={a[1]}>y</a>")}</content>'
        "</entry></feed>"
    ).encode()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    kind=st.sampled_from(["atom", "rss", "json"]),
    urls=st.lists(_urlish, min_size=6, max_size=6),
    final_url=st.sampled_from([URL, "https://[::1]:8080/a/b", "http://127.0.0.1:9/x?y"]),
    fallback=st.booleans(),
)
def test_hostile_urls_anywhere_fail_nothing_and_give_only_web_links(
    kind: str, urls: list[str], final_url: str, fallback: bool
) -> None:
    body = _hostile_feed(kind, urls)
    if fallback and kind != "json":
        raw = parse_tolerant(body, url=final_url, content_type=None)
        result: object = raw if isinstance(raw, FeedError) else finish(raw)
    else:
        result = parse_feed(body, url=final_url, content_type=None)
    _check_parsed(result)
    if isinstance(result, ParsedFeed):
        for link in [result.link] + [
            href for e in result.entries for href in [e.link, *(x.href for x in e.enclosures)]
        ]:
            if link is not None:
                parts = urlsplit(link)
                assert parts.scheme in ("http", "https"), link
                assert parts.netloc, link
