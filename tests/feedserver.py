"""A real HTTP server on 127.0.0.1 whose answers the tests control, and that counts requests."""

from __future__ import annotations

import email.utils
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections in a burst (a 1 s SYN retransmit each).
    request_queue_size = 1024
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up (a killed worker, a timeout) is part of the tests.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml; charset=utf-8"
    delay: float = 0.0
    validators: bool = True
    """Send an ETag and honour If-None-Match with a 304."""
    trickle: float = 0.0
    """Send the body one byte every ``trickle`` seconds, announcing 10 MB: a server that stalls."""


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    at: float
    server: object = None


class FeedServer:
    """One set of routes served on ``hosts`` loopback addresses (127.0.0.1, .2, ...).

    Each address is a different host to the poller's per-host limits.
    """

    def __init__(self, hosts: int = 1) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.active: dict[object, int] = {}
        self.max_active: dict[object, int] = {}
        self.per_second: dict[object, int] = {}
        """Hosts that answer 429 (no Retry-After) above this many requests a second."""
        self.strain: dict[object, float] = {}
        """Hosts that answer this many seconds late to a request that finds another in flight."""
        self._accepted: dict[object, list[float]] = {}
        self.refused = 0
        self.crowded = 0
        """Requests that arrived while another to their host was in flight."""
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._servers = [_Server((f"127.0.0.{i + 1}", 0), Handler) for i in range(hosts)]
        self.port = self._servers[0].server_address[1]

    def __enter__(self) -> FeedServer:
        for httpd in self._servers:
            # Polled every 50 ms for shutdown() (0.5 s by default: half a second a test).
            threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for httpd in self._servers:
            httpd.shutdown()
            httpd.server_close()

    def url(self, path: str, host: int = 0) -> str:
        address, port = self._servers[host].server_address[:2]
        return f"http://{address}:{port}{path}"

    def set(self, path: str, body: bytes | str = b"", host: int = 0, **kwargs: object) -> str:
        if isinstance(body, str):
            body = body.encode()
        with self._lock:
            self.routes[path] = Route(body=body, **kwargs)  # type: ignore[arg-type]
        return self.url(path, host)

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for s in self.seen if s.path == path)

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            self.seen.append(
                Seen(path, dict(handler.headers.items()), time.monotonic(), handler.server)
            )
            # A query only carries what tests pass to their workers (?pids=).
            route = self.routes.get(path) or self.routes.get(path.split("?", 1)[0])
            self.active[handler.server] = self.active.get(handler.server, 0) + 1
            self.max_active[handler.server] = max(
                self.max_active.get(handler.server, 0), self.active[handler.server]
            )
            crowded = self.active[handler.server] > 1
            self.crowded += crowded
            if handler.server in self.per_second:
                now = time.monotonic()
                recent = [t for t in self._accepted.get(handler.server, []) if t > now - 1.0]
                if len(recent) >= self.per_second[handler.server]:
                    route = Route(b"too many requests", status=429, content_type="text/plain")
                    self.refused += 1
                else:
                    recent.append(now)
                self._accepted[handler.server] = recent
            strain = self.strain.get(handler.server, 0.0) if crowded else 0.0
        try:
            if strain:
                time.sleep(strain)
            self._answer(handler, route)
        except OSError:
            pass  # the client hung up (a timeout, a cap): its business
        finally:
            with self._lock:
                self.active[handler.server] -= 1

    def limit(self, host: int = 0, *, per_second: int) -> None:
        """Answer 429 to requests above ``per_second`` a second to this host (a rate limiter)."""
        self.per_second[self._servers[host]] = per_second

    def strained(self, host: int = 0, *, late: float) -> None:
        """Answer ``late`` seconds later a request that finds another in flight to this host."""
        self.strain[self._servers[host]] = late

    def max_concurrent(self, host: int = 0) -> int:
        with self._lock:
            return self.max_active.get(self._servers[host], 0)

    def _answer(self, handler: BaseHTTPRequestHandler, route: Route | None) -> None:
        if route is None:
            route = Route(body=b"not found", status=404, content_type="text/plain")
        if route.delay:
            time.sleep(route.delay)
        headers = {"Content-Type": route.content_type, **route.headers}
        body = route.body
        status = route.status
        if route.validators and status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers["ETag"] = etag
            if handler.headers.get("If-None-Match") == etag:
                status, body = 304, b""
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if route.trickle:
            handler.send_header("Content-Length", str(10_000_000))
            handler.end_headers()
            for _ in range(10_000_000):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(route.trickle)
            return
        if "Content-Length" not in headers:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@dataclass(frozen=True)
class Item:
    guid: str | None
    title: str
    link: str | None = None
    description: str = ""
    date: float | None = None  # a Unix time


def rss(title: str, items: Sequence[Item], *, link: str = "https://example.org/") -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>test feed</description>",
    ]
    for item in items:
        parts.append("<item>")
        if item.guid is not None:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.link:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.description:
            parts.append(f"<description>{escape(item.description)}</description>")
        if item.date is not None:
            parts.append(f"<pubDate>{email.utils.formatdate(item.date, usegmt=True)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


def items(prefix: str, n: int, *, start: int = 0, dated: bool = True) -> list[Item]:
    base = 1_700_000_000.0
    return [
        Item(
            guid=f"{prefix}-{i}",
            title=f"{prefix} article {i}",
            link=f"https://example.org/{prefix}/{i}",
            description=f"<p>Body of {prefix} {i}</p>",
            date=base + i * 3600 if dated else None,
        )
        for i in range(start, start + n)
    ]


def wait_for(predicate: Callable[[], object], *, timeout: float = 10.0, what: str = "") -> None:
    """Wait until ``predicate()`` is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
