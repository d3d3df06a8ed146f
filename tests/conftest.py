from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.feedserver import FeedServer

CORPUS_ENV = "RSSMANIA_CORPUS"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "feeds.sqlite"


@pytest.fixture(params=[1, 2], ids=["serial", "pool"])
def workers(request: pytest.FixtureRequest) -> int:
    """The same behaviour, polled in-process and by real worker processes."""
    return int(request.param)


@pytest.fixture
def corpus() -> Path:
    """The shared feed corpus; skipped when not configured, an error when configured but missing."""
    value = os.environ.get(CORPUS_ENV)
    if not value:
        pytest.skip(f"{CORPUS_ENV} is not set")
    path = Path(value)
    if not (path / "real").is_dir():
        pytest.fail(f"{CORPUS_ENV}={value} does not hold the corpus (no real/ folder)")
    return path


def cli_env(db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RSSMANIA_DB"] = str(db)
    env["COLUMNS"] = "200"
    env.pop("FORCE_COLOR", None)
    return env


def rssmania(db: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The command line, in this process (click's CliRunner): its exit code and output.

    What main() does but exit, without starting an interpreter (half a second a
    call, the most of the command-line tests' time). Behaviour that needs a
    real process (a signal, a closed stdout, a log line on stderr) runs
    ``rssmania_process``.
    """
    from rssmania.cli._app import run  # noqa: PLC0415 - imported where it is used

    env = {"RSSMANIA_DB": str(db), "COLUMNS": "200", "FORCE_COLOR": None, "NO_COLOR": None}
    with CliRunner().isolation(env=env) as (out, err, _):
        code = run(args)
        sys.stdout.flush()
        sys.stderr.flush()
    return subprocess.CompletedProcess(
        ["rssmania", *args],
        code,
        out.getvalue().decode("utf-8", "replace"),
        err.getvalue().decode("utf-8", "replace"),
    )


def rssmania_process(db: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "rssmania", *args],
        env=cli_env(db),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
