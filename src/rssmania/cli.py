"""The command line. It calls the public API only (``rssmania.Aggregator``).

Exit codes: 0 done, 1 a runtime error (database unusable, locked...), 2 bad
input (a bad URL, an unreadable OPML file, an unknown feed), 130 a forced stop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rssmania import (
    Aggregator,
    EntryChange,
    FeedResult,
    InvalidFeedURLError,
    RoundSummary,
    RssmaniaError,
    StorageError,
    check_feed_url,
)
from rssmania._demo import DemoServer
from rssmania.exceptions import FeedExistsError, FeedNotFoundError, InvalidOPMLError
from rssmania.sinks import console as human
from rssmania.sinks.jsonl import entry_line


class BadInput(click.ClickException):
    exit_code = 2


class RuntimeFailure(click.ClickException):
    exit_code = 1


def default_db_path() -> Path:
    if "RSSMANIA_DB" in os.environ:
        return Path(os.environ["RSSMANIA_DB"])
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data_home) / "rssmania" / "rssmania.sqlite"


@dataclass
class Options:
    db: Path | None

    @property
    def db_path(self) -> Path:
        return self.db or default_db_path()


@contextlib.contextmanager
def open_aggregator(options: Options, **kwargs: object) -> Iterator[Aggregator]:
    path = options.db_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RuntimeFailure(f"cannot create the folder {path.parent}: {exc.strerror}") from exc
    try:
        agg = Aggregator(path, **kwargs)  # type: ignore[arg-type]
    except StorageError as exc:
        raise RuntimeFailure(str(exc)) from exc
    with agg:
        try:
            yield agg
        except (InvalidFeedURLError, FeedExistsError, FeedNotFoundError, InvalidOPMLError) as exc:
            raise BadInput(str(exc)) from exc
        except RssmaniaError as exc:
            raise RuntimeFailure(str(exc)) from exc


@dataclass
class Signals:
    received: int = 0


@contextlib.contextmanager
def stop_on_signals(agg: Aggregator, err: Console) -> Iterator[Signals]:
    """First SIGINT/SIGTERM: finish what is in flight and stop. Second: stop now."""
    signals = Signals()

    def handle(signum: int, frame: FrameType | None) -> None:
        signals.received += 1
        agg.stop()
        if signals.received > 1:
            raise KeyboardInterrupt
        err.print("[yellow]Stopping: finishing the feeds in flight (again to force)…[/yellow]")
        # The grace period bounds a pool's round; work running in this very
        # process (--workers 1) can only be cut short by the second signal.
        timer = threading.Timer(agg.stop_grace + 1.5, os.kill, (os.getpid(), signum))
        timer.daemon = True
        timer.start()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield signals
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file (default: $RSSMANIA_DB, else the XDG data folder).",
)
@click.option("-v", "--verbose", count=True, help="More log messages on stderr (-vv: debug).")
@click.version_option(package_name="rssmania")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, verbose: int) -> None:
    """rssmania: poll feeds with every core, report each new article once."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="rssmania: %(name)s: %(message)s", stream=sys.stderr)
    if verbose < 2:
        # httpx logs every request at INFO: too much for -v.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx.obj = Options(db=db)


pass_options = click.make_pass_decorator(Options)


@cli.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--title", help="Your own title for the feed (one URL only).")
@click.option("--category", help="Folder to file the feeds under, e.g. 'Tech/Python'.")
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
    """Unsubscribe from a feed and delete its entries."""
    with open_aggregator(options, workers=1) as agg:
        agg.remove_feed(url)
    click.echo(f"Removed {url}")


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@pass_options
def list_feeds(options: Options, as_json: bool) -> None:
    """Show subscriptions: title, URL, last and next check, health."""
    with open_aggregator(options, workers=1) as agg:
        feeds = agg.get_feeds()
    if as_json:
        for f in feeds:
            click.echo(
                json.dumps(
                    {
                        "url": f.url,
                        "title": f.display_title,
                        "category": f.category,
                        "last_checked": f.last_checked.isoformat() if f.last_checked else None,
                        "next_check": f.next_check.isoformat() if f.next_check else None,
                        "last_status": f.last_status,
                        "error_count": f.error_count,
                        "last_error": f.last_error,
                    },
                    ensure_ascii=False,
                )
            )
        return
    if not feeds:
        click.echo("No feeds yet: add one with `rssmania add URL`.")
        return
    Console().print(human.feeds_table(feeds, datetime.now(UTC)))


@cli.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_options
def import_(options: Options, file: Path) -> None:
    """Subscribe to the feeds of an OPML file (folders become categories)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {file}: {exc.strerror}") from exc
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
    with open_aggregator(options, workers=1) as agg:
        data = agg.export_opml()
    if file is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        file.write_bytes(data)
    except OSError as exc:
        raise RuntimeFailure(f"cannot write {file}: {exc.strerror}") from exc


@cli.command()
@click.option("--feed", "feed_url", help="Only this feed's entries.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, as `update --json`.")
@pass_options
def entries(options: Options, feed_url: str | None, limit: int, as_json: bool) -> None:
    """Stored entries, newest first."""
    with open_aggregator(options, workers=1) as agg:
        found = agg.get_entries(feed_url=feed_url, limit=limit)
    if as_json:
        for entry in found:
            click.echo(entry_line(entry))
    else:
        human.print_entries(Console(), found)


workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes (default: one per core; 1 polls in this process).",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="JSON Lines on stdout, one per new/updated entry."
)


class Reporter:
    """Prints committed changes, then acknowledges them in the outbox.

    Printing comes first: a kill between the two shows an article again at
    the next start rather than never.
    """

    def __init__(self, agg: Aggregator, *, as_json: bool, out: TextIO, console: Console) -> None:
        self.agg = agg
        self.as_json = as_json
        self.out = out
        self.console = console

    def report(self, changes: tuple[EntryChange, ...] | list[EntryChange]) -> None:
        if not changes:
            return
        if self.as_json:
            for change in changes:
                self.out.write(entry_line(change.entry) + "\n")
            self.out.flush()
        else:
            human.print_changes(self.console, [c.entry for c in changes])
            self.console.file.flush()
        self.agg.ack_changes(max(c.seq for c in changes))

    def report_leftovers(self) -> None:
        """Changes stored by an earlier run that was killed before it could show them."""
        self.report(self.agg.pending_changes())


def _error_line(err: Console, result: FeedResult) -> None:
    assert result.error is not None
    err.print(
        f"[red]![/red] {escape(result.feed.display_title)}: {escape(result.error.message)}",
        soft_wrap=True,
    )


@cli.command()
@click.option("--all", "all_feeds", is_flag=True, help="Poll every feed, due or not.")
@workers_option
@json_option
@pass_options
def update(options: Options, all_feeds: bool, workers: int | None, as_json: bool) -> None:
    """Poll the feeds that are due once, and show what is new."""
    err = Console(stderr=True)
    out = Console(soft_wrap=True)
    with (
        open_aggregator(options, workers=workers, outbox=True) as agg,
        stop_on_signals(agg, err) as signals,
    ):
        started = time.perf_counter()
        now = datetime.now(UTC)
        total = sum(
            1 for f in agg.get_feeds() if all_feeds or f.next_check is None or f.next_check <= now
        )
        results = agg.update(all_feeds=all_feeds)  # takes the poll lock first
        reporter = Reporter(agg, as_json=as_json, out=sys.stdout, console=out)
        reporter.report_leftovers()
        counts = {"feeds": 0, "new": 0, "updated": 0, "errors": 0, "not_modified": 0}
        with _progress(err, total, enabled=err.is_terminal) as advance:
            for result in results:
                counts["feeds"] += 1
                counts["new"] += len(result.new)
                counts["updated"] += len(result.updated)
                counts["not_modified"] += result.not_modified
                if result.error is not None:
                    counts["errors"] += 1
                    if not as_json:
                        _error_line(err, result)
                reporter.report(result.changes)
                advance()
        summary = RoundSummary(
            **counts, seconds=time.perf_counter() - started, interrupted=signals.received > 0
        )
    line = human.summary_line(summary)
    if as_json:
        err.print(line, highlight=False)
    else:
        out.print(line, highlight=False)


@contextlib.contextmanager
def _progress(
    console: Console, total: int | None, *, enabled: bool
) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    with Progress(
        TextColumn("Polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("poll", total=total)
        yield lambda: progress.advance(task)


def _watch(agg: Aggregator, *, as_json: bool, err: Console) -> None:
    out = Console(soft_wrap=True)
    results = agg.watch()  # takes the poll lock first
    reporter = Reporter(agg, as_json=as_json, out=sys.stdout, console=out)
    reporter.report_leftovers()
    for result in results:
        if result.error is not None and not as_json:
            _error_line(err, result)
        reporter.report(result.changes)


@cli.command()
@click.option(
    "--interval",
    type=click.IntRange(min=1),
    default=1800,
    show_default=True,
    help="Seconds between two polls of a feed (a feed's own setting wins).",
)
@workers_option
@json_option
@pass_options
def run(options: Options, interval: int, workers: int | None, as_json: bool) -> None:
    """Keep polling what is due and print new articles as they arrive (Ctrl+C stops)."""
    err = Console(stderr=True)
    with (
        open_aggregator(options, workers=workers, outbox=True, default_interval=interval) as agg,
        stop_on_signals(agg, err),
    ):
        count = len(agg.get_feeds())
        err.print(
            f"Watching {count} feed{'s' if count != 1 else ''} in {options.db_path} "
            f"(every {interval} s); Ctrl+C to stop.",
            highlight=False,
        )
        _watch(agg, as_json=as_json, err=err)
    err.print("Stopped.")


@cli.command()
@click.option("--publish-every", type=click.FloatRange(min=0.5), default=4.0, show_default=True)
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@workers_option
@json_option
def demo(publish_every: float, duration: float | None, workers: int | None, as_json: bool) -> None:
    """Serve bundled sample feeds on 127.0.0.1 and watch them publish, offline."""
    err = Console(stderr=True)
    with DemoServer(publish_every=publish_every) as server, tempfile.TemporaryDirectory() as tmp:
        options = Options(db=Path(tmp) / "demo.sqlite")
        poll_every = max(1, round(publish_every / 2))
        with (
            open_aggregator(
                options, workers=workers, outbox=True, default_interval=poll_every
            ) as agg,
            stop_on_signals(agg, err),
        ):
            for url in server.feed_urls:
                agg.add_feed(url)
            err.print(
                f"Demo: {len(server.feed_urls)} sample feeds served at {server.base_url}, "
                f"polled every {poll_every} s; a new article appears every "
                f"{publish_every:g} s. Ctrl+C to stop.",
                highlight=False,
            )
            if duration is not None:
                _stop_after(agg, duration)
            _watch(agg, as_json=as_json, err=err)
    err.print("Demo stopped.")


def _stop_after(agg: Aggregator, seconds: float) -> None:
    timer = threading.Timer(seconds, agg.stop)
    timer.daemon = True
    timer.start()


def main() -> None:
    try:
        cli.main(prog_name="rssmania", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Stopped at once.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader of our output went away (`| head`): nothing left to say.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        sys.exit(1)
