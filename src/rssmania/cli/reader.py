"""Reading in the terminal: `show ID` prints an article, `open ID` opens it in the browser."""

from __future__ import annotations

import os
import time
import webbrowser

import click

from rssmania.cli._app import (
    BadInput,
    Options,
    OutputConsole,
    RuntimeFailure,
    cli,
    open_library,
    pass_options,
    stdout_or_fail,
)
from rssmania.sinks.article import article
from rssmania.sinks.jsonl import entry_line

entry_id_argument = click.argument(
    "entry_id", metavar="ID", type=click.IntRange(min=1, max=2**63 - 1)
)


def use_local_zone() -> None:
    """Dates in this machine's zone, as ``TZ`` says now (it may have changed since start-up)."""
    time.tzset()


def should_page(lines: int, height: int, *, is_terminal: bool) -> bool:
    """Through a pager when the article does not fit on the screen of a terminal."""
    return is_terminal and lines > height - 1


@cli.command()
@entry_id_argument
@click.option("--json", "as_json", is_flag=True, help="The whole entry, as a JSON line.")
@click.option("--keep-unread", is_flag=True, help="Do not mark it read.")
@pass_options
def show(options: Options, entry_id: int, as_json: bool, keep_unread: bool) -> None:
    """Print an article (its ID is in `rssmania entries`), through a pager when long.

    It is marked read once shown.
    """
    stdout_or_fail("the article")
    use_local_zone()
    with open_library(options) as (lib, me):
        entry = lib.entry(me.id, entry_id)
        if as_json:
            click.echo(entry_line(entry), nl=False)
        else:
            console = OutputConsole()
            shown = article(entry)
            lines = len(console.render_lines(shown, pad=False))
            if should_page(lines, console.height, is_terminal=console.is_terminal):
                # less shows colours with -R; someone's own LESS settings win.
                os.environ.setdefault("LESS", "-R")
                with console.pager(styles=True):
                    console.print(shown, highlight=False)
            else:
                console.print(shown, highlight=False)
        if not keep_unread:
            lib.mark_read(me.id, [entry.entry_id])


@cli.command(name="open")
@entry_id_argument
@click.option("--keep-unread", is_flag=True, help="Do not mark it read.")
@pass_options
def open_(options: Options, entry_id: int, keep_unread: bool) -> None:
    """Open an article's page in the web browser ($BROWSER), and mark it read."""
    with open_library(options) as (lib, me):
        entry = lib.entry(me.id, entry_id)
        if not entry.link:
            raise BadInput(f"entry {entry_id} has no link: `rssmania show {entry_id}` prints it")
        if not webbrowser.open(entry.link):
            raise RuntimeFailure(f"no web browser found (set $BROWSER); the link is {entry.link}")
        if not keep_unread:
            lib.mark_read(me.id, [entry.entry_id])
    click.echo(f"Opened {entry.link}", err=True)
