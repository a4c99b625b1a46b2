"""One server connection: the acceptor plus the TLS layer, still without sockets.

``MockSession`` turns the acceptor's actions into transport operations (``Write``,
``Sleep``, ``Hangup``) and routes bytes through ``ServerTls`` once the acceptor asked for
TLS. The asyncio runner and the in-memory pair both drive this class, so they behave the
same byte for byte.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

from rdpprobe.mock.acceptor import Acceptor
from rdpprobe.mock.actions import Action, Close, Pause, Send, StartTls
from rdpprobe.mock.tlslayer import ServerTls, server_context
from rdpprobe.wire.describe import describe

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Write:
    """Write these bytes to the TCP stream."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait before the next operation."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Hangup:
    """Close the TCP connection (RST when ``reset``)."""

    reset: bool = False


Op = Write | Sleep | Hangup


class MockSession:
    """Drives one ``Acceptor`` over a byte stream; returns transport operations."""

    def __init__(self, acceptor: Acceptor, keylog_path: str | None = None) -> None:
        self.acceptor = acceptor
        self.keylog_path = keylog_path
        self.tls: ServerTls | None = None
        self.tls_error: ssl.SSLError | None = None
        self.closed = False

    def start(self) -> list[Op]:
        """Operations to perform right after the TCP connection was accepted."""
        return self._perform(self.acceptor.on_connect())

    def feed(self, data: bytes) -> list[Op]:
        """Bytes read from the TCP stream (``b""`` = the peer closed its side)."""
        if self.closed:
            return []
        if self.tls is None:
            return self._perform(self._receive(data))
        return self._feed_tls(data)

    def _receive(self, plain: bytes) -> list[Action]:
        """Hand the peer's bytes (plaintext) to the acceptor, logging what they are (``-v``)."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("received %s", describe(plain))
        return self.acceptor.receive(plain)

    def _feed_tls(self, data: bytes) -> list[Op]:
        assert self.tls is not None
        was_done = self.tls.handshake_done
        try:
            plain = self.tls.receive(data)
        except ssl.SSLError as exc:
            self.tls_error = exc
            self.acceptor.note(f"tls failed: {exc.reason or exc}")
            return self._flush() + self._hangup(False)
        ops = self._flush()
        if self.tls.handshake_done and not was_done:
            ops += self._perform(self.acceptor.tls_established())
        if plain and not self.closed:
            ops += self._perform(self._receive(plain))
        if not data and not self.closed:
            ops += self._perform(self._receive(b""))
        return ops

    def _perform(self, actions: list[Action]) -> list[Op]:
        ops: list[Op] = []
        for action in actions:
            if self.closed:
                break
            ops += self._one(action)
        return ops

    def _one(self, action: Action) -> list[Op]:
        if isinstance(action, Send):
            return self._send(action.data)
        if isinstance(action, Pause):
            return [Sleep(action.seconds)]
        if isinstance(action, StartTls):
            self.tls = ServerTls(server_context(action.bundle, action.tls_version, self.keylog_path,
                                                action.ciphers, action.client_order))
            return []
        assert isinstance(action, Close)
        return self._hangup(action.reset)

    def _send(self, data: bytes) -> list[Op]:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("sent %s", describe(data))
        if self.tls is None:
            return [Write(data)]
        self.tls.send(data)
        return self._flush()

    def _flush(self) -> list[Op]:
        if self.tls is None:
            return []
        pending = self.tls.pending()
        return [Write(pending)] if pending else []

    def _hangup(self, reset: bool) -> list[Op]:
        self.closed = True
        return [Hangup(reset)]
