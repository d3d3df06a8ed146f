"""Commands about subscriptions and stored entries."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from rssmania import (
    InvalidFeedURLError,
    check_feed_url,
)
from rssmania._schedule import LONGEST_INTERVAL
from rssmania.cli._app import (
    BadInput,
    Options,
    RuntimeFailure,
    cli,
    open_aggregator,
    open_reading,
    pass_options,
    stdout_or_fail,
    text_option,
)
from rssmania.sinks import console as human
from rssmania.sinks.jsonl import feed_line


@cli.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--title", callback=text_option, help="Your own title for the feed (one URL only).")
@click.option(
    "--category",
    callback=text_option,
    help="Folder to file the feeds under, e.g. 'Tech/Python'.",
)
@pass_options
def add(options: Options, urls: tuple[str, ...], title: str | None, category: str | None) -> None:
    """Subscribe to feed URLs (http or https)."""
    if title and len(urls) > 1:
        raise BadInput("--title applies to one URL at a time")
    for url in urls:  # say which URL is bad before touching the database
        try:
            check_feed_url(url)
        except InvalidFeedURLError as exc:
            raise BadInput(str(exc)) from exc
    with open_aggregator(options, workers=1) as agg:
        if title:
            added = [agg.add_feed(urls[0], title=title, category=category)]
        else:
            added = agg.add_feeds(urls, category=category)
    for feed in added:
        click.echo(f"Added {feed.url}")


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
    Console().print(human.feeds_table(feeds, datetime.now(UTC)))


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
    for message in skipped:
        click.echo(f"skipped: {message}", err=True)
    click.echo(f"Imported {len(added)} feed{'s' if len(added) != 1 else ''} from {file}")


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
