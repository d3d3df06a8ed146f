"""The multiprocessing context of the workers: forkserver, without the caller's main module,
and a forkserver that the command line starts by forking itself.

multiprocessing sends every child it starts the path of the parent's main
module, and the child runs that module again (as ``__mp_main__``) before
anything else, so that functions defined there can be unpickled. Ours never
need it: they run rssmania's code only. Run again, a plain script without an
``if __name__ == "__main__":`` guard (the README's example, a GUI) subscribed
again in every worker, and the workers died as they started (issue 24, point 1).

So the workers are started with preparation data that names no main module.

The forkserver itself is a new interpreter (``ForkServer.ensure_running``):
0.1 s before it even starts importing what workers need, on the path to every
poll's first request (a tenth of a warm round of 2,000 feeds). The command
line forks it from its own first step instead (``fork_forkserver``), while it
is one thread with nothing imported but the standard library and
``rssmania``'s types: the clean parent a forkserver exists to be. A library
caller, whose process may hold threads, gets the usual one.

This touches multiprocessing's private ``Popen._launch`` and ``ForkServer``
state; it is the only module that does, and its copies of that code are
checked against the interpreter versions they were read from.
"""

from __future__ import annotations

import io
import os
import socket
import sys
import threading
from multiprocessing import (
    connection,
    forkserver,
    popen_forkserver,
    reduction,
    resource_tracker,
    spawn,
    util,
)
from multiprocessing.context import ForkServerContext, ForkServerProcess, set_spawning_popen
from typing import Any

if sys.version_info >= (3, 15):  # pragma: no cover - read again on a new interpreter
    raise ImportError(
        f"rssmania._worker_context was written for Python 3.11 to 3.14, not {sys.version}"
    )

_MAIN_KEYS = frozenset({"init_main_from_path", "init_main_from_name"})
"""What makes a child run the parent's main module again (multiprocessing.spawn.prepare)."""


def preparation_data(name: str) -> dict[str, Any]:
    """What a worker needs of this process (sys.path, the working directory...), no main module."""
    data: dict[str, Any] = spawn.get_preparation_data(name)
    return {key: value for key, value in data.items() if key not in _MAIN_KEYS}


class _Popen(popen_forkserver.Popen):
    def _launch(self, process_obj: Any) -> None:
        # CPython 3.11-3.14's popen_forkserver.Popen._launch, but for the data.
        prep_data = preparation_data(process_obj._name)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        # The child watches a duplicate of the write end to see its parent go.
        parent_w = os.dup(w)
        close = util.close_fds  # type: ignore[attr-defined]
        self.finalizer = util.Finalize(self, close, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class WorkerProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


class WorkerContext(ForkServerContext):
    """``multiprocessing.get_context("forkserver")``, whose processes skip the main module."""

    Process = WorkerProcess


def worker_context() -> WorkerContext:
    return WorkerContext()


def fork_forkserver(preload: list[str]) -> bool:
    """Start the forkserver as a fork of this process; False where it cannot be.

    Only from a process with a single thread (a fork copies no other) and
    nothing buffered on its standard streams (workers flush theirs at exit).
    CPython 3.11-3.13's ``ForkServer.ensure_running``, but for the fork: 3.14
    adds an authentication key to the forkserver's handshake, and gets the
    usual start.
    """
    if sys.version_info >= (3, 14) or threading.active_count() != 1:
        return False
    server: Any = forkserver._forkserver  # its private state, as ensure_running() keeps it
    server.set_forkserver_preload(preload)
    with server._lock:
        if server._forkserver_pid is not None:
            return True  # running, or exited: ensure_running() knows what to do
        resource_tracker.ensure_running()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        with socket.socket(socket.AF_UNIX) as listener:
            address = connection.arbitrary_address("AF_UNIX")  # type: ignore[attr-defined]
            listener.bind(address)
            if not util.is_abstract_socket_namespace(address):
                os.chmod(address, 0o600)
            listener.listen()
            # Every client holds the write end: the forkserver exits at its end of file.
            alive_r, alive_w = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                os.close(alive_r)
                os.close(alive_w)
                raise
            if pid == 0:  # pragma: no cover - the forkserver, until the command exits
                _serve(listener.fileno(), alive_r, alive_w, server._preload_modules)
            os.close(alive_r)
        server._forkserver_address = address
        server._forkserver_alive_fd = alive_w
        server._forkserver_pid = pid
    return True


def _serve(listener: int, alive_r: int, alive_w: int, preload: list[str]) -> None:
    """The forked forkserver: multiprocessing's loop, then out without the command's exit."""
    code = 1
    try:
        os.close(alive_w)
        forkserver.main(listener, alive_r, preload)
    except SystemExit as done:  # its clients are gone: the normal end
        code = done.code if isinstance(done.code, int) else 0
    finally:
        # Never the command's atexit handlers, nor its buffers flushed twice.
        os._exit(code)
