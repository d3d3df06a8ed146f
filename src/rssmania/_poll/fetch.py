"""Fetching one feed over HTTP: conditional GET, caps on time and size, a guarded network.

Runs in a worker process, inside the event loop of one batch. Returns a value,
never raises for anything the network or the server can do: every aiohttp
error is mapped to a :class:`FeedError` here, in one place.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from rssmania._poll.hints import cache_lifetime, retry_after
from rssmania._poll.jobs import PollJob, PollSettings
from rssmania.types import FeedError

log = logging.getLogger("rssmania.fetch")

PERMANENT_REDIRECTS = (301, 308)
_MAX_HEADER = 64 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)


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


class AddressGuard:
    """Which addresses a poll may connect to when private ones are refused."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in allowed]

    def refused(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 zone is not the address
        if any(ip in network for network in self._allowed):
            return False
        return not ip.is_global or ip.is_multicast

    def check_literal(self, url: URL) -> None:
        """Refuse a URL whose host is an address literal (names go through the resolver)."""
        host = url.host
        try:
            ipaddress.ip_address((host or "").partition("%")[0])
        except ValueError:
            return
        if host is not None and self.refused(host):
            raise AddressRefused(f"{host} is a non-public address")


class GuardedResolver(AbstractResolver):
    """Resolves host names and refuses private, loopback and link-local answers.

    The connector connects to the very addresses returned here, so a second
    DNS answer (DNS rebinding) cannot slip a private address in; TLS still
    verifies the host name. Address literals never reach a resolver: the
    request and each redirect hop check those (``_literal_guard``).
    """

    def __init__(self, inner: AbstractResolver, guard: AddressGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            if self._guard.refused(answer["host"]):
                raise AddressRefused(f"{host} resolves to {answer['host']}, a non-public address")
        return answers

    async def close(self) -> None:
        await self._inner.close()


@functools.cache
def _env_proxies() -> dict[str, str]:
    return urllib.request.getproxies_environment()


def _proxy_for(url: URL, settings: PollSettings) -> str | None:
    """The proxy HTTP_PROXY/HTTPS_PROXY name for ``url`` unless NO_PROXY exempts it, as curl.

    None when private addresses are refused: through a proxy, the proxy
    resolves the names, and the guard could not see where a request goes.
    """
    if settings.refuse_private:
        return None
    proxies = _env_proxies()
    proxy = proxies.get(url.scheme)
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if proxy is None or bypass(url.host or "", proxies):
        return None
    return proxy


@functools.cache
def _tracing() -> aiohttp.TraceConfig:
    """Tells each request's ``on_sent`` (its trace context) when its headers went out."""

    async def headers_sent(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestHeadersSentParams,
    ) -> None:
        on_sent = context.trace_request_ctx
        if on_sent is not None:
            on_sent.sent()

    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(headers_sent)
    config.freeze()
    return config


def make_session(settings: PollSettings, *, max_connections: int) -> aiohttp.ClientSession:
    resolver: AbstractResolver = aiohttp.DefaultResolver()
    traces = [_tracing()]
    if settings.refuse_private:
        guard = AddressGuard(settings.allowed_networks)
        resolver = GuardedResolver(resolver, guard)
        traces.append(_literal_guard(guard))
    # TLS verified against the system's CA store: the context aiohttp made
    # when it was imported (the forkserver imports it, before any worker).
    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=0, resolver=resolver)
    return aiohttp.ClientSession(
        connector=connector,
        # The whole poll's deadline is ``fetch``'s; these bound each phase.
        timeout=aiohttp.ClientTimeout(
            total=None, connect=settings.connect_timeout, sock_read=settings.read_timeout
        ),
        headers={"User-Agent": settings.user_agent, "Accept": ACCEPT},
        # aiohttp's default, 8 KB a header, is less than some servers send
        # (a long Content-Security-Policy, cookies): bounded, but roomier.
        max_line_size=_MAX_HEADER,
        max_field_size=_MAX_HEADER,
        trace_configs=traces,
        # Not trust_env: it reads ~/.netrc and the proxy variables again on
        # every request, in a thread (a fifth of a warm poll's CPU).
        # ``_proxy_for`` reads the variables once.
        trust_env=False,
    )


def _literal_guard(guard: AddressGuard) -> aiohttp.TraceConfig:
    """Checks the URL of each request (every redirect hop is one) for address literals."""

    async def starting(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        guard.check_literal(params.url)

    config = aiohttp.TraceConfig()
    config.on_request_start.append(starting)
    config.freeze()
    return config


def _conditional_headers(job: PollJob) -> dict[str, str]:
    headers = {}
    # Sent back verbatim: servers compare these as opaque strings.
    if job.etag:
        headers["If-None-Match"] = job.etag
    if job.last_modified:
        headers["If-Modified-Since"] = job.last_modified
    return headers


def connect_message(exc: BaseException, url: str, settings: PollSettings) -> str:
    """Why a connection failed, in a person's words (aiohttp's: "Cannot connect to host
    127.0.0.1:9 ssl:default [Connect call failed ...]" for a plain http URL)."""
    host = getattr(exc, "host", None) or (URL(url).host or url)
    port = getattr(exc, "port", None)
    where = host if port in (None, 80, 443) else f"{host}:{port}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"cannot connect to {where}: no answer within {settings.connect_timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"cannot connect to {where}: its TLS certificate is not valid for it"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"cannot connect to {where}: the TLS handshake failed"
    cause = getattr(exc, "os_error", None)
    if isinstance(cause, socket.gaierror):
        return f"cannot find the host {host} (no such name, or no DNS answer)"
    if isinstance(cause, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused (nothing listens there)"
    if isinstance(cause, OSError) and cause.strerror:
        return f"cannot connect to {where}: {cause.strerror.lower()}"
    return f"cannot connect to {where}"


async def fetch(
    session: aiohttp.ClientSession,
    job: PollJob,
    settings: PollSettings,
    *,
    on_sent: SentListener | None = None,
) -> Fetched | FeedError:
    """``on_sent.sent()`` is called each time a request (a redirect hop too) has gone out."""
    try:
        async with asyncio.timeout(settings.total_timeout):
            return await _fetch(session, job, settings, on_sent)
    except AddressRefused as exc:
        return FeedError("blocked", f"refused: {exc}")
    # aiohttp's own timeouts are TimeoutErrors too: those first, the whole deadline last.
    except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
        # Its own kind: when every feed fails this way, the machine is offline.
        log.info("%s: cannot connect: %r", job.url, exc)  # aiohttp's words, for -v
        return FeedError("connect", connect_message(exc, job.url, settings))
    except aiohttp.SocketTimeoutError:
        return FeedError("timeout", f"reading timed out (nothing for {settings.read_timeout:g} s)")
    except aiohttp.ServerTimeoutError:
        return FeedError("timeout", "the request timed out")
    except TimeoutError:
        return FeedError("timeout", f"no complete response within {settings.total_timeout:g} s")
    except aiohttp.ClientPayloadError as exc:
        return FeedError("network", f"cannot decode the response body: {_cause(exc)}")
    except aiohttp.ClientResponseError as exc:
        # What aiohttp says of an answer that is not HTTP (bad status line, headers).
        return FeedError("network", f"invalid HTTP response: {exc.message}")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return FeedError("network", str(exc) or type(exc).__name__)


class SentListener(Protocol):
    """What ``fetch`` tells of a request's hops (see ``batch.Hops``)."""

    def sent(self) -> None:
        """A request (the first, or a redirect's) has gone out."""

    async def redirected(self, target: str) -> None:
        """The next request goes to ``target``: returns once it may."""


async def _fetch(
    session: aiohttp.ClientSession,
    job: PollJob,
    settings: PollSettings,
    on_sent: SentListener | None,
) -> Fetched | FeedError:
    # Redirects are followed here, not by aiohttp: each hop is a request to
    # its own host, under that host's limits, and waits for them with no
    # connection held (see batch.Hops).
    url = URL(job.url)
    hops: list[int] = []
    while True:
        async with session.get(
            url,
            headers=_conditional_headers(job),
            allow_redirects=False,
            proxy=_proxy_for(url, settings),
            trace_request_ctx=on_sent,
        ) as response:
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                return await _fetched(response, hops, settings)
            status = response.status
            target = _redirect_target(response.url, location)
        if isinstance(target, FeedError):
            return target
        hops.append(status)
        if len(hops) > settings.max_redirects:
            return FeedError("http", f"more than {settings.max_redirects} redirects")
        if on_sent is not None:
            await on_sent.redirected(str(target))
        url = target


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _redirect_target(base: URL, location: str) -> URL | FeedError:
    try:
        target = base.join(URL(location))
    except ValueError as exc:
        return FeedError("http", f"redirected to an invalid address: {location!r} ({exc})")
    if target.scheme not in ("http", "https"):
        return FeedError("http", f"redirected to an unsupported scheme: {location!r}")
    if not target.host:
        return FeedError("http", f"redirected to an invalid address: {location!r}")
    return target


async def _fetched(
    response: aiohttp.ClientResponse, hops: list[int], settings: PollSettings
) -> Fetched | FeedError:
    now = datetime.now(UTC)
    headers = response.headers
    moved = bool(hops) and all(code in PERMANENT_REDIRECTS for code in hops)
    body = b""
    if response.status == 200:
        read = await _read_capped(response, settings)
        if isinstance(read, FeedError):
            return read
        body = read
    return Fetched(
        final_url=str(response.url),
        status=response.status,
        reason=_reason_text(response.reason or ""),
        body=body,
        content_type=headers.get("Content-Type"),
        etag=_validator(headers.get("ETag")),
        last_modified=_validator(headers.get("Last-Modified")),
        permanent_url=str(response.url) if moved else None,
        retry_after=retry_after(headers.get("Retry-After"), now=now),
        cache_lifetime=cache_lifetime({k.lower(): v for k, v in headers.items()}, now=now),
    )


# aiohttp decodes header bytes as UTF-8, and bytes that are not UTF-8 as lone
# surrogates ("café" in Latin-1 is "caf\udce9"): no database stores those.


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified to send back, or None if it could not be sent back as it came."""
    if value is None or value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _reason_text(reason: str) -> str:
    """A reason phrase as text: UTF-8 if it was, else Latin-1 (HTTP's historical charset)."""
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:
        return reason.encode("utf-8", "surrogateescape").decode("latin-1")
    return reason


async def _read_capped(
    response: aiohttp.ClientResponse, settings: PollSettings
) -> bytes | FeedError:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > settings.max_bytes:
        return _too_large(settings)
    chunks: list[bytes] = []
    size = 0
    # The content stream is decompressed as it arrives, so the cap also
    # stops a compression bomb long before it fills memory.
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > settings.max_bytes:
            return _too_large(settings)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(settings: PollSettings) -> FeedError:
    return FeedError("too_large", f"body larger than {settings.max_bytes:,} bytes")


def _cause(exc: BaseException) -> str:
    """aiohttp wraps the decoder's error; its message is the informative part."""
    inner = exc.__cause__ or exc.__context__
    return str(inner or exc) or type(exc).__name__
