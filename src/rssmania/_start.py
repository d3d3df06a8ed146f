"""The ``rssmania`` command's first step: start the workers' forkserver, then load the command line.

Loading the command line (click, rich, the aggregator, SQLite) takes a
tenth of a second or more, and the forkserver's import of aiohttp, which
every worker forks with, another. One after the other, they were half of a
warm round of 2,000 feeds. A command that will poll here forks the
forkserver before anything else (``rssmania._worker_context``: the process
has one thread and little imported yet), so that both load side by side.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence

POLLING_COMMANDS = frozenset({"update", "run", "demo", "serve"})
_GLOBAL_OPTIONS_WITH_A_VALUE = frozenset({"--db", "--user-agent", "--user"})


def main() -> None:
    try:
        if polls_with_local_workers(sys.argv[1:], os.environ, os.cpu_count() or 1):
            from rssmania._executors import start_forkserver  # noqa: PLC0415 - see the docstring

            # Only a head start: if it cannot start now, the pool tries again
            # when the round begins and says what went wrong there.
            with contextlib.suppress(OSError):
                start_forkserver(by_fork=True)  # one thread, nothing imported yet
        from rssmania.cli import main as cli_main  # noqa: PLC0415 - see the docstring
    except KeyboardInterrupt:
        # Ctrl+C while loading, before the command line's own handling is in
        # place: nothing was started yet, and a traceback says nothing.
        sys.stderr.write("Stopped at once.\n")
        sys.exit(130)
    cli_main()


def polls_with_local_workers(args: Sequence[str], environ: Mapping[str, str], cores: int) -> bool:
    """Whether ``rssmania ARGS`` will poll with local worker processes: a guess.

    A wrong guess costs little: a forkserver started for nothing exits with
    this process; one not started is started when the round begins, as before.
    """
    command = _command(args)
    if command not in POLLING_COMMANDS or "--help" in args or "-h" in args:
        return False
    if environ.get("RSSMANIA_EXECUTOR", "local") != "local" or any(
        a == "--executor" or a.startswith("--executor=") for a in args
    ):
        return False
    workers = _value_of("--workers", args)
    return (int(workers) if workers and workers.isdigit() else cores) > 1


def _command(args: Sequence[str]) -> str | None:
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _GLOBAL_OPTIONS_WITH_A_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _value_of(option: str, args: Sequence[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    return None
