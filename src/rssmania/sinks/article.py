"""An article for the terminal: its stored (sanitized) HTML as rich renderables.

    Entry.content or .summary (HTML, nh3-sanitized when stored)
      -> lxml's HTML parser, as a browser reads it
      -> blocks: paragraphs, headings, lists, quotes, code, tables as lines
         inline: bold, italic, code; links and images numbered  "text [1]"
      -> the numbered URLs below the text: "[1] https://..."

Nothing here does I/O: ``article`` returns what to print; the console (a
string of a fixed width in tests) decides the wrapping. Text from the feed
goes through ``without_controls``: no escape sequence reaches the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

import lxml.etree
import lxml.html
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from rssmania._text import without_controls
from rssmania.types import Entry

_SPACE = re.compile(r"\s+")
_BLOCKS = frozenset(
    {
        *("p", "div", "section", "article", "header", "footer", "main", "aside", "nav"),
        *("figure", "figcaption", "address", "details", "summary", "center", "form"),
        *("dl", "dt", "dd", "fieldset", "table", "thead", "tbody", "tfoot", "tr"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "hr"),
    }
)
_STYLES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "cite": "italic",
    "dfn": "italic",
    "var": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "del": "strike",
    "strike": "strike",
    "code": "cyan",
    "kbd": "cyan",
    "samp": "cyan",
    "tt": "cyan",
    "mark": "reverse",
}
_DEEPEST = 40
"""Elements nested deeper are shown as plain text: each level is a Python frame or two."""
_SKIPPED = frozenset({"script", "style", "template", "head", "title", "noscript"})


class Prefixed:
    """A renderable drawn with a prefix on each line: ``first`` on its first, ``rest`` after.

    How a list item hangs under its bullet and a quote keeps its bar when
    the terminal wraps its lines.
    """

    def __init__(self, body: RenderableType, first: str, rest: str, style: str = "") -> None:
        self.body = body
        self.first = first
        self.rest = rest
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width - len(self.first))
        lines = console.render_lines(self.body, options.update(width=width), pad=False)
        for number, line in enumerate(lines):
            yield Segment(self.first if number == 0 else self.rest, console.get_style(self.style))
            yield from line
            yield Segment.line()


@dataclass
class _Links:
    """URLs in the order they first appear; one number per URL."""

    urls: list[str] = field(default_factory=list)

    def number(self, url: str) -> int:
        if url not in self.urls:
            self.urls.append(url)
        return self.urls.index(url) + 1


def _tag(element: lxml.etree._Element) -> str:
    tag = element.tag
    return tag.lower() if isinstance(tag, str) else ""  # comments, processing instructions


class _Inline:
    """One paragraph's text being built, with HTML's whitespace rules."""

    def __init__(self) -> None:
        self.text = Text()

    def add(self, chunk: str, style: str = "") -> None:
        chunk = _SPACE.sub(" ", without_controls(chunk))
        if not self.text.plain or self.text.plain.endswith((" ", "\n")):
            chunk = chunk.lstrip(" ")
        if chunk:
            self.text.append(chunk, style)

    def add_raw(self, chunk: str, style: str = "") -> None:
        self.text.append(chunk, style)

    def take(self) -> Text | None:
        text, self.text = self.text, Text()
        text.rstrip()
        return text if text.plain.strip() else None


class _Renderer:
    def __init__(self) -> None:
        self.links = _Links()

    def blocks(self, element: lxml.etree._Element) -> list[RenderableType]:
        """The blocks of ``element``'s children: loose text and inline elements make paragraphs."""
        out: list[RenderableType] = []
        inline = _Inline()

        def flush() -> None:
            if (text := inline.take()) is not None:
                out.append(text)

        if element.text:
            inline.add(element.text)
        for child in element:
            tag = _tag(child)
            if tag in _BLOCKS:
                flush()
                out.extend(self.block(child, tag))
            elif tag and tag not in _SKIPPED:
                self.inline(child, tag, inline, "")
            if child.tail:
                inline.add(child.tail)
        flush()
        return out

    def block(self, element: lxml.etree._Element, tag: str) -> list[RenderableType]:
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            inline = _Inline()
            self.inline(element, tag, inline, "bold")
            text = inline.take()
            return [text] if text is not None else []
        if tag in ("ul", "ol"):
            return self.list_items(element, ordered=tag == "ol")
        if tag == "blockquote":
            return [Prefixed(spaced(self.blocks(element)), "│ ", "│ ", "dim")]
        if tag == "pre":
            code = without_controls(element.text_content()).expandtabs(4).strip("\n")
            return [Prefixed(Text(code, style="cyan"), "    ", "    ")] if code.strip() else []
        if tag == "hr":
            return [Text("─" * 20, style="dim")]
        if tag in ("table", "thead", "tbody", "tfoot"):
            rows = [row for child in element if (row := self.blocks_of(child))]
            return [Group(*(block for row in rows for block in row))] if rows else []
        if tag == "tr":
            cells = [_Inline() for _ in element]
            for cell, td in zip(cells, element, strict=True):
                self.inline(td, _tag(td), cell, "bold" if _tag(td) == "th" else "")
            texts = [t for c in cells if (t := c.take()) is not None]
            return [Text(" | ").join(texts)] if texts else []
        return self.blocks(element)

    def list_items(self, element: lxml.etree._Element, *, ordered: bool) -> list[RenderableType]:
        items: list[RenderableType] = []
        number = _start(element)
        for child in element:
            if _tag(child) != "li":
                items.extend(self.blocks_of(child))
                continue
            marker = f"{number}. " if ordered else "• "
            body = self.blocks(child)
            if body:
                # Tight, as browsers draw a list: no blank line before a nested one.
                items.append(Prefixed(Group(*body), marker, " " * len(marker)))
            number += 1
        return [Group(*items)] if items else []

    def blocks_of(self, element: lxml.etree._Element) -> list[RenderableType]:
        tag = _tag(element)
        return self.block(element, tag) if tag in _BLOCKS else []

    def inline(self, element: lxml.etree._Element, tag: str, into: _Inline, style: str) -> None:
        if tag in _SKIPPED:
            return
        if tag == "br":
            into.add_raw("\n")
            return
        if tag == "img":
            alt = _SPACE.sub(" ", without_controls(element.get("alt") or "")).strip()
            into.add(f"[image: {alt}]" if alt else "[image]", "dim")
            if src := (element.get("src") or "").strip():
                into.add_raw(f" [{self.links.number(src)}]", "dim")
            return
        style = " ".join(s for s in (style, _STYLES.get(tag, "")) if s)
        if tag == "a":
            style = " ".join(s for s in (style, "underline") if s)
        if element.text:
            into.add(element.text, style)
        for child in element:
            child_tag = _tag(child)
            if child_tag in _BLOCKS:  # a block inside an inline element: kept as text
                into.add(" ")
                self.inline(child, child_tag, into, style)
                into.add(" ")
            elif child_tag:
                self.inline(child, child_tag, into, style)
            if child.tail:
                into.add(child.tail, style)
        if tag == "a" and (href := (element.get("href") or "").strip()):
            into.add_raw(f" [{self.links.number(href)}]", "dim")


def _start(element: lxml.etree._Element) -> int:
    start = element.get("start") or "1"
    return int(start) if start.isascii() and start.isdigit() else 1


def spaced(blocks: Iterable[RenderableType]) -> Group:
    """Blocks with a blank line between two of them."""
    items: list[RenderableType] = []
    for block in blocks:
        if items:
            items.append(Text())
        items.append(block)
    return Group(*items)


@dataclass(frozen=True)
class Body:
    """An article's text as blocks, and the URLs its numbers refer to."""

    blocks: list[RenderableType]
    links: list[str]


def render_html(html: str) -> Body:
    """The blocks of stored HTML (plain text when it holds no markup)."""
    if "<" not in html:
        paragraphs = re.split(r"\n\s*\n", without_controls(html).strip())
        return Body([Text(p.strip()) for p in paragraphs if p.strip()], [])
    renderer = _Renderer()
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return Body([Text(without_controls(html))], [])
    if max((len(list(e.iterancestors())) for e in root.iter()), default=0) > _DEEPEST:
        # Nesting no article needs (a hostile feed's): its words, without the layout.
        words = _SPACE.sub(" ", without_controls(root.text_content())).strip()
        return Body([Text(words)] if words else [], [])
    return Body(renderer.blocks(root), renderer.links.urls)


def local_time(moment: datetime, zone: tzinfo | None = None) -> str:
    """'2024-05-01 14:02' in ``zone`` (None: this machine's, as TZ says)."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def article(entry: Entry, *, zone: tzinfo | None = None) -> Group:
    """What `rssmania show` prints: a header, the text, the numbered links."""
    head = Text(without_controls(entry.title or "(untitled)"), style="bold")
    meta = Text(style="dim")
    meta.append(without_controls(entry.feed_title or entry.feed_url))
    if entry.author:
        meta.append(f" · {without_controls(entry.author)}")
    meta.append(f" · {local_time(entry.published or entry.first_seen, zone)}")
    meta.append(f" · #{entry.entry_id}")
    parts: list[RenderableType] = [head, meta]
    if entry.link:
        parts.append(Text(without_controls(entry.link), style="blue"))
    body = render_html(entry.content or entry.summary or "")
    if body.blocks:
        parts += [Text(), spaced(body.blocks)]
    urls = list(body.links)
    for enclosure in entry.enclosures:
        if enclosure.href not in urls:
            urls.append(enclosure.href)
    if urls:
        parts.append(Text())
        parts.extend(_numbered(urls, len(body.links)))
    return Group(*parts)


def _numbered(urls: list[str], linked: int) -> Iterator[Text]:
    for number, url in enumerate(urls, start=1):
        label = "" if number <= linked else " (attachment)"
        line = Text(f"[{number}] ", style="dim")
        line.append(without_controls(url), style="blue")
        if label:
            line.append(label, style="dim")
        yield line
