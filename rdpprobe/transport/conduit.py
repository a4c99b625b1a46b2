"""Byte plumbing shared by the drivers: plaintext before TLS, a ``TlsPump`` after.

A driver reads raw bytes from its socket and passes them through ``incoming``; it sends
what ``outgoing`` returns. During the handshake it alternates ``handshake_step`` and reads.
"""

from __future__ import annotations

import ssl

from rdpprobe.addresses import sni_name
from rdpprobe.sequence.actions import TlsInfo
from rdpprobe.signals import Observed, Signal
from rdpprobe.transport.errors import observe
from rdpprobe.transport.tls import TlsPump, client_context


class Conduit:
    """One connection's byte path; ``tls`` is None until ``start_tls``."""

    def __init__(self, legacy_tls: bool = True, keylog_path: str | None = None) -> None:
        self._legacy = legacy_tls
        self._keylog = keylog_path
        self.tls: TlsPump | None = None

    def start_tls(self, server_name: str | None, received: bytes = b"") -> None:
        """Begin TLS; ``received`` is what the server already sent past the Connection Confirm."""
        ctx = client_context(self._legacy, self._keylog)
        self.tls = TlsPump(ctx, sni_name(server_name))
        if received:
            self.tls.feed(received)

    def handshake_step(self) -> tuple[bool, bytes]:
        """(complete, bytes to send). Raises ``ssl.SSLError`` when the handshake fails."""
        assert self.tls is not None
        done = self.tls.handshake()
        return done, self.tls.data_to_send()

    def handshake_failure(self, exc: BaseException) -> Observed:
        """What a failed handshake means, with the server's own alert when it sent one early."""
        assert self.tls is not None
        before = not self.tls.saw_handshake_record
        alert = self.tls.early_alert
        if alert is not None:
            return Observed(Signal.TLS_ALERT, f"alert {alert.description}", alert.description, before)
        observed = observe(exc)
        return Observed(observed.signal, observed.detail, observed.tls_alert, before)

    def tls_info(self) -> TlsInfo:
        assert self.tls is not None
        return self.tls.info()

    def outgoing(self, plaintext: bytes) -> bytes:
        if self.tls is None:
            return plaintext
        self.tls.write(plaintext)
        return self.tls.data_to_send()

    def incoming(self, raw: bytes) -> bytes | None:
        """Plaintext for the prober (``b""`` = closed) or None when TLS needs more bytes."""
        if self.tls is None:
            return raw
        self.tls.feed(raw)
        try:
            data = self.tls.read()
        except ssl.SSLError:
            return b""
        if data is None and not raw:
            return b""
        return data

