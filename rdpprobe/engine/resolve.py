"""Name resolution off the engine's thread: a small thread pool and a wake-up socket pair.

Scans are mostly of address literals, which never get here. A host name is resolved in a
worker thread; the answer is queued and the engine's poller is woken through a socket pair,
so the loop itself never blocks on the system resolver.
"""

from __future__ import annotations

import socket
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from rdpprobe.transport.resolve import resolve

#: Resolver threads; lookups beyond this wait in the pool's queue.
RESOLVER_THREADS = 8
#: Bytes drained from the wake-up socket per readiness event.
WAKE_DRAIN = 4096

Answer = tuple[Any, "tuple[socket.AddressFamily, str] | None", "BaseException | None"]


class Resolver:
    """Resolves names in threads; ``answers()`` hands finished lookups to the loop."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._done: deque[Answer] = deque()
        self.wake_reader, self._wake_writer = socket.socketpair()
        self.wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)

    def submit(self, token: Any, host: str, port: int, timeout: float) -> None:
        """Look ``host`` up; the answer comes back with ``token``."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="rdpprobe-resolve")
        future = self._pool.submit(resolve, host, port, timeout)
        future.add_done_callback(lambda done: self._finished(token, done))

    def _finished(self, token: Any, future: Future[tuple[socket.AddressFamily, str]]) -> None:
        exc = future.exception()
        self._done.append((token, None if exc else future.result(), exc))
        try:
            self._wake_writer.send(b"\0")
        except OSError:  # A full wake-up pipe already guarantees a wake-up.
            pass

    def answers(self) -> list[Answer]:
        """The lookups finished since the last call (drains the wake-up socket)."""
        try:
            self.wake_reader.recv(WAKE_DRAIN)
        except OSError:
            pass
        out = []
        while self._done:
            out.append(self._done.popleft())
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.wake_reader.close()
        self._wake_writer.close()
