"""The multiprocessing context of the workers: forkserver, without the caller's main module.

multiprocessing sends every child it starts the path of the parent's main
module, and the child runs that module again (as ``__mp_main__``) before
anything else, so that functions defined there can be unpickled. Ours never
need it: they run rssmania's code only. Run again, a plain script without an
``if __name__ == "__main__":`` guard (the README's example, a GUI) subscribed
again in every worker, and the workers died as they started (issue 24, point 1).

So the workers are started with preparation data that names no main module.
This touches multiprocessing's private ``Popen._launch``; it is the only
module that does, and its copy of that method is checked against the
interpreter versions it was read from.
"""

from __future__ import annotations

import io
import os
import sys
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
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
