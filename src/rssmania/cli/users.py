"""``rssmania user ...``: accounts. Passwords are asked for or read from a file, never argv."""

from __future__ import annotations

from pathlib import Path

import click

from rssmania.accounts import MAX_PASSWORD
from rssmania.cli._app import BadInput, Options, cli, library, pass_options


@cli.group()
def user() -> None:
    """Accounts: a password for the web reader and the sync APIs, API tokens."""


def _password(password_file: Path | None, *, prompt: str) -> str:
    if password_file is None:
        value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True)
        return value
    try:
        data = password_file.read_bytes()[: MAX_PASSWORD * 4 + 2]
    except OSError as exc:
        raise BadInput(f"cannot read {password_file}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{password_file} is not UTF-8 text") from None
    # The first line: a file written by echo ends with a newline that is no part of it.
    line = text.splitlines()[0] if text.strip() else ""
    if not line:
        raise BadInput(f"{password_file} holds no password")
    return line


password_file_option = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the password from the first line of this file (else it is asked for).",
)


@user.command(name="add")
@click.argument("name")
@password_file_option
@pass_options
def user_add(options: Options, name: str, password_file: Path | None) -> None:
    """Add the user NAME, with a password."""
    password = _password(password_file, prompt=f"Password for {name}")
    with library(options) as lib:
        added = lib.add_user(name, password)
    click.echo(f"Added user {added.name}")


@user.command(name="list")
@pass_options
def user_list(options: Options) -> None:
    """The users, and whether each has a password."""
    with library(options) as lib:
        users = lib.users()
    if not users:
        click.echo("No users yet: the first command that needs one makes it.")
    for u in users:
        click.echo(f"{u.name}\t{'password set' if u.has_password else 'no password'}")


@user.command(name="passwd")
@click.argument("name")
@password_file_option
@pass_options
def user_passwd(options: Options, name: str, password_file: Path | None) -> None:
    """Set the password of NAME (on a database with no user yet: make NAME, the first)."""
    with library(options) as lib:
        if not lib.users():
            # The first user is made on first use; setting a password is a first use.
            lib.add_user(name, _password(password_file, prompt=f"Password for {name}"))
            click.echo(f"Added user {name}, with a password")
            return
        lib.user(name)  # an unknown name is said before the password is asked for
        lib.set_password(name, _password(password_file, prompt=f"New password for {name}"))
    click.echo(f"Password of {name} set")


@user.command(name="remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_options
def user_remove(options: Options, name: str, yes: bool) -> None:
    """Delete NAME, their subscriptions, reading state and tokens."""
    with library(options) as lib:
        lib.user(name)
        if not yes:
            click.confirm(
                f"Delete {name}, their subscriptions and what they read and starred?",
                abort=True,
                err=True,
            )
        lib.remove_user(name)
    click.echo(f"Removed user {name}")


@user.command(name="token")
@click.argument("name")
@pass_options
def user_token(options: Options, name: str) -> None:
    """Make a new API token for NAME: shown once, only its digest is kept."""
    with library(options) as lib:
        token = lib.new_token(name)
    click.echo(token)
