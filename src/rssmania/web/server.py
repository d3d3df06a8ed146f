"""The web reader's process: uvicorn serving ``make_app`` on a socket its parent bound.

    rssmania serve (parent): binds the socket, polls as `run` does
      '-- python -m rssmania.web.server --fd N (child): answers requests

Two processes, so that no request waits on a round's CPU (the parent's GIL
is busy deciding and storing), and so that a deployment may run several
web processes beside one poller. The child exits when its parent is gone.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


@dataclass(frozen=True)
class WebProcess:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def web_process(
    db: Path,
    *,
    host: str,
    port: int,
    allowed_hosts: Sequence[str],
    refuse_private: bool,
    user_agent: str,
) -> Iterator[WebProcess]:
    """Bind ``host:port`` here (a port in use is said here), serve from a child process."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(1024)
        sock.set_inheritable(True)
        bound = sock.getsockname()[1]
        command = [
            sys.executable, "-m", "rssmania.web.server", "--fd", str(sock.fileno()),
            "--db", str(db), "--user-agent", user_agent, "--parent", str(os.getpid()),
        ]  # fmt: skip
        for name in allowed_hosts:
            command += ["--allowed-host", name]
        if refuse_private:
            command.append("--refuse-private-addresses")
        process = subprocess.Popen(command, pass_fds=(sock.fileno(),))
    finally:
        sock.close()  # the child has its own copy
    shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    try:
        yield WebProcess(f"http://{shown}:{bound}/", process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _watch_parent(parent: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            os._exit(0)  # the poller is gone: a reader without it would lie about freshness


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rssmania.web.server")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--user-agent", required=True)
    parser.add_argument("--allowed-host", action="append", default=[])
    parser.add_argument("--refuse-private-addresses", action="store_true")
    parser.add_argument("--parent", type=int, default=0)
    args = parser.parse_args(argv)

    import uvicorn  # noqa: PLC0415 - the child only

    from rssmania import Library  # noqa: PLC0415
    from rssmania.web.app import make_app  # noqa: PLC0415

    sock = socket.socket(fileno=args.fd)
    stop = threading.Event()
    if args.parent:
        threading.Thread(target=_watch_parent, args=(args.parent, stop), daemon=True).start()
    with Library(Path(args.db)) as library:
        app = make_app(
            library,
            user_agent=args.user_agent,
            allowed_hosts=args.allowed_host or ["*"],
            refuse_private=args.refuse_private_addresses,
        )
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            proxy_headers=True,  # https behind a reverse proxy on this machine: Secure cookies
            timeout_graceful_shutdown=3,
            server_header=False,
        )
        uvicorn.Server(config).run(sockets=[sock])
        stop.set()


if __name__ == "__main__":
    main()
