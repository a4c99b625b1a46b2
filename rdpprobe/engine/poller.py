"""Readiness notification for the engine: edge-triggered epoll, or ``selectors`` elsewhere.

Both pollers answer ``poll(timeout)`` with ``(fd, mask)`` pairs and expose the ``READ`` and
``WRITE`` bits of that mask. With epoll a socket is registered once for both directions,
edge-triggered, so the engine never re-arms it (one ``epoll_ctl`` per connection); its
readers therefore read until a short read. The ``selectors`` fallback is level-triggered
and asks for write readiness only while the engine has something to write.
"""

from __future__ import annotations

import select
import selectors
import socket

#: Events returned per poll call at most; the rest wait for the next call (which returns at
#: once). Each event is a fresh (fd, mask) tuple: a thousand of them at once leave pages
#: behind in the small-object allocator that a scan of parked probes then keeps resident.
MAX_EVENTS = 256


class EpollPoller:
    """Edge-triggered epoll (Linux)."""

    READ = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP
    WRITE = select.EPOLLOUT
    HANGUP = select.EPOLLHUP | select.EPOLLRDHUP
    edge_triggered = True
    _ALL = select.EPOLLIN | select.EPOLLOUT | select.EPOLLRDHUP | select.EPOLLET

    def __init__(self) -> None:
        self._epoll = select.epoll()

    def add(self, sock: socket.socket) -> None:
        self._epoll.register(sock.fileno(), self._ALL)

    def add_reader(self, sock: socket.socket) -> None:
        """Level-triggered read interest (for the engine's own wake-up socket)."""
        self._epoll.register(sock.fileno(), select.EPOLLIN)

    def want_write(self, sock: socket.socket, wanted: bool) -> None:
        """Edge-triggered registration already covers writes."""

    def forget(self, sock: socket.socket) -> None:
        """Closing the socket removes it from the epoll set."""

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        return self._epoll.poll(-1 if timeout is None else timeout, MAX_EVENTS)

    def close(self) -> None:
        self._epoll.close()


class SelectorPoller:
    """Level-triggered ``selectors.DefaultSelector`` (kqueue, poll, select)."""

    READ = selectors.EVENT_READ
    WRITE = selectors.EVENT_WRITE
    HANGUP = 0
    edge_triggered = False

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def add(self, sock: socket.socket) -> None:
        self._selector.register(sock, self.READ | self.WRITE)

    def add_reader(self, sock: socket.socket) -> None:
        self._selector.register(sock, self.READ)

    def want_write(self, sock: socket.socket, wanted: bool) -> None:
        self._selector.modify(sock, self.READ | self.WRITE if wanted else self.READ)

    def forget(self, sock: socket.socket) -> None:
        self._selector.unregister(sock)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        return [(key.fd, mask) for key, mask in self._selector.select(timeout)]

    def close(self) -> None:
        self._selector.close()


Poller = EpollPoller | SelectorPoller


def make_poller(prefer_epoll: bool = True) -> Poller:
    """Edge-triggered epoll where the platform has it, else the ``selectors`` default."""
    if prefer_epoll and hasattr(select, "epoll"):
        return EpollPoller()
    return SelectorPoller()
