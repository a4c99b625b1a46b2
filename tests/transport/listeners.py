"""Tiny loopback servers that misbehave in one precise way, for driver tests."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator

Behaviour = Callable[[socket.socket], None]
#: How long a behaviour may hold a connection; every wait in this module is bounded.
HOLD_SECONDS = 3.0


def close_at_once(conn: socket.socket) -> None:
    conn.recv(4096)


def reset_at_once(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def stay_silent(conn: socket.socket) -> None:
    conn.settimeout(HOLD_SECONDS)
    with contextlib.suppress(OSError):
        while conn.recv(4096):
            pass


def reply(data: bytes) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.sendall(data)
        stay_silent(conn)

    return behaviour


def trickle(data: bytes, gap: float) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        conn.recv(4096)
        for byte in data:
            conn.sendall(bytes([byte]))
            threading.Event().wait(gap)

    return behaviour


@contextlib.contextmanager
def listener(behaviour: Behaviour, host: str = "127.0.0.1") -> Iterator[int]:
    """A server on an ephemeral port that applies ``behaviour`` to each connection."""
    server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    server.bind((host, 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=_handle, args=(behaviour, conn), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        server.close()


def _handle(behaviour: Behaviour, conn: socket.socket) -> None:
    conn.settimeout(HOLD_SECONDS)
    try:
        behaviour(conn)
    except OSError:
        pass
    finally:
        conn.close()


def closed_port(host: str = "127.0.0.1") -> int:
    """A loopback port on ``host`` with nothing listening (bound, then released)."""
    return closed_ports(1, host)[0]


def closed_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` different loopback ports with nothing listening: all bound at once, then
    released, since ports bound and released one by one may come back the same."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET))
                   for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
