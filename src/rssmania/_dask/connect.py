"""Reaching a Dask cluster: its address, the connection, the versions that must match."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rssmania.exceptions import ClusterError

if TYPE_CHECKING:
    import distributed

log = logging.getLogger("rssmania.dask")

SCHEMES = {"dask": "tcp", "dask+tls": "tls"}
DEFAULT_PORT = 8786
DASK_PACKAGES = ("python", "dask", "distributed", "msgpack", "cloudpickle", "tornado", "toolz")
"""What the scheduler and workers must share with us to talk at all."""
POLL_PACKAGES = ("rssmania", "fastfeedparser", "feedparser", "lxml", "nh3", "aiohttp")
"""What workers must share with us too: one feed must parse to the same keys
and hashes on every machine, or the same article would look new or updated again."""


def scheduler_address(executor: str) -> str:
    """``dask://HOST[:PORT]`` -> ``tcp://HOST:PORT``; ``dask+tls://`` -> ``tls://``.

    Raises ValueError for anything else.
    """
    scheme, sep, rest = executor.partition("://")
    host = rest.rstrip("/")
    if not sep or scheme not in SCHEMES or not host or "/" in host:
        raise ValueError(f"not a Dask scheduler address: {executor!r} (expected dask://HOST:PORT)")
    if not host.rpartition(":")[2].isdigit() or host.endswith("]"):
        host = f"{host}:{DEFAULT_PORT}"
    return f"{SCHEMES[scheme]}://{host}"


def version_mismatches(versions: Mapping[str, Any]) -> list[str]:
    """Lines naming each package whose version differs from ours, from ``Client.get_versions``.

    Dask's own check only warns (and about packages we never use, numpy...).
    """
    ours = versions["client"]["packages"]
    # The scheduler unpickles each task, which names rssmania's function.
    others = [("scheduler", versions["scheduler"], (*DASK_PACKAGES, "rssmania"))] + [
        (f"worker {address}", info, DASK_PACKAGES + POLL_PACKAGES)
        for address, info in sorted(versions["workers"].items())
    ]
    lines = []
    for where, info, packages in others:
        theirs = info.get("packages", {}) if isinstance(info, Mapping) else {}
        for package in packages:
            if theirs.get(package) != ours.get(package):
                lines.append(
                    f"{package}: {ours.get(package) or 'missing'} here, "
                    f"{theirs.get(package) or 'missing'} on {where}"
                )
    return lines


def parse_seconds(value: object) -> float:
    """A Dask duration (``30s``, ``500ms``, a number of seconds) in seconds."""
    from dask.utils import parse_timedelta  # noqa: PLC0415 - Dask is optional

    return float(parse_timedelta(value, default="seconds"))


def connect(address: str, *, timeout: float | None, name: str) -> distributed.Client:
    """A client of the scheduler at ``address``, with a worker and matching versions.

    ``timeout`` bounds the connection and the wait for a first worker
    (default: Dask's ``distributed.comm.timeouts.connect``). Raises ClusterError.
    """
    try:
        import dask.config  # noqa: PLC0415 - Dask is optional
        from distributed import Client  # noqa: PLC0415
    except ImportError as exc:
        raise ClusterError(address, "Dask is not installed: pip install 'rssmania[dask]'") from exc
    if timeout is None:
        timeout = parse_seconds(dask.config.get("distributed.comm.timeouts.connect"))
    if address.startswith("tls://") and not dask.config.get(
        "distributed.comm.tls.client.cert", None
    ):
        # Dask's own error would be a TypeError about an ssl_context.
        raise ClusterError(
            address,
            "TLS needs this client's certificate: set DASK_DISTRIBUTED__COMM__TLS__CA_FILE, "
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and ..._CLIENT__KEY (docs/cluster.md)",
        )
    _check_a_scheduler_answers(address, timeout)
    try:
        client = Client(address, timeout=timeout, set_as_default=False, name=name)
    except Exception as exc:  # OSError, TimeoutError, ValueError, a TLS TypeError...
        raise ClusterError(address, f"cannot reach the scheduler: {exc}") from exc
    try:
        client.wait_for_workers(1, timeout=timeout)
        mismatches = version_mismatches(client.get_versions(packages=list(POLL_PACKAGES)))
    except TimeoutError as exc:
        client.close()
        raise ClusterError(address, f"no worker joined within {timeout:g} s") from exc
    except OSError as exc:
        client.close()
        raise ClusterError(address, f"lost the scheduler: {exc}") from exc
    if mismatches:
        client.close()
        raise ClusterError(address, "versions differ:\n  " + "\n  ".join(mismatches))
    log.info("connected to the Dask cluster at %s", address)
    return client


def _check_a_scheduler_answers(address: str, timeout: float) -> None:
    """Ask whoever listens at ``address`` what it is, within ``timeout``.

    Client waits for ever on a service that accepts the connection and never
    answers (another program's port): Dask's handshake read has no deadline,
    and two Ctrl+C did not end the wait. Raises ClusterError.
    """
    from distributed.core import rpc  # noqa: PLC0415 - Dask is optional
    from distributed.security import Security  # noqa: PLC0415

    async def identity() -> Any:
        connection_args = Security().get_connection_args("client")
        async with rpc(address, timeout=timeout, connection_args=connection_args) as peer:
            return await peer.identity()

    # A thread of its own: the caller may be running an event loop already.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rssmania-dask") as pool:
        # The connection has ``timeout`` (its failure says why); the answer
        # as long again.
        deadline = 2 * timeout + 1
        answer = pool.submit(asyncio.run, asyncio.wait_for(identity(), deadline))
        try:
            info = answer.result()
        except TimeoutError:
            raise ClusterError(
                address, f"nothing there answers as a Dask scheduler within {deadline:g} s"
            ) from None
        except Exception as exc:  # OSError, a refused TLS handshake...
            raise ClusterError(address, f"cannot reach the scheduler: {exc}") from exc
    kind = info.get("type") if isinstance(info, Mapping) else None
    if kind != "Scheduler":
        raise ClusterError(
            address, f"not a Dask scheduler: {kind or 'something else'} answers there"
        )
