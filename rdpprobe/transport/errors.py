"""The one table that turns OS and TLS exceptions into the prober's signals.

Rules of this module:
- classification goes by exception type, errno and OpenSSL reason code, never by the
  text of a message;
- a failure of this machine (out of file descriptors or buffers) is not a fact about the
  target: it raises ``LocalResourceError`` so the scanner can retry the target later.
"""

from __future__ import annotations

import errno
import socket
import ssl

from rdpprobe.signals import Observed, Signal
from rdpprobe.transport.resolve import NoHostAddress

#: TLS AlertDescription values (RFC 5246 7.2, RFC 8446 6) by OpenSSL reason code.
TLS_ALERTS_BY_REASON = {
    "SSLV3_ALERT_CLOSE_NOTIFY": 0,
    "SSLV3_ALERT_UNEXPECTED_MESSAGE": 10,
    "SSLV3_ALERT_BAD_RECORD_MAC": 20,
    "TLSV1_ALERT_RECORD_OVERFLOW": 22,
    "SSLV3_ALERT_DECOMPRESSION_FAILURE": 30,
    "SSLV3_ALERT_HANDSHAKE_FAILURE": 40,
    "SSLV3_ALERT_BAD_CERTIFICATE": 42,
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": 43,
    "SSLV3_ALERT_CERTIFICATE_REVOKED": 44,
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": 45,
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": 46,
    "SSLV3_ALERT_ILLEGAL_PARAMETER": 47,
    "TLSV1_ALERT_UNKNOWN_CA": 48,
    "TLSV1_ALERT_ACCESS_DENIED": 49,
    "TLSV1_ALERT_DECODE_ERROR": 50,
    "TLSV1_ALERT_DECRYPT_ERROR": 51,
    "TLSV1_ALERT_EXPORT_RESTRICTION": 60,
    "TLSV1_ALERT_PROTOCOL_VERSION": 70,
    "TLSV1_ALERT_INSUFFICIENT_SECURITY": 71,
    "TLSV1_ALERT_INTERNAL_ERROR": 80,
    "TLSV1_ALERT_INAPPROPRIATE_FALLBACK": 86,
    "TLSV1_ALERT_USER_CANCELLED": 90,
    "TLSV1_ALERT_NO_RENEGOTIATION": 100,
    "TLSV1_ALERT_UNSUPPORTED_EXTENSION": 110,
    "TLSV1_UNRECOGNIZED_NAME": 112,
    "TLSV1_ALERT_UNKNOWN_PSK_IDENTITY": 115,
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": 116,
    "TLSV1_ALERT_NO_APPLICATION_PROTOCOL": 120,
}

#: errno values that mean "this machine ran out of something", not "the target failed".
LOCAL_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
UNREACHABLE_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN})
RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})


class LocalResourceError(Exception):
    """This machine ran out of file descriptors, buffers or memory; retry the target later."""


def observe(exc: BaseException) -> Observed:
    """Map an exception raised by socket or ssl code to what the prober should hear."""
    if isinstance(exc, ssl.SSLError):
        return _observe_ssl(exc)
    if isinstance(exc, socket.gaierror):
        return Observed(Signal.DNS_FAILURE, _gai_name(exc))
    if isinstance(exc, OSError) and exc.errno in LOCAL_RESOURCE_ERRNOS:
        raise LocalResourceError(errno.errorcode.get(exc.errno or 0, str(exc.errno))) from exc
    return _observe_os(exc)


def _observe_os(exc: BaseException) -> Observed:
    if isinstance(exc, ConnectionRefusedError):
        return Observed(Signal.REFUSED, "ECONNREFUSED")
    if isinstance(exc, TimeoutError):
        return Observed(Signal.TIMEOUT, "ETIMEDOUT")
    code = getattr(exc, "errno", None)
    name = errno.errorcode.get(code, None) if isinstance(code, int) else None
    if code in UNREACHABLE_ERRNOS:
        return Observed(Signal.UNREACHABLE, name)
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)) or code in RESET_ERRNOS:
        return Observed(Signal.RESET, name or "ECONNRESET")
    if isinstance(exc, EOFError):
        return Observed(Signal.EOF)
    return Observed(Signal.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")


def _observe_ssl(exc: ssl.SSLError) -> Observed:
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return Observed(Signal.TLS_EOF, "unexpected eof during the tls handshake")
    reason = exc.reason or type(exc).__name__
    alert = TLS_ALERTS_BY_REASON.get(reason)
    if alert is not None:
        return Observed(Signal.TLS_ALERT, f"alert {alert} ({reason.lower()})", alert)
    if reason == "UNEXPECTED_EOF_WHILE_READING":
        return Observed(Signal.TLS_EOF, "unexpected eof during the tls handshake")
    return Observed(Signal.TLS_ERROR, reason.lower())


def _gai_name(exc: socket.gaierror) -> str:
    if isinstance(exc, NoHostAddress):
        return exc.detail
    for name in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_FAMILY", "EAI_SERVICE"):
        if exc.errno == getattr(socket, name, None):
            return name
    return f"gai error {exc.errno}"
