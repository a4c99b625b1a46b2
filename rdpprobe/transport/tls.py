"""TLS for probes: a permissive client context and a MemoryBIO pump.

The pump keeps TLS independent of how bytes move (blocking socket, asyncio, the scanner's
loop) and lets the driver see the raw records the server sent: an alert that arrives before
any handshake record means the server gave up before sending its certificate (taxonomy S2).
Trust is evaluated afterwards from the certificate; the handshake never fails because of it.
"""

from __future__ import annotations

import os
import ssl
import warnings
from dataclasses import dataclass

from rdpprobe.sequence.actions import TlsInfo

#: TLS record content types (RFC 5246 6.2.1).
RECORD_ALERT = 0x15
RECORD_HANDSHAKE = 0x16
RECORD_HEADER_SIZE = 5
#: SSL_OP_LEGACY_SERVER_CONNECT: old Windows servers lack RFC 5746 renegotiation info.
OP_LEGACY_SERVER_CONNECT = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
#: Plaintext read size; bounded so a hostile server cannot make one read allocate more.
READ_CHUNK = 65536
#: ``_ssl.ENCODING_DER``: the format argument of a certificate's ``public_bytes``.
ENCODING_DER = 2


def client_context(legacy: bool = True, keylog_path: str | None = None) -> ssl.SSLContext:
    """A client context that verifies nothing and, when ``legacy``, reaches TLS 1.0 servers."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if legacy:
        with warnings.catch_warnings():
            # Reaching TLS 1.0 servers is the point here: Python deprecates the setting.
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.options |= OP_LEGACY_SERVER_CONNECT
    keylog = keylog_path or os.environ.get("SSLKEYLOGFILE")
    if keylog:
        ctx.keylog_filename = keylog
    return ctx


@dataclass(frozen=True, slots=True)
class RawAlert:
    """A plaintext alert record seen before any handshake record from the server."""

    level: int
    description: int


class TlsPump:
    """An ``ssl.SSLObject`` over two memory BIOs, plus a look at the server's first records."""

    __slots__ = ("_incoming", "_outgoing", "_obj", "_head", "handshake_complete", "saw_handshake_record", "early_alert")

    def __init__(self, ctx: ssl.SSLContext, server_name: str | None) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._incoming, self._outgoing, server_hostname=server_name)
        self._head = b""
        self.handshake_complete = False
        self.saw_handshake_record = False
        self.early_alert: RawAlert | None = None

    def feed(self, raw: bytes) -> None:
        """Hand over bytes read from the socket; ``b""`` means the peer closed."""
        if not raw:
            self._incoming.write_eof()
            return
        if not self.handshake_complete and len(self._head) < RECORD_HEADER_SIZE + 2:
            self._watch(raw)
        self._incoming.write(raw)

    def _watch(self, raw: bytes) -> None:
        self._head = (self._head + raw)[: RECORD_HEADER_SIZE + 2]
        kind = self._head[0]
        if kind == RECORD_HANDSHAKE:
            self.saw_handshake_record = True
        elif kind == RECORD_ALERT and len(self._head) == RECORD_HEADER_SIZE + 2:
            self.early_alert = RawAlert(self._head[5], self._head[6])

    def handshake(self) -> bool:
        """Advance the handshake; True when complete. Raises ``ssl.SSLError`` on failure."""
        try:
            self._obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        self.handshake_complete = True
        return True

    def data_to_send(self) -> bytes:
        return self._outgoing.read()

    def write(self, plaintext: bytes) -> None:
        view = memoryview(plaintext)
        while view:
            written = self._obj.write(view)
            view = view[written:]

    def read(self) -> bytes | None:
        """Decrypted bytes available now; ``b""`` at a clean or unclean close; None: need more."""
        chunks: list[bytes] = []
        try:
            while True:
                chunk = self._obj.read(READ_CHUNK)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        except ssl.SSLWantReadError:
            return b"".join(chunks) if chunks else None
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b"".join(chunks)

    def trim(self) -> None:
        """Drop what only the handshake needed; call once it is complete and its output sent."""
        self._head = b""

    def info(self) -> TlsInfo:
        cipher = self._obj.cipher()
        leaf = self._obj.getpeercert(True)
        return TlsInfo(self._obj.version(), cipher[0] if cipher else None, leaf, sent_chain(self._obj))


def sent_chain(obj: ssl.SSLObject) -> tuple[bytes, ...] | None:
    """The certificates the server sent after its own, DER; None where ``ssl`` cannot say.

    ``SSLObject.get_unverified_chain`` is public from Python 3.13; from 3.10 the same call
    (``SSL_get_peer_cert_chain``) is on the private ``_sslobj``, returning certificates
    with ``public_bytes``.
    """
    public = getattr(obj, "get_unverified_chain", None)
    if public is not None:
        return tuple(bytes(der) for der in public()[1:])
    private = getattr(getattr(obj, "_sslobj", None), "get_unverified_chain", None)
    if private is None:
        return None
    try:
        chain = private() or []
        return tuple(cert.public_bytes(ENCODING_DER) for cert in chain[1:])
    except (AttributeError, TypeError, ValueError, ssl.SSLError):
        return None
