"""nginx on many loopback addresses, as its own process with its own config in a temp dir.

A real server, so that the peers are measured against what they meet in the
wild: strong ETags from mtime and size (weak once gzipped), Last-Modified,
304s for both validators, gzip, and the feed content types. Not a daemon: it
runs in the foreground as our child (``daemon off``), with every path (pid,
logs, temp files) under the temp dir, and stops with the benchmark.

Feeds are spread over many addresses (127.0.1.1, 127.0.1.2, ...) because a
polite poller spaces the requests to one host: 2,000 feeds on one host would
measure the politeness delay, not the poller.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CONFIG = """\
daemon off;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    # What the servers saw, per command: statuses and bytes on the wire.
    log_format bench '$status $body_bytes_sent';
    access_log {tmp}/access.log bench;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{
        application/rss+xml rss;
        application/atom+xml atom;
        application/rdf+xml rdf;
        application/xml xml;
    }}
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    etag on;
    gzip on;
    gzip_vary on;
    gzip_types application/rss+xml application/atom+xml application/xml text/xml
               application/rdf+xml;
    server {{
{listen}
        root {site};
        location / {{ }}
    }}
}}
"""


class AccessLog:
    """Counts the requests logged since ``mark()``: 200s, 304s, bytes sent (gzipped)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def mark(self) -> None:
        self._offset = self.path.stat().st_size if self.path.exists() else 0

    def since_mark(self) -> dict[str, int]:
        with self.path.open("rb") as log:
            log.seek(self._offset)
            lines = log.read().split(b"\n")
        got = {"requests": 0, "200": 0, "304": 0, "other": 0, "bytes": 0}
        for line in lines:
            if not line:
                continue
            status, size = line.split()
            got["requests"] += 1
            key = status.decode() if status in (b"200", b"304") else "other"
            got[key] += 1
            got["bytes"] += int(size)
        return got


def ensure_apt(*binaries: tuple[str, str]) -> None:
    """Install the Debian packages whose binaries are missing: ``(binary, package)`` pairs."""
    missing = [pkg for binary, pkg in binaries if not shutil.which(binary)]
    if not missing:
        return
    print(f"installing {' '.join(missing)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", *missing]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        # A fresh machine has no package lists yet.
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


def loopback_addresses(count: int) -> list[str]:
    """127.0.1.1 ... 127.0.1.250, 127.0.2.1, ...: all loopback, none of them 127.0.0.1."""
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(count)]


def _nofile(hosts: int) -> int:
    # A listening socket per address, plus the connections; an unprivileged
    # container cannot go past its hard limit, and nginx would complain.
    return min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 4 * hosts + 16_384)


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(site: Path, tmp: Path, hosts: int) -> Iterator[tuple[list[str], AccessLog]]:
    """Serve ``site`` on ``hosts`` loopback addresses; yield their base URLs and the log."""
    ensure_apt(("nginx", "nginx"))
    tmp.mkdir(parents=True, exist_ok=True)
    # nginx's workers run as nobody: they must be able to read the files.
    for path in (tmp.parent, tmp, site):
        path.chmod(0o755)
    addresses = loopback_addresses(hosts)
    port = _free_port(addresses[0])
    listen = "\n".join(f"        listen {a}:{port} backlog=4096;" for a in addresses)
    conf = tmp / "nginx.conf"
    conf.write_text(CONFIG.format(tmp=tmp, site=site, listen=listen, nofile=_nofile(hosts)))
    cmd = ["nginx", "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    subprocess.run([*cmd, "-t", "-q"], check=True)
    server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    try:
        _wait_listening(server, addresses[-1], port, tmp)
        yield [f"http://{a}:{port}" for a in addresses], AccessLog(tmp / "access.log")
    finally:
        server.send_signal(signal.SIGQUIT)  # graceful: finish the open responses
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_listening(server: subprocess.Popen[bytes], address: str, port: int, tmp: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = (tmp / "error.log").read_text(errors="replace")
            raise RuntimeError(f"nginx exited with {server.returncode}:\n{log}")
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start listening within 30 s")
