"""Tiny loopback servers that misbehave in one precise way, for driver tests."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

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


FIRST_UNPRIVILEGED_PORT = 1024
DEFAULT_EPHEMERAL_START = 32768  # Linux's default ip_local_port_range starts here.
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
CLOSED_PORT_ATTEMPTS = 1000  # Draws before giving up: a busy host still has thousands free.


def closed_port(host: str = "127.0.0.1") -> int:
    """A loopback port on ``host`` with nothing listening (see ``closed_ports``)."""
    return closed_ports(1, host)[0]


def closed_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` different loopback ports with nothing listening, all bound at once and then
    released. They are drawn below the kernel's ephemeral range, from which every server a
    test starts on port 0 (and every client's own port) is taken, so none of those can land
    on a port a test counts on being closed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    draw = random.Random()
    ports: list[int] = []
    with contextlib.ExitStack() as held:
        for _ in range(CLOSED_PORT_ATTEMPTS):
            if len(ports) == count:
                return ports
            sock = held.enter_context(socket.socket(family))
            port = draw.randrange(FIRST_UNPRIVILEGED_PORT, _ephemeral_start())
            try:
                sock.bind((host, port))
            except OSError:  # In use on this host: draw again.
                continue
            ports.append(port)
    raise RuntimeError(f"no {count} free ports below the ephemeral range on {host}")


def _ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (``ip_local_port_range``)."""
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return DEFAULT_EPHEMERAL_START
