"""One TCP connection of a probe, driven by the engine's loop: the third driver of ``Prober``.

Rules of this module:
- every entry point (``open``, ``on_event``, ``on_timer``, ``on_resolved``) ends by draining
  the prober's actions, so the prober's outbox is always empty between events;
- a shortage of local resources (EMFILE, ENOBUFS, no ephemeral port) raises
  ``LocalResourceError`` out of the entry point: the engine closes the link and retries the
  target later; it is never reported as a fact about the target;
- with an edge-triggered poller, a reader reads until a short read (the socket is drained).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from typing import TYPE_CHECKING

from rdpprobe.sequence.actions import CloseConnection, SendBytes, StartTls
from rdpprobe.sequence.prober import Prober
from rdpprobe.signals import Observed
from rdpprobe.transport.errors import LocalResourceError, observe
from rdpprobe.engine.limits import LOCAL_ERRNOS
from rdpprobe.addresses import sni_name
from rdpprobe.engine.tlsflavor import TlsFlavor, handshake_failure

if TYPE_CHECKING:
    from rdpprobe.engine.core import Engine, Job
    from rdpprobe.sequence.quick import QuickProber
    from rdpprobe.transport.tls import TlsPump

#: Bytes per ``recv_into``; the engine shares one buffer of this size across all links.
RECV_SIZE = 65536
#: SO_ERROR values of a connection that was established and then reset by the peer.
RESET_AFTER_CONNECT = frozenset({errno.ECONNRESET, errno.EPIPE})
#: Where the platform has it (Linux), SOCK_NONBLOCK makes the socket non-blocking as it is
#: created, saving the system call that ``setblocking(False)`` makes afterwards.
SOCK_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
NONBLOCKING_STREAM = socket.SOCK_STREAM | SOCK_NONBLOCK
#: Reads per readiness event before the link yields to the others (a flood cannot starve them).
MAX_READS_PER_EVENT = 16


def local_observe(exc: BaseException) -> Observed:
    """``errors.observe``, with every local shortage raised as ``LocalResourceError``."""
    if isinstance(exc, OSError) and exc.errno in LOCAL_ERRNOS:
        raise LocalResourceError(errno.errorcode.get(exc.errno or 0, "ENOBUFS")) from exc
    return observe(exc)


class Link:
    """A socket, an optional TLS pump and the prober they serve."""

    __slots__ = ("engine", "job", "prober", "sock", "tls", "flavor", "pending", "connecting", "handshaking", "deadline", "armed", "closed")

    def __init__(self, engine: Engine, job: Job, prober: Prober | QuickProber) -> None:
        self.engine = engine
        self.job = job
        self.prober = prober
        self.sock: socket.socket | None = None
        self.tls: TlsPump | None = None
        self.flavor: TlsFlavor | None = None
        """The TLS library of ``tls``: the scan's, or the audit's for an audit offer."""
        self.pending = b""
        self.connecting = False
        self.handshaking = False
        self.deadline: float | None = None
        """When the prober wants ``on_timer`` (its ``get_timer()``), or None."""
        self.armed: float | None = None
        """When the engine's timer heap entry for this link comes due, or None (``Engine.arm``)."""
        self.closed = False

    # -- entry points --------------------------------------------------------------------

    def open(self, family: int, address: str, now: float) -> None:
        """Resolved: create the socket and start a non-blocking connect."""
        prober = self.prober
        prober.resolved(address, now)
        if prober.finished:  # --stop-after dns: no connection at all.
            self.drain(now)
            return
        try:
            sock = socket.socket(family, NONBLOCKING_STREAM)
        except OSError as exc:
            prober.failed(local_observe(exc), now)
            self.drain(now)
            return
        self.sock = sock
        self.engine.attach(self, sock)
        if not SOCK_NONBLOCK:
            sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex((address, self.job.target.port))
        if code == errno.EINPROGRESS:
            self.connecting = True
            self.engine.poller.add(sock)
        elif code == 0:
            self.engine.poller.add(sock)
            self._connected(now)
        else:
            prober.failed(local_observe(OSError(code, os.strerror(code))), now)
        self.drain(now)

    def on_resolve_failed(self, exc: BaseException, now: float) -> None:
        self.prober.failed(local_observe(exc), now)
        self.drain(now)

    def on_event(self, mask: int, now: float) -> None:
        """Readiness on the socket."""
        poller = self.engine.poller
        if self.connecting:
            self._finish_connect(now)
            # The event that says "connected" can also carry the peer's first bytes or its FIN
            # (a server that closes at once): with an edge-triggered poller it is the only
            # event for them. The Connection Request goes out first, as in the other drivers.
            self.drain(now)
            if self.closed:
                return
        if mask & poller.READ:
            self._read(now, bool(mask & poller.HANGUP))
        if self.pending and not self.closed and mask & poller.WRITE:
            self._write_raw(b"", now)
        self.drain(now)

    def on_timer(self, now: float) -> None:
        self.prober.handle_timer(now)
        self.drain(now)

    # -- the prober's actions ------------------------------------------------------------

    def drain(self, now: float) -> None:
        """Perform the prober's queued actions in order; re-arm its timer."""
        prober = self.prober
        while True:
            action = prober.next_action()
            if action is None:
                break
            kind = type(action)
            if kind is SendBytes:
                self._send(action.data, now)  # type: ignore[union-attr]
            elif kind is StartTls:
                self._start_tls(action.server_name, action.received, now)  # type: ignore[union-attr]
            elif kind is CloseConnection:
                self.close()
            else:
                self.close()
                self.engine.connection_done(self, action.result)  # type: ignore[union-attr]
                return
        timer = prober.get_timer()
        if timer != self.deadline:
            self.deadline = timer
            if timer is not None:
                self.engine.arm(timer, self)

    def close(self) -> None:
        """Close the socket and let go of the TLS session at once.

        A closed link may stay referenced by the engine's timer heap until its entry comes
        due; it must not keep an OpenSSL connection alive that long.
        """
        if self.closed:
            return
        self.closed = True
        self.tls = None
        sock = self.sock
        if sock is not None:
            self.engine.detach(self, sock)
            sock.close()

    # -- internals -----------------------------------------------------------------------

    def _connected(self, now: float) -> None:
        self.connecting = False
        self.engine.poller.want_write(self.sock, False)  # type: ignore[arg-type]
        self.prober.connection_made(now)

    def _finish_connect(self, now: float) -> None:
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # type: ignore[union-attr]
        if code in RESET_AFTER_CONNECT:
            # The handshake completed and the peer reset before this event was handled:
            # the blocking driver would see the reset in connection initiation, so do we.
            self._connected(now)
        if code:
            self.connecting = False
            self.prober.failed(local_observe(OSError(code, os.strerror(code))), now)
        else:
            self._connected(now)

    def _read(self, now: float, hangup: bool = False) -> None:
        """Read until a short read, or until end of stream when the peer has hung up.

        With an edge-triggered poller a FIN that arrived with the last data raises no
        further event, so after a hang-up the reader goes on to the ``b""`` itself.
        """
        sock, engine = self.sock, self.engine
        assert sock is not None
        for _ in range(MAX_READS_PER_EVENT):
            try:
                size = sock.recv_into(engine.buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.prober.failed(local_observe(exc), now)
                return
            self._incoming(engine.view[:size].tobytes(), now)
            # What this read asked for (a StartTls above all) is done before the next read,
            # as the other drivers do: an end of stream read next then reaches the TLS pump.
            self.drain(now)
            if self.closed or not size or not engine.poller.edge_triggered or (size < RECV_SIZE and not hangup):
                return
        engine.read_again(self)

    def _incoming(self, raw: bytes, now: float) -> None:
        tls = self.tls
        if tls is None:
            self.prober.receive_data(raw, now)
            return
        tls.feed(raw)
        if self.handshaking:
            self._handshake_step(now)
            return
        try:
            data = tls.read()
        except self.flavor.errors:  # type: ignore[union-attr]
            data = b""
        if data is None and not raw:
            data = b""
        if data is not None:
            self.prober.receive_data(data, now)

    def _send(self, data: bytes, now: float) -> None:
        tls = self.tls
        if tls is not None:
            flavor = self.flavor
            assert flavor is not None  # Set with ``tls`` (``_start_tls``).
            try:
                tls.write(data)
            except flavor.errors as exc:
                # The peer closed the TLS stream under us (a FIN after a whole record): the
                # blocking driver meets the same error in ``sendall`` and reports it alike.
                self.prober.failed(flavor.observe(exc), now)
                return
            data = tls.data_to_send()
        self._write_raw(data, now)

    def _write_raw(self, data: bytes, now: float) -> None:
        if self.closed or self.sock is None:
            return
        data = self.pending + data if self.pending else data
        try:
            sent = self.sock.send(data) if data else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self.pending = b""
            self.prober.failed(local_observe(exc), now)
            return
        was_pending = bool(self.pending)
        self.pending = data[sent:]
        if bool(self.pending) != was_pending:
            self.engine.poller.want_write(self.sock, bool(self.pending))

    def _send_quietly(self, data: bytes) -> None:
        """Flush our own TLS alert; the handshake failed, so a failing send adds nothing (as
        the blocking driver's ``_send_quietly``)."""
        sock = self.sock
        if data and not self.closed and sock is not None:
            with contextlib.suppress(OSError):
                sock.send(self.pending + data)
            self.pending = b""

    def _start_tls(self, server_name: str | None, received: bytes, now: float) -> None:
        """Begin TLS; ``received`` is what came after the Connection Confirm in its read."""
        name = None if server_name == self.job.address else sni_name(server_name)
        offer = self.job.config.tls_offer
        if offer is None:
            self.flavor = self.engine.tls
            tls = self.tls = self.flavor.make_pump(name)
        else:
            self.flavor = self.engine.audit_tls
            make = self.flavor.make_offer_pump
            assert make is not None  # The audit's flavor always has one.
            tls = self.tls = make(offer, name)
        if received:
            tls.feed(received)  # The start of the server's TLS stream (or its alert, or garbage).
        self.handshaking = True
        self._handshake_step(now)

    def _handshake_step(self, now: float) -> None:
        tls = self.tls
        assert tls is not None
        flavor = self.flavor
        assert flavor is not None
        try:
            done = tls.handshake()
        except flavor.errors as exc:
            self.handshaking = False
            self._send_quietly(tls.data_to_send())
            self.prober.failed(handshake_failure(tls, flavor.observe(exc)), now)
            return
        out = tls.data_to_send()
        if out:
            self._write_raw(out, now)
        if done:
            self.handshaking = False
            if not self.prober.finished:  # A reset can meet our Finished on its way out.
                self.prober.tls_established(tls.info(), now)
            tls.trim()


class LinkTable:
    """The engine's open links by socket descriptor.

    Descriptors are small and dense, so the table is a list indexed by descriptor: a parked
    link costs one pointer here, where a dict would add an entry and an int key per link.
    """

    __slots__ = ("_slots", "_count")

    def __init__(self) -> None:
        self._slots: list[Link | None] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, fd: int, link: Link) -> None:
        slots = self._slots
        if fd >= len(slots):
            slots.extend([None] * (fd + 1 - len(slots)))
        if slots[fd] is None:
            self._count += 1
        slots[fd] = link

    def remove(self, fd: int, link: Link) -> None:
        """Forget ``link`` under ``fd``; a descriptor that now names another link is left alone."""
        slots = self._slots
        if 0 <= fd < len(slots) and slots[fd] is link:
            slots[fd] = None
            self._count -= 1

    def get(self, fd: int) -> Link | None:
        slots = self._slots
        return slots[fd] if 0 <= fd < len(slots) else None

    def links(self) -> list[Link]:
        """The open links, as a list the caller may close them from."""
        return [link for link in self._slots if link is not None]
