"""The command line's frame: the group, its options, opening the database, exit codes.

Exit codes: 0 done, 1 a runtime error (database unusable, locked...), 2 bad
input (a bad URL, an unreadable OPML file, an unknown feed), 130 a forced stop.
Every command calls the public API only (``rssmania.Aggregator``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import click
from rich.console import Console

from rssmania import (
    Aggregator,
    EntryNotFoundError,
    InvalidFeedURLError,
    InvalidSearchError,
    Library,
    RssmaniaError,
    StorageError,
    User,
    UserExistsError,
    UserNotFoundError,
    UserRequiredError,
)
from rssmania._process import collect_garbage_less_often
from rssmania._text import is_utf8
from rssmania.exceptions import FeedExistsError, FeedNotFoundError, InvalidOPMLError


class BadInput(click.ClickException):
    exit_code = 2


class RuntimeFailure(click.ClickException):
    exit_code = 1


def default_db_path() -> Path:
    if os.environ.get("RSSMANIA_DB"):  # set and empty is unset, as XDG_DATA_HOME
        return Path(os.environ["RSSMANIA_DB"])
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data_home) / "rssmania" / "rssmania.sqlite"


@dataclass
class Options:
    db: Path | None
    user_agent: str | None = None
    refuse_private: bool = False
    user: str | None = None

    def poll_settings(self) -> dict[str, object]:
        """Aggregator options of the commands that poll."""
        settings: dict[str, object] = {"refuse_private_addresses": self.refuse_private}
        if self.user_agent:
            settings["user_agent"] = self.user_agent
        return settings

    @property
    def db_path(self) -> Path:
        return self.db or default_db_path()


def _database_folder(options: Options) -> Path:
    path = options.db_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if path.parent.exists() else exc.strerror
        raise RuntimeFailure(f"cannot create the folder {path.parent}: {reason}") from exc
    return path


@contextlib.contextmanager
def open_aggregator(options: Options, **kwargs: object) -> Iterator[Aggregator]:
    path = _database_folder(options)
    try:
        agg = Aggregator(path, user=options.user, **kwargs)  # type: ignore[arg-type]
    except StorageError as exc:
        raise RuntimeFailure(str(exc)) from exc
    except ValueError as exc:  # options that do not go together, a malformed address
        raise BadInput(str(exc)) from exc
    with agg:
        try:
            yield agg
        except BAD_INPUT as exc:
            raise BadInput(str(exc)) from exc
        except RssmaniaError as exc:
            raise RuntimeFailure(str(exc)) from exc


BAD_INPUT = (
    InvalidFeedURLError,
    FeedExistsError,
    FeedNotFoundError,
    InvalidOPMLError,
    InvalidSearchError,
    UserNotFoundError,
    UserExistsError,
    UserRequiredError,
    EntryNotFoundError,
)


@contextlib.contextmanager
def library(
    options: Options, *, readonly: bool = False, write_if_allowed: bool = False
) -> Iterator[Library]:
    """The read side, its errors as the command line's.

    ``readonly``: for commands that only read. The database must exist (a
    mistyped --db path made an empty one, folders included, and said "No
    feeds yet"), and is not written, so that it may be a file this user
    cannot write; one of an older version is upgraded when it can be.
    ``write_if_allowed``: it must exist, and is written when it may be (a
    search brings the index up to date first).
    """
    if readonly:
        lib = _read_only(options.db_path, write_if_allowed=write_if_allowed)
    else:
        path = _database_folder(options)
        try:
            lib = Library(path)
        except StorageError as exc:
            raise RuntimeFailure(str(exc)) from exc
    with lib:
        try:
            yield lib
        except BAD_INPUT as exc:
            raise BadInput(str(exc)) from exc
        except ValueError as exc:  # a bad id, a bad page key, a bad password
            raise BadInput(str(exc)) from exc
        except RssmaniaError as exc:
            raise RuntimeFailure(str(exc)) from exc


def _read_only(path: Path, *, write_if_allowed: bool) -> Library:
    if not path.is_file():
        raise RuntimeFailure(
            f"no database at {path}: `rssmania add URL` starts one "
            "(or is --db or $RSSMANIA_DB mistyped?)"
        )
    if write_if_allowed and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        try:
            return Library(path)
        except StorageError as exc:
            raise RuntimeFailure(str(exc)) from exc
    try:
        return Library(path, readonly=True)
    except StorageError as exc:
        if os.access(path, os.W_OK):
            try:  # of an older version: upgraded, as any command that writes would
                return Library(path)
            except StorageError as again:
                raise RuntimeFailure(str(again)) from again
        raise RuntimeFailure(str(exc)) from exc


@contextlib.contextmanager
def open_library(options: Options) -> Iterator[tuple[Library, User]]:
    """The read side and the user the command acts for (made on first use when none)."""
    with library(options) as lib:
        yield lib, lib.default_user(options.user)


NOBODY = 0
"""The user id of a database with no user yet: it follows nothing, as every id no user has."""


@contextlib.contextmanager
def open_reading(
    options: Options, *, write_if_allowed: bool = False
) -> Iterator[tuple[Library, int]]:
    """The read side, read-only, and the id of the user the command acts for."""
    with library(options, readonly=True, write_if_allowed=write_if_allowed) as lib:
        if options.user is None and not lib.users():
            yield lib, NOBODY  # made by the first command that writes, not here
        else:
            yield lib, lib.default_user(options.user).id


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file (default: $RSSMANIA_DB, else the XDG data folder).",
)
@click.option(
    "--user-agent",
    envvar="RSSMANIA_USER_AGENT",
    help="User-Agent to send (default: rssmania/VERSION with the project's URL).",
)
@click.option(
    "--refuse-private-addresses",
    "refuse_private",
    is_flag=True,
    envvar="RSSMANIA_REFUSE_PRIVATE_ADDRESSES",
    help="Never connect to private, loopback or link-local addresses (for a server "
    "that polls URLs its users give it), checked on every redirect.",
)
@click.option(
    "--user",
    envvar="RSSMANIA_USER",
    help="The user to act for (default: the only one; $RSSMANIA_USER).",
)
@click.option("-v", "--verbose", count=True, help="More log messages on stderr (-vv: debug).")
@click.version_option(package_name="rssmania")
@click.pass_context
def cli(
    ctx: click.Context,
    db: Path | None,
    user_agent: str | None,
    refuse_private: bool,
    user: str | None,
    verbose: int,
) -> None:
    """rssmania: poll feeds with every core, report each new article once."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    # Module names are for whoever debugs (-v), not for the person reading a warning.
    layout = "rssmania: %(name)s: %(message)s" if verbose else "rssmania: %(message)s"
    logging.basicConfig(level=level, format=layout, stream=sys.stderr)
    if verbose < 2:
        # A Dask client logs its connections at INFO (its logging is set from
        # its config when it is imported), and a lost scheduler as 30 lines
        # of traceback before rssmania's own one-line error says the same.
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
        quiet = logging.ERROR if verbose else logging.CRITICAL
        for handler in logging.getLogger().handlers:
            handler.addFilter(
                lambda record: record.levelno >= quiet or not record.name.startswith("distributed")
            )
    ctx.obj = Options(db=db, user_agent=user_agent, refuse_private=refuse_private, user=user)


pass_options = click.make_pass_decorator(Options)


def text_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: arguments whose bytes are not UTF-8 cannot be stored."""
    if value is not None and not is_utf8(value):
        raise click.BadParameter(f"{value!r} holds bytes that are not UTF-8 text")
    return value


class WholeNumber(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2 on
    """A whole number from ``low`` to ``high``, said in words.

    click's IntRange shows "1<=x<=10000" in the help and its errors.
    """

    name = "number"

    def __init__(self, low: int, high: int | None = None) -> None:
        self.low = low
        self.high = high

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            number = int(value)
        else:
            number = self.low - 1
        if number < self.low or (self.high is not None and number > self.high):
            bounds = (
                f"from {self.low:,} to {self.high:,}"
                if self.high is not None
                else (f"{self.low:,} or more")
            )
            self.fail(f"{value!r} is not a whole number ({bounds})", param, ctx)
        return number


class OutputConsole(Console):
    """Standard output's console: a reader that goes away (`| head -1`) ends the command.

    rich exits with code 1 then, documented here as a database error.
    """

    def on_broken_pipe(self) -> None:
        try:
            super().on_broken_pipe()  # standard output to /dev/null, then SystemExit(1)
        except SystemExit:
            raise BrokenPipeError from None  # main(): a normal end


def stdout_or_fail(what: str) -> BinaryIO:
    """Standard output, where a command shows ``what``; a one-line error when it is closed."""
    if sys.stdout is None:  # started with `>&-`
        raise RuntimeFailure(f"standard output is closed: there is nowhere to show {what}")
    return sys.stdout.buffer


def main() -> None:
    collect_garbage_less_often()
    sys.exit(run())


def run(args: Sequence[str] | None = None) -> int:
    """The command line, to its exit code: main() exits with it, tests run it in-process."""
    try:
        code = cli.main(
            list(args) if args is not None else None, prog_name="rssmania", standalone_mode=False
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    except KeyboardInterrupt:
        click.echo("Stopped at once.", err=True)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`| head`): a normal end, as for
        # cat and grep; exit code 1 is documented as a database error. What
        # is left in stdout's buffer goes nowhere, without a word at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # Our own output failed (`> /dev/full`, a terminal gone): one line, and
        # what was not shown stays in the change log for the next run.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            click.echo(f"Error: cannot write: {exc.strerror or exc}", err=True)
        return 1
    return code if isinstance(code, int) else 0  # --help, --version: click's own code
