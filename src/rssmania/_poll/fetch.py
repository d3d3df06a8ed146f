"""Fetching one feed over HTTP: conditional GET, caps on time and size.

Runs in a worker process, inside the event loop of one batch. Returns a value,
never raises for anything the network or the server can do: every httpx error
is mapped to a :class:`FeedError` here, in one place.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass

import httpx

from rssmania._poll.jobs import PollJob, PollSettings
from rssmania.types import FeedError


@dataclass(frozen=True)
class Fetched:
    final_url: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~16 ms: once per worker process, not per batch.
    return httpx.create_ssl_context()


def make_client(settings: PollSettings, *, max_connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=_tls_context(),
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.total_timeout,
        ),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=8),
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
    client: httpx.AsyncClient, job: PollJob, settings: PollSettings
) -> Fetched | FeedError:
    try:
        async with asyncio.timeout(settings.total_timeout):
            return await _fetch(client, job, settings)
    except TimeoutError:
        return FeedError("timeout", f"no complete response within {settings.total_timeout:g} s")
    except httpx.TooManyRedirects:
        return FeedError("http", f"more than {settings.max_redirects} redirects")
    except httpx.TimeoutException as exc:
        return FeedError("timeout", f"{_phase(exc)} timed out")
    except httpx.DecodingError as exc:
        return FeedError("network", f"cannot decode the response body: {exc}")
    except httpx.UnsupportedProtocol as exc:
        return FeedError("network", f"unsupported protocol: {exc}")
    except httpx.HTTPError as exc:
        return FeedError("network", _describe(exc))
    except (OSError, ValueError) as exc:
        return FeedError("network", _describe(exc))


async def _fetch(
    client: httpx.AsyncClient, job: PollJob, settings: PollSettings
) -> Fetched | FeedError:
    async with client.stream("GET", job.url, headers=_conditional_headers(job)) as response:
        final_url = str(response.url)
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        content_type = response.headers.get("Content-Type")
        if response.status_code == 304:
            return Fetched(final_url, 304, b"", content_type, etag, last_modified)
        if response.status_code >= 400 or response.status_code < 200:
            return FeedError(
                "http",
                f"HTTP {response.status_code} {response.reason_phrase}".rstrip(),
                http_status=response.status_code,
            )
        if response.status_code >= 300:
            # A 3xx left after following redirects has no usable Location.
            return FeedError(
                "http",
                f"HTTP {response.status_code} without a usable Location",
                http_status=response.status_code,
            )
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
        return Fetched(
            final_url, response.status_code, b"".join(chunks), content_type, etag, last_modified
        )


def _too_large(settings: PollSettings) -> FeedError:
    return FeedError("too_large", f"body larger than {settings.max_bytes:,} bytes")


def _phase(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return "reading"
    if isinstance(exc, httpx.PoolTimeout):
        return "waiting for a connection"
    return "the request"


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    return text
