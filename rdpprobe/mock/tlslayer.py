"""Server-side TLS over memory buffers (``ssl.MemoryBIO``), shared by the socket runner and
the in-memory pair, so both drive exactly the same TLS code.

RDP's external security protocol is plain TLS on the TCP stream after the X.224 Connection
Confirm ([MS-RDPBCGR] 5.4.5.1); the server presents its certificate and the client does
not present one.
"""

from __future__ import annotations

import ssl
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rdpprobe.mock.certs import CertBundle

_TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
# OpenSSL 3 refuses TLS 1.0/1.1 and small keys at its default security level; a mock that
# imitates old servers must allow them (security level 0).
_LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"


def allow_legacy(ctx: ssl.SSLContext) -> None:
    """Let ``ctx`` speak TLS 1.0 and weak ciphers, as old RDP hosts do.

    Python deprecates naming TLS 1.0; the warning is silenced here on purpose.
    """
    ctx.set_ciphers(_LEGACY_CIPHERS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1


@cache
def server_context(bundle: CertBundle, tls_version: str | None = None, keylog_path: str | None = None,
                   ciphers: str | None = None, client_order: bool = False) -> ssl.SSLContext:
    """A server ``SSLContext`` presenting ``bundle`` (cached per bundle, version, key log and
    suites). ``ciphers`` (an OpenSSL list) limits the suites of TLS 1.2 and earlier; with
    ``client_order`` the server takes the client's first acceptable suite instead of its own.

    With ``keylog_path`` the session secrets are appended there in the NSS key log format,
    so a capture of the session can be decrypted (Wireshark's ``tls.keylog_file``).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if keylog_path is not None:
        ctx.keylog_filename = keylog_path
    allow_legacy(ctx)
    if tls_version is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = _TLS_VERSIONS[tls_version]
    if ciphers is not None:
        ctx.set_ciphers(f"{ciphers}:@SECLEVEL=0")
    if client_order:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = bundle.write(Path(tmp))
        ctx.load_cert_chain(cert, key)
    return ctx


@dataclass(slots=True)
class ServerTls:
    """One server TLS session over two ``MemoryBIO`` objects."""

    context: ssl.SSLContext
    incoming: ssl.MemoryBIO = field(default_factory=ssl.MemoryBIO)
    outgoing: ssl.MemoryBIO = field(default_factory=ssl.MemoryBIO)
    obj: ssl.SSLObject | None = None
    handshake_done: bool = False

    def __post_init__(self) -> None:
        self.obj = self.context.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def receive(self, data: bytes) -> bytes:
        """Feed bytes from the peer; return decrypted application data (may be empty).

        Raises ``ssl.SSLError`` when the handshake or a record fails.
        """
        assert self.obj is not None
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()
        if not self.handshake_done:
            if not self._step_handshake():
                return b""
        return self._read_all()

    def _step_handshake(self) -> bool:
        assert self.obj is not None
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        self.handshake_done = True
        return True

    def _read_all(self) -> bytes:
        assert self.obj is not None
        return read_available(self.obj)

    def send(self, plaintext: bytes) -> None:
        assert self.obj is not None
        self.obj.write(plaintext)

    def pending(self) -> bytes:
        """Bytes TLS wants written to the peer."""
        return self.outgoing.read()


#: Plaintext read size for ``read_available``.
READ_CHUNK = 65536


def read_available(obj: ssl.SSLObject) -> bytes:
    """Every plaintext byte the TLS object can give now (empty when it needs more input)."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = obj.read(READ_CHUNK)
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
