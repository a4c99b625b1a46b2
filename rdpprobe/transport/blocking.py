"""The blocking driver: one probe over a plain socket, for ``rdpprobe.probe``.

The loop is the whole driver: drain the prober's actions, then read until its timer.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timezone

from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.actions import CloseConnection, Finished, SendBytes, StartTls
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.prober import Prober, ProbeInterrupted
from rdpprobe.transport.conduit import Conduit
from rdpprobe.transport.errors import observe
from rdpprobe.transport.resolve import resolve

RECV_SIZE = 65536
#: Upper bound on loop turns, far above any real exchange: a probe can never spin forever.
MAX_TURNS = 100_000


def run(target: Target, config: ProbeConfig, keylog_path: str | None = None,
        deadline_at: float | None = None) -> ProbeResult:
    """Probe ``target`` once (one TCP connection) and return the classified result; the
    connection ends by ``deadline_at`` (``time.monotonic``) when given, the target's deadline.
    Ctrl-C raises ``ProbeInterrupted`` with how far the probe had got."""
    prober = Prober(target, config, now=time.monotonic(), started_at=datetime.now(timezone.utc), rng=os.urandom,
                    deadline_at=deadline_at)
    sock: socket.socket | None = None
    try:
        sock = _connect(prober, target, config)
        if sock is not None:
            return _drive(prober, sock, Conduit(config.legacy_tls, keylog_path))
        return prober.result
    except ProbeInterrupted:
        raise
    except KeyboardInterrupt as exc:
        raise ProbeInterrupted(prober.so_far(time.monotonic())) from exc
    finally:
        if sock is not None:
            sock.close()


def _connect(prober: Prober, target: Target, config: ProbeConfig) -> socket.socket | None:
    """The connected socket; None when the probe ended first (a failure, or a stop after dns)."""
    try:
        family, address = resolve(target.address or target.host, target.port, config.timeouts.connect,
                                  config.prefer)
        prober.resolved(address, time.monotonic())
        if prober.finished:
            return None
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        prober.failed(observe(exc), time.monotonic())
        return None
    try:
        sock.settimeout(max(0.001, _remaining(prober)))
        sock.connect((address, target.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:
        sock.close()
        prober.failed(observe(exc), time.monotonic())
        return None
    prober.connection_made(time.monotonic())
    return sock


def _remaining(prober: Prober) -> float:
    timer = prober.get_timer()
    return 0.0 if timer is None else timer - time.monotonic()


def _drive(prober: Prober, sock: socket.socket, conduit: Conduit) -> ProbeResult:
    for _ in range(MAX_TURNS):
        action = prober.next_action()
        if isinstance(action, Finished):
            return action.result
        try:
            if isinstance(action, SendBytes):
                sock.sendall(conduit.outgoing(action.data))
            elif isinstance(action, StartTls):
                _handshake(prober, sock, conduit, action)
            elif isinstance(action, CloseConnection):
                sock.close()
            elif action is None:
                _read(prober, sock, conduit)
        except OSError as exc:
            prober.failed(observe(exc), time.monotonic())
    prober.failed(observe(RuntimeError("driver loop bound reached")), time.monotonic())
    return prober.result


def _read(prober: Prober, sock: socket.socket, conduit: Conduit) -> None:
    raw = _recv(prober, sock)
    if raw is None:
        return
    data = conduit.incoming(raw)
    if data is not None:
        prober.receive_data(data, time.monotonic())


def _recv(prober: Prober, sock: socket.socket) -> bytes | None:
    """Raw bytes, or None when the prober's timer fired first (it has been told)."""
    remaining = _remaining(prober)
    try:
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        return sock.recv(RECV_SIZE)
    except TimeoutError:
        prober.handle_timer(time.monotonic())
        return None


def _handshake(prober: Prober, sock: socket.socket, conduit: Conduit, action: StartTls) -> None:
    conduit.start_tls(action.server_name, action.received)
    for _ in range(MAX_TURNS):
        try:
            done, out = conduit.handshake_step()
        except OSError as exc:
            _send_quietly(sock, conduit)
            prober.failed(conduit.handshake_failure(exc), time.monotonic())
            return
        if out:
            sock.sendall(out)
        if done:
            prober.tls_established(conduit.tls_info(), time.monotonic())
            return
        raw = _recv(prober, sock)
        if raw is None:
            return
        assert conduit.tls is not None
        conduit.tls.feed(raw)


def _send_quietly(sock: socket.socket, conduit: Conduit) -> None:
    """Flush a pending TLS alert of our own; the connection is failing anyway."""
    try:
        assert conduit.tls is not None
        pending = conduit.tls.data_to_send()
        if pending:
            sock.sendall(pending)
    except OSError:
        pass
