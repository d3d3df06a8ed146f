"""The demo's sample feeds: made-up content, rendered as RSS 2.0, Atom and RSS 1.0."""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

EPOCH = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
"""Item ``n`` of every feed is dated ``EPOCH + n hours``."""

MAX_ITEMS = 20
"""A document lists at most this many items, newest first."""

Kind = Literal["rss", "atom", "rdf"]

CONTENT_TYPES: dict[Kind, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
}


def published_count(elapsed: float, *, initial: int, publish_every: float, phase: float) -> int:
    """How many items a feed holds after ``elapsed`` seconds of server time.

    The feed starts with ``initial`` items; its k-th new item (k = 1, 2, ...) appears at
    ``(k - 1 + phase) * publish_every`` seconds, with ``0 < phase <= 1``. Feeds with different
    phases therefore publish in turn, each exactly once per ``publish_every``.
    """
    if elapsed <= 0:
        return initial
    return initial + max(0, math.floor(elapsed / publish_every + 1 - phase))


@dataclass(frozen=True)
class SampleItem:
    id: str
    title: str
    link: str
    summary_html: str
    author: str
    published: datetime | None
    enclosure: tuple[str, int, str] | None = None
    """``(url, length in bytes, media type)``."""


@dataclass(frozen=True)
class _Copy:
    title: str
    summary_html: str
    author: str = ""


def _pick(table: tuple[str, ...], n: int, stride: int = 1) -> str:
    return table[(n * stride) % len(table)]


@dataclass(frozen=True)
class SampleFeed:
    slug: str
    title: str
    description: str
    kind: Kind
    language: str
    site: str
    initial: int
    phase: float
    write: Callable[[int], _Copy]
    dated: bool = True
    enclosures: bool = False

    def item(self, n: int) -> SampleItem:
        """Item number ``n`` (1 is the oldest); the same on every run and every port."""
        copy = self.write(n)
        enclosure = None
        if self.enclosures:
            url = f"{self.site}audio/episode-{n:03d}.mp3"
            enclosure = (url, 4_000_000 + 73_331 * n, "audio/mpeg")
        return SampleItem(
            id=f"tag:example.org,2024:{self.slug}/{n}",
            title=copy.title,
            link=f"{self.site}{n}/",
            summary_html=copy.summary_html,
            author=copy.author,
            published=EPOCH + timedelta(hours=n) if self.dated else None,
            enclosure=enclosure,
        )


# --- the copy: small tables, combined with co-prime strides so neighbouring items differ ---

_BREADS = ("sourdough", "rye loaf", "cinnamon knots", "focaccia", "brioche", "seeded batch")
_MOODS = ("Stubborn", "Triumphant", "Slightly Lopsided", "Extremely Fluffy", "Midnight")
_OUTCOMES = (
    "rose so well it lifted the tea towel",
    "came out looking like a sleeping cat",
    "sold out before the kettle boiled",
    "was declared <em>structurally sound</em> by the mayor",
    "smelled so good the postman took the long way round",
    "needed a second opinion from Gran",
    "cracked along the top in a <strong>very</strong> pleasing way",
)


def _bakery(n: int) -> _Copy:
    bread = _pick(_BREADS, n)
    return _Copy(
        title=f"Bake #{n}: The {_pick(_MOODS, n, 2)} {bread.title()}",
        summary_html=f"<p>This morning's {bread} {_pick(_OUTCOMES, n, 3)}.</p>",
    )


_SKY = ("Saturn", "The Moon", "Andromeda", "Jupiter", "The Pleiades", "A mystery satellite")
_SKY_EVENTS = (
    "behaves beautifully",
    "hides behind the water tower",
    "outshines the petrol station sign",
    "is mistaken for a drone (again)",
    "draws a crowd of six",
    "shows up twenty minutes late",
    "refuses to come into focus",
)
_SEEING = ("excellent", "wobbly", "patchy", "surprisingly good", "mostly fog")
_MEMBERS = ("Dot Halloran", "Ezra Pim", "Marguerite Oyelaran", "Sol Bakewell")


def _stargazers(n: int) -> _Copy:
    return _Copy(
        title=f"Night {n}: {_pick(_SKY, n)} {_pick(_SKY_EVENTS, n, 3)}",
        summary_html=(
            f"<p>Seeing was <em>{_pick(_SEEING, n, 2)}</em>.</p>"
            f"<ul><li>Telescopes out: {2 + n % 5}</li>"
            f"<li>Flasks of cocoa: {3 + n % 4}</li></ul>"
        ),
        author=_pick(_MEMBERS, n),
    )


_ROUTES = ("the canal towpath", "Windmill Hill", "the old railway line", "the reservoir loop")
_TOPICS = (
    "mudguards, a love story",
    "the great chain-lube debate",
    "why the café stop is the real destination",
    "how to wave at other cyclists",
    "a puncture, narrated in real time",
    "the headwind that followed us home",
    "panniers versus the backpack",
)
_TIPS = ("a little softer for gravel", "check it on Sundays", "trust the thumb test")


def _freewheel(n: int) -> _Copy:
    return _Copy(
        # Two tables of co-prime lengths: a title comes back after 28 dispatches, not 5.
        title=f"Dispatch {n}: {_pick(_TOPICS, n).capitalize()}, on {_pick(_ROUTES, n)}",
        summary_html=(
            f"<p>This week we rode {_pick(_ROUTES, n, 3)} and talked about "
            f"{_pick(_TOPICS, n)}. Tyre tip: <strong>{_pick(_TIPS, n, 2)}</strong>.</p>"
        ),
    )


_CODENAMES = ("Earl Grey", "Oolong", "Builder's", "Chamomile", "Lapsang", "Rooibos", "Sencha")
_INFUSIONS = ("Strong", "Iced", "Smoky", "Second-Steep")
_CHANGES = (
    "<code>teapotctl brew --strength</code> now accepts <em>builder's</em>",
    "the kettle is no longer reported as a teapot (HTTP 418 fixed)",
    "<code>teapotctl pour</code> asks before pouring onto the cat",
    "biscuit dunk times are shown in seconds instead of vibes",
    "the cosy plugin stops warming empty pots",
)
_KINDS = ("Added", "Fixed", "Changed")


def _teapotctl(n: int) -> _Copy:
    return _Copy(
        title=f"teapotctl 1.{n}.0 \u201c{_pick(_INFUSIONS, n)} {_pick(_CODENAMES, n)}\u201d",
        summary_html=f"<p><strong>{_pick(_KINDS, n)}:</strong> {_pick(_CHANGES, n, 2)}.</p>",
    )


_LEGUMES = ("les radis", "les courgettes", "les fèves", "les potirons", "les tomates cerises")
_ETATS = (
    "sont déjà là",
    "font grève",
    "ont reçu la visite d'un hérisson",
    "poussent à vue d'œil",
    "réclament de l'ombre",
    "ont gagné un prix imaginaire",
)
_METEO = ("averses et éclaircies", "chaleur écrasante", "fraîcheur matinale", "vent d'ouest")


def _potager(n: int) -> _Copy:
    return _Copy(
        title=f"Carnet n°{n} : {_pick(_LEGUMES, n)} {_pick(_ETATS, n, 5)}",
        summary_html=(
            f"<p>Météo : <em>{_pick(_METEO, n, 3)}</em>. "
            f"Récolte du jour : {n % 7 + 1} panier(s), et beaucoup d'enthousiasme.</p>"
        ),
    )


SAMPLE_FEEDS: tuple[SampleFeed, ...] = (
    SampleFeed(
        slug="bakery",
        title="Flour & Fable",
        description="A tiny bakery writes down what came out of the oven today.",
        kind="rss",
        language="en",
        site="https://example.org/flour-and-fable/",
        initial=4,
        phase=0.2,
        write=_bakery,
    ),
    SampleFeed(
        slug="stargazers",
        title="Millbrook Stargazers",
        description="Observing logs of a small-town astronomy club.",
        kind="atom",
        language="en",
        site="https://example.org/millbrook-stargazers/",
        initial=3,
        phase=0.4,
        write=_stargazers,
    ),
    SampleFeed(
        slug="freewheel",
        title="The Freewheel Dispatch",
        description="A weekly cycling newsletter, with an audio edition.",
        kind="rss",
        language="en",
        site="https://example.org/freewheel/",
        initial=5,
        phase=0.6,
        write=_freewheel,
        enclosures=True,
    ),
    SampleFeed(
        slug="teapotctl",
        title="teapotctl release notes",
        description="Release notes of teapotctl, the command line for teapots.",
        kind="rdf",
        language="en",
        site="https://example.org/teapotctl/releases/",
        initial=6,
        phase=0.8,
        write=_teapotctl,
    ),
    SampleFeed(
        slug="potager",
        title="Le Carnet du Potager",
        description="Le journal d'un potager de banlieue, sans dates mais plein d'entrain.",
        kind="rss",
        language="fr",
        site="https://example.org/potager/",
        initial=3,
        phase=1.0,
        write=_potager,
        dated=False,
    ),
)


# --- rendering ---


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"


def _render_rss(feed: SampleFeed, items: list[SampleItem], self_url: str) -> list[str]:
    out = [
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        _text("title", feed.title),
        _text("link", feed.site),
        _text("description", feed.description),
        _text("language", feed.language),
        f'<atom:link rel="self" type="application/rss+xml" href={quoteattr(self_url)}/>',
        "<generator>rssmania demo</generator>",
    ]
    if items[0].published is not None:
        out.append(_text("lastBuildDate", email.utils.format_datetime(items[0].published, True)))
    for item in items:
        out += [
            "<item>",
            _text("title", item.title),
            _text("link", item.link),
            f'<guid isPermaLink="false">{escape(item.id)}</guid>',
            _text("description", item.summary_html),
        ]
        if item.published is not None:
            out.append(_text("pubDate", email.utils.format_datetime(item.published, True)))
        if item.enclosure is not None:
            url, length, media = item.enclosure
            out.append(f'<enclosure url={quoteattr(url)} length="{length}" type="{media}"/>')
        out.append("</item>")
    return [*out, "</channel>", "</rss>"]


def _render_atom(feed: SampleFeed, items: list[SampleItem], self_url: str) -> list[str]:
    updated = _rfc3339(items[0].published or EPOCH)
    out = [
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{feed.language}">',
        _text("title", feed.title),
        _text("subtitle", feed.description),
        _text("id", f"tag:example.org,2024:{feed.slug}"),
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(feed.site)}/>',
        _text("updated", updated),
        "<generator>rssmania demo</generator>",
    ]
    for item in items:
        when = _rfc3339(item.published or EPOCH)
        out += [
            "<entry>",
            _text("title", item.title),
            _text("id", item.id),
            f'<link rel="alternate" type="text/html" href={quoteattr(item.link)}/>',
            _text("published", when),
            _text("updated", when),
            f"<author>{_text('name', item.author or feed.title)}</author>",
            f'<content type="html">{escape(item.summary_html)}</content>',
            "</entry>",
        ]
    return [*out, "</feed>"]


def _render_rdf(feed: SampleFeed, items: list[SampleItem], self_url: str) -> list[str]:
    # In RSS 1.0 an item's identity is its rdf:about, and the channel must list every item.
    out = [
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f"<channel rdf:about={quoteattr(self_url)}>",
        _text("title", feed.title),
        _text("link", feed.site),
        _text("description", feed.description),
        _text("dc:language", feed.language),
    ]
    if items[0].published is not None:
        out.append(_text("dc:date", _rfc3339(items[0].published)))
    out.append("<items><rdf:Seq>")
    out += [f"<rdf:li rdf:resource={quoteattr(item.id)}/>" for item in items]
    out += ["</rdf:Seq></items>", "</channel>"]
    for item in items:
        out += [
            f"<item rdf:about={quoteattr(item.id)}>",
            _text("title", item.title),
            _text("link", item.link),
            _text("description", item.summary_html),
        ]
        if item.published is not None:
            out.append(_text("dc:date", _rfc3339(item.published)))
        out.append("</item>")
    return [*out, "</rdf:RDF>"]


_RENDERERS = {"rss": _render_rss, "atom": _render_atom, "rdf": _render_rdf}


def render(feed: SampleFeed, count: int, self_url: str) -> bytes:
    newest = [feed.item(n) for n in range(count, max(0, count - MAX_ITEMS), -1)]
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    lines += _RENDERERS[feed.kind](feed, newest, self_url)
    return ("\n".join(lines) + "\n").encode("utf-8")
