"""Human output on a rich Console: new articles, the feed list, the summary line.

Every function that prints takes the console (and ``now`` where time shows),
so tests render into a string at a fixed width; ``changes_text`` gives what
``print_changes`` prints, without a console, for output that is not a terminal.
What came from a feed or a server goes through ``shown`` (or ``markup`` inside
console markup): no control character reaches the terminal, whatever the
database holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from rssmania._text import without_controls
from rssmania.sinks.article import local_time
from rssmania.types import Entry, EntryStatus, Feed, RoundSummary

SHOWN_PER_FEED = 10
"""Articles listed per feed and round; the rest are counted (``--json`` gives them all)."""


def shown(text: str) -> str:
    """Text from outside (a feed, a server, the database), fit for the terminal."""
    return without_controls(text)


def markup(text: str) -> str:
    """Text from outside, to put inside console markup."""
    return escape(without_controls(text))


def print_changes(console: Console, entries: Sequence[Entry], *, at: str = "") -> None:
    """Entries grouped by feed and status, in the seed's words, the first few of each.

    ``at``: the time they arrived ("14:02:07"), before each group, for `run`
    and the demo, whose lines follow each other for hours.
    """
    for text in _changes(entries, at=at):
        console.print(text, soft_wrap=True, highlight=False)


def changes_text(entries: Sequence[Entry], *, tab_size: int = 8, at: str = "") -> str:
    """What ``print_changes`` shows, as plain text, for output that is not a terminal.

    The same Text objects, without rich's rendering: through a captured
    console, a first poll of 2,000 feeds spent 0.6 s of CPU styling text
    that a file or a pipe never shows.
    """
    texts = _changes(entries, at=at)
    for text in texts:
        text.expand_tabs(tab_size)  # as the console does (a title stored by another tool)
    return "".join(text.plain + "\n" for text in texts)


def _changes(entries: Sequence[Entry], *, at: str = "") -> list[Text]:
    groups: dict[tuple[str, EntryStatus], list[Entry]] = {}
    for entry in entries:
        groups.setdefault((entry.feed_url, entry.status), []).append(entry)
    texts = []
    for (feed_url, status), group in groups.items():
        word = "New" if status is EntryStatus.NEW else "Updated"
        # One Text per feed, no markup, no highlighting: a print per line
        # cost half a millisecond, most of a first poll's time on a console.
        text = Text()
        if at:
            text.append(f"{at} ", style="dim")
        source = shown(group[0].feed_title or feed_url)
        text.append(f"{word} articles from {source}:", style="bold")
        for entry in group[:SHOWN_PER_FEED]:
            text.append(f"\n- {shown(entry.title or '(untitled)')}")
            if entry.link:
                text.append(" ")
                text.append(shown(entry.link), style="blue")
        if len(group) > SHOWN_PER_FEED:
            # A first poll brings a feed's whole history: the latest say enough.
            more = len(group) - SHOWN_PER_FEED
            hint = f"rssmania entries --feed {shown(feed_url)}"
            text.append(f"\n  and {more} more: {hint}", style="dim")
        texts.append(text)
    return texts


def summary_line(summary: RoundSummary) -> str:
    parts = [
        f"{summary.feeds} feed{'s' if summary.feeds != 1 else ''} polled",
        f"{summary.new} new",
        f"{summary.updated} updated",
        f"{summary.errors} error{'s' if summary.errors != 1 else ''}",
    ]
    if summary.not_modified:
        parts.append(f"{summary.not_modified} not modified")
    if summary.offline:
        parts.append(f"{summary.offline} not reached (network unreachable, not counted)")
    text = ", ".join(parts) + f" in {summary.seconds:.1f} s"
    return text + (" (interrupted)" if summary.interrupted else "")


def nothing_due_line(next_due: datetime | None, now: datetime) -> str:
    """What `update` says when no feed was due: when one will be, and how to poll now."""
    if next_due is None:
        return "No feed to poll: add one with `rssmania add URL` (or resume a paused one)."
    return (
        f"Nothing was due: the next feed comes due {relative(next_due, now)}; "
        "`rssmania update --all` polls every feed now."
    )


def next_poll_line(next_due: datetime | None, now: datetime, zone: tzinfo | None = None) -> str:
    """What `run` says between rounds: when it polls next."""
    if next_due is None:
        return "No feed to poll: waiting for one to be added."
    if next_due <= now:
        return "Next poll: now."
    return f"Next poll {relative(next_due, now)} (at {next_due.astimezone(zone):%H:%M})."


def in_flight_line(
    in_flight: Sequence[tuple[str, float]], *, slow_after: float, width: int | None = None
) -> str:
    """'12 in flight; slow: example.org/feed 14 s, ...' for the progress bar.

    Within ``width`` characters, if given: a slow feed is named whole or not at all
    (the terminal cut the last name where the line ended).
    """
    if not in_flight:
        return ""
    slow = [(url, seconds) for url, seconds in in_flight if seconds >= slow_after][:3]
    text = f"{len(in_flight)} in flight"
    for i, (url, seconds) in enumerate(slow):
        more = f"{'; slow: ' if i == 0 else ', '}{_short(url)} {seconds:.0f} s"
        if width is not None and len(text) + len(more) > width:
            break
        text += more
    return text


def _short(url: str, width: int = 40) -> str:
    """A URL without its scheme, shortened at a boundary (a slash, a dot, a dash...),
    never in the middle of a word: 'example.org/…/slow-feed.xml', 'example.org/feeds…'."""
    text = shown(url.split("://", 1)[-1])
    if len(text) <= width:
        return text
    host, _, path = text.partition("/")
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last and len(host) + len(last) + 3 <= width:
        return f"{host}/\u2026/{last}"
    cut = max((text.rfind(sep, 0, width) for sep in _BOUNDARIES), default=-1)
    return (text[:cut] if cut > 0 else host[: width - 1]) + "\u2026"


_BOUNDARIES = "/.-_?&=:"


def relative(moment: datetime | None, now: datetime) -> str:
    """'5 min ago', 'in 2 h', 'now', or '-' for never."""
    if moment is None:
        return "-"
    delta = (moment - now).total_seconds()
    size = abs(delta)
    if size < 30:
        return "now" if delta >= 0 else "just now"
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60)):
        if size >= seconds or unit == "min":
            amount = f"{size / seconds:.0f} {unit}"
            break
    return f"in {amount}" if delta > 0 else f"{amount} ago"


def health(feed: Feed) -> str:
    if feed.disabled_reason is not None:
        return f"stopped: {feed.disabled_reason}"
    if feed.last_checked is None:
        return "not checked yet"
    if feed.error_count == 0:
        # A throttled or offline poll is not the feed's fault, but worth showing.
        return f"ok ({feed.last_error})" if feed.last_error else "ok"
    streak = f"{feed.error_count} error{'s' if feed.error_count != 1 else ''}"
    return f"{streak}: {feed.last_error}" if feed.last_error else streak


def next_check(feed: Feed, now: datetime) -> str:
    if feed.disabled_reason is not None:
        return "never"
    when = relative(feed.next_check, now) if feed.next_check else "now"
    return f"{when} ({feed.next_check_reason})" if feed.next_check_reason else when


def saved(feed: Feed) -> str:
    """Polls, and how many of them conditional GET (or an unchanged body) saved a parse."""
    if not feed.polls:
        return "-"
    polls = f"{feed.polls} poll{'s' if feed.polls != 1 else ''}"
    return f"{polls}, {feed.not_modified_count} unchanged"


def feeds_table(feeds: Iterable[Feed], now: datetime) -> Table:
    """One line per feed (long cells end in an ellipsis): `list` at 140 columns took two."""
    table = Table(show_edge=False, pad_edge=False, expand=False, box=None, padding=(0, 1))
    # Widths for 140 columns; what must be read whole has a minimum, the rest is cut.
    table.add_column("Title", no_wrap=True, overflow="ellipsis", max_width=22)
    table.add_column("Category", no_wrap=True, overflow="ellipsis", min_width=12, max_width=16)
    table.add_column("URL", no_wrap=True, overflow="ellipsis", max_width=32)
    table.add_column("Unread", justify="right", no_wrap=True, min_width=6)
    table.add_column("Checked", no_wrap=True, min_width=9)
    table.add_column("Next check", no_wrap=True, overflow="ellipsis", min_width=20)
    table.add_column("Polls", no_wrap=True, min_width=20)
    table.add_column("Health", no_wrap=True, overflow="ellipsis")
    for feed in feeds:
        style = "" if feed.healthy else "red"
        url = markup(feed.url)
        said = markup(health(feed))
        if feed.moved_from:  # in the last column, the widest: the URL one is cut
            said += f" [dim](moved from {markup(feed.moved_from)})[/dim]"
        title = feed.given_title
        table.add_row(
            markup(title) if title else "[dim]-[/dim]",  # not the URL again
            markup(feed.category) if feed.category else "",
            url,
            str(feed.unread),
            relative(feed.last_checked, now),
            markup(next_check(feed, now)),
            saved(feed),
            f"[{style}]{said}[/{style}]" if style else said,
        )
    return table


def print_entries(
    console: Console, entries: Iterable[Entry], *, zone: tzinfo | None = None
) -> None:
    """One line per entry: its entry_id, local date, title and feed; its link below.

    Dates in ``zone`` (None: this machine's, as TZ says); never highlighted:
    rich coloured the numbers inside titles.
    """
    for entry in entries:
        line = Text()
        line.append(f"{entry.entry_id:>6}  ", style="dim")
        line.append(local_time(entry.published or entry.first_seen, zone), style="dim")
        line.append("  ")
        line.append(shown(entry.title or "(untitled)"), style="" if entry.read else "bold")
        line.append(f"  ({shown(entry.feed_title or entry.feed_url)})", style="dim")
        if entry.link:
            line.append("\n        ")
            line.append(shown(entry.link), style="blue")
        console.print(line, soft_wrap=True, highlight=False)
