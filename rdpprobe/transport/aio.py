"""The asyncio driver, for ``await rdpprobe.aprobe(...)`` and embedding.

It uses the loop's socket functions with the same MemoryBIO TLS pump as the blocking
driver, not asyncio's SSL transport (which allocates a 256 KiB buffer per connection).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from datetime import datetime, timezone

from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.actions import CloseConnection, Finished, SendBytes, StartTls
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.prober import Prober
from rdpprobe.transport.conduit import Conduit
from rdpprobe.transport.errors import observe
from rdpprobe.transport.resolve import resolve

RECV_SIZE = 65536
MAX_TURNS = 100_000


async def run(target: Target, config: ProbeConfig, keylog_path: str | None = None,
        deadline_at: float | None = None) -> ProbeResult:
    """Probe ``target`` once (one TCP connection) and return the classified result; the
    connection ends by ``deadline_at`` (``time.monotonic``) when given, the target's deadline."""
    prober = Prober(target, config, now=time.monotonic(), started_at=datetime.now(timezone.utc), rng=os.urandom,
                    deadline_at=deadline_at)
    sock = await _connect(prober, target, config)
    if sock is None:
        return prober.result
    try:
        return await _Drive(prober, sock, Conduit(config.legacy_tls, keylog_path)).run()
    finally:
        sock.close()


def _remaining(prober: Prober) -> float:
    timer = prober.get_timer()
    return 0.0 if timer is None else timer - time.monotonic()


async def _connect(prober: Prober, target: Target, config: ProbeConfig) -> socket.socket | None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(config.timeouts.connect):
            family, address = await loop.run_in_executor(None, resolve, target.address or target.host, target.port,
                                                         config.timeouts.connect, config.prefer)
    except (OSError, TimeoutError) as exc:
        prober.failed(observe(exc), time.monotonic())
        return None
    prober.resolved(address, time.monotonic())
    if prober.finished:  # stop_after=dns: no connection at all.
        return None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(max(0.001, _remaining(prober))):
            await loop.sock_connect(sock, (address, target.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, TimeoutError) as exc:
        sock.close()
        prober.failed(observe(exc), time.monotonic())
        return None
    prober.connection_made(time.monotonic())
    return sock


class _Drive:
    """The driver loop for one connected socket."""

    def __init__(self, prober: Prober, sock: socket.socket, conduit: Conduit) -> None:
        self.prober = prober
        self.sock = sock
        self.conduit = conduit
        self.loop = asyncio.get_running_loop()

    async def run(self) -> ProbeResult:
        for _ in range(MAX_TURNS):
            action = self.prober.next_action()
            if isinstance(action, Finished):
                return action.result
            try:
                await self._perform(action)
            except OSError as exc:
                self.prober.failed(observe(exc), time.monotonic())
        self.prober.failed(observe(RuntimeError("driver loop bound reached")), time.monotonic())
        return self.prober.result

    async def _perform(self, action: object) -> None:
        if isinstance(action, SendBytes):
            await self.loop.sock_sendall(self.sock, self.conduit.outgoing(action.data))
        elif isinstance(action, StartTls):
            await self._handshake(action)
        elif isinstance(action, CloseConnection):
            self.sock.close()
        elif action is None:
            raw = await self._recv()
            if raw is not None:
                data = self.conduit.incoming(raw)
                if data is not None:
                    self.prober.receive_data(data, time.monotonic())

    async def _recv(self) -> bytes | None:
        """Raw bytes, or None when the prober's timer fired first (it has been told)."""
        remaining = _remaining(self.prober)
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                return await self.loop.sock_recv(self.sock, RECV_SIZE)
        except TimeoutError:
            self.prober.handle_timer(time.monotonic())
            return None

    async def _handshake(self, action: StartTls) -> None:
        conduit = self.conduit
        conduit.start_tls(action.server_name, action.received)
        for _ in range(MAX_TURNS):
            try:
                done, out = conduit.handshake_step()
            except OSError as exc:
                self.prober.failed(conduit.handshake_failure(exc), time.monotonic())
                return
            if out:
                await self.loop.sock_sendall(self.sock, out)
            if done:
                self.prober.tls_established(conduit.tls_info(), time.monotonic())
                return
            raw = await self._recv()
            if raw is None:
                return
            assert conduit.tls is not None
            conduit.tls.feed(raw)
