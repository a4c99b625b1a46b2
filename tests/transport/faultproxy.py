"""A loopback TCP proxy that relays a real server and cuts its stream at a chosen byte.

It sits between a probe and a server (the mock, usually), forwards both ways and counts the
bytes the server sent. With ``cut_at`` it forwards exactly that many, then ends the client's
connection with a reset (RST) or a half-close (FIN, the proxy still reading). Without it, it
records the conversation: ``bursts`` says where the server's stream paused for the client,
the offsets at which a fault changes what a probe sees most.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

#: How long one relayed connection may last; every wait here is bounded.
HOLD_SECONDS = 5.0
RELAY_CHUNK = 65536
POLL_SECONDS = 0.05
#: Relay turns per connection, far above any conversation's chunks.
MAX_TURNS = 100_000
ENDINGS = ("reset", "close")


@dataclass
class Transcript:
    """What one relayed connection carried: (from server?, bytes) in order of arrival."""

    chunks: list[tuple[bool, bytes]] = field(default_factory=list)

    @property
    def server_bytes(self) -> int:
        return sum(len(data) for from_server, data in self.chunks if from_server)

    def bursts(self) -> list[int]:
        """Offsets in the server's stream at which it waited for the client to speak."""
        offsets, sent = [], 0
        for from_server, data in self.chunks:
            if from_server:
                sent += len(data)
            elif sent and (not offsets or offsets[-1] != sent):
                offsets.append(sent)
        return offsets


def _end(conn: socket.socket, ending: str) -> None:
    if ending == "reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        return
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, upstream: tuple[str, int], cut_at: int | None, ending: str,
           transcript: Transcript) -> None:
    """Relay one connection until either side closes, the cut, or ``HOLD_SECONDS``."""
    try:
        server = socket.create_connection(upstream, timeout=HOLD_SECONDS)
    except OSError:
        client.close()
        return
    sent = 0
    cut = False
    ends = [client, server]
    with contextlib.ExitStack() as stack:
        stack.callback(server.close)
        stack.callback(client.close)
        deadline = time.monotonic() + HOLD_SECONDS
        for _ in range(MAX_TURNS):
            if time.monotonic() > deadline:
                return
            readable, _, _ = select.select(ends, [], [], POLL_SECONDS)
            for sock in readable:
                try:
                    data = sock.recv(RELAY_CHUNK)
                except OSError:
                    return
                if not data:
                    return
                if sock is client:
                    transcript.chunks.append((False, data))
                    if not cut:
                        with contextlib.suppress(OSError):
                            server.sendall(data)
                    continue
                if cut:
                    continue
                if cut_at is not None and sent + len(data) >= cut_at:
                    data = data[: cut_at - sent]
                    cut = True
                transcript.chunks.append((True, data))
                sent += len(data)
                try:
                    client.sendall(data)
                except OSError:
                    return
                if cut:
                    _end(client, ending)
                    if ending == "reset":
                        return
                    ends = [client]


@contextlib.contextmanager
def proxy(upstream: tuple[str, int], cut_at: int | None = None, ending: str = "reset") -> Iterator[tuple[int, list[Transcript]]]:
    """A proxy on an ephemeral loopback port; yields (its port, one transcript per connection).

    ``cut_at`` of 0 ends each connection before the server's first byte.
    """
    if ending not in ENDINGS:
        raise ValueError(f"ending must be one of {ENDINGS}")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(POLL_SECONDS)
    stop = threading.Event()
    transcripts: list[Transcript] = []
    workers: list[threading.Thread] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            transcripts.append(Transcript())
            if cut_at == 0:
                _end(conn, ending)
                if ending == "close":
                    conn.close()
                continue
            worker = threading.Thread(target=_relay, args=(conn, upstream, cut_at, ending, transcripts[-1]),
                                      daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=serve, daemon=True)
    acceptor.start()
    try:
        yield int(listener.getsockname()[1]), transcripts
    finally:
        stop.set()
        acceptor.join(HOLD_SECONDS)
        for worker in workers:
            worker.join(HOLD_SECONDS)
        listener.close()
