"""Fetching one feed over HTTP: conditional GET, caps on time and size, a guarded network.

Runs in a worker process, inside the event loop of one batch. Returns a value,
never raises for anything the network or the server can do: every httpx error
is mapped to a :class:`FeedError` here, in one place.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx

from rssmania._poll.hints import cache_lifetime, retry_after
from rssmania._poll.jobs import PollJob, PollSettings
from rssmania.types import FeedError

PERMANENT_REDIRECTS = (301, 308)


@dataclass(frozen=True)
class Fetched:
    """An HTTP answer. The body is read only for a 200."""

    final_url: str
    status: int
    reason: str
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    permanent_url: str | None
    retry_after: float | None
    cache_lifetime: int | None


class AddressRefused(Exception):
    """A connection to a private address while those are refused."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves host names itself and refuses private, loopback and link-local addresses.

    It connects to the very address it checked, so a second DNS answer (DNS
    rebinding) cannot slip a private address in; TLS still verifies the host
    name, which httpcore passes separately.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend, allowed: Iterable[str]) -> None:
        self._inner = inner
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in allowed]

    def refused(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        if any(ip in network for network in self._allowed):
            return False
        return not ip.is_global or ip.is_multicast

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if self.refused(address):
                raise AddressRefused(f"{host} resolves to {address}, a non-public address")
        return await self._inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are refused")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs 80-130 ms: once per process, not per batch;
    # for workers, once in the forkserver (see rssmania._poll.batch).
    return httpx.create_ssl_context()


def make_client(settings: PollSettings, *, max_connections: int) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(
        verify=tls_context(),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=8),
    )
    if settings.refuse_private:
        # httpx has no public hook for the network backend; the pool's is
        # the one place every hop of every redirect goes through.
        pool = transport._pool
        pool._network_backend = GuardedBackend(pool._network_backend, settings.allowed_networks)
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.total_timeout,
        ),
        headers={
            "User-Agent": settings.user_agent,
            "Accept": (
                "application/rss+xml, application/atom+xml, application/rdf+xml, "
                "application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
            ),
        },
    )


def _conditional_headers(job: PollJob) -> dict[str, str]:
    headers = {}
    # Sent back verbatim: servers compare these as opaque strings.
    if job.etag:
        headers["If-None-Match"] = job.etag
    if job.last_modified:
        headers["If-Modified-Since"] = job.last_modified
    return headers


async def fetch(
    client: httpx.AsyncClient,
    job: PollJob,
    settings: PollSettings,
    *,
    on_sent: Callable[[], None] | None = None,
) -> Fetched | FeedError:
    """``on_sent`` is called each time a request (a redirect hop too) has gone out."""
    try:
        async with asyncio.timeout(settings.total_timeout):
            return await _fetch(client, job, settings, on_sent)
    except TimeoutError:
        return FeedError("timeout", f"no complete response within {settings.total_timeout:g} s")
    except AddressRefused as exc:
        return FeedError("blocked", f"refused: {exc}")
    except httpx.TooManyRedirects:
        return FeedError("http", f"more than {settings.max_redirects} redirects")
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        # Its own kind: when every feed fails this way, the machine is offline.
        return FeedError("connect", f"cannot connect: {exc or type(exc).__name__}")
    except httpx.TimeoutException as exc:
        return FeedError("timeout", f"{_phase(exc)} timed out")
    except httpx.DecodingError as exc:
        return FeedError("network", f"cannot decode the response body: {exc}")
    except httpx.UnsupportedProtocol as exc:
        return FeedError("http", f"redirected to an unsupported scheme: {exc}")
    except httpx.HTTPError as exc:
        return FeedError("network", str(exc) or type(exc).__name__)
    except (OSError, ValueError) as exc:
        return FeedError("network", str(exc) or type(exc).__name__)


async def _fetch(
    client: httpx.AsyncClient,
    job: PollJob,
    settings: PollSettings,
    on_sent: Callable[[], None] | None,
) -> Fetched | FeedError:
    async def trace(event: str, info: dict[str, Any]) -> None:
        if on_sent is not None and event.endswith("send_request_headers.complete"):
            on_sent()

    async with client.stream(
        "GET", job.url, headers=_conditional_headers(job), extensions={"trace": trace}
    ) as response:
        now = datetime.now(UTC)
        headers = response.headers
        hops = [r.status_code for r in response.history]
        moved = bool(hops) and all(code in PERMANENT_REDIRECTS for code in hops)
        body = b""
        if response.status_code == 200:
            read = await _read_capped(response, settings)
            if isinstance(read, FeedError):
                return read
            body = read
        return Fetched(
            final_url=str(response.url),
            status=response.status_code,
            reason=response.reason_phrase,
            body=body,
            content_type=headers.get("Content-Type"),
            etag=headers.get("ETag"),
            last_modified=headers.get("Last-Modified"),
            permanent_url=str(response.url) if moved else None,
            retry_after=retry_after(headers.get("Retry-After"), now=now),
            cache_lifetime=cache_lifetime({k.lower(): v for k, v in headers.items()}, now=now),
        )


async def _read_capped(response: httpx.Response, settings: PollSettings) -> bytes | FeedError:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > settings.max_bytes:
        return _too_large(settings)
    chunks: list[bytes] = []
    size = 0
    # aiter_bytes() decompresses chunk by chunk, so the cap also stops a
    # compression bomb long before it fills memory.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > settings.max_bytes:
            return _too_large(settings)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(settings: PollSettings) -> FeedError:
    return FeedError("too_large", f"body larger than {settings.max_bytes:,} bytes")


def _phase(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ReadTimeout):
        return "reading"
    if isinstance(exc, httpx.PoolTimeout):
        return "waiting for a connection"
    return "the request"
