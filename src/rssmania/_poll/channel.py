"""Outcomes from workers to the coordinator one by one, as each feed finishes.

    worker (a batch)                           coordinator (a round)
    Outbox(address, batch) -- connect -->      Inbox: a Unix socket in a private directory
      started(url) ... send(outcome)           receive() -> [(batch, Started | outcome), ...]
      ... close()                -- frames -->
    return [outcomes not sent]   -- pool -->     finish(batch): the rest of that batch's frames

A process pool returns a batch's outcomes when the whole batch ends: one feed
stuck until its timeout held back its batch-mates' articles, and a progress
bar stood still. Each batch has a connection of its own, so a worker that
dies mid-message cuts only its own stream: the frame it was writing is
dropped at end of file, its earlier frames are kept, and no other batch's
bytes are touched (one queue shared by all workers would be corrupted for
everyone by one death). Frames: the batch number once (8 bytes), then a
4-byte length and a pickled PollOutcome per feed, or a pickled ``Started``.

``Started`` says when requests went out: a batch holds a host's feeds, which
wait their turn behind its cap, and a feed that waits is neither in flight
nor slow (the slow list named the feeds queued behind a busy host). The
notices ride with the next outcome, or go on their own within ``NOTICE_DELAY``.

The socket lives in a directory only this user can enter: nobody else can
connect and hand the coordinator a pickle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import selectors
import shutil
import socket
import struct
import tempfile
import time
from typing import NamedTuple

from rssmania._poll.jobs import PollOutcome

_BATCH = struct.Struct(">Q")
_LENGTH = struct.Struct(">I")
_SEND_BUFFER = 4 * 1024 * 1024
"""Room for a few big feeds, so that a worker seldom waits for the coordinator to read."""
NOTICE_DELAY = 0.1
"""Seconds a start notice may wait for an outcome to ride with."""


class Started(NamedTuple):
    """Feeds whose request went out, each with when (``time.time()``)."""

    feeds: tuple[tuple[str, float], ...]


Item = PollOutcome | Started


class Outbox:
    """A batch's end of the channel; ``send`` says False once it cannot (the outcome is
    then the batch's to return)."""

    def __init__(self, address: str, batch: int) -> None:
        self._started: list[tuple[str, float]] = []
        self._flush: asyncio.TimerHandle | None = None
        self._socket: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with contextlib.suppress(OSError):
                self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
            self._socket.connect(address)
            self._socket.sendall(_BATCH.pack(batch))
        except OSError:
            self.close()

    def started(self, url: str) -> None:
        """A feed's request went out: said with the next outcome, or within NOTICE_DELAY.

        Called from the batch's event loop."""
        self._started.append((url, time.time()))
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(NOTICE_DELAY, self._send, None)

    def send(self, outcome: PollOutcome) -> bool:
        return self._send(outcome)

    def _send(self, outcome: PollOutcome | None) -> bool:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        # The outcome first: a request that another one's end let start is said
        # after that end, and a host is never seen with more than its cap in flight.
        items: list[Item] = [outcome] if outcome is not None else []
        if self._started:
            items.append(Started(tuple(self._started)))
            self._started.clear()
        if self._socket is None:
            return False
        frames: list[bytes] = []
        for item in items:
            data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
            frames += (_LENGTH.pack(len(data)), data)
        try:
            self._socket.sendall(b"".join(frames))
        except OSError:
            self.close()  # the coordinator went away: the rest is returned
            return False
        return True

    def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()


class _Stream:
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.batch: int | None = None

    def frames(self) -> list[Item]:
        out: list[Item] = []
        if self.batch is None:
            if len(self.buffer) < _BATCH.size:
                return out
            (self.batch,) = _BATCH.unpack_from(self.buffer)
            del self.buffer[: _BATCH.size]
        while len(self.buffer) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(self.buffer)
            if len(self.buffer) < _LENGTH.size + size:
                break
            data = bytes(self.buffer[_LENGTH.size : _LENGTH.size + size])
            del self.buffer[: _LENGTH.size + size]
            out.append(pickle.loads(data))
        return out


class Inbox:
    """The coordinator's end, for one round. ``wake()`` (thread-safe) ends a ``receive``
    early: a future's callback calls it when a batch ends."""

    def __init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="rssmania-")  # mode 0700
        self.address = os.path.join(self._folder, "outcomes")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.address)
        self._listener.listen(256)
        self._listener.setblocking(False)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._streams: dict[socket.socket, _Stream] = {}
        self._backlog: list[tuple[int, Item]] = []
        """Read by finish() for other batches than its own: receive() hands them on."""

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_write, b"!")

    def receive(self, timeout: float) -> list[tuple[int, Item]]:
        """What arrived, waiting up to ``timeout`` for anything (or a wake-up)."""
        out, self._backlog = self._backlog, []
        for key, _ in self._selector.select(0 if out else timeout):
            if key.fileobj is self._listener:
                self._accept()
            elif key.fileobj == self._wake_read:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_read, 4096):
                        pass
            else:
                assert isinstance(key.fileobj, socket.socket)
                out.extend(self._read(key.fileobj))
        return out

    def finish(self, batch: int) -> list[Item]:
        """Everything left of a batch that has ended: its worker returned or died, so
        its connection is at end of file (or was never made)."""
        self._accept()
        for sock, stream in list(self._streams.items()):
            if stream.batch is None:  # its first bytes tell whose it is
                self._backlog.extend(self._read(sock))
        for sock, stream in list(self._streams.items()):
            if stream.batch == batch:
                sock.setblocking(True)
                sock.settimeout(1.0)  # at end of file, or soon (a broken pool kills the rest)
                while sock in self._streams:
                    self._backlog.extend(self._read(sock, blocking=True))
        mine = [outcome for number, outcome in self._backlog if number == batch]
        self._backlog = [(number, o) for number, o in self._backlog if number != batch]
        return mine

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            self._streams[sock] = _Stream()
            self._selector.register(sock, selectors.EVENT_READ, None)

    def _read(self, sock: socket.socket, *, blocking: bool = False) -> list[tuple[int, Item]]:
        stream = self._streams[sock]
        ended = False
        while True:
            try:
                data = sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                ended = True
                break
            stream.buffer += data
            if blocking:
                break
        outcomes = stream.frames()
        if ended:
            # Whatever is left is a frame cut by a death: dropped, never half-read.
            self._selector.unregister(sock)
            sock.close()
            del self._streams[sock]
        number = stream.batch if stream.batch is not None else -1
        return [(number, item) for item in outcomes]

    def close(self) -> None:
        for sock in list(self._streams):
            sock.close()
        self._streams.clear()
        self._selector.close()
        self._listener.close()
        os.close(self._wake_read)
        os.close(self._wake_write)
        shutil.rmtree(self._folder, ignore_errors=True)
