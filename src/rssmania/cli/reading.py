"""Reading from the command line: entries, read and starred state, retention.

The primitives of reading (the terminal reader is another command); each
calls ``rssmania.Library`` as the user the command acts for.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import click

from rssmania import Feed, Library, check_feed_url
from rssmania.cli._app import (
    BadInput,
    Options,
    OutputConsole,
    WholeNumber,
    cli,
    open_library,
    open_reading,
    pass_options,
    stdout_or_fail,
)
from rssmania.cli.reader import use_local_zone
from rssmania.exceptions import InvalidFeedURLError
from rssmania.library import MAX_LIMIT
from rssmania.sinks import console as human
from rssmania.sinks.jsonl import entry_line


def _feed(lib: Library, user: int, name: str) -> Feed:
    """The user's feed whose URL or title is ``name``."""
    feeds = lib.feeds(user)
    try:
        url = check_feed_url(name)
    except InvalidFeedURLError:
        url = None
    by_url = [f for f in feeds if f.url in (name, url)]
    if by_url:
        return by_url[0]
    wanted = name.casefold()
    titled = [f for f in feeds if any(
        t is not None and t.casefold() == wanted for t in (f.user_title, f.title))]  # fmt: skip
    if len(titled) == 1:
        return titled[0]
    if titled:
        urls = ", ".join(f.url for f in titled[:5])
        raise BadInput(f"several feeds are titled {name!r} ({urls}): give its URL")
    raise BadInput(f"not subscribed: {name} (neither a URL nor a title of yours)")


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"not a date: {text!r} (use YYYY-MM-DD or an ISO 8601 date and time)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@cli.command()
@click.option("--feed", "feed_name", help="Only this feed's entries (its URL or title).")
@click.option("--category", help="Only this category's (and its sub-categories').")
@click.option("--unread", is_flag=True, help="Only unread entries.")
@click.option("--starred", is_flag=True, help="Only starred entries.")
@click.option("--search", "query", help="Entries matching a search (see the README's syntax).")
@click.option(
    "--limit",
    type=WholeNumber(1, MAX_LIMIT),
    default=50,
    metavar="N",
    help=f"At most N entries (default: 50; up to {MAX_LIMIT:,}).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, as `update --json`.")
@pass_options
def entries(
    options: Options,
    feed_name: str | None,
    category: str | None,
    unread: bool,
    starred: bool,
    query: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Stored entries, newest first (a search: best matches first)."""
    stdout_or_fail("the entries")
    # A search indexes what was stored since the last round, when it may write.
    with open_reading(options, write_if_allowed=query is not None) as (lib, me):
        feed = _feed(lib, me, feed_name) if feed_name is not None else None
        found = lib.entries(
            me,
            feed=feed.id if feed else None,
            category=category,
            read=False if unread else None,
            starred=True if starred else None,
            search=query,
            limit=limit,
        ).entries
    if as_json:
        for entry in found:
            click.echo(entry_line(entry), nl=False)
    else:
        use_local_zone()
        human.print_entries(OutputConsole(), list(found))


def _state_command(name: str, doc: str, verb: str) -> None:
    @cli.command(name=name, help=doc)
    @click.argument("entry_ids", nargs=-1, type=click.IntRange(min=1, max=2**63 - 1))
    @pass_options
    def command(options: Options, entry_ids: tuple[int, ...]) -> None:
        if not entry_ids:
            raise BadInput("which entries? give their entry_id (see `rssmania entries --json`)")
        with open_library(options) as (lib, me):
            changed = getattr(lib, verb)(me.id, entry_ids)
        click.echo(f"{changed} of {len(set(entry_ids))} entries changed", err=True)


_state_command("unread", "Mark entries unread, by their entry_id.", "mark_unread")
_state_command("star", "Star entries, by their entry_id.", "star")
_state_command("unstar", "Unstar entries, by their entry_id.", "unstar")


@cli.command(name="read")
@click.argument("entry_ids", nargs=-1, type=click.IntRange(min=1, max=2**63 - 1))
@click.option("--all", "everything", is_flag=True, help="Every unread entry.")
@click.option("--feed", "feed_name", help="Every unread entry of this feed (URL or title).")
@click.option("--category", help="Every unread entry of this category and its sub-categories.")
@click.option("--before", help="Only entries dated before this date (YYYY-MM-DD or ISO 8601).")
@pass_options
def read(
    options: Options,
    entry_ids: tuple[int, ...],
    everything: bool,
    feed_name: str | None,
    category: str | None,
    before: str | None,
) -> None:
    """Mark entries read: by their entry_id, or --all, --feed or --category at once."""
    wholesale = sum((everything, feed_name is not None, category is not None))
    if entry_ids and wholesale:
        raise BadInput("give entry ids, or one of --all, --feed and --category, not both")
    if wholesale > 1:
        raise BadInput("give one of --all, --feed and --category")
    if not entry_ids and not wholesale:
        raise BadInput("which entries? give their entry_id, or --all, --feed or --category")
    if before is not None and entry_ids:
        raise BadInput("--before goes with --all, --feed or --category")
    until = _date(before) if before is not None else None
    with open_library(options) as (lib, me):
        if entry_ids:
            changed = lib.mark_read(me.id, entry_ids)
        else:
            feed = _feed(lib, me.id, feed_name) if feed_name is not None else None
            changed = lib.mark_all_read(
                me.id, feed=feed.id if feed else None, category=category, before=until
            )
    click.echo(f"{changed} entries marked read", err=True)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@pass_options
def prune(options: Options, dry_run: bool) -> None:
    """Delete old entries as the retention policy says (`rssmania retention`)."""
    with open_library(options) as (lib, _):
        gone = lib.prune(dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for url, count in sorted(gone.items()):
        click.echo(f"{count}\t{url}")
    total = sum(gone.values())
    click.echo(f"{verb.capitalize()} {total} entr{'y' if total == 1 else 'ies'}", err=True)


_NOT_GIVEN = object()


def _keep(text: str | None, name: str, *, per_feed: bool) -> object:
    """A number, None for 'never', "global" (a feed's: the global value), or _NOT_GIVEN."""
    if text is None:
        return _NOT_GIVEN
    if text == "never":
        return None
    if per_feed and text == "global":
        return "global"
    if text.isascii() and text.isdigit() and 0 < int(text) <= 1_000_000:
        return int(text)
    also = ", 'never' or 'global'" if per_feed else " or 'never'"
    raise BadInput(f"{name} must be a whole number from 1{also}, not {text!r}")


@cli.command()
@click.option("--read-days", help="Keep read entries N days after first seen ('never': forever).")
@click.option("--unread-days", help="Keep unread entries N days ('never': forever).")
@click.option("--max-per-feed", help="Keep the N newest entries of a feed, read ones beyond go.")
@click.option("--feed", "feed_name", help="This feed's own values ('global': the global one).")
@pass_options
def retention(
    options: Options,
    read_days: str | None,
    unread_days: str | None,
    max_per_feed: str | None,
    feed_name: str | None,
) -> None:
    """Show or set the retention policy that `run` and `prune` apply.

    Starred entries, and entries a feed still serves, are never deleted.
    """
    per_feed = feed_name is not None
    given = {
        field: value
        for field, value in (
            ("read_days", _keep(read_days, "--read-days", per_feed=per_feed)),
            ("unread_days", _keep(unread_days, "--unread-days", per_feed=per_feed)),
            ("max_per_feed", _keep(max_per_feed, "--max-per-feed", per_feed=per_feed)),
        )
        if value is not _NOT_GIVEN
    }
    with open_library(options) as (lib, me):
        if feed_name is not None:
            feed = _feed(lib, me.id, feed_name)
            policy = lib.set_feed_retention(me.id, feed.id, **given)  # type: ignore[arg-type]
        else:
            policy = replace(lib.retention(), **given)  # type: ignore[arg-type]
            if given:
                lib.set_retention(policy)

    def say(value: int | None, unit: str) -> str:
        return "forever" if value is None else f"{value} {unit}"

    if feed_name is not None:
        click.echo(f"for {feed_name}:")
    click.echo(f"read entries:   {say(policy.read_days, 'days')}")
    click.echo(f"unread entries: {say(policy.unread_days, 'days')}")
    click.echo(f"per feed:       {say(policy.max_per_feed, 'entries (read ones beyond go)')}")
    click.echo("starred entries, and those a feed still serves: forever")
