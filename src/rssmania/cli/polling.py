"""Commands that poll: update, run, demo; and what they share (signals, reporting)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, BinaryIO

import click
from rich.console import Console
from rich.markup import escape as markup

from rssmania import (
    Aggregator,
    EntryChange,
    FeedResult,
    Library,
    RoundSummary,
)
from rssmania._schedule import LONGEST_INTERVAL
from rssmania.cli._app import (
    Options,
    OutputConsole,
    RuntimeFailure,
    WholeNumber,
    cli,
    open_aggregator,
    pass_options,
    stdout_or_fail,
)
from rssmania.sinks import console as human
from rssmania.sinks.jsonl import entry_line

if TYPE_CHECKING:
    from rssmania.cli._progress import Bar


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


interval_option = click.option(
    "--interval",
    type=WholeNumber(1, LONGEST_INTERVAL),
    default=1800,
    show_default=True,
    help="Seconds between two polls of a feed (a feed's own setting wins).",
)

workers_option = click.option(
    "--workers",
    type=WholeNumber(1),
    help="Worker processes (default: one per core; 1 polls in this process).",
)


def _check_executor(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value != "local" and not value.startswith(("dask://", "dask+tls://")):
        raise click.BadParameter("expected local or dask://HOST:PORT (dask+tls:// for TLS)")
    return value


executor_option = click.option(
    "--executor",
    default="local",
    show_default=True,
    envvar="RSSMANIA_EXECUTOR",
    metavar="local|dask://HOST:PORT",
    callback=_check_executor,
    help="Where feeds are polled: worker processes here, or the workers of a Dask "
    "cluster (pip install 'rssmania[dask]'); this process keeps the database.",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="JSON Lines on stdout, one per new/updated entry."
)


def write_fully(out: BinaryIO, data: bytes) -> None:
    """All of ``data`` to ``out``, or an exception.

    Not ``out.write``: a signal (our own Ctrl+C handling) arriving while a
    big write waits on a slow reader made Python's buffered writer drop the
    rest of that write without a word (3.11): a JSON line cut in two, the
    feed's later articles never shown, and acknowledged all the same.
    ``os.write`` says how much went out, and the loop sends the rest.
    """
    out.flush()
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):  # stdout replaced by an in-memory stream
        out.write(data)
        out.flush()
        return
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _stdout() -> BinaryIO:
    return stdout_or_fail("new articles")


class Reporter:
    """Prints committed changes, then moves the change log's print cursor past them.

    Printing comes first, and all of it (``write_fully``): a kill between
    the two shows an article again at the next start rather than never.
    """

    def __init__(
        self,
        agg: Aggregator,
        *,
        as_json: bool,
        out: BinaryIO,
        console: Console,
        stamped: bool = False,
    ) -> None:
        self.agg = agg
        self.as_json = as_json
        self.out = out
        self.console = console
        self.around: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext
        """Wraps printing to a terminal: a progress bar clears its frame (Bar.paused)."""
        self.stamped = stamped
        """Each group of lines says when it arrived (`run`, the demo: output for hours)."""

    def report(self, changes: tuple[EntryChange, ...] | list[EntryChange]) -> None:
        if not changes:
            return
        try:
            if self.as_json:
                write_fully(self.out, b"".join(entry_line(change.entry) for change in changes))
            elif self.console.is_terminal:
                # A terminal does not keep a write waiting as a slow pipe reader does.
                with self.around():
                    human.print_changes(self.console, [c.entry for c in changes], at=self._at())
                    self.console.file.flush()
            else:
                entries = [c.entry for c in changes]
                text = human.changes_text(entries, tab_size=self.console.tab_size, at=self._at())
                write_fully(self.out, text.encode(self.console.encoding, "replace"))
        except BrokenPipeError:
            raise  # the reader went away (`| head`): main() exits quietly
        except OSError as exc:
            raise RuntimeFailure(f"cannot write to standard output: {exc.strerror or exc}") from exc
        self.agg.ack_changes(max(c.seq for c in changes))

    def _at(self) -> str:
        return f"{datetime.now().astimezone():%H:%M:%S}" if self.stamped else ""

    def report_leftovers(self) -> None:
        """Changes stored by an earlier run that was killed before it could show them."""
        self.report(self.agg.pending_changes())


def _error_line(err: Console, result: FeedResult) -> None:
    assert result.error is not None
    err.print(
        f"[red]![/red] {human.markup(result.feed.display_title)}: "
        f"{human.markup(result.error.message)}",
        soft_wrap=True,
        highlight=False,  # rich coloured the numbers of titles and messages
    )


@cli.command()
@click.option("--all", "all_feeds", is_flag=True, help="Poll every feed, due or not.")
@workers_option
@executor_option
@json_option
@pass_options
def update(
    options: Options, all_feeds: bool, workers: int | None, executor: str, as_json: bool
) -> None:
    """Poll the feeds that are due once, and show what is new."""
    err = Console(stderr=True)
    out = OutputConsole(soft_wrap=True)
    with (
        open_aggregator(
            options, workers=workers, executor=executor, outbox=True, **options.poll_settings()
        ) as agg,
        stop_on_signals(agg, err) as signals,
    ):
        started = time.perf_counter()
        # Counted for the progress bar only: loading every feed is not free at 20,000.
        enabled = err.is_terminal
        total = _due(agg, all_feeds) if enabled else 0
        results = agg.update(all_feeds=all_feeds)  # takes the poll lock first
        reporter = Reporter(agg, as_json=as_json, out=_stdout(), console=out)
        reporter.report_leftovers()
        counts = {"feeds": 0, "new": 0, "updated": 0, "errors": 0, "not_modified": 0, "offline": 0}
        with _progress(err, agg, total, enabled=enabled) as bar:
            reporter.around = bar.paused
            for result in results:
                counts["feeds"] += 1
                counts["new"] += len(result.new)
                counts["updated"] += len(result.updated)
                counts["not_modified"] += result.not_modified
                if result.error is not None and result.error.kind == "offline":
                    counts["offline"] += 1  # said once, below, not once per feed
                elif result.error is not None:
                    counts["errors"] += 1
                    if not as_json:
                        _error_line(err, result)
                reporter.report(result.changes)
                bar.advance()
        summary = RoundSummary(
            **counts, seconds=time.perf_counter() - started, interrupted=signals.received > 0
        )
        next_due = agg.next_due() if counts["feeds"] == 0 else None
    line = human.summary_line(summary)
    if counts["feeds"] == 0 and not summary.interrupted:
        line = human.nothing_due_line(next_due, datetime.now(UTC))
    if as_json:
        err.print(line, highlight=False)
    else:
        out.print(line, highlight=False)


class _NoBar:
    def advance(self) -> None:
        pass

    def paused(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


@contextlib.contextmanager
def _progress(
    console: Console, agg: Aggregator, total: int, *, enabled: bool
) -> Iterator[_NoBar | Bar]:
    if not enabled:
        yield _NoBar()
        return
    from rssmania.cli._progress import progress_bar  # noqa: PLC0415 - only on a terminal

    with progress_bar(console, agg, total) as bar:
        yield bar


def _due(agg: Aggregator, all_feeds: bool) -> int:
    now = datetime.now(UTC)
    return sum(
        1 for f in agg.get_feeds() if all_feeds or f.next_check is None or f.next_check <= now
    )


def _watch(
    agg: Aggregator, *, as_json: bool, err: Console, banner: str = "", say_next: bool = True
) -> None:
    out = OutputConsole(soft_wrap=True)
    said: list[datetime | None] = []

    def between_rounds(next_due: datetime | None) -> None:
        # Once per plan: the same next check is looked at every second while idle.
        if not said or said[-1] != next_due:
            said.append(next_due)
            err.print(human.next_poll_line(next_due, datetime.now(UTC)), highlight=False)

    # takes the poll lock first
    results = agg.watch(on_idle=between_rounds if say_next else None)
    if banner:  # once the lock is ours: not "Watching..." then "another process polls"
        err.print(banner, highlight=False)
    time.tzset()  # local times as TZ says
    reporter = Reporter(agg, as_json=as_json, out=_stdout(), console=out, stamped=True)
    reporter.report_leftovers()
    offline = False
    for result in results:
        # Being offline is said once when it starts and once when it ends.
        now_offline = result.error is not None and result.error.kind == "offline"
        if now_offline != offline:
            err.print(
                "[yellow]Network unreachable: no feed can be reached; retrying.[/yellow]"
                if now_offline
                else "Network is back."
            )
            offline = now_offline
        if result.error is not None and not now_offline and not as_json:
            _error_line(err, result)
        reporter.report(result.changes)


@cli.command()
@interval_option
@workers_option
@executor_option
@json_option
@pass_options
def run(options: Options, interval: int, workers: int | None, executor: str, as_json: bool) -> None:
    """Keep polling what is due and print new articles as they arrive (Ctrl+C stops)."""
    err = Console(stderr=True)
    with (
        open_aggregator(
            options,
            workers=workers,
            executor=executor,
            outbox=True,
            default_interval=interval,
            **options.poll_settings(),
        ) as agg,
        stop_on_signals(agg, err),
    ):
        count = len(agg.get_feeds())
        banner = (
            f"Watching {count} feed{'s' if count != 1 else ''} in {options.db_path} "
            f"(every {interval} s); Ctrl+C to stop."
        )
        _watch(agg, as_json=as_json, err=err, banner=banner)
    err.print("Stopped.")


@cli.command()
@click.option("--publish-every", type=click.FloatRange(min=0.5), default=4.0, show_default=True)
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@click.option(
    "--port",
    type=WholeNumber(0, 65535),
    default=8787,
    show_default=True,
    help="The web reader's port on 127.0.0.1 (taken: any free one).",
)
@click.option("--no-web", is_flag=True, help="Print the articles only; no web reader.")
@workers_option
@json_option
def demo(
    publish_every: float,
    duration: float | None,
    port: int,
    no_web: bool,
    workers: int | None,
    as_json: bool,
) -> None:
    """Serve bundled sample feeds on 127.0.0.1, poll them, and read them on the web, offline."""
    from rssmania._demo import DemoServer  # noqa: PLC0415 - the demo's server, only for it

    err = Console(stderr=True)
    with (
        DemoServer(publish_every=publish_every) as server,
        tempfile.TemporaryDirectory() as tmp,
        contextlib.ExitStack() as stack,
    ):
        options = Options(db=Path(tmp) / "demo.sqlite")
        poll_every = max(1, round(publish_every / 2))
        agg = stack.enter_context(
            open_aggregator(
                options,
                workers=workers,
                outbox=True,
                default_interval=poll_every,
                publish_progress=not no_web,
            )
        )
        stack.enter_context(stop_on_signals(agg, err))
        for url in server.feed_urls:
            agg.add_feed(url)
        err.print(
            f"Demo: {len(server.feed_urls)} sample feeds served at {server.base_url}, "
            f"polled every {poll_every} s; a new article appears every "
            f"{publish_every:g} s. Ctrl+C to stop.",
            highlight=False,
        )
        if not no_web:
            _demo_reader(stack, options, port, err)
        if duration is not None:
            _stop_after(agg, duration)
        _watch(agg, as_json=as_json, err=err, say_next=False)  # a poll every second or two
    err.print("Demo stopped.")


def _demo_reader(stack: contextlib.ExitStack, options: Options, port: int, err: Console) -> None:
    """The web reader over the demo's database, with a password made for this run."""
    from rssmania.core import USER_AGENT  # noqa: PLC0415
    from rssmania.web.server import LOOPBACK, web_process  # noqa: PLC0415

    password = secrets.token_urlsafe(9)
    with Library(options.db_path) as lib:
        name = lib.default_user().name
        lib.set_password(name, password)
    for attempt in (port, 0):
        try:
            web = stack.enter_context(
                web_process(
                    options.db_path,
                    host="127.0.0.1",
                    port=attempt,
                    allowed_hosts=LOOPBACK,
                    refuse_private=False,
                    user_agent=USER_AGENT,
                )
            )
            break
        except OSError:
            if attempt == 0:
                raise
    err.print(
        f"Web reader: [bold]{web.url}[/bold] — log in as [bold]{markup(name)}[/bold] "
        f"with the password [bold]{password}[/bold]",
        highlight=False,
    )


def _stop_after(agg: Aggregator, seconds: float) -> None:
    timer = threading.Timer(seconds, agg.stop)
    timer.daemon = True
    timer.start()
