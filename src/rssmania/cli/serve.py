"""``rssmania serve``: the web reader and the poller, one command, two processes."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import click
from rich.console import Console
from rich.markup import escape as markup

from rssmania import Aggregator, DatabaseLockedError, User
from rssmania.cli._app import (
    BadInput,
    Options,
    RuntimeFailure,
    WholeNumber,
    cli,
    library,
    open_aggregator,
    pass_options,
)
from rssmania.cli.polling import interval_option, stop_on_signals, workers_option
from rssmania.core import USER_AGENT
from rssmania.web.server import LOOPBACK, is_loopback, web_process

POLLER_NICENESS = 5


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=WholeNumber(0, 65535), default=8787, show_default=True)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="A name browsers use for this server (the Host header), e.g. reader.example.org; "
    "repeatable. Default: loopback names, or any name beyond loopback.",
)
@interval_option
@click.option("--no-poll", is_flag=True, help="Serve only: another process polls.")
@workers_option
@pass_options
def serve(
    options: Options,
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    interval: int,
    no_poll: bool,
    workers: int | None,
) -> None:
    """Serve the web reader and poll what is due, as `run` does (Ctrl+C stops both)."""
    err = Console(stderr=True)
    loopback = is_loopback(host)
    # Beyond loopback, users add feed URLs: they must not reach this machine's network.
    refuse_private = options.refuse_private or not loopback
    with library(options) as lib:
        users = lib.users() or [lib.default_user()]
    without = [u.name for u in users if not u.has_password]
    if not loopback and without:
        raise BadInput(
            f"{', '.join(without)} ha{'s' if len(without) == 1 else 've'} no password: set one "
            f"with `rssmania user passwd NAME` before serving beyond loopback"
        )
    hosts = list(allowed_hosts) or (list(LOOPBACK) if loopback else ["*"])
    with contextlib.ExitStack() as stack:
        try:
            web = stack.enter_context(
                web_process(
                    options.db_path,
                    host=host,
                    port=port,
                    allowed_hosts=hosts,
                    refuse_private=refuse_private,
                    user_agent=options.user_agent or USER_AGENT,
                )
            )
        except OSError as exc:
            raise RuntimeFailure(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        if no_poll:
            stopped = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                stack.callback(signal.signal, sig, signal.signal(sig, lambda *_: stopped.set()))
            _say_where(err, web.url, users)
            while not stopped.wait(0.5):
                pass
            err.print("Stopped.")
            return
        settings = options.poll_settings() | {"refuse_private_addresses": refuse_private}
        # The page outranks the round: the poller's process yields the CPU to the web
        # process (its workers were already below it, at +10). Started before this.
        with contextlib.suppress(OSError):
            os.nice(POLLER_NICENESS)
        with (
            open_aggregator(
                options,
                workers=workers,
                default_interval=interval,
                publish_progress=True,
                **settings,
            ) as agg,
            stop_on_signals(agg, err),
        ):
            # Said once a stop is handled: a SIGTERM sent on reading the address ended
            # the command by the signal's default action, the web process left behind.
            _say_where(err, web.url, users)
            try:
                poll_quietly(agg, err)
            except DatabaseLockedError as exc:
                # `run` (or another serve) polls this database: the reader shows what it stores.
                err.print(f"Not polling ({exc.reason}): serving only; Ctrl+C stops.")
                while not agg.stopping:
                    time.sleep(0.2)
        err.print("Stopped.")


def _say_where(err: Console, url: str, users: list[User]) -> None:
    err.print(f"Reader at [bold]{url}[/bold]", highlight=False)
    for user in users:
        how = (
            "with their password"
            if user.has_password
            else f"once a password is set: `rssmania user passwd {user.name}`"
        )
        err.print(f"  log in as {user.name} {how}", highlight=False)
    err.print(
        f"Apps sync at the same address: Miniflux and Google Reader {url} , "
        f'Fever {url}fever/ (the README\'s "Your apps")',
        highlight=False,
    )


def poll_quietly(agg: Aggregator, err: Console) -> None:
    """Poll until stopped; say what failed, not every article (the reader shows those)."""
    for result in agg.watch():
        if result.error is not None and result.error.kind not in ("offline", "throttled"):
            err.print(
                f"[red]![/red] {markup(result.feed.display_title)}: {markup(result.error.message)}",
                highlight=False,
            )
