"""Commands about subscriptions and stored entries."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rssmania import (
    InvalidFeedURLError,
    check_feed_url,
)
from rssmania._schedule import LONGEST_INTERVAL
from rssmania.cli._app import (
    BadInput,
    Options,
    OutputConsole,
    RuntimeFailure,
    cli,
    open_aggregator,
    open_reading,
    pass_options,
    stdout_or_fail,
    text_option,
)
from rssmania.core import USER_AGENT
from rssmania.sinks import console as human
from rssmania.sinks.jsonl import feed_line
from rssmania.types import FeedError

if TYPE_CHECKING:
    from rssmania.discovery import FoundFeed


@cli.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--title", callback=text_option, help="Your own title for the feed (one URL only).")
@click.option(
    "--category",
    callback=text_option,
    help="Folder to file the feeds under, e.g. 'Tech/Python'.",
)
@click.option("--first", is_flag=True, help="When a site names several feeds, take the first.")
@pass_options
def add(
    options: Options, urls: tuple[str, ...], title: str | None, category: str | None, first: bool
) -> None:
    """Subscribe to feeds, by their URL or a site's address (its feeds are found).

    A site's page names its feeds (<link rel="alternate">); when it names
    none, the usual places are tried (/feed, /rss.xml, /atom.xml,
    /index.xml). An address without http:// or https:// is tried as https.
    """
    if title and len(urls) > 1:
        raise BadInput("--title applies to one URL at a time")
    addresses = []
    for url in urls:  # say which URL is bad before touching the network or the database
        address = f"https://{url}" if _HOST_FIRST.match(url) else url
        try:
            addresses.append(check_feed_url(address))
        except InvalidFeedURLError as exc:
            raise BadInput(str(exc)) from exc
    user_agent = options.user_agent or USER_AGENT
    found = asyncio.run(_discover(addresses, user_agent, options.refuse_private))
    chosen, unchecked, problems = _choose(addresses, found, first=first)
    if problems:
        raise BadInput("\n".join(problems))
    with open_aggregator(options, workers=1) as agg:
        known = {feed.url for feed in agg.get_feeds()}
        fresh = [url for url in dict.fromkeys(chosen.values()) if url not in known]
        if title and fresh:
            added = [agg.add_feed(fresh[0], title=title, category=category)]
        else:
            added = agg.add_feeds(fresh, category=category) if fresh else []
    for note in unchecked:
        click.echo(note, err=True)
    for feed in added:
        sites = [address for address, url in chosen.items() if url == feed.url != address]
        click.echo(f"Added {feed.url}" + (f" (found at {sites[0]})" if sites else ""))
    _say_already([url for url in dict.fromkeys(chosen.values()) if url in known])


def _say_already(urls: list[str]) -> None:
    """One summary line for the feeds one already follows, for `add` as for `import`."""
    if not urls:
        return
    count = len(urls)
    shown = ", ".join(urls[:3]) + (", ..." if len(urls) > 3 else "")
    click.echo(f"Already subscribed: {count} feed{'s' if count != 1 else ''} ({shown})", err=True)


_HOST_FIRST = re.compile(r"^[\w-]+(\.[\w-]+)+(:\d+)?(/|$)")
"""An address that starts with a host name (example.org/blog): no scheme was given."""

_AT_ONCE = 8


async def _discover(
    addresses: list[str], user_agent: str, refuse_private: bool
) -> list[list[FoundFeed] | FeedError]:
    """Each address's feeds; one that names a feed is taken as given (no request)."""
    # Here, not at the top: discovery loads aiohttp and the parsers, which
    # every other command (a poll's coordinator too) does without.
    from rssmania.discovery import FoundFeed, find_feeds, looks_like_a_feed  # noqa: PLC0415

    limit = asyncio.Semaphore(_AT_ONCE)

    async def one(address: str) -> list[FoundFeed] | FeedError:
        if looks_like_a_feed(address):
            return [FoundFeed(address, None)]
        async with limit:
            return await find_feeds(address, user_agent=user_agent, refuse_private=refuse_private)

    return list(await asyncio.gather(*(one(address) for address in addresses)))


def _choose(
    addresses: list[str], found: list[list[FoundFeed] | FeedError], *, first: bool
) -> tuple[dict[str, str], list[str], list[str]]:
    """The feed URL to add for each address, notes on those taken unchecked, and what
    stops the command (then nothing is added)."""
    chosen: dict[str, str] = {}
    unchecked: list[str] = []
    problems: list[str] = []
    for address, feeds in zip(addresses, found, strict=True):
        if isinstance(feeds, FeedError):
            if feeds.kind in ("not_a_feed", "invalid"):
                problems.append(f"{address}: {feeds.message}")
            else:
                # Down now, or not yet up: a feed URL is worth keeping, and polling
                # it will say what is wrong (as it did before addresses were looked at).
                unchecked.append(f"{address}: not checked, {feeds.message}; added as given")
                chosen[address] = address
        elif len(feeds) == 1 or first:
            chosen[address] = feeds[0].url
        else:
            listed = "\n".join(
                f"  {feed.url}" + (f"  {feed.title}" if feed.title else "") for feed in feeds
            )
            problems.append(
                f"{address} names {len(feeds)} feeds: add one of them, or all, "
                f"or the first with --first:\n{listed}"
            )
    return chosen, unchecked, problems


@cli.command()
@click.argument("url")
@pass_options
def remove(options: Options, url: str) -> None:
    """Unsubscribe from a feed (its entries go when nobody else follows it)."""
    with open_aggregator(options, workers=1) as agg:
        agg.remove_feed(url)
    click.echo(f"Removed {url}")


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@pass_options
def list_feeds(options: Options, as_json: bool) -> None:
    """Show subscriptions: title, URL, last and next check, health."""
    stdout_or_fail("the feeds")
    with open_reading(options) as (lib, me):
        feeds = lib.feeds(me)
    if as_json:
        for feed in feeds:
            click.echo(feed_line(feed), nl=False)
        return
    if not feeds:
        click.echo("No feeds yet: add one with `rssmania add URL`.")
        return
    OutputConsole().print(human.feeds_table(feeds, datetime.now(UTC)), highlight=False)


@cli.command(name="set")
@click.argument("url")
@click.option(
    "--interval",
    help="Seconds between polls of this feed, or 'default' for the global interval.",
)
@click.option("--title", callback=text_option, help="Your own title ('' to use the feed's).")
@click.option("--category", callback=text_option, help="Folder, e.g. 'Tech/Python' ('' for none).")
@click.option("--resume", is_flag=True, help="Poll it again.")
@click.option("--pause", is_flag=True, help="Stop polling it.")
@pass_options
def set_(
    options: Options,
    url: str,
    interval: str | None,
    title: str | None,
    category: str | None,
    resume: bool,
    pause: bool,
) -> None:
    """Change a feed's settings: its interval, title, category; pause or resume it."""
    if resume and pause:
        # One of them silently won, whichever came last.
        raise BadInput("--pause and --resume contradict each other: give one")
    enabled = True if resume else False if pause else None
    changes: dict[str, object] = {}
    if interval is not None:
        if interval == "default":
            changes["interval"] = None
        # isdigit() alone takes "²" and "١٢٠"; a year is the longest interval there is.
        elif interval.isascii() and interval.isdigit() and 1 <= int(interval) <= LONGEST_INTERVAL:
            changes["interval"] = int(interval)
        else:
            raise BadInput(
                f"--interval must be a number of seconds from 1 to {LONGEST_INTERVAL} "
                f"(a year) or 'default', not {interval!r}"
            )
    # '' clears either: Aggregator.set_feed stores a blank title or category as none.
    if title is not None:
        changes["title"] = title
    if category is not None:
        changes["category"] = category
    if enabled is not None:
        changes["enabled"] = enabled
    if not changes:
        raise BadInput(
            "nothing to change: give --interval, --title, --category, --resume or --pause"
        )
    with open_aggregator(options, workers=1) as agg:
        feed = agg.set_feed(url, **changes)  # type: ignore[arg-type]
    click.echo(f"Updated {feed.url}")


MAX_OPML_BYTES = 64 * 2**20
"""An OPML file of 200,000 feeds is about 20 MB."""


@cli.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_options
def import_(options: Options, file: Path) -> None:
    """Subscribe to the feeds of an OPML file (folders become categories)."""
    try:
        with file.open("rb") as opened:
            # Bounded: /dev/zero, or a disk image picked by mistake, filled the
            # memory before failing with a traceback.
            data = opened.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {file}: {exc.strerror}") from exc
    if len(data) > MAX_OPML_BYTES:
        raise BadInput(
            f"{file} is larger than {MAX_OPML_BYTES // 2**20} MB: not a subscription list"
        )
    with open_aggregator(options, workers=1) as agg:
        added, skipped = agg.import_opml(data, source=str(file))
    already = [m.removeprefix(_ALREADY) for m in skipped if m.startswith(_ALREADY)]
    for message in skipped:
        if not message.startswith(_ALREADY):  # an entry of the file to fix
            click.echo(f"skipped: {message}", err=True)
    click.echo(f"Imported {len(added)} feed{'s' if len(added) != 1 else ''} from {file}")
    _say_already(already)


_ALREADY = "already subscribed: "
"""How Aggregator.import_opml names a feed one follows already."""


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@pass_options
def export(options: Options, file: Path | None) -> None:
    """Write subscriptions as OPML 2.0 to FILE (default: standard output)."""
    out = stdout_or_fail("the OPML") if file is None else None
    with open_reading(options) as (lib, me):
        data = lib.export_opml(me)
    if file is None:
        assert out is not None
        out.write(data)
        out.flush()
        return
    try:
        _replace_atomically(file, data)
    except OSError as exc:
        raise RuntimeFailure(f"cannot write {file}: {exc.strerror}") from exc


def _replace_atomically(file: Path, data: bytes) -> None:
    """Write ``file`` whole or not at all: a full disk once left the last export cut in two.

    Only a regular file is replaced, keeping its permissions (an export holds
    the URLs, passwords included, of private feeds). Anything else is written
    to as it is: a device (/dev/null), a FIFO, /dev/stdout. Replacing those
    left a regular file in their place.
    """
    try:
        mode: int | None = os.stat(file).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(file, "wb") as out:
            out.write(data)
        return
    target = Path(os.path.realpath(file))  # a symlink stays one, to the new file
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("xb") as out:
            if mode is not None:
                os.fchmod(out.fileno(), stat.S_IMODE(mode))
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
