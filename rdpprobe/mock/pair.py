"""An in-memory client <-> mock-server pump: no sockets, no event loop, no real sleeping.

``MockPair`` holds a ``MockSession`` (the same object the socket runner drives) and gives the
client side a byte-stream API: ``send``, ``receive``, ``start_tls`` (TLS through
``ssl.MemoryBIO`` on the client side as well), ``close``. Server pauses are not slept: they
add to ``elapsed`` so tests stay fast and deterministic, like h11's ``ConnectionPair`` and
aioquic's ``roundtrip()``.

Typical use::

    pair = MockPair("windows-nla", user="alice", password="secret")
    pair.send(connection_request_bytes)
    confirm = pair.receive()
    pair.start_tls()
    pair.send(ts_request_bytes)
    answer = pair.receive()
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from rdpprobe.mock.acceptor import Acceptor, Record, Rng
from rdpprobe.mock.nla import Credentials
from rdpprobe.mock.scenarios import Scenario, get_scenario
from rdpprobe.mock.session import Hangup, MockSession, Sleep, Write
from rdpprobe.mock.tlslayer import allow_legacy, read_available

MAX_HANDSHAKE_ROUNDS = 16  # A TLS handshake needs at most a handful of flights.


def client_context() -> ssl.SSLContext:
    """A client context that evaluates nothing: any certificate, TLS 1.0 and up."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    allow_legacy(ctx)
    return ctx


class MockPair:
    """A client byte stream wired straight into one mock server connection."""

    def __init__(self, scenario: Scenario | str | Path, user: str | None = None,
                 password: str | None = None, domain: str | None = None,
                 rng: Rng | None = None) -> None:
        creds = Credentials.given(user, password, domain)
        self.acceptor = Acceptor(get_scenario(scenario), creds, rng or os.urandom)
        self.session = MockSession(self.acceptor)
        self.elapsed = 0.0
        self.server_closed = False
        self.reset = False
        self._inbox = bytearray()  # Raw bytes from the server, not yet read by the client.
        self._tls: ssl.SSLObject | None = None
        self._tls_in = ssl.MemoryBIO()
        self._tls_out = ssl.MemoryBIO()
        self._apply(self.session.start())

    @property
    def record(self) -> Record:
        return self.acceptor.record()

    def _apply(self, ops: list[Write | Sleep | Hangup]) -> None:
        for op in ops:
            if isinstance(op, Write):
                self._inbox += op.data
            elif isinstance(op, Sleep):
                self.elapsed += op.seconds
            else:
                self.server_closed = True
                self.reset = op.reset

    def _to_server(self, raw: bytes) -> None:
        if not self.server_closed:
            self._apply(self.session.feed(raw))

    # -- plain or TLS byte stream -----------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Client -> server (through TLS once ``start_tls`` succeeded)."""
        if self._tls is None:
            self._to_server(data)
            return
        self._tls.write(data)
        self._to_server(self._tls_out.read())

    def receive(self) -> bytes:
        """Everything the server has sent so far (decrypted once TLS is up)."""
        if self._tls is None:
            data, self._inbox = bytes(self._inbox), bytearray()
            return data
        self._tls_in.write(bytes(self._inbox))
        self._inbox.clear()
        return read_available(self._tls)

    def start_tls(self, context: ssl.SSLContext | None = None) -> ssl.SSLObject:
        """Run the client side of the TLS handshake against the mock; raises ``ssl.SSLError``."""
        obj = (context or client_context()).wrap_bio(self._tls_in, self._tls_out, server_side=False)
        for _ in range(MAX_HANDSHAKE_ROUNDS):
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                self._to_server(self._tls_out.read())
                if self.server_closed and not self._inbox:
                    self._tls_in.write_eof()
                self._tls_in.write(bytes(self._inbox))
                self._inbox.clear()
                continue
            self._to_server(self._tls_out.read())
            self._tls = obj
            return obj
        raise ssl.SSLError("tls handshake did not finish")

    def close(self) -> None:
        """The client closes its side (EOF to the server)."""
        self._to_server(b"")
