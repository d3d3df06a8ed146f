"""What one feed may cost a worker: CPU time per parse, memory per process.

A parser fed a hostile document can loop for minutes or swallow gigabytes
(reader #261, TT-RSS's "allowed memory size exhausted"). The CPU limit turns
a runaway parse into that feed's error; the memory limit makes the worst
case a MemoryError in one worker, never the machine's OOM killer.
"""

from __future__ import annotations

import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class ParseTooSlow(BaseException):
    """Raised inside a parse that used up its CPU time.

    A BaseException, like KeyboardInterrupt: feedparser catches Exception to
    fall back from its strict parser to its loose one, and would otherwise
    swallow the limit and go on parsing, unlimited.
    """


def _expired(signum: int, frame: FrameType | None) -> None:
    raise ParseTooSlow


@contextmanager
def cpu_limit(seconds: float | None) -> Iterator[None]:
    """Raise ParseTooSlow in this block after ``seconds`` of CPU time.

    Signals reach only the main thread, so elsewhere (an aggregator driven
    from a GUI thread with workers=1) the block runs unlimited.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGVTALRM, _expired)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def limit_memory(max_bytes: int | None) -> None:
    """Cap this process's address space (a worker's, never the coordinator's)."""
    if not max_bytes:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        max_bytes = min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, hard))


def memory_limited() -> bool:
    """Whether this process runs under an address-space cap (``limit_memory``)."""
    return resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY


def is_rust_panic(exc: BaseException) -> bool:
    """A panic in a compiled parser (fastfeedparser's extractor, nh3: Rust through pyo3).

    pyo3 raises it as a BaseException from a module that cannot be imported,
    so it passes ``except Exception`` and cannot be pickled back to the
    coordinator.
    """
    return type(exc).__name__ == "PanicException" and type(exc).__module__ == "pyo3_runtime"
