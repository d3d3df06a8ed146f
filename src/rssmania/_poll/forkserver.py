"""Imported by the workers' forkserver alone (it is its first preload): a SIGTERM leaves it be.

A SIGTERM to the whole process group (systemd's stop, ``kill -TERM -PGID``)
is the coordinator's to act on: it lets the feeds in flight finish. The
forkserver, killed by it, took the workers with it as far as the pool could
tell (their exit is reported through the forkserver), and the pool broke at
once. It exits anyway when the coordinator does: it reads end of file on the
pipe that ties it to the coordinator.
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
