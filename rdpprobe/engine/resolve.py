"""Name resolution off the engine's thread: a small thread pool and a wake-up socket pair.

Scans are mostly of address literals, which never get here. A host name is resolved in a
worker thread; the answer is queued and the engine's poller is woken through a socket pair,
so the loop itself never blocks on the system resolver.

A name is looked up once per scan: its targets on other ports (``-p``) wait for the lookup
in flight or take its answer, so every port of a name is probed at the same address. What a
lookup says of the name (an address, or that it does not resolve) is kept for the last
``ANSWER_CACHE_SIZE`` names; a local shortage (EMFILE …) says nothing of it and is not kept.
"""

from __future__ import annotations

import socket
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from rdpprobe.transport.resolve import resolve

#: Resolver threads; lookups beyond this wait in the pool's queue.
RESOLVER_THREADS = 8
#: Bytes drained from the wake-up socket per readiness event.
WAKE_DRAIN = 4096
#: Names whose answers are kept for their later targets; the least recently used goes first.
ANSWER_CACHE_SIZE = 4096

Lookup = tuple["tuple[socket.AddressFamily, str] | None", "BaseException | None"]
Answer = tuple[Any, "tuple[socket.AddressFamily, str] | None", "BaseException | None"]


class Resolver:
    """Resolves names in threads; ``answers()`` hands finished lookups to the loop.

    Only the pool's threads call ``_finished``; everything else runs on the engine's thread.
    """

    def __init__(self, prefer: str | None = None) -> None:
        self._prefer = prefer  # ``ProbeConfig.prefer``: one family for the whole scan.
        self._pool: ThreadPoolExecutor | None = None
        self._done: deque[tuple[str, Lookup]] = deque()
        self._waiting: dict[str, list[Any]] = {}
        self._known: OrderedDict[str, Lookup] = OrderedDict()
        self._ready: list[Answer] = []
        self.wake_reader, self._wake_writer = socket.socketpair()
        self.wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)

    def submit(self, token: Any, host: str, port: int, timeout: float) -> None:
        """Look ``host`` up; the answer comes back with ``token``."""
        known = self._known.get(host)
        if known is not None:
            self._known.move_to_end(host)
            self._ready.append((token, *known))
            self._wake()
            return
        waiting = self._waiting.get(host)
        if waiting is not None:
            waiting.append(token)
            return
        self._waiting[host] = [token]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="rdpprobe-resolve")
        future = self._pool.submit(resolve, host, port, timeout, self._prefer)
        future.add_done_callback(lambda done: self._finished(host, done))

    def _finished(self, host: str, future: Future[tuple[socket.AddressFamily, str]]) -> None:
        exc = future.exception()
        self._done.append((host, (None if exc else future.result(), exc)))
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_writer.send(b"\0")
        except OSError:  # A full wake-up pipe already guarantees a wake-up.
            pass

    def answers(self) -> list[Answer]:
        """The lookups finished since the last call, one per target (drains the wake-up socket)."""
        try:
            self.wake_reader.recv(WAKE_DRAIN)
        except OSError:
            pass
        out, self._ready = self._ready, []
        while self._done:
            host, lookup = self._done.popleft()
            if lookup[1] is None or isinstance(lookup[1], socket.gaierror):
                self._remember(host, lookup)
            out += [(token, *lookup) for token in self._waiting.pop(host, ())]
        return out

    def _remember(self, host: str, lookup: Lookup) -> None:
        self._known[host] = lookup
        if len(self._known) > ANSWER_CACHE_SIZE:
            self._known.popitem(last=False)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.wake_reader.close()
        self._wake_writer.close()
