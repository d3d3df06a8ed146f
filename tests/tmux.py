"""A terminal program under tmux, for tests that drive it with keystrokes and read its screen."""

from __future__ import annotations

import secrets
import shlex
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class Terminal:
    """One tmux server of the test's own (its own socket), one window running ``argv``."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "main")

    def keys(self, *keys: str) -> None:
        """tmux key names ("Enter", "C-e") or literal text."""
        self._tmux("send-keys", "-t", "main", *keys)

    def wait_for(self, text: str, *, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen after {timeout:g} s:\n{shown}")
            time.sleep(0.05)

    def running(self) -> bool:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "has-session", "-t", "main"], capture_output=True,
            timeout=20, check=False,
        )  # fmt: skip
        return done.returncode == 0


@contextmanager
def terminal(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], size: tuple[int, int] = (160, 40)
) -> Iterator[Terminal]:
    """``argv`` in a detached tmux session until the block ends (then the server is killed)."""
    term = Terminal(f"rssmania-test-{secrets.token_hex(4)}")
    command = " ".join(shlex.quote(a) for a in argv)
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    subprocess.run(
        ["tmux", "-L", term.socket, "-f", "/dev/null", "new-session", "-d", "-s", "main",
         "-x", str(size[0]), "-y", str(size[1]), "-c", str(cwd), f"env {exports} {command}"],
        check=True, timeout=20,
    )  # fmt: skip
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-L", term.socket, "kill-server"], capture_output=True,
                       timeout=20, check=False)  # fmt: skip
