"""TLS for the scanner through pyOpenSSL: the same pump as ``tls.TlsPump``, a cheaper engine.

pyOpenSSL binds the OpenSSL that ships inside the ``cryptography`` wheel, which is newer
than the one the stdlib ``ssl`` module links against here and costs the client less CPU per
handshake. The pump has the interface of ``TlsPump`` (``feed``, ``handshake``,
``data_to_send``, ``write``, ``read``, ``trim``, ``info``, ``saw_handshake_record``,
``early_alert``) and reports failures with ``observe_failure``, the pyOpenSSL twin of
``errors.observe``.

Rules of this module:
- contexts are built once per (legacy, keylog) pair and shared: building one costs more than
  a handshake;
- failures are classified by OpenSSL's reason code (the ``reason`` field of each queued
  error), never by free text.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from OpenSSL import SSL, crypto
from OpenSSL._util import ffi as _openssl_ffi
from OpenSSL._util import lib as _openssl_lib

from rdpprobe import tlssuites
from rdpprobe.sequence.actions import TlsInfo
from rdpprobe.sequence.config import AuditSettings, TlsOffer
from rdpprobe.signals import Observed, Signal
from rdpprobe.transport.errors import TLS_ALERTS_BY_REASON, observe
from rdpprobe.transport.tls import READ_CHUNK, RECORD_HEADER_SIZE, TlsPump

#: The reasons OpenSSL gives when the peer closed the transport mid-handshake.
EOF_REASONS = frozenset({"UNEXPECTED_EOF_WHILE_READING"})
#: Cipher list that still reaches old servers (TLS 1.0, RC4-era suites); as in ``tls.py``.
LEGACY_CIPHERS = b"DEFAULT:@SECLEVEL=0"
#: Record header plus the two bytes of an alert body: what the early-record watch keeps.
WATCHED_BYTES = RECORD_HEADER_SIZE + 2
#: Groups to offer, first choice first: OpenSSL computes a key share for the first one only.
#: The second list is for OpenSSL builds that do not know the post-quantum hybrid group.
GROUP_LISTS = (
    b"X25519:X25519MLKEM768:P-256:P-384:P-521:X448:ffdhe2048:ffdhe3072",
    b"X25519:P-256:P-384:P-521",
)
#: Bytes pulled from the outgoing memory BIO per ``bio_read`` call.
BIO_CHUNK = 65536


@functools.lru_cache(maxsize=4)
def openssl_context(legacy: bool = True, keylog_path: str | None = None) -> SSL.Context:
    """A shared client context that verifies nothing and, when ``legacy``, reaches TLS 1.0."""
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
    ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_NO_TICKET)
    if legacy:
        ctx.set_min_proto_version(SSL.TLS1_VERSION)
        ctx.set_cipher_list(LEGACY_CIPHERS)
        ctx.set_options(SSL.OP_LEGACY_SERVER_CONNECT)
    _one_key_share(ctx)
    if keylog_path:
        ctx.set_keylog_callback(functools.partial(_append_keylog, keylog_path))
    return ctx


def _one_key_share(ctx: SSL.Context) -> None:
    """Offer the usual groups but compute a TLS 1.3 key share for X25519 only.

    OpenSSL 3.5 and later also send an X25519MLKEM768 share by default; generating it costs
    the client about a sixth of a TLS 1.2 handshake, and the share is thrown away whenever the
    server speaks TLS 1.2 or picks X25519. A server that wants another offered group still
    gets it through a HelloRetryRequest (RFC 8446 4.1.4). pyOpenSSL has no public call for
    this, so its binding is used when it has one; otherwise OpenSSL's default stays.
    """
    set_groups = getattr(_openssl_lib, "SSL_CTX_set1_curves_list", None)
    if set_groups is None:
        return
    for groups in GROUP_LISTS:
        if set_groups(ctx._context, groups) == 1:  # noqa: SLF001 - no public API, see above
            return


def _append_keylog(path: str, _conn: SSL.Connection, line: bytes) -> None:
    with open(path, "ab") as stream:
        stream.write(line + b"\n")


def keylog_path_from_env(explicit: str | None) -> str | None:
    """The key log file: the explicit one, else ``$SSLKEYLOGFILE`` (as ``tls.client_context``)."""
    return explicit or os.environ.get("SSLKEYLOGFILE") or None


#: ``BIO_get_mem_data`` from pyOpenSSL's binding, if it has one (see ``_buffered``).
_MEM_DATA = getattr(_openssl_lib, "BIO_get_mem_data", None)


def _buffered(conn: SSL.Connection, bio_attribute: str) -> int | None:
    """Bytes waiting in one of the connection's memory BIOs, or None when that cannot be asked.

    pyOpenSSL signals an empty BIO by raising ``WantReadError`` after allocating a buffer of
    the size asked for; a scan asks several times per handshake, so the pump asks first.
    ``BIO_get_mem_data`` with a NULL pointer returns the length (OpenSSL's BIO_s_mem(3)).
    """
    bio = getattr(conn, bio_attribute, None)
    if bio is None or _MEM_DATA is None:
        return None
    return int(_MEM_DATA(bio, _openssl_ffi.NULL))


class OpenSslPump(TlsPump):
    """A pyOpenSSL ``Connection`` over memory BIOs, plus ``TlsPump``'s look at early records."""

    __slots__ = ("_conn",)

    def __init__(self, ctx: SSL.Context, server_name: str | None) -> None:  # noqa: D107
        # INVARIANT: the base initialiser is not called; it would build an ``ssl.SSLObject``.
        conn = SSL.Connection(ctx, None)
        conn.set_connect_state()
        if server_name:
            conn.set_tlsext_host_name(server_name.encode("idna"))
        self._conn = conn
        self._head = b""
        self.handshake_complete = False
        self.saw_handshake_record = False
        self.early_alert = None

    def feed(self, raw: bytes) -> None:
        """Hand over bytes read from the socket; ``b""`` means the peer closed."""
        if not raw:
            self._conn.bio_shutdown()
            return
        if not self.handshake_complete and len(self._head) < WATCHED_BYTES:
            self._watch(raw)
        self._conn.bio_write(raw)

    def handshake(self) -> bool:
        """Advance the handshake; True when complete. Raises ``SSL.Error`` on failure."""
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            return False
        self.handshake_complete = True
        return True

    def data_to_send(self) -> bytes:
        size = _buffered(self._conn, "_from_ssl")
        if size == 0:
            return b""
        try:
            return self._conn.bio_read(size or BIO_CHUNK)
        except SSL.WantReadError:
            return b""

    def write(self, plaintext: bytes) -> None:
        view = memoryview(plaintext)
        while view:
            written = self._conn.send(view)
            view = view[written:]

    def read(self) -> bytes | None:
        """Decrypted bytes available now; ``b""`` at a clean or unclean close; None: need more."""
        chunks = []
        conn = self._conn
        try:
            while True:
                chunks.append(conn.recv(READ_CHUNK))
                if not conn.pending() and _buffered(conn, "_into_ssl") == 0:
                    return b"".join(chunks)  # Nothing left to decrypt: the next recv would wait.
        except SSL.WantReadError:
            return b"".join(chunks) if chunks else None
        except (SSL.ZeroReturnError, SSL.SysCallError):
            return b"".join(chunks)
        except SSL.Error:
            return b"".join(chunks)

    def info(self) -> TlsInfo:
        conn = self._conn
        cert = conn.get_peer_certificate()
        der = crypto.dump_certificate(crypto.FILETYPE_ASN1, cert) if cert is not None else None
        return TlsInfo(conn.get_protocol_version_name(), conn.get_cipher_name(), der, _sent_chain(conn))


def _sent_chain(conn: SSL.Connection) -> tuple[bytes, ...] | None:
    """The certificates the server sent after its own, DER (``SSL_get_peer_cert_chain``)."""
    chain = conn.get_peer_cert_chain()
    if chain is None:
        return None
    return tuple(crypto.dump_certificate(crypto.FILETYPE_ASN1, cert) for cert in chain[1:])


def observe_failure(exc: BaseException) -> Observed:
    """What a pyOpenSSL exception (or an OS error under it) means for the prober."""
    if isinstance(exc, SSL.SysCallError):
        return _observe_syscall(exc)
    if isinstance(exc, SSL.ZeroReturnError) or (isinstance(exc, SSL.Error) and _no_reason(exc)):
        # An error with nothing queued is how OpenSSL fails a write once the peer's end of
        # stream was fed in (``bio_shutdown``): the stdlib raises ``SSLEOFError`` there.
        return Observed(Signal.TLS_EOF, "unexpected eof during the tls handshake")
    if isinstance(exc, SSL.Error):
        return _observe_reason(_reason_code(exc))
    return observe(exc)


def _observe_syscall(exc: SSL.SysCallError) -> Observed:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else -1
    if code > 0:
        return observe(OSError(code, os.strerror(code)))
    return Observed(Signal.TLS_EOF, "unexpected eof during the tls handshake")


def _observe_reason(reason: str) -> Observed:
    alert = TLS_ALERTS_BY_REASON.get(reason)
    if alert is not None:
        return Observed(Signal.TLS_ALERT, f"alert {alert} ({reason.lower()})", alert)
    if reason in EOF_REASONS:
        return Observed(Signal.TLS_EOF, "unexpected eof during the tls handshake")
    return Observed(Signal.TLS_ERROR, reason.lower())


def _no_reason(exc: SSL.Error) -> bool:
    """True when OpenSSL queued no error at all (``Error([])``)."""
    return not exc.args or exc.args[0] == []


def _reason_code(exc: SSL.Error) -> str:
    """OpenSSL's reason of the last queued error as its ``UPPER_SNAKE`` code name."""
    queue: Any = exc.args[0] if exc.args else None
    if isinstance(queue, list) and queue and isinstance(queue[-1], tuple):
        reason = str(queue[-1][-1])
        return reason.upper().replace(" ", "_")
    return type(exc).__name__.upper()


# --- Audit offers: one version, chosen suites and groups ------------------------------------

#: pyOpenSSL's protocol version per name, spelled as ``TlsFacts.version``.
PROTOCOL_VERSIONS = {
    "SSLv3": SSL.SSL3_VERSION, "TLSv1": SSL.TLS1_VERSION, "TLSv1.1": SSL.TLS1_1_VERSION,
    "TLSv1.2": SSL.TLS1_2_VERSION, "TLSv1.3": SSL.TLS1_3_VERSION,
}
#: Every suite OpenSSL knows, weak ones included (security level 0 allows them all).
ALL_SUITES = b"ALL:COMPLEMENTOFALL:@SECLEVEL=0"
SECLEVEL_0 = ":@SECLEVEL=0"
#: Key exchange groups the audit offers one at a time (RFC 8446 4.2.7), by OpenSSL name: the
#: elliptic-curve and hybrid ones. The finite-field groups (RFC 7919) are left out: a
#: 3072- or 4096-bit key share costs the client more than the rest of the audit's handshakes.
AUDIT_GROUPS = ("X25519", "P-256", "P-384", "P-521", "X448", "X25519MLKEM768")
#: Distinct offers whose contexts are kept: one scan repeats the same few sequences.
OFFER_CONTEXTS = 512


@functools.lru_cache(maxsize=OFFER_CONTEXTS)
def offer_context(offer: TlsOffer, keylog_path: str | None = None) -> SSL.Context:
    """A client context whose ClientHello offers exactly ``offer``; ``SSL.Error`` when the
    library cannot make that offer."""
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_NO_TICKET | SSL.OP_LEGACY_SERVER_CONNECT)
    version = PROTOCOL_VERSIONS[offer.version]
    ctx.set_min_proto_version(version)
    ctx.set_max_proto_version(version)
    if version == SSL.TLS1_3_VERSION:
        ctx.set_tls13_ciphersuites(":".join(offer.suites).encode())
        ctx.set_cipher_list(ALL_SUITES)
    else:
        ctx.set_cipher_list((":".join(offer.suites) + SECLEVEL_0).encode())
    if offer.groups is None:
        _one_key_share(ctx)
    elif not _set_groups(ctx, ":".join(offer.groups).encode()):
        raise SSL.Error([("", "", "unknown group")])
    if keylog_path:
        ctx.set_keylog_callback(functools.partial(_append_keylog, keylog_path))
    return ctx


def _set_groups(ctx: SSL.Context, groups: bytes) -> bool:
    set_groups = getattr(_openssl_lib, "SSL_CTX_set1_curves_list", None)
    return set_groups is not None and set_groups(ctx._context, groups) == 1  # noqa: SLF001 - see _one_key_share


def offer_pump(offer: TlsOffer, keylog_path: str | None, server_name: str | None) -> OpenSslPump:
    """A pump whose handshake offers exactly ``offer``."""
    return OpenSslPump(offer_context(offer, keylog_path), server_name)


def can_offer(offer: TlsOffer) -> bool:
    """Whether the library builds a ClientHello for ``offer`` (it refuses a version or a
    group it lacks, or suites none of which it can use at that version)."""
    try:
        pump = OpenSslPump(offer_context(offer), None)
        pump.handshake()
    except SSL.Error:
        return False
    return bool(pump.data_to_send())


@functools.cache
def audit_settings() -> AuditSettings:
    """What this library can offer an audit: versions with their suites, and groups."""
    versions: list[tuple[str, tuple[str, ...]]] = []
    for version in PROTOCOL_VERSIONS:
        suites = _suites_for(version)
        if suites and can_offer(TlsOffer(version, suites)):
            versions.append((version, suites))
    tls13 = dict(versions).get("TLSv1.3", ())
    groups = tuple(g for g in AUDIT_GROUPS if tls13 and can_offer(TlsOffer("TLSv1.3", tls13, (g,))))
    library = SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode("ascii", "replace")
    return AuditSettings(tuple(versions), groups, library)


def _suites_for(version: str) -> tuple[str, ...]:
    """The suites the library lists that ``tlssuites`` names and that ``version`` can use."""
    if version == "TLSv1.3":
        return tuple(s for s in tlssuites.TLS13_SUITES if can_offer(TlsOffer(version, (s,))))
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_cipher_list(ALL_SUITES)
    listed = SSL.Connection(ctx, None).get_cipher_list()
    return tuple(name for name in listed if tlssuites.offerable_with(version, name))
